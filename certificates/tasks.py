"""Celery tasks: each calls one idempotent function and may run twice without harm.

Every retry's countdown stays well under the broker's visibility timeout (settings:
CELERY_VISIBILITY_TIMEOUT): a worker holds a message it will retry later unacknowledged,
and Redis hands a message held longer than the timeout to a second worker.
"""

import gc

from celery import shared_task
from celery.signals import worker_process_init, worker_ready
from django.conf import settings

from courses.models import provider_in_use

from . import issuing, pdf, services

MAX_RETRIES = 5
# 1, 2, 4, 8, 16, 16 … s: a storage or database hiccup gets half a minute to pass (with
# the default 5 retries), then the certificate is marked failed, with the error, for staff
# to run again.
LONGEST_COUNTDOWN = 16


def retry_countdown(retries):
    return min(2**retries, LONGEST_COUNTDOWN)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def render_certificate(self, certificate_id):
    try:
        with provider_in_use():
            issuing.certificate_issue(certificate_id=certificate_id)
    except Exception as exc:
        if self.request.retries >= settings.CERTIFICATE_RENDER_RETRIES:
            issuing.certificate_mark_failed(certificate_id=certificate_id, error=exc)
            raise
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries))


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def email_certificate_ready(self, certificate_id):
    try:
        with provider_in_use():
            issuing.certificate_email_ready(certificate_id=certificate_id)
    except Exception as exc:
        # After the last retry the e-mail stays unsent, and the sweep queues it again.
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries))


@shared_task(acks_late=True, ignore_result=True)
def sweep_certificates(recovering=False):
    services.certificates_sweep(recovering=recovering)


@worker_ready.connect
def sweep_when_a_worker_starts(sender, **kwargs):
    # A worker that starts may be replacing one killed with messages in hand, which Redis
    # returns only after the visibility timeout: queue their work again now.
    sweep_certificates.delay(recovering=True)


@worker_process_init.connect
def prepare_to_render(**kwargs):
    # Each pool process loads the fonts and stylesheet before its first task, so the first
    # learner of a fresh worker does not wait for them.
    pdf.renderer_warm()
    # What the process holds by now (Django, the fonts, the stylesheet) lives as long as the
    # process: frozen, the collector no longer walks it each time a render's many objects
    # trigger a full collection, about a tenth of a render's time (bench/burst.py). The
    # warm-up's garbage is collected first, or it would be kept for good.
    gc.collect()
    gc.freeze()
