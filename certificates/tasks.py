from celery import shared_task

from courses.models import provider_in_use

from . import issuing

MAX_RETRIES = 5


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def render_certificate(self, certificate_id):
    try:
        with provider_in_use():
            issuing.certificate_issue(certificate_id=certificate_id)
    except Exception as exc:
        if self.request.retries >= MAX_RETRIES:
            issuing.certificate_mark_failed(certificate_id=certificate_id, error=exc)
            raise
        raise self.retry(exc=exc, countdown=2 ** self.request.retries)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def email_certificate_ready(self, certificate_id):
    try:
        with provider_in_use():
            issuing.certificate_email_ready(certificate_id=certificate_id)
    except OSError as exc:
        raise self.retry(exc=exc, countdown=60 * 2 ** self.request.retries)
