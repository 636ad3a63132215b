"""Nothing lost, nothing doubled: the claim survives a broker that is down, the sweep
finishes what lost messages left undone, and the "ready" e-mail goes out exactly once."""

import datetime
import io
import os
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from kombu.exceptions import OperationalError

from certificates import issuing, tasks
from certificates.issuing import certificate_email_ready, certificate_issue
from certificates.models import Certificate
from certificates.services import certificate_claim, certificates_sweep

from .factories import StaffUserFactory, learner_ready_to_claim, staff_login
from .processes import free_port

pytestmark = pytest.mark.django_db


def broker_down():
    return mock.patch.object(
        tasks.render_certificate, "delay", side_effect=OperationalError("Error 111 connecting to 127.0.0.1:6379.")
    )


@pytest.fixture
def issued(pending):
    certificate_issue(certificate_id=pending.pk)
    pending.refresh_from_db()
    return pending


def test_it_keeps_the_claim_and_records_the_reason_when_the_broker_is_down(
    activity, django_capture_on_commit_callbacks
):
    learner = learner_ready_to_claim(activity=activity)
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_claim(user=learner, activity=activity, credits="1", attested=True)
    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.PENDING
    assert "task broker was unreachable" in certificate.queue_error
    assert "Error 111" in certificate.queue_error


def test_it_shows_the_learner_the_being_prepared_page_when_the_broker_is_down(
    activity, client, django_capture_on_commit_callbacks
):
    learner = learner_ready_to_claim(activity=activity)
    client.force_login(learner)
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/activities/{activity.slug}/claim/", {"credits": "1", "attest": "on"}, follow=True)
    assert response.status_code == 200
    assert "being prepared" in response.content.decode()
    certificate = Certificate.objects.get(user=learner)
    assert certificate.queue_error


