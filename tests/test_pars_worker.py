"""The PARS learner file recorded by a real Celery worker process on Redis."""

import datetime

import pytest

from lms.models import ReportedRecord, ReportingBatch
from lms.reporting import pars_learner_batch_request
from lms.tasks import prepare_pars_learner_batch

from .factories import (
    ProviderFactory,
    StaffUserFactory,
    certificate_with_lines,
    complete_activity,
    reporting_physician,
)
from .processes import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_it_records_a_learner_file_once_through_a_real_worker_delivered_twice(workers, worker):
    ProviderFactory(accme_provider_id="0012345")
    activity = complete_activity(accme_activity_id="202612345")
    for _ in range(3):
        certificate_with_lines(activity, reporting_physician())

    batch = pars_learner_batch_request(
        actor=StaffUserFactory(), start=datetime.date(2025, 3, 1), end=datetime.date(2025, 3, 31),
        include_reported=False, table_format="txt",
    )
    prepare_pars_learner_batch.delay(batch.pk)

    wait_until(lambda: recordings_finished(workers.log(0)) == 2, what="both deliveries to run")
    batch.refresh_from_db()
    assert (batch.state, batch.added) == (ReportingBatch.State.READY, 6)
    lines = list(ReportedRecord.objects.values_list("credit_line", flat=True))
    assert len(lines) == len(set(lines)) == 6


def recordings_finished(log):
    return sum(
        "lms.tasks.prepare_pars_learner_batch[" in line and "succeeded in" in line for line in log.splitlines()
    )
