"""The transcript page keeps its totals and listing in the cache (issue 18), under a digest
of the learner's certificates and the query: every change that alters a transcript shows
at once, and no learner is ever shown another's."""

import datetime

import pytest
from django.db import connection

from certificates.models import Certificate
from certificates.selectors import transcript_version
from certificates.services import certificate_reinstate, certificate_reissue, certificate_revoke
from courses.models import CreditType

from .factories import ActivityFactory, StaffUserFactory, UserFactory, certificate_for

pytestmark = pytest.mark.django_db

REASON = "Claimed in error."


def certificate(user, completed_on, *, credits="1"):
    return certificate_for(
        activity=ActivityFactory(), user=user, credits=credits, completed_on=completed_on,
        state=Certificate.State.ISSUED,
    )


@pytest.fixture
def staff(db):
    return StaffUserFactory()


@pytest.fixture
def history(provider, learner, client):
    client.force_login(learner)
    return [
        certificate(learner, datetime.date(2025, 3, 1), credits="1"),
        certificate(learner, datetime.date(2026, 1, 5), credits="2"),
    ]


def page(client, query=""):
    return client.get(f"/me/transcript/{query}").content.decode()


def test_it_shows_a_new_certificate_at_once(history, learner, client):
    assert "3 AMA PRA Category 1 Credits™ claimed" in page(client)

    new = certificate(learner, datetime.date(2026, 2, 1), credits="0.5")

    html = page(client)
    assert new.number in html
    assert "<strong>3 activities</strong>" in html
    assert "3.5 AMA PRA Category 1 Credits™ claimed" in html


def test_it_drops_a_revoked_certificate_at_once(history, client, staff):
    page(client)

    certificate_revoke(certificate=history[1], actor=staff, reason=REASON)

    html = page(client)
    assert history[1].number not in html
    assert "1 AMA PRA Category 1 Credit™ claimed" in html


def test_it_lists_a_reinstated_certificate_again_at_once(history, client, staff):
    certificate_revoke(certificate=history[1], actor=staff, reason=REASON)
    assert history[1].number not in page(client)

    certificate_reinstate(certificate=history[1], actor=staff, reason="Revoked in error.")

    html = page(client)
    assert history[1].number in html
    assert "3 AMA PRA Category 1 Credits™ claimed" in html


def test_it_keeps_a_reissued_certificate_and_its_credit(history, learner, client, staff):
    page(client)
    learner.certificate_name = "Grace Brewster Murray Hopper"
    learner.save()

    certificate_reissue(certificate=history[0], actor=staff, reason="Legal name change.")

    html = page(client)
    assert history[0].number in html and history[1].number in html
    assert "3 AMA PRA Category 1 Credits™ claimed" in html


def test_it_sees_a_state_written_in_bulk(history, client):
    """Not every write goes through a service with a save signal: the digest reads the
    rows themselves."""
    page(client)

    Certificate.objects.filter(pk=history[1].pk).update(state=Certificate.State.REVOKED)

    assert history[1].number not in page(client)


def test_it_keeps_each_period_apart(history, client):
    assert history[0].number in page(client, "?end=2025-12-31")

    html = page(client, "?start=2026-01-01")

    assert history[0].number not in html and history[1].number in html
    assert "2 AMA PRA Category 1 Credits™ claimed" in html


def test_it_never_shows_one_learners_transcript_to_another(history, client):
    page(client)
    other = UserFactory()
    theirs = certificate(other, datetime.date(2026, 1, 5), credits="2")
    client.force_login(other)

    html = page(client)

    assert theirs.number in html
    assert all(mine.number not in html for mine in history)


def test_it_words_the_totals_as_the_credit_type_words_them_now(history, client):
    page(client)
    ama = CreditType.objects.get(code="ama")
    ama.unit_plural = "AMA PRA Category 1 Credits™ (renamed)"
    ama.save()

    assert "3 AMA PRA Category 1 Credits™ (renamed) claimed" in page(client)


def test_it_never_comes_back_to_a_digest_once_a_certificate_changed_state(history, learner, staff):
    before = transcript_version(user=learner)

    certificate_revoke(certificate=history[1], actor=staff, reason=REASON)
    certificate_reinstate(certificate=history[1], actor=staff, reason="Revoked in error.")

    after = transcript_version(user=learner)
    assert after.count == before.count == 2
    assert after.digest != before.digest


def test_it_counts_only_the_certificates_that_stand_in_the_period(history, learner, staff):
    certificate_revoke(certificate=history[0], actor=staff, reason=REASON)

    assert transcript_version(user=learner).count == 1
    assert transcript_version(user=learner, end=datetime.date(2025, 12, 31)).count == 0
    assert transcript_version(user=UserFactory()).count == 0


def test_it_tells_changes_apart_without_postgresqls_digest_too(history, learner, client, staff, monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    before = transcript_version(user=learner)
    page(client)

    certificate_revoke(certificate=history[1], actor=staff, reason=REASON)

    assert transcript_version(user=learner).digest != before.digest
    assert history[1].number not in page(client)

