import datetime
from unittest import mock

import pytest
import time_machine
from django.core import mail

from certificates.issuing import certificate_issue
from certificates.models import Certificate, CertificateEvent
from certificates.services import (
    certificate_claim,
    certificate_reissue,
    certificate_revoke,
    certificates_requeue,
    certificates_sweep,
)
from certificates.tasks import render_certificate

from .conftest import pdf_text
from .factories import UserFactory, certificate_for, learner_ready_to_claim, staff_login


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


def test_it_emails_the_learner_when_the_certificate_is_ready(pending, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        certificate_issue(certificate_id=pending.pk)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [pending.user.email]
    assert f"/certificates/{pending.number}/" in mail.outbox[0].body


def test_it_reissues_with_the_new_legal_name_and_the_same_number(
    pending, staff, django_capture_on_commit_callbacks
):
    certificate_issue(certificate_id=pending.pk)
    pending.user.certificate_name = "Grace Brewster Murray"
    pending.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        certificate_reissue(certificate=pending, actor=staff, reason="Name change")
    pending.refresh_from_db()
    assert pending.state == Certificate.State.ISSUED
    assert pending.number in pending.pdf.name
    text = pdf_text(pending.pdf.open("rb").read())
    assert "Grace Brewster Murray" in text
    assert pending.number in text
    assert list(pending.events.values_list("action", "actor")) == [
        ("claimed", pending.user.pk),
        ("issued", None),
        ("reissue_requested", staff.pk),
        ("issued", None),
    ]


def test_it_refuses_to_reissue_a_revoked_certificate(pending, staff):
    certificate_revoke(certificate=pending, actor=staff, reason="Claimed in error.")
    with pytest.raises(ValueError, match="reinstate it"):
        certificate_reissue(certificate=pending, actor=staff, reason="Name change")
    pending.refresh_from_db()
    assert pending.state == Certificate.State.REVOKED


def test_it_marks_a_certificate_failed_after_the_last_retry(pending):
    with mock.patch("certificates.issuing.certificate_pdf", side_effect=OSError("disk full")):
        render_certificate.apply(args=[pending.pk])
    pending.refresh_from_db()
    assert pending.state == Certificate.State.FAILED
    assert "disk full" in pending.last_error
    assert pending.events.filter(action=CertificateEvent.Action.RENDER_FAILED).count() == 1


def test_it_recovers_when_a_transient_failure_passes(pending):
    real = __import__("certificates.pdf", fromlist=["certificate_pdf"]).certificate_pdf
    with mock.patch(
        "certificates.issuing.certificate_pdf", side_effect=[OSError("storage hiccup"), real(pending)]
    ):
        render_certificate.apply(args=[pending.pk])
    pending.refresh_from_db()
    assert pending.state == Certificate.State.ISSUED


def test_it_lets_staff_rerun_a_failed_certificate(pending, staff, django_capture_on_commit_callbacks):
    Certificate.objects.filter(pk=pending.pk).update(state=Certificate.State.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        assert certificates_requeue(certificates=Certificate.objects.all(), actor=staff) == 1
    pending.refresh_from_db()
    assert pending.state == Certificate.State.ISSUED


def test_it_sweeps_certificates_pending_longer_than_a_minute(pending, django_capture_on_commit_callbacks):
    claimed = pending.state_changed_at
    with django_capture_on_commit_callbacks(execute=True):
        assert certificates_sweep(now=claimed + datetime.timedelta(seconds=59)) == (0, 0)
        assert certificates_sweep(now=claimed + datetime.timedelta(seconds=61)) == (1, 0)
    pending.refresh_from_db()
    assert pending.state == Certificate.State.ISSUED


def test_it_leaves_issued_and_mailed_certificates_alone_in_the_sweep(
    pending, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        certificate_issue(certificate_id=pending.pk)
    with time_machine.travel(datetime.timedelta(hours=1)):
        assert certificates_sweep() == (0, 0)
    assert len(mailoutbox) == 1


def test_it_offers_no_reissue_or_revoke_in_the_admin_which_would_bypass_the_reason(pending, client):
    certificate_issue(certificate_id=pending.pk)
    admin = UserFactory(is_staff=True, is_superuser=True)
    staff_login(client, admin)
    response = client.post(
        "/admin/certificates/certificate/", {"action": "reissue", "_selected_action": [pending.pk]}
    )

    pending.refresh_from_db()
    assert pending.state == Certificate.State.ISSUED
    assert not pending.events.filter(action="reissue_requested").exists()
    page = client.get("/admin/certificates/certificate/").content.decode()
    assert 'value="rerun"' in page
    assert 'value="reissue"' not in page and 'value="revoke"' not in page
    assert response.status_code == 302


def test_it_counts_every_certificate_but_the_revoked_as_standing(activity):
    pending = certificate_for(activity=activity)
    failed = certificate_for(activity=activity, state=Certificate.State.FAILED)
    issued = certificate_for(activity=activity, rendered=True)
    revoked = certificate_for(activity=activity, rendered=True)
    certificate_revoke(certificate=revoked, actor=None, reason="Claimed in error.")

    assert set(Certificate.objects.standing()) == {pending, failed, issued}

