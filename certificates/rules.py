"""The credit gate: may this learner claim now, and if not, why. Its reasons are codes
with parameters, worded in one place (gate_reason_message), so the claim page and the
post-test page say the same thing."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from courses.models import Provider, local_date
from courses.rules import (
    CREDIT_STEP,
    CreditWindow,
    activity_credit_window,
    recording_requirement_met,
    recording_requirement_met_at,
)
from courses.selectors import participation_of
from courses.statements import format_credits
from quizzes.rules import attempt_no_credit_message, attempt_outside_window
from quizzes.selectors import evaluation_response_of, posttest_passed_attempt

from .models import Certificate


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
    gate.certificate = Certificate.objects.filter(user=user, activity=activity).first()
    if Provider.current().pk is None:
        # A certificate freezes the provider's name and statements: never the placeholders.
        gate.refusals.append(GateReason(GateCode.NO_PROVIDER))
    window = activity_credit_window(activity, at=at)
    if window != CreditWindow.OPEN:
        gate.refusals.append(GateReason(GateCode.WINDOW, {"window": window}))
    participation = participation_of(user=user, activity=activity)
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
    outside = passed and attempt_outside_window(attempt=passed)
    if passed is None:
        gate.refusals.append(GateReason(GateCode.POSTTEST))
    elif outside:
        gate.refusals.append(GateReason(GateCode.ATTEMPT_OUTSIDE_WINDOW, outside))
    else:
        moments.append(passed.submitted_at)
    if not gate.refusals:
        gate.completed_on = local_date(max(moments))
    return gate


def claimable_credit_is_valid(*, credits, activity):
    # NaN and sNaN cannot be ordered: comparing them raises instead of saying no.
    return (
        credits is not None
        and credits.is_finite()
        and Decimal("0") < credits <= activity.credits
        and credits % CREDIT_STEP == 0
    )


def claimable_credit_message(*, activity):
    step = format_credits(CREDIT_STEP)
    return f"Claim between {step} and {activity.credits_display} credits, in steps of {step}."


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
