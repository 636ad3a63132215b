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


ANSWER_MISSING = "Please answer this question."
# Codes of errors no one makes with the page as served: a forged or stale form.
FORGED = {"invalid", "invalid_choice", "invalid_list", "foreign_question"}


class _ChoiceIds:
    """Option ids "question-<id>-<n>": the links of the error summary point at them."""

    def id_for_label(self, id_, index="0"):
        return f"{id_}-{index}" if id_ else ""


class ChoiceRadios(_ChoiceIds, forms.RadioSelect):
    pass


class ChoiceCheckboxes(_ChoiceIds, forms.CheckboxSelectMultiple):
    pass


class AttemptForm(forms.Form):
    """Which attempt a post-test page hands in: read first, as its questions make the rest."""

    # An attempt's id is a positive 64-bit integer: anything else names no attempt.
    attempt = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)


class PostTestForm(AttemptForm):
    """One field per question of an attempt, named "question-<id>", offering exactly that
    question's choices (ids), in the attempt's order: a radio for a single answer,
    checkboxes for several. The fields carry no sign of which choices are right."""

    use_required_attribute = False

    def __init__(self, *args, items, **kwargs):
        kwargs.setdefault("auto_id", "%s")
        super().__init__(*args, **kwargs)
        self.items = items
        for question, choices in items:
            options = [(choice.pk, choice.text) for choice in choices]
            if question.multiple:
                field = forms.TypedMultipleChoiceField(
                    choices=options, coerce=int, widget=ChoiceCheckboxes
                )
            else:
                field = forms.TypedChoiceField(choices=options, coerce=int, widget=ChoiceRadios)
            field.label = question.text
            field.error_messages["required"] = ANSWER_MISSING
            self.fields[f"question-{question.pk}"] = field

    def clean(self):
        cleaned = super().clean()
        if any(key.startswith("question-") and key not in self.fields for key in self.data):
            raise forms.ValidationError(
                "This form does not match your attempt.", code="foreign_question"
            )
        return cleaned

    def is_forged(self):
        return any(
            error.code in FORGED for errors in self.errors.as_data().values() for error in errors
        )

    def missing(self):
        """(number on the page, bound field) of each unanswered question."""
        return [
            (number, self[f"question-{question.pk}"])
            for number, (question, _) in enumerate(self.items, start=1)
            if self[f"question-{question.pk}"].errors
        ]

    def answers(self):
        """Question id → ticked choice ids, as the grading service takes them."""
        answers = {}
        for question, _ in self.items:
            value = self.cleaned_data[f"question-{question.pk}"]
            answers[question.pk] = value if isinstance(value, list) else [value]
        return answers
