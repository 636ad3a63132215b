from django import forms

from courses.credit_types import Board
from courses.models import Provider
from courses.rules import CREDIT_STEP, LEARNER_DETAIL_FIELDS, details_needed
from courses.statements import format_credits

from .rules import MOC_BOARD_FIELD, claim_field, claimable_amount_message
from .services import ClaimRefused, certificate_awards, claim_profile_changes

PHYSICIAN_ATTESTATION = (
    "I claim only the credit commensurate with the extent of my participation in the activity."
)
PARTICIPANT_ATTESTATION = "I confirm that I participated in this activity."
ATTESTATION_MISSING = "Please confirm the attestation."
MOC_CONSENT_FIELD = "share_with_boards"
# Browsers fill these from the learner's saved details.
AUTOCOMPLETE = {"birth_month": "bday-month", "birth_day": "bday-day"}
DETAIL_HELP = {
    "birth_month": "Reported with your credit, so it is matched to you (never the year).",
    "board_id": "Your ID at the board you report your points to.",
}


class ClaimForm(forms.Form):
    """A learner's claim of each credit type they are eligible for (`offers`): the amount
    of each type claimed in steps, the details the types need (prefilled from the profile,
    saved back to it), whether to report a board's MOC points, and the attestation. A
    learner eligible for nothing else only confirms participation. Ids are the bare field
    names: the error summary links to them. What the fields hold is judged by the claim's
    own rules (certificates.services), so the form and a claim made without it agree."""

    # Not `required` in the HTML: Chromium would show the attestation invalid before the
    # learner has touched it; the server's message, tied to the box, says what is missing.
    use_required_attribute = False

    def __init__(self, *args, activity, offers, learner, **kwargs):
        kwargs.setdefault("auto_id", "%s")
        super().__init__(*args, **kwargs)
        self.activity, self.offers, self.learner = activity, offers, learner
        for offer in self.credit_offers:
            if offer.credit_type.claim_in_steps:
                self.fields[claim_field(offer)] = _amount_field(offer)
        self.moc_offers = [offer for offer in offers if offer.board]
        self.award_details = _detail_names(self.credit_offers)
        self.moc_details = [name for name in _detail_names(self.moc_offers) if name not in self.award_details]
        for name in self.award_details + self.moc_details:
            self.fields[name] = _profile_field(learner, name)
        if self.moc_offers:
            self.fields[MOC_BOARD_FIELD] = forms.ChoiceField(
                label="Report MOC points to your certifying board?",
                choices=[("", "No, do not report MOC points")]
                + [(offer.board, f"Yes, report my points to the {Board(offer.board).label} (up to "
                                 f"{offer.amount_display}, as many as the credit I claim)")
                   for offer in self.moc_offers],
                widget=forms.RadioSelect,
                required=False,
                # Chosen already only for a learner whose profile names that board and
                # consents to reporting: otherwise each claim opts in afresh.
                initial=learner.certifying_board
                if learner.share_with_boards and learner.certifying_board in {o.board for o in self.moc_offers}
                else "",
            )
            self.fields[MOC_CONSENT_FIELD] = forms.BooleanField(
                label=f"I agree that {Provider.current().name} reports this completion, with my "
                "board ID and month and day of birth, to the board I chose, through the ACCME.",
                required=False,
                initial=learner.share_with_boards,
            )
        self.fields["attest"] = forms.BooleanField(
            label=PHYSICIAN_ATTESTATION if self.claims_amounts else PARTICIPANT_ATTESTATION,
            error_messages={"required": ATTESTATION_MISSING},
        )

    @property
    def credit_offers(self):
        """The offers awarded with the claim itself: every one but a board's MOC points."""
        return [offer for offer in self.offers if not offer.board]

    @property
    def claims_amounts(self):
        return any(offer.credit_type.claim_in_steps for offer in self.offers)

    @property
    def awards_credit(self):
        """Whether the learner earns credit, rather than only confirming participation."""
        return any(not offer.for_participation for offer in self.offers)

    def credit_rows(self):
        """Each offer awarded with the claim, with the field of its amount (None: whole)."""
        return [
            (offer, self[claim_field(offer)] if claim_field(offer) in self.fields else None)
            for offer in self.credit_offers
        ]

    def award_detail_fields(self):
        return [self[name] for name in self.award_details]

    def moc_detail_fields(self):
        return [self[name] for name in self.moc_details]

    def claim(self):
        """The claim as certificates.services.certificate_claim takes it."""
        data = self.cleaned_data
        return {
            "credits": data.get("credits"),
            "amounts": {
                claim_field(offer): data.get(claim_field(offer))
                for offer in self.credit_offers
                if offer.credit_type.claim_in_steps and claim_field(offer) != "credits"
            },
            "moc_board": data.get(MOC_BOARD_FIELD, ""),
            "details": {
                name: data[name]
                for name in [*self.award_details, *self.moc_details, MOC_CONSENT_FIELD]
                if name in data
            },
        }

    def clean(self):
        data = super().clean()
        claim = self.claim()
        try:
            awards = certificate_awards(
                user=self.learner,
                activity=self.activity,
                offers=self.offers,
                credits=claim["credits"],
                amounts=claim["amounts"],
                moc_board=claim["moc_board"],
            )
            claim_profile_changes(
                user=self.learner, awards=awards, details=claim["details"], moc_board=claim["moc_board"]
            )
        except ClaimRefused as refusal:
            for field, message in refusal.problems:
                # A field's own check (an empty amount, a forged board) said it already.
                if field not in self.errors:
                    self.add_error(field if field in self.fields else None, message)
        return data


def _detail_names(offers):
    return [name for detail in details_needed(offers) for name in LEARNER_DETAIL_FIELDS[detail]]


def _profile_field(learner, name):
    """The profile's own field `name`, optional here (the claim's rules say when it is
    needed), starting from what the profile holds."""
    field = learner._meta.get_field(name).formfield(required=False)
    field.initial = getattr(learner, name)
    if name in AUTOCOMPLETE:
        field.widget.attrs["autocomplete"] = AUTOCOMPLETE[name]
    field.help_text = DETAIL_HELP.get(name, field.help_text)
    return field


def _amount_field(offer):
    """A select of the amounts the learner may claim, but checked as typed text: a forged
    value (NaN, Infinity, 1e400) gets the same message as an amount out of range."""
    out_of_range = claimable_amount_message(offer=offer)
    steps = [format_credits(step * CREDIT_STEP) for step in range(int(offer.amount / CREDIT_STEP), 0, -1)]
    return forms.CharField(
        label=f"{offer.credit_type.unit_plural} claimed (maximum {format_credits(offer.amount)})",
        widget=forms.Select(choices=[(step, step) for step in steps]),
        initial=format_credits(offer.amount),
        error_messages={"required": out_of_range, "invalid": out_of_range},
    )
