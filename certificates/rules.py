"""The credit gate: may this learner claim now, and if not, why. Its reasons are codes
with parameters, worded in one place (gate_reason_message), so the claim page and the
post-test page say the same thing. Then what a claim awards: the amounts claimed, the
MOC points chosen, and what the learner must give for them."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from courses.credit_types import AMA, LearnerDetail
from courses.models import Provider, local_date
from courses.rules import (
    CREDIT_STEP,
    CreditWindow,
    birth_month_day_problems,
    detail_fields_missing,
    details_needed,
    learner_credit_window,
    moc_points,
    recording_requirement_met,
    recording_requirement_met_at,
)
from courses.selectors import participation_of
from courses.statements import format_credits
from quizzes.rules import attempt_no_credit_message, attempt_outside_window
from quizzes.selectors import evaluation_response_of, posttest_passed_attempt

from .models import Certificate
from .selectors import learner_certificate


class GateCode:
    NO_PROVIDER = "no_provider"  # staff have not saved the provider a certificate names
    WINDOW = "window"  # params: window, a CreditWindow other than OPEN
    NOT_STARTED = "not_started"
    RECORDING = "recording"
    EVALUATION = "evaluation"
    POSTTEST = "posttest"
    ATTEMPT_OUTSIDE_WINDOW = "attempt_outside_window"  # params: attempt_no_credit_message's


@dataclass(frozen=True)
class GateReason:
    code: str
    params: dict = field(default_factory=dict)

    @property
    def message(self):
        return gate_reason_message(self)


GATE_MESSAGES = {
    GateCode.NO_PROVIDER: (
        "Certificates cannot be issued yet: the CME office has not finished setting up "
        "this site. Please come back later."
    ),
    GateCode.NOT_STARTED: "You have not started this activity.",
    GateCode.RECORDING: "Watch the whole recording first.",
    GateCode.EVALUATION: "Complete the activity evaluation.",
    GateCode.POSTTEST: "Pass the post-test.",
}


def gate_reason_message(reason):
    """The one wording of a gate reason."""
    if reason.code == GateCode.WINDOW:
        return CreditWindow(reason.params["window"]).label
    if reason.code == GateCode.ATTEMPT_OUTSIDE_WINDOW:
        return attempt_no_credit_message(**reason.params)
    return GATE_MESSAGES[reason.code]


@dataclass
class CreditGate:
    """The answer to "may this learner claim credit now, and if not, why"."""

    refusals: list = field(default_factory=list)
    completed_on: date | None = None
    certificate: Certificate | None = None

    @property
    def reasons(self):
        return [refusal.message for refusal in self.refusals]

    @property
    def allowed(self):
        return not self.refusals and self.certificate is None


def credit_gate(*, user, activity, at=None):
    gate = CreditGate()
    gate.certificate = learner_certificate(user=user, activity=activity)
    if Provider.current().pk is None:
        # A certificate freezes the provider's name and statements: never the placeholders.
        gate.refusals.append(GateReason(GateCode.NO_PROVIDER))
    participation = participation_of(user=user, activity=activity)
    if participation is not None:
        # The rules below read the activity through the participation: the same row, in hand.
        participation.activity = activity
    # The learner's own window: a credit extension staff granted them keeps it open.
    window = learner_credit_window(activity, participation=participation, at=at)
    if window != CreditWindow.OPEN:
        gate.refusals.append(GateReason(GateCode.WINDOW, {"window": window}))
    if participation is None:
        gate.refusals.append(GateReason(GateCode.NOT_STARTED))
        return gate
    moments = [participation.started_at]
    if not recording_requirement_met(participation=participation):
        gate.refusals.append(GateReason(GateCode.RECORDING))
    elif activity.requires_full_viewing:
        moments.append(recording_requirement_met_at(participation=participation))
    response = evaluation_response_of(user=user, activity=activity)
    if response is None:
        gate.refusals.append(GateReason(GateCode.EVALUATION))
    else:
        moments.append(response.submitted_at)
    passed = posttest_passed_attempt(user=user, activity=activity)
    outside = passed and attempt_outside_window(
        attempt=passed, extended_until=participation.credit_extended_until
    )
    if passed is None:
        gate.refusals.append(GateReason(GateCode.POSTTEST))
    elif outside:
        gate.refusals.append(GateReason(GateCode.ATTEMPT_OUTSIDE_WINDOW, outside))
    else:
        moments.append(passed.submitted_at)
    if not gate.refusals:
        gate.completed_on = local_date(max(moments))
    return gate


def claimable_amount_is_valid(*, amount, maximum):
    # NaN and sNaN cannot be ordered: comparing them raises instead of saying no.
    return (
        amount is not None
        and amount.is_finite()
        and Decimal("0") < amount <= maximum
        and amount % CREDIT_STEP == 0
    )


def claimable_amount_message(*, offer):
    step = format_credits(CREDIT_STEP)
    # AMA credit keeps the plain word its claim has always used.
    unit = "credits" if offer.code == AMA else offer.credit_type.unit_plural
    return f"Claim between {step} and {format_credits(offer.amount)} {unit}, in steps of {step}."


def claim_field(offer):
    """The claim's field for the amount of `offer`, a type claimed in steps: `credits` for
    AMA credit, as it has always been named, `credits_<code>` for any other."""
    return "credits" if offer.code == AMA else f"credits_{offer.code}"


@dataclass(frozen=True)
class Award:
    """A credit type a claim awards (`offer`, a courses.rules.CreditOffer) and how much."""

    offer: object
    amount: Decimal


MOC_BOARD_FIELD = "moc_board"


def claim_awards(*, offers, amounts, moc_board):
    """What a claim awards from `offers`, those the learner is eligible for: each type
    awarded whole; the amount claimed of each type claimed in steps (`amounts`, parsed
    Decimals by claim_field); and the MOC points of `moc_board` ("" for none), the board
    the learner chose to report them to, as many as the AMA credit claimed.

    Returns (awards, problems), problems as (field, message): an amount out of range or
    not a number, a board the activity is not registered with (or whose points the
    learner is not eligible for). Any problem means nothing is awarded.
    """
    awards, problems = [], []
    for offer in offers:
        if offer.board:
            continue
        amount = offer.amount
        if offer.credit_type.claim_in_steps:
            amount = amounts.get(claim_field(offer))
            if not claimable_amount_is_valid(amount=amount, maximum=offer.amount):
                problems.append((claim_field(offer), claimable_amount_message(offer=offer)))
                continue
        awards.append(Award(offer=offer, amount=amount))
    if moc_board:
        registered = next((offer for offer in offers if offer.board == moc_board), None)
        if registered is None:
            problems.append((MOC_BOARD_FIELD, "This activity offers no MOC points of that board."))
        else:
            claimed = next((award.amount for award in awards if award.offer.code == AMA), None)
            points = moc_points(registered=registered.amount, credit_claimed=claimed)
            awards.append(Award(offer=registered, amount=points))
    awards.sort(key=lambda award: award.offer.credit_type.order)
    return ([] if problems else awards), problems


# Why a claim cannot go on without a detail its credit types need, by profile field.
DETAIL_MISSING = {
    "nabp_eprofile_id": "Give your NABP e-Profile ID: CPE Monitor records ACPE credit under it.",
    "birth_month": "Give your month of birth: it is reported with your credit.",
    "birth_day": "Give your day of birth: it is reported with your credit.",
    "board_id": "Give your ID at the board: it records your MOC points under it.",
}
MOC_CONSENT_MISSING = "Agree to share this completion with your board, or choose not to report MOC points."


def claim_details_problems(*, awards, values):
    """What the learner has yet to give for `awards`, as (field, message): the details
    their credit types need (courses.rules.details_needed), a month and day of birth that
    go together, and for MOC points the consent to share the completion with the board.
    `values` holds the profile's fields as the claim would leave them."""
    offers = [award.offer for award in awards]
    details = details_needed(offers)
    problems = [(name, DETAIL_MISSING[name]) for name in detail_fields_missing(details=details, values=values)]
    if not problems and LearnerDetail.BIRTH_MONTH_DAY in details:
        problems += birth_month_day_problems(month=values["birth_month"], day=values["birth_day"]).items()
    if any(offer.board for offer in offers) and not values.get("share_with_boards"):
        problems.append(("share_with_boards", MOC_CONSENT_MISSING))
    return problems


