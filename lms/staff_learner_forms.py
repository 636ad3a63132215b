"""The forms of the staff's learner pages (lms/staff_learners.py): finding a learner, and
the two grants staff make for one, an extra attempt and a credit extension."""

from django import forms

from courses.rules import credit_extension_problems
from quizzes.models import MAX_EXTRA_ATTEMPTS

REASON_HELP = "Kept with the grant as the record of why it was made; the learner does not see it."


class LearnerSearchForm(forms.Form):
    q = forms.CharField(
        label="Name or e-mail",
        required=False,
        max_length=200,
        help_text="Part of a given, family or certificate name, or of an e-mail address.",
    )


def _reason_field(what):
    return forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=REASON_HELP,
        error_messages={"required": f"Give the reason for the {what}."},
    )


class ExtraAttemptForm(forms.Form):
    extra_attempts = forms.IntegerField(
        label="Extra attempts",
        min_value=1,
        max_value=MAX_EXTRA_ATTEMPTS,
        initial=1,
        help_text=f"From 1 to {MAX_EXTRA_ATTEMPTS}, on top of the attempts the post-test allows.",
        error_messages={"required": "Give the number of extra attempts."},
    )
    reason = _reason_field("extra attempts")


class CreditExtensionForm(forms.Form):
    until = forms.DateField(
        label="Credit until",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The last day, inclusive and in the provider's time zone, on which the "
        "learner may earn credit.",
        error_messages={
            "required": "Give the last day on which the learner may earn credit.",
            "invalid": "Give the day as a date, for example 2026-12-31.",
        },
    )
    reason = _reason_field("extension")

    def __init__(self, *args, activity, day, extended_until=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.activity = activity
        self.day = day
        self.extended_until = extended_until

    def clean_until(self):
        until = self.cleaned_data["until"]
        problems = credit_extension_problems(
            until=until, activity=self.activity, day=self.day, extended_until=self.extended_until
        )
        if problems:
            raise forms.ValidationError(problems)
        return until