def test_it_queues_a_certificate_the_broker_refused_at_the_next_sweep(
    activity, django_capture_on_commit_callbacks
):
    learner = learner_ready_to_claim(activity=activity)
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_claim(user=learner, activity=activity, credits="1", attested=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert certificates_sweep() == (1, 0)
    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.ISSUED
    assert certificate.queue_error == ""
    assert certificate.emailed_at is not None


def test_it_does_not_queue_a_waiting_certificate_again_within_a_minute(pending):
    with time_machine.travel(pending.state_changed_at + datetime.timedelta(seconds=59)):
        assert certificates_sweep() == (0, 0)


def test_it_queues_every_pending_certificate_when_a_worker_starts(pending, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert certificates_sweep(recovering=True) == (1, 0)
    pending.refresh_from_db()
    assert pending.state == Certificate.State.ISSUED


def test_it_records_when_the_ready_email_went_out(issued):
    assert certificate_email_ready(certificate_id=issued.pk) is True
    issued.refresh_from_db()
    assert issued.emailed_at is not None
    assert len(mail.outbox) == 1
    assert issued.number in mail.outbox[0].body


def test_it_sends_the_ready_email_once_however_often_it_is_delivered(issued):
    for _ in range(3):
        tasks.email_certificate_ready.apply(args=[issued.pk])
    assert len(mail.outbox) == 1


def test_it_leaves_the_email_to_a_delivery_already_sending_it(issued):
    Certificate.objects.filter(pk=issued.pk).update(email_sending_since=timezone.now())
    assert certificate_email_ready(certificate_id=issued.pk) is False
    assert mail.outbox == []


def test_it_takes_over_an_email_whose_sender_died_after_the_lease(issued):
    started = timezone.now()
    Certificate.objects.filter(pk=issued.pk).update(email_sending_since=started)
    assert certificate_email_ready(certificate_id=issued.pk, now=started + datetime.timedelta(seconds=29)) is False
    assert certificate_email_ready(certificate_id=issued.pk, now=started + datetime.timedelta(seconds=31)) is True
    assert len(mail.outbox) == 1


def test_it_releases_the_lease_when_sending_fails_so_the_sweep_can_retry(issued):
    with mock.patch.object(issuing, "send_mail", side_effect=ConnectionRefusedError("mail server down")):
        with pytest.raises(ConnectionRefusedError):
            certificate_email_ready(certificate_id=issued.pk)
    issued.refresh_from_db()
    assert issued.email_sending_since is None
    assert issued.emailed_at is None
    with time_machine.travel(issued.state_changed_at + datetime.timedelta(seconds=31)):
        assert certificates_sweep() == (0, 1)
    assert len(mail.outbox) == 1


def test_it_waits_half_a_minute_before_the_sweep_sends_an_unsent_email(issued):
    with time_machine.travel(issued.state_changed_at + datetime.timedelta(seconds=29)):
        assert certificates_sweep() == (0, 0)
    assert mail.outbox == []


def test_it_never_emails_a_revoked_certificate(issued):
    Certificate.objects.filter(pk=issued.pk).update(state=Certificate.State.REVOKED)
    assert certificate_email_ready(certificate_id=issued.pk) is False
    with time_machine.travel(datetime.timedelta(hours=1)):
        assert certificates_sweep() == (0, 0)
    assert mail.outbox == []


def test_it_records_the_error_once_storage_fails_for_good(
    pending, settings, tmp_path, django_capture_on_commit_callbacks
):
    # A file where the certificates folder should be: every save fails, as on a read-only
    # or missing volume (root ignores permission bits, so a chmod would not do).
    settings.MEDIA_ROOT = tmp_path / "broken-media"
    settings.MEDIA_ROOT.mkdir()
    (settings.MEDIA_ROOT / "certificates").write_text("not a folder")
    tasks.render_certificate.apply(args=[pending.pk])
    pending.refresh_from_db()
    assert pending.state == Certificate.State.FAILED
    assert "certificates" in pending.last_error
    assert pending.events.filter(action="render_failed").count() == 1

    (settings.MEDIA_ROOT / "certificates").unlink()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("sweep_certificates", "--failed", stdout=io.StringIO())
    pending.refresh_from_db()
    assert pending.state == Certificate.State.ISSUED
    assert pending.pdf.storage.exists(pending.pdf.name)


def test_it_bounds_the_retries_under_the_visibility_timeout(settings):
    longest_hold = tasks.LONGEST_COUNTDOWN + settings.EMAIL_TIMEOUT
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > longest_hold
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= 45


def test_it_runs_the_sweep_on_celery_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-certificates"]
    assert entry["task"] == tasks.sweep_certificates.name
    assert entry["schedule"] <= 15


def test_it_shows_staff_that_the_broker_is_unreachable(client, settings, activity, django_capture_on_commit_callbacks):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    learner = learner_ready_to_claim(activity=activity)
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        certificate_claim(user=learner, activity=activity, credits="1", attested=True)
    staff_login(client, StaffUserFactory())
    page = client.get("/staff/").content.decode()
    assert "The task broker (Redis) is not answering." in page
    assert "Waiting for the broker: 1" in page


def test_it_shows_staff_a_healthy_queue_without_alarm(client, settings, issued):
    settings.REDIS_URL = os.environ.get("REDIS_URL", settings.REDIS_URL)
    staff_login(client, StaffUserFactory())
    page = client.get("/staff/").content.decode()
    assert "Certificate queue" in page
    assert "not answering" not in page
    assert "Failed to render: 0" in page


def test_it_shows_the_rendering_error_in_the_admin_list(client, pending):
    Certificate.objects.filter(pk=pending.pk).update(
        state=Certificate.State.FAILED, last_error="[Errno 30] Read-only file system: 'certificates'"
    )
    staff_login(client, StaffUserFactory(is_superuser=True))
    page = client.get("/admin/certificates/certificate/?state__exact=failed").content.decode()
    assert "Read-only file system" in page
