"""The certificate path through a real Celery worker process on Redis."""

from decimal import Decimal

import pytest
from django.db import connection

from certificates.models import Certificate
from certificates.services import certificate_claim
from certificates.tasks import render_certificate

from .conftest import pdf_text
from .factories import complete_activity, learner_ready_to_claim
from .processes import LOCK_WAIT, connections_other, renders_finished, scalar, wait_for_state, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_it_issues_a_claimed_certificate_through_a_real_worker(workers, worker, provider, client):
    activity = complete_activity(credits=Decimal("1.50"))
    learner = learner_ready_to_claim(activity=activity)

    certificate = certificate_claim(user=learner, activity=activity, credits="1.25", attested=True)
    assert certificate.state == Certificate.State.PENDING

    wait_for_state(certificate, Certificate.State.ISSUED)
    client.force_login(learner)
    response = client.get(f"/certificates/{certificate.number}/pdf/")
    assert response.status_code == 200
    text = " ".join(pdf_text(b"".join(response.streaming_content)).split())
    assert learner.certificate_name in text
    assert activity.title in text
    assert "1.25 AMA PRA Category 1 Credits™" in text
    assert "designates this enduring material for a maximum of 1.5 AMA PRA Category 1 Credits™" in text
    assert Certificate.objects.filter(user=learner, activity=activity).count() == 1
    # The "ready" e-mail goes through its own queue, which a plain worker also consumes.
    wait_until(
        lambda: "email_certificate_ready" in workers.log(0) and learner.email in workers.log(0),
        what="the certificate e-mail to be sent",
    )


def test_it_issues_one_certificate_when_the_task_is_delivered_twice(workers, worker, provider):
    activity = complete_activity()
    learner = learner_ready_to_claim(activity=activity)
    certificate = certificate_claim(user=learner, activity=activity, credits="1", attested=True)
    render_certificate.delay(certificate.pk)

    wait_until(lambda: renders_finished(workers.log(0)) == 2, what="both deliveries to run")
    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.ISSUED
    assert Certificate.objects.filter(user=learner).count() == 1
    assert certificate.events.filter(action="issued").count() == 1


def test_it_issues_exactly_once_after_the_worker_is_killed_mid_task(workers, provider):
    activity = complete_activity()
    learner = learner_ready_to_claim(activity=activity)

    # Hold the certificate's row lock so the worker's task blocks inside certificate_issue,
    # then SIGKILL the whole worker while the task is running and unacknowledged.
    with connections_other() as blocker:
        certificate = certificate_claim(user=learner, activity=activity, credits="1", attested=True)
        with blocker.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT id FROM certificates_certificate WHERE id = %s FOR UPDATE", [certificate.pk])
            first = workers.start()
            wait_until(lambda: scalar(LOCK_WAIT) > 0, what="the worker to block on the row lock")
            workers.kill(first)
            cursor.execute("ROLLBACK")
    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.PENDING

    # A new worker gets the unacknowledged message back once the visibility timeout passes.
    workers.start(
        CELERY_VISIBILITY_TIMEOUT="3",
        CELERY_UNACKED_RESTORE_INTERVAL="1",
        CELERY_UNACKED_RESTORE_THROTTLE="1",
    )
    wait_for_state(certificate, Certificate.State.ISSUED, timeout=90)
    assert Certificate.objects.filter(user=learner, activity=activity).count() == 1
    assert certificate.events.filter(action="issued").count() == 1


def worker_backends():
    """The database server processes of connections other than this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return {pid for (pid,) in cursor.fetchall()}


def claimed_and_mailed(activity):
    certificate = certificate_claim(
        user=learner_ready_to_claim(activity=activity), activity=activity, credits="1", attested=True
    )
    wait_for_state(certificate, Certificate.State.ISSUED)
    wait_until(
        lambda: Certificate.objects.filter(pk=certificate.pk, emailed_at__isnull=False).exists(),
        what="the certificate e-mail to be recorded",
    )
    return certificate


def test_it_keeps_its_database_connection_from_one_task_to_the_next(workers, worker, provider):
    activity = complete_activity()
    claimed_and_mailed(activity)
    before = worker_backends()
    for _ in range(3):
        claimed_and_mailed(activity)
    assert before and worker_backends() == before


def test_it_renders_on_after_its_database_connection_was_cut(workers, worker, provider):
    activity = complete_activity()
    claimed_and_mailed(activity)
    for pid in worker_backends():
        scalar(f"SELECT pg_terminate_backend({pid})")
    certificate = claimed_and_mailed(activity)
    assert certificate.events.filter(action="issued").count() == 1