REASON_REQUIRED = "Give the reason for this change: it is kept with the certificate's record."


def record_change_reason(reason):
    """The reason staff gave for re-issuing, revoking or reinstating a certificate, trimmed;
    a ValueError when there is none, as every such change must say why."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError(REASON_REQUIRED)
    return reason


def reissue_change_note(*, name_before, name_after, degree_before, degree_after):
    """What a re-issue changes on the certificate, in words for its history."""
    changes = []
    if name_before != name_after:
        changes.append(f"Name: {name_before} → {name_after}")
    if degree_before != degree_after:
        changes.append(f"Degree: {degree_before or '(none)'} → {degree_after or '(none)'}")
    return "; ".join(changes) or f"Name unchanged: {name_after}"


def reissue_is_redundant(*, certificate, name, degree):
    """A re-issue already waits for its rendering, which will print this very name and
    degree: asking again would change nothing."""
    return (
        certificate.state == Certificate.State.PENDING
        and (certificate.learner_name, certificate.learner_degree) == (name, degree)
    )


def reinstated_state(*, certificate, latest_version, reissue_requested_at):
    """The state a revoked certificate returns to: issued when its newest PDF shows it as
    it stands (same name and degree, and no re-issue asked for since that PDF), else
    pending, to be rendered again (it was revoked before its first or its re-issued PDF
    was ready)."""
    current = (
        latest_version is not None
        and (latest_version.name_after, latest_version.degree_after)
        == (certificate.learner_name, certificate.learner_degree)
        and (reissue_requested_at is None or reissue_requested_at < latest_version.created_at)
    )
    return Certificate.State.ISSUED if current else Certificate.State.PENDING
