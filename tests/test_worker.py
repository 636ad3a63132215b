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
from django.db import connection

from certificates.models import Certificate
from certificates.services import certificate_claim
from lms.celery import app as celery_app

from .conftest import pdf_text
from .factories import complete_activity, learner_ready_to_claim

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


@pytest.fixture
def worker(broker, media_root, tmp_path):
    if connection.vendor != "postgresql":
        pytest.fail("The worker tests need PostgreSQL (make test sets DATABASE_URL).")
    env = dict(
        os.environ,
        DATABASE_URL=worker_database_url(),
        REDIS_URL=broker,
        MEDIA_ROOT=str(media_root),
        DJANGO_SETTINGS_MODULE="lms.settings",
    )
    log = open(tmp_path / "worker.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lms", "worker", "--concurrency=1",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log.seek(0)
    print(log.read())


def wait_for_state(certificate, state, *, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        certificate.refresh_from_db()
        if certificate.state == state:
            return certificate
        time.sleep(0.2)
    pytest.fail(f"certificate still {certificate.state!r} after {timeout} s, not {state!r}")


def test_it_issues_a_claimed_certificate_through_a_real_worker(worker, provider, client):
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
