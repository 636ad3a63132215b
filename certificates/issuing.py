"""Rendering and storing certificates: what the Celery task calls."""

import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from . import tasks
from .models import Certificate, CertificateEvent
from .pdf import certificate_pdf

log = logging.getLogger(__name__)


def certificate_issue(*, certificate_id):
    """Render and store the PDF of a pending certificate, once.

    Safe to run any number of times: the row lock serialises duplicate deliveries, and
    a certificate that is not pending is left as it is. A re-issue sets it pending again.
    """
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate_id)
        if certificate.state != Certificate.State.PENDING:
            return certificate
        superseded = certificate.pdf.name
        content = certificate_pdf(certificate)
        certificate.pdf.save(f"{certificate.number}.pdf", ContentFile(content), save=False)
        now = timezone.now()
        certificate.state = Certificate.State.ISSUED
        certificate.issued_at = certificate.issued_at or now
        certificate.state_changed_at = now
        certificate.last_error = ""
        certificate.save(update_fields=["pdf", "state", "issued_at", "state_changed_at", "last_error"])
        CertificateEvent.objects.create(certificate=certificate, action=CertificateEvent.Action.ISSUED)
        transaction.on_commit(lambda: _after_issue(certificate, superseded))
    log.info("certificate %s issued", certificate.number)
    return certificate


def _after_issue(certificate, superseded):
    if superseded and superseded != certificate.pdf.name:
        certificate.pdf.storage.delete(superseded)
    # A task of its own: a slow or failing mail server never holds up or repeats a render.
    tasks.email_certificate_ready.delay(certificate.pk)


def certificate_email_ready(*, certificate_id):
    certificate = Certificate.objects.select_related("user").get(pk=certificate_id)
    if certificate.state != Certificate.State.ISSUED:
        return
    send_mail(
        subject=f"Your certificate for {certificate.activity_title} is ready",
        message=(
            f"Hello {certificate.learner_name},\n\n"
            f"Your certificate for “{certificate.activity_title}” is ready to download:\n"
            f"{settings.SITE_URL}{certificate.get_absolute_url()}\n\n"
            f"Certificate number: {certificate.number}\n"
            f"Anyone can verify it at {certificate.get_verification_url()}\n"
        ),
        from_email=None,
        recipient_list=[certificate.user.email],
    )


def certificate_mark_failed(*, certificate_id, error):
    with transaction.atomic():
        updated = Certificate.objects.filter(
            pk=certificate_id, state=Certificate.State.PENDING
        ).update(state=Certificate.State.FAILED, last_error=str(error)[:2000], state_changed_at=timezone.now())
        if updated:
            CertificateEvent.objects.create(
                certificate_id=certificate_id,
                action=CertificateEvent.Action.RENDER_FAILED,
                note=str(error)[:2000],
            )
