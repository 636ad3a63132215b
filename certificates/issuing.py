import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from .models import Certificate
from .pdf import certificate_pdf

log = logging.getLogger(__name__)


def certificate_issue(*, certificate_id):
    """Render and store the certificate's PDF, once.

    Safe to run any number of times: the row lock serialises duplicate deliveries, and
    an issued certificate is left as it is. Only a re-issue renders again.
    """
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate_id)
        if certificate.state in (Certificate.State.ISSUED, Certificate.State.REVOKED):
            return certificate
        content = certificate_pdf(certificate)
        certificate.pdf.save(f"{certificate.number}.pdf", ContentFile(content), save=False)
        certificate.state = Certificate.State.ISSUED
        certificate.issued_at = timezone.now()
        certificate.last_error = ""
        certificate.save(update_fields=["pdf", "state", "issued_at", "last_error"])
    log.info("certificate %s issued", certificate.number)
    return certificate


def certificate_mark_failed(*, certificate_id, error):
    Certificate.objects.filter(pk=certificate_id, state=Certificate.State.PENDING).update(
        state=Certificate.State.FAILED, last_error=str(error)[:2000]
    )
