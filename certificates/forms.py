from django import forms

from courses.rules import CREDIT_STEP
from courses.statements import format_credits

from .rules import claimable_credit_is_valid, claimable_credit_message
from .services import parse_credits

PHYSICIAN_ATTESTATION = (
    "I claim only the credit commensurate with the extent of my participation in the activity."
)
PARTICIPANT_ATTESTATION = "I confirm that I participated in this activity."
ATTESTATION_MISSING = "Please confirm the attestation."


class ClaimForm(forms.Form):
    """A physician's claimed credit and attestation, or another learner's confirmation
    of participation. Ids are the bare field names: the error summary links to them."""

    # Not `required` in the HTML: Chromium would show the attestation invalid before the
    # learner has touched it; the server's message, tied to the box, says what is missing.
    use_required_attribute = False

    def __init__(self, *args, activity, physician, **kwargs):
        kwargs.setdefault("auto_id", "%s")
        super().__init__(*args, **kwargs)
        self.activity = activity
        if physician:
            out_of_range = claimable_credit_message(activity=activity)
            # A select of the allowed amounts, but checked as typed text: a forged value
            # (NaN, Infinity, 1e400) gets the same message as an amount out of range.
            self.fields["credits"] = forms.CharField(
                label=f"AMA PRA Category 1 Credits™ claimed (maximum {activity.credits_display})",
                widget=forms.Select(choices=[(step, step) for step in credit_steps(activity)]),
                initial=activity.credits_display,
                error_messages={"required": out_of_range, "invalid": out_of_range},
            )
        self.fields["attest"] = forms.BooleanField(
            label=PHYSICIAN_ATTESTATION if physician else PARTICIPANT_ATTESTATION,
            error_messages={"required": ATTESTATION_MISSING},
        )

    def clean_credits(self):
        credits = parse_credits(self.cleaned_data["credits"])
        if not claimable_credit_is_valid(credits=credits, activity=self.activity):
            raise forms.ValidationError(self.fields["credits"].error_messages["invalid"], code="invalid")
        return credits


def credit_steps(activity):
    """The amounts a physician may claim, the activity's maximum first."""
    steps = int(activity.credits / CREDIT_STEP)
    return [format_credits(step * CREDIT_STEP) for step in range(steps, 0, -1)]
