from django import forms

from .models import EvaluationQuestion

LIKERT_CHOICES = [
    ("1", "1 – Strongly disagree"),
    ("2", "2"),
    ("3", "3"),
    ("4", "4"),
    ("5", "5 – Strongly agree"),
]
YES_NO_CHOICES = [("yes", "Yes"), ("no", "No")]
COMMITMENT_CHOICES = [("yes", "Yes"), ("no", "No"), ("unsure", "Not sure yet")]


class EvaluationForm(forms.Form):
    """One field per evaluation question, named by the question's id."""

    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for question in self.questions:
            name = f"q{question.pk}"
            kind = EvaluationQuestion.Kind
            if question.kind == kind.TEXT:
                field = forms.CharField(widget=forms.Textarea, max_length=5000)
            elif question.kind == kind.LIKERT:
                field = forms.ChoiceField(choices=LIKERT_CHOICES, widget=forms.RadioSelect)
            elif question.kind == kind.YES_NO:
                field = forms.ChoiceField(choices=YES_NO_CHOICES, widget=forms.RadioSelect)
            else:
                field = forms.ChoiceField(choices=COMMITMENT_CHOICES, widget=forms.RadioSelect)
                self.fields[f"{name}_comment"] = forms.CharField(
                    label="What will you change?",
                    widget=forms.Textarea(attrs={"rows": 3}),
                    required=False,
                    max_length=5000,
                )
            field.label = question.text
            field.required = question.required
            self.fields[name] = field
        self.order_fields([f"q{q.pk}" for q in self.questions])

    def answers(self):
        return {
            question.pk: (
                self.cleaned_data.get(f"q{question.pk}", ""),
                self.cleaned_data.get(f"q{question.pk}_comment", ""),
            )
            for question in self.questions
        }
