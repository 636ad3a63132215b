"""Celery tasks of the staff workspace: each calls one idempotent service and may run
twice, at once too, without harm."""

from celery import shared_task

from courses.models import provider_in_use

from . import reporting


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def prepare_pars_learner_batch(batch_id):
    with provider_in_use():
        reporting.pars_learner_batch_prepare(batch_id=batch_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_pars_learner_batches():
    reporting.pars_learner_batches_sweep()
