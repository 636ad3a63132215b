import copy
import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from courses.models import Provider
from courses.services import participation_mark_completed

from . import tasks
from .history import certificate_changes_save
from .issuing import EMAIL_LEASE, certificate_queue_email, certificate_queue_render, certificates_held_by_broker
from .models import Certificate, CertificateEvent
from .rules import (
    claimable_credit_is_valid,
    claimable_credit_message,
    credit_gate,
    record_change_reason,
    reinstated_state,
    reissue_change_note,
    reissue_is_redundant,
)

# A certificate waits in the queue behind the claims before it; past this it is assumed
# lost (a worker killed with its messages in hand, a broker restarted without its data)
# unless the broker still holds its message. Queuing it again is harmless: rendering
# twice issues it once.
STUCK_AFTER = datetime.timedelta(seconds=60)
# An e-mail normally leaves within a second of the certificate being issued.
EMAIL_STUCK_AFTER = datetime.timedelta(seconds=30)
# One sweep queues at most this many of each; the next sweep, seconds later, takes the rest.
SWEEP_BATCH = 1000


class ClaimRefused(Exception):
    """`field` names the claim form's field the reasons are about (None: the claim as a whole)."""

    def __init__(self, reasons, field=None):
        super().__init__("; ".join(reasons))
        self.reasons = reasons
        self.field = field


def parse_credits(value):
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _enqueue_after_commit(certificate):
    transaction.on_commit(lambda: certificate_queue_render(certificate_id=certificate.pk))


def certificate_snapshot(*, user, activity, credits=None):
    """What a certificate freezes when it is claimed, so it keeps saying what it certified
    whatever changes later: the learner's name and degree, the activity's facts, the
    provider's statements and signature, and the kind of certificate (a physician's
    credits claimed; anyone else's hours of participation)."""
    provider = Provider.current()
    if provider.pk is None:
        # The credit gate refuses claims first; this keeps any other caller from freezing
        # the placeholder provider into a record that is kept for years.
        raise ImproperlyConfigured("No provider is saved: a certificate cannot say who issued it.")
    texts = activity.texts()
    if user.is_physician:
        kind = dict(kind=Certificate.Kind.AMA_CREDIT, credits_claimed=credits)
    else:
        kind = dict(kind=Certificate.Kind.PARTICIPATION, hours=activity.credits)
    return dict(
        learner_name=user.certificate_name,
        learner_degree=user.degree,
        activity_title=activity.title,
        activity_release_date=activity.release_date,
        activity_credits=activity.credits,
        provider_name=provider.name,
        accreditation_statement=texts.accreditation_statement,
        designation_statement=texts.designation_statement,
        provider_logo=provider.logo.name or "",
        provider_signature=provider.signature.name or "",
        signer_name=provider.signer_name,
        signer_title=provider.signer_title,
        **kind,
    )


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
        raise ClaimRefused(["Please confirm the attestation."], field="attest")
    if user.is_physician:
        credits = parse_credits(credits) if credits is not None else None
        if not claimable_credit_is_valid(credits=credits, activity=activity):
            raise ClaimRefused(
                [claimable_credit_message(activity=activity)],
                field="credits",
            )
    frozen = certificate_snapshot(user=user, activity=activity, credits=credits)
    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(
                user=user, activity=activity, completed_on=gate.completed_on, **frozen
            )
            CertificateEvent.objects.create(
                certificate=certificate, action=CertificateEvent.Action.CLAIMED, actor=user
            )
            participation_mark_completed(user=user, activity=activity)
            _enqueue_after_commit(certificate)
    except IntegrityError:
        return Certificate.objects.get(user=user, activity=activity)
    return certificate


def certificate_reissue(*, certificate, actor, reason):
    """Render the certificate again under the same number, with the learner's current
    name and degree (e.g. after a legal-name change); everything else stays as certified.
    The next version is made when it renders, and the earlier PDFs are kept. Asking again
    while a re-issue with the same name waits records nothing. A revoked certificate must
    be reinstated first (ValueError)."""
    reason = record_change_reason(reason)
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().select_related("user").get(pk=certificate.pk)
        if certificate.state == Certificate.State.REVOKED:
            raise ValueError(
                f"Certificate {certificate.number} is revoked: reinstate it before re-issuing it."
            )
        name, degree = certificate.user.certificate_name, certificate.user.degree
        if reissue_is_redundant(certificate=certificate, name=name, degree=degree):
            return certificate
        before = copy.copy(certificate)
        certificate.learner_name, certificate.learner_degree = name, degree
        certificate.state = Certificate.State.PENDING
        certificate.state_changed_at = timezone.now()
        certificate_changes_save(
            certificate=certificate,
            before=before,
            update_fields=["learner_name", "learner_degree", "state", "state_changed_at"],
            actor=actor,
        )
        CertificateEvent.objects.create(
            certificate=certificate,
            action=CertificateEvent.Action.REISSUE_REQUESTED,
            actor=actor,
            reason=reason,
            note=reissue_change_note(
                name_before=before.learner_name,
                name_after=name,
                degree_before=before.learner_degree,
                degree_after=degree,
            ),
        )
        _enqueue_after_commit(certificate)
    return certificate


