from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from courses.models import Provider

from . import tasks
from .models import Certificate, claimable_credit_is_valid, credit_gate


class ClaimRefused(Exception):
    def __init__(self, reasons):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def parse_credits(value):
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def certificate_claim(*, user, activity, credits=None, attested=False, at=None):
    """Claim credit (physicians) or confirm participation (others), then issue.

    The certificate row is committed as pending and the rendering task is enqueued only
    after the commit, so the worker always finds the row.
    """
    gate = credit_gate(user=user, activity=activity, at=at)
    if gate.certificate is not None:
        return gate.certificate
    if gate.reasons:
        raise ClaimRefused(gate.reasons)
    if not attested:
        raise ClaimRefused(["Please confirm the attestation."])
    provider = Provider.current()
    frozen = dict(
        completed_on=gate.completed_on,
        learner_name=user.certificate_name,
        learner_degree=user.degree,
        activity_title=activity.title,
        activity_release_date=activity.release_date,
        activity_credits=activity.credits,
        provider_name=provider.name,
        accreditation_statement=provider.get_accreditation_statement(),
        designation_statement=activity.designation_statement(provider),
    )
    if user.is_physician:
        credits = parse_credits(credits) if credits is not None else None
        if not claimable_credit_is_valid(credits=credits, activity=activity):
            raise ClaimRefused(
                [f"Claim between 0.25 and {activity.credits_display} credits, in steps of 0.25."]
            )
        frozen.update(kind=Certificate.Kind.AMA_CREDIT, credits_claimed=credits)
    else:
        frozen.update(kind=Certificate.Kind.PARTICIPATION, hours=activity.credits)
    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(user=user, activity=activity, **frozen)
            transaction.on_commit(lambda: tasks.render_certificate.delay(certificate.pk))
    except IntegrityError:
        return Certificate.objects.get(user=user, activity=activity)
    return certificate
