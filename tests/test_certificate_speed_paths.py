"""What keeps a burst of claims fast without losing anything: the sweep leaves alone the
work the broker still holds, and a worker reads the provider's images once and prepares
its renderer before the first certificate."""

import datetime
import gc
from unittest import mock

import pytest
import redis
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from kombu import Queue
from kombu.exceptions import OperationalError

from certificates import issuing, pdf, tasks
from certificates.issuing import certificates_held_by_broker
from certificates.models import Certificate
from certificates.services import certificate_claim, certificates_sweep

from .factories import learner_ready_to_claim

pytestmark = pytest.mark.django_db

LATER = datetime.timedelta(seconds=61)


@pytest.fixture
def queued(broker, activity, django_capture_on_commit_callbacks):
    """A claim whose rendering waits in Redis, with no worker to take it."""
    learner = learner_ready_to_claim(activity=activity)
    with django_capture_on_commit_callbacks(execute=True):
        return certificate_claim(user=learner, activity=activity, credits="1", attested=True)


def requeued(certificate):
    return certificate.events.filter(action="requeued").count()


def test_it_leaves_a_certificate_still_waiting_in_the_queue_to_its_worker(queued):
    assert certificates_held_by_broker()[tasks.render_certificate.name] == {queued.pk}
    assert certificates_sweep(now=queued.state_changed_at + LATER) == (0, 0)
    assert requeued(queued) == 0


def test_it_queues_again_a_certificate_whose_message_the_broker_lost(
    queued, broker, django_capture_on_commit_callbacks
):
    redis.Redis.from_url(broker).flushdb()
    with django_capture_on_commit_callbacks(execute=True):
        assert certificates_sweep(now=queued.state_changed_at + LATER) == (1, 0)
    assert requeued(queued) == 1
    # Queued again, it is held again: the next sweep leaves it alone.
    assert certificates_held_by_broker()[tasks.render_certificate.name] == {queued.pk}


def test_it_trusts_a_delivered_message_only_within_the_visibility_timeout(queued, settings):
    app = tasks.render_certificate.app
    with app.connection_for_read() as connection:
        delivered = []
        consumer = connection.Consumer(
            Queue("celery"), callbacks=[lambda body, message: delivered.append(message)], accept=["json"]
        )
        with consumer:
            connection.drain_events(timeout=5)
            assert len(delivered) == 1
            assert connection.default_channel.client.llen("celery") == 0
            # In a worker's hands: not lost.
            assert certificates_held_by_broker()[tasks.render_certificate.name] == {queued.pk}
            assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] < LATER.total_seconds()
            with time_machine.travel(LATER):
                # Its worker has held it past the timeout: taken for dead.
                assert certificates_held_by_broker() == {}
                assert certificates_sweep() == (1, 0)
            delivered[0].ack()


def test_it_leaves_an_email_waiting_in_the_mail_queue_alone(queued, broker):
    Certificate.objects.filter(pk=queued.pk).update(state=Certificate.State.ISSUED)
    issuing.certificate_queue_email(certificate_id=queued.pk)
    redis.Redis.from_url(broker).delete("celery")
    assert certificates_sweep(now=queued.state_changed_at + LATER) == (0, 0)
    redis.Redis.from_url(broker).delete("mail")
    assert certificates_sweep(now=queued.state_changed_at + LATER) == (0, 1)


def test_it_falls_back_on_the_age_of_a_claim_when_the_broker_cannot_be_read(queued):
    unreachable = OperationalError("Error 111 connecting to 127.0.0.1:6379.")
    with mock.patch.object(tasks.render_certificate.app, "connection_for_read", side_effect=unreachable):
        assert certificates_held_by_broker() is None
        assert certificates_sweep(now=queued.state_changed_at + LATER) == (1, 0)


def test_it_cannot_tell_what_is_queued_when_tasks_run_in_process(pending):
    assert certificates_held_by_broker() is None


def test_it_reads_each_stored_image_once_per_process(media_root):
    name = default_storage.save("provider/logo-once.png", ContentFile(b"\x89PNG first"))
    first = pdf.stored_image_data_uri(name)
    with mock.patch.object(default_storage, "open", side_effect=AssertionError("read twice")):
        assert pdf.stored_image_data_uri(name) == first
    assert first.startswith("data:image/png;base64,")


def test_it_reads_an_image_again_from_another_storage_place(media_root, settings, tmp_path):
    name = default_storage.save("provider/logo-place.png", ContentFile(b"\x89PNG first"))
    first = pdf.stored_image_data_uri(name)
    settings.MEDIA_ROOT = tmp_path / "other-media"
    assert default_storage.save(name, ContentFile(b"\x89PNG other")) == name
    assert pdf.stored_image_data_uri(name) != first


def test_it_does_not_remember_a_missing_image(media_root):
    assert pdf.stored_image_data_uri("provider/later.png") == ""
    default_storage.save("provider/later.png", ContentFile(b"\x89PNG late"))
    assert pdf.stored_image_data_uri("provider/later.png") != ""


def test_it_prepares_a_pool_process_to_render_before_its_first_task():
    pdf._stylesheets.clear()
    tasks.prepare_to_render()
    assert "certificate.css" in pdf._stylesheets


def test_it_keeps_the_collector_off_what_a_pool_process_holds_once_warmed_up():
    gc.unfreeze()
    tasks.prepare_to_render()
    assert gc.get_freeze_count() > 0