def certificate_revoke(*, certificate, actor, reason):
    """Revoke the certificate: it no longer stands, and the verification page says so.
    Revoking a revoked certificate records nothing."""
    reason = record_change_reason(reason)
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if certificate.state == Certificate.State.REVOKED:
            return certificate
        before = copy.copy(certificate)
        certificate.state = Certificate.State.REVOKED
        certificate.state_changed_at = timezone.now()
        certificate_changes_save(
            certificate=certificate, before=before, update_fields=["state", "state_changed_at"], actor=actor
        )
        CertificateEvent.objects.create(
            certificate=certificate,
            action=CertificateEvent.Action.REVOKED,
            actor=actor,
            reason=reason,
            note=f"Was {before.get_state_display().lower()}.",
        )
    return certificate


def certificate_reinstate(*, certificate, actor, reason):
    """Undo a revocation: the certificate stands again, issued as before, or rendered
    again when it was revoked before its PDF was ready. Reinstating a certificate that
    stands records nothing."""
    reason = record_change_reason(reason)
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if certificate.state != Certificate.State.REVOKED:
            return certificate
        reissue_requested = (
            certificate.events.filter(action=CertificateEvent.Action.REISSUE_REQUESTED)
            .order_by("-at", "-pk")
            .values_list("at", flat=True)
            .first()
        )
        before = copy.copy(certificate)
        certificate.state = reinstated_state(
            certificate=certificate,
            latest_version=certificate.versions.order_by("-sequence").first(),
            reissue_requested_at=reissue_requested,
        )
        certificate.state_changed_at = timezone.now()
        certificate_changes_save(
            certificate=certificate, before=before, update_fields=["state", "state_changed_at"], actor=actor
        )
        CertificateEvent.objects.create(
            certificate=certificate,
            action=CertificateEvent.Action.REINSTATED,
            actor=actor,
            reason=reason,
            note=f"Now {certificate.get_state_display().lower()}.",
        )
        if certificate.state == Certificate.State.PENDING:
            _enqueue_after_commit(certificate)
    return certificate


def certificates_requeue(*, certificates, actor=None, note=""):
    """Queue rendering again for pending or failed certificates (the sweep and staff's
    "re-run"). Idempotent: rendering a certificate twice issues it once."""
    count = 0
    with transaction.atomic():
        for certificate in certificates.select_for_update().filter(
            state__in=[Certificate.State.PENDING, Certificate.State.FAILED]
        ):
            before = copy.copy(certificate)
            certificate.state = Certificate.State.PENDING
            certificate.state_changed_at = timezone.now()
            # Queued anew: a broker that refuses again records its error again after commit.
            certificate.queue_error = ""
            certificate_changes_save(
                certificate=certificate,
                before=before,
                update_fields=["state", "state_changed_at", "queue_error"],
                actor=actor,
            )
            CertificateEvent.objects.create(
                certificate=certificate, action=CertificateEvent.Action.REQUEUED, actor=actor, note=note
            )
            _enqueue_after_commit(certificate)
            count += 1
    return count


def certificates_sweep(*, now=None, recovering=False):
    """Queue again whatever a lost message left undone; run every few seconds by Celery
    beat, and at once when a worker starts (it may be replacing one that died).

    - pending certificates whose rendering could not be queued (the broker was down), or
      that have waited longer than STUCK_AFTER (or any time at all, when `recovering`)
      and whose message the broker no longer holds: a long queue during a burst is work
      in progress, and queuing it again would only add a second delivery behind it;
    - issued certificates whose e-mail has not gone out after EMAIL_STUCK_AFTER, is not
      being sent right now and is not waiting in the mail queue.

    Returns (renders queued, e-mails queued). Repeating it is harmless: rendering and
    mailing each happen once however often they are queued.
    """
    now = now or timezone.now()
    pending = Certificate.objects.filter(state=Certificate.State.PENDING)
    unsent = Certificate.objects.filter(
        Q(email_sending_since__isnull=True) | Q(email_sending_since__lt=now - EMAIL_LEASE),
        state=Certificate.State.ISSUED,
        emailed_at__isnull=True,
    )
    if not recovering:
        pending = pending.filter(~Q(queue_error="") | Q(state_changed_at__lt=now - STUCK_AFTER))
        unsent = unsent.filter(state_changed_at__lt=now - EMAIL_STUCK_AFTER)
    pending = list(pending.order_by("pk").values_list("pk", "queue_error"))
    unsent = list(unsent.order_by("pk").values_list("pk", flat=True))
    # The queues are read only when something looks stuck (reading them scans them), and
    # not when recovering: a worker that starts may replace one that died with messages
    # in hand, which Redis holds until the visibility timeout.
    held = {} if recovering or not (pending or unsent) else certificates_held_by_broker() or {}
    renders_held = held.get(tasks.render_certificate.name, set())
    stuck = [pk for pk, queue_error in pending if queue_error or pk not in renders_held][:SWEEP_BATCH]
    renders = certificates_requeue(
        certificates=Certificate.objects.filter(pk__in=stuck), note="Swept: queued again."
    )
    emails_held = held.get(tasks.email_certificate_ready.name, set())
    emails = [pk for pk in unsent if pk not in emails_held][:SWEEP_BATCH]
    for certificate_id in emails:
        certificate_queue_email(certificate_id=certificate_id)
    return renders, len(emails)
