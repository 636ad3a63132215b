from django import forms

from .models import COMMITMENT_CHOICES, LIKERT_CHOICES, YES_NO_CHOICES, EvaluationQuestion

ANSWER_MAX_LENGTH = 5000


class EvaluationForm(forms.Form):
    """One field per evaluation question, named by the question's id."""

    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for question in self.questions:
            name = f"q{question.pk}"
            kind = EvaluationQuestion.Kind
            if question.kind == kind.TEXT:
                field = forms.CharField(widget=forms.Textarea, max_length=ANSWER_MAX_LENGTH)
            elif question.kind == kind.LIKERT:
                field = forms.ChoiceField(choices=LIKERT_CHOICES, widget=forms.RadioSelect)
            elif question.kind == kind.YES_NO:
                field = forms.ChoiceField(choices=YES_NO_CHOICES, widget=forms.RadioSelect)
            else:
                field = forms.ChoiceField(choices=COMMITMENT_CHOICES, widget=forms.RadioSelect)
                self.fields[f"{name}_comment"] = forms.CharField(
                    label="What will you change?",
                    help_text="Required when you answer yes.",
                    widget=forms.Textarea(attrs={"rows": 3}),
                    required=False,
                    max_length=ANSWER_MAX_LENGTH,
                )
            field.label = question.text
            field.required = question.required
            if question.required:
                field.help_text = "Required."
            self.fields[name] = field
        self.order_fields(
            [
                name
                for q in self.questions
                for name in (f"q{q.pk}", f"q{q.pk}_comment")
            ]
        )

    def clean(self):
        cleaned = super().clean()
        for question in self.questions:
            if question.kind != EvaluationQuestion.Kind.COMMITMENT:
                continue
            name = f"q{question.pk}"
            if cleaned.get(name) == "yes" and not cleaned.get(f"{name}_comment", "").strip():
                self.add_error(f"{name}_comment", "Please tell us what you will change.")
        return cleaned

    def answers(self):
        return {
            question.pk: (
                self.cleaned_data.get(f"q{question.pk}", ""),
                self.cleaned_data.get(f"q{question.pk}_comment", ""),
            )
            for question in self.questions
        }
