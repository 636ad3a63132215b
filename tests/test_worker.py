"""The certificate path through a real Celery worker process on Redis."""

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.db import connection, connections

from certificates.models import Certificate
from certificates.services import certificate_claim
from certificates.tasks import render_certificate
from lms.celery import app as celery_app

from .conftest import pdf_text
from .factories import complete_activity, learner_ready_to_claim

LOCK_WAIT = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def worker_database_url():
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def broker():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL must point at Redis for the worker tests (make test sets it).")
    redis.Redis.from_url(url).flushdb()
    celery_app.conf.task_always_eager = False
    return url


class Workers:
    """Starts Celery worker processes on the test database and Redis; stops them all."""

    def __init__(self, broker, media_root, log_dir):
        if connection.vendor != "postgresql":
            pytest.fail("The worker tests need PostgreSQL (make test sets DATABASE_URL).")
        self.env = dict(
            os.environ,
            DATABASE_URL=worker_database_url(),
            REDIS_URL=broker,
            MEDIA_ROOT=str(media_root),
            DJANGO_SETTINGS_MODULE="lms.settings",
        )
        self.log_dir = log_dir
        self.processes = []

    def start(self, **env):
        path = self.log_dir / f"worker-{len(self.processes)}.log"
        # Append mode: the worker always writes at the end, whatever this process reads.
        log = open(path, "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "lms", "worker", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            cwd=settings.BASE_DIR,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append((process, path))
        return process

    def log(self, index):
        return self.processes[index][1].read_text(errors="replace")

    def kill(self, process):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self):
        for process, path in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.kill(process)
            print(path.read_text(errors="replace"))


@pytest.fixture
def workers(broker, media_root, tmp_path):
    workers = Workers(broker, media_root, tmp_path)
    yield workers
    workers.stop_all()


@pytest.fixture
def worker(workers):
    return workers.start()


def wait_for_state(certificate, state, *, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        certificate.refresh_from_db()
        if certificate.state == state:
            return certificate
        time.sleep(0.2)
    pytest.fail(f"certificate still {certificate.state!r} after {timeout} s, not {state!r}")


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


def renders_finished(log):
    return sum(
        "certificates.tasks.render_certificate[" in line and "succeeded in" in line
        for line in log.splitlines()
    )


def scalar(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def wait_until(condition, *, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


class connections_other:
    """A second database connection, as another process would have."""

    def __enter__(self):
        self.connection = connections.create_connection("default")
        self.connection.set_autocommit(True)
        return self.connection

    def __exit__(self, *exc):
        self.connection.close()
