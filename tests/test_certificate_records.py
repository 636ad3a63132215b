"""Certificate records (issue 17, SPEC §4): every rendering is a version whose PDF is
kept; re-issue, revoke and reinstate need a reason, record who, when, why and what
changed, and repeat without effect; the public verification page says when a
certificate was re-issued or revoked; staff do all of it from /staff/certificates/."""

import importlib

import pytest
import time_machine
from auditlog.models import LogEntry
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from certificates.issuing import certificate_issue
from certificates.models import Certificate, CertificateEvent, CertificateVersion
from certificates.services import (
    certificate_claim,
    certificate_reinstate,
    certificate_reissue,
    certificate_revoke,
)
from certificates.tasks import render_certificate

from .conftest import NEW_YORK_EVENING, pdf_text
from .factories import (
    StaffUserFactory,
    UserFactory,
    certificate_for,
    complete_activity,
    learner_ready_to_claim,
    staff_login,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(db):
    return StaffUserFactory()


@pytest.fixture
def coordinator_client(client, coordinator):
    staff_login(client, coordinator)
    return client


def rename(certificate, name, degree=None):
    certificate.user.certificate_name = name
    if degree is not None:
        certificate.user.degree = degree
    certificate.user.save()


def reissued(certificate, *, actor, reason="Legal name change.", capture):
    with capture(execute=True):
        certificate_reissue(certificate=certificate, actor=actor, reason=reason)
    certificate.refresh_from_db()
    return certificate


def stored(name):
    from django.core.files.storage import default_storage

    return default_storage.exists(name)


# --- Versions ---------------------------------------------------------------------------


def test_it_makes_version_one_when_the_claimed_certificate_renders(pending):
    certificate_issue(certificate_id=pending.pk)
    pending.refresh_from_db()

    (version,) = pending.versions.all()
    assert (version.sequence, version.actor, version.reason) == (1, None, "")
    assert (version.name_before, version.name_after) == ("", pending.learner_name)
    assert version.degree_after == pending.learner_degree
    assert version.pdf.name == pending.pdf.name and stored(version.pdf.name)


def test_it_makes_exactly_one_version_when_the_render_is_delivered_twice(pending):
    render_certificate.apply(args=[pending.pk])
    render_certificate.apply(args=[pending.pk])

    assert pending.versions.count() == 1
    assert pending.events.filter(action=CertificateEvent.Action.ISSUED).count() == 1


def test_it_adds_a_version_on_reissue_and_keeps_the_old_pdf(
    issued_certificate, coordinator, django_capture_on_commit_callbacks
):
    old_name, old_pdf = issued_certificate.learner_name, issued_certificate.pdf.name
    rename(issued_certificate, "Grace Brewster Murray", degree="DO")

    certificate = reissued(
        issued_certificate, actor=coordinator, reason="Married name.", capture=django_capture_on_commit_callbacks
    )

    first, second = certificate.versions.order_by("sequence")
    assert (second.sequence, second.actor, second.reason) == (2, coordinator, "Married name.")
    assert (second.name_before, second.name_after) == (old_name, "Grace Brewster Murray")
    assert (second.degree_before, second.degree_after) == ("MD", "DO")
    assert certificate.pdf.name == second.pdf.name != old_pdf
    assert first.pdf.name == old_pdf and stored(old_pdf)
    assert old_name in pdf_text(first.pdf.open("rb").read())
    assert "Grace Brewster Murray" in pdf_text(second.pdf.open("rb").read())


def test_it_gives_every_certificate_rendered_before_versions_its_version_one(activity):
    backfill = importlib.import_module("certificates.migrations.0011_backfill_first_versions").backfill
    rendered = certificate_for(activity=activity, state=Certificate.State.ISSUED, pdf="certificates/old.pdf")
    certificate_for(activity=activity)  # still pending: no PDF, no version

    backfill(apps, None)
    backfill(apps, None)

    (version,) = CertificateVersion.objects.all()
    assert (version.certificate, version.sequence, version.pdf.name) == (rendered, 1, "certificates/old.pdf")
    assert version.name_after == rendered.learner_name and version.actor is None


def test_it_records_a_render_as_its_version_and_event_with_one_read_of_the_certificate(pending):
    with CaptureQueriesContext(connection) as queries:
        certificate_issue(certificate_id=pending.pk)

    statements = [query["sql"] for query in queries.captured_queries]
    reads = [sql for sql in statements if sql.startswith("SELECT") and '"certificates_certificate"' in sql.split("WHERE")[0]]
    assert len(reads) == 1  # the locked read the render always made
    assert not any(sql.startswith('INSERT INTO "auditlog_logentry"') for sql in statements)
    assert not LogEntry.objects.get_for_object(pending).filter(action=LogEntry.Action.UPDATE).exists()
    event = pending.events.get(action=CertificateEvent.Action.ISSUED)
    version = pending.versions.get()
    pending.refresh_from_db()
    assert event.at == version.created_at == pending.issued_at


# --- Re-issue, revoke, reinstate --------------------------------------------------------


@pytest.mark.parametrize("change", [certificate_reissue, certificate_revoke, certificate_reinstate])
@pytest.mark.parametrize("reason", ["", "   ", None])
def test_it_refuses_a_change_without_a_reason_and_changes_nothing(issued_certificate, coordinator, change, reason):
    if change is certificate_reinstate:
        certificate_revoke(certificate=issued_certificate, actor=coordinator, reason="Claimed in error.")
    state, events = Certificate.objects.get(pk=issued_certificate.pk).state, issued_certificate.events.count()

    with pytest.raises(ValueError, match="reason"):
        change(certificate=issued_certificate, actor=coordinator, reason=reason)

    assert Certificate.objects.get(pk=issued_certificate.pk).state == state
    assert issued_certificate.events.count() == events


def test_it_records_who_why_and_the_name_change_of_a_reissue(issued_certificate, coordinator):
    old_name = issued_certificate.learner_name
    rename(issued_certificate, "Grace Murray")

    certificate_reissue(certificate=issued_certificate, actor=coordinator, reason="  Legal name change.  ")

    event = issued_certificate.events.get(action=CertificateEvent.Action.REISSUE_REQUESTED)
    assert (event.actor, event.reason) == (coordinator, "Legal name change.")
    assert event.note == f"Name: {old_name} → Grace Murray"
    entry = LogEntry.objects.get_for_object(issued_certificate).filter(actor=coordinator).get()
    assert entry.changes["learner_name"] == [old_name, "Grace Murray"]


def test_it_records_nothing_new_when_a_reissue_with_the_same_name_is_already_pending(
    issued_certificate, coordinator
):
    rename(issued_certificate, "Grace Murray")
    certificate_reissue(certificate=issued_certificate, actor=coordinator, reason="Name change.")
    certificate_reissue(certificate=issued_certificate, actor=coordinator, reason="Name change, again.")

    assert issued_certificate.events.filter(action=CertificateEvent.Action.REISSUE_REQUESTED).count() == 1


def test_it_revokes_once_and_records_the_reason(issued_certificate, coordinator):
    certificate_revoke(certificate=issued_certificate, actor=coordinator, reason="Attestation was false.")
    certificate_revoke(certificate=issued_certificate, actor=coordinator, reason="Clicked twice.")

    issued_certificate.refresh_from_db()
    assert issued_certificate.state == Certificate.State.REVOKED
    (event,) = issued_certificate.events.filter(action=CertificateEvent.Action.REVOKED)
    assert (event.actor, event.reason, event.note) == (coordinator, "Attestation was false.", "Was issued.")


def test_it_reinstates_a_revoked_certificate_as_issued(issued_certificate, coordinator):
    certificate_revoke(certificate=issued_certificate, actor=coordinator, reason="Wrong learner.")
    certificate_reinstate(certificate=issued_certificate, actor=coordinator, reason="It was the right learner.")
    certificate_reinstate(certificate=issued_certificate, actor=coordinator, reason="Once more.")

    issued_certificate.refresh_from_db()
    assert issued_certificate.state == Certificate.State.ISSUED
    (event,) = issued_certificate.events.filter(action=CertificateEvent.Action.REINSTATED)
    assert (event.actor, event.reason) == (coordinator, "It was the right learner.")
    assert issued_certificate.versions.count() == 1


def test_it_records_nothing_when_reinstating_a_certificate_that_stands(issued_certificate, coordinator):
    certificate_reinstate(certificate=issued_certificate, actor=coordinator, reason="Just in case.")

    assert not issued_certificate.events.filter(action=CertificateEvent.Action.REINSTATED).exists()


def test_it_renders_again_on_reinstating_a_certificate_revoked_during_its_reissue(
    issued_certificate, coordinator, django_capture_on_commit_callbacks
):
    rename(issued_certificate, "Grace Murray")
    certificate_reissue(certificate=issued_certificate, actor=coordinator, reason="Name change.")
    certificate_revoke(certificate=issued_certificate, actor=coordinator, reason="Paused while we check.")

    with django_capture_on_commit_callbacks(execute=True):
        certificate_reinstate(certificate=issued_certificate, actor=coordinator, reason="Checked.")

    issued_certificate.refresh_from_db()
    assert issued_certificate.state == Certificate.State.ISSUED
    latest = issued_certificate.versions.order_by("-sequence").first()
    assert (latest.sequence, latest.name_after, latest.reason) == (2, "Grace Murray", "Name change.")


# --- The public verification page ------------------------------------------------------


def verify_page(number):
    return Client().get(f"/certificates/verify/{number}/").content.decode()


def test_it_says_when_a_certificate_was_revoked_in_the_providers_time_zone(issued_certificate, coordinator):
    verify_page(issued_certificate.number)  # cached from here on
    with time_machine.travel(NEW_YORK_EVENING, tick=False):
        certificate_revoke(certificate=issued_certificate, actor=coordinator, reason="Issued in error.")

    page = verify_page(issued_certificate.number)
    assert "has been revoked" in page
    assert "Revoked on November 26, 2026" in page


def test_it_verifies_a_claimed_certificate_whose_number_was_asked_for_before_it_existed(
    activity, monkeypatch, django_capture_on_commit_callbacks
):
    number = "CME-77777-77777-77777"
    assert "No certificate has this number" in verify_page(number)
    # The claim draws this very number.
    monkeypatch.setattr("certificates.models.secrets.choice", lambda alphabet: "7")
    learner = learner_ready_to_claim(activity=activity)

    with django_capture_on_commit_callbacks(execute=True):  # the claim, then its rendering
        certificate_claim(user=learner, activity=activity, credits="1", attested=True)

    page = verify_page(number)
    assert "Valid certificate" in page and learner.certificate_name in page


def test_it_verifies_a_certificate_recorded_as_issued_whose_number_was_asked_for_before(activity):
    number = "CME-23456-789AB-CDEFH"
    assert "No certificate has this number" in verify_page(number)

    certificate = certificate_for(activity=activity, number=number, state=Certificate.State.ISSUED)

    page = verify_page(number)
    assert "Valid certificate" in page and certificate.learner_name in page


def test_it_says_when_a_certificate_was_reissued_and_shows_the_new_name(
    issued_certificate, coordinator, django_capture_on_commit_callbacks
):
    assert "Re-issued" not in verify_page(issued_certificate.number)
    rename(issued_certificate, "Grace Murray")
    with time_machine.travel(NEW_YORK_EVENING, tick=False):
        reissued(issued_certificate, actor=coordinator, capture=django_capture_on_commit_callbacks)

    page = verify_page(issued_certificate.number)
    assert "Re-issued on November 26, 2026" in page
    assert "Grace Murray" in page and "Valid certificate" in page


def test_it_keeps_verifying_a_certificate_while_its_reissue_is_prepared(issued_certificate, coordinator):
    verify_page(issued_certificate.number)
    rename(issued_certificate, "Grace Murray")
    certificate_reissue(certificate=issued_certificate, actor=coordinator, reason="Name change.")

    page = verify_page(issued_certificate.number)
    assert "Valid certificate" in page and "Grace Murray" in page


def test_it_says_a_certificate_was_reissued_once_the_new_version_seen_as_being_prepared_is_rendered(
    issued_certificate, coordinator, django_capture_on_commit_callbacks
):
    rename(issued_certificate, "Grace Murray")
    certificate_reissue(certificate=issued_certificate, actor=coordinator, reason="Name change.")
    assert "Re-issued" not in verify_page(issued_certificate.number)  # kept while it renders

    with time_machine.travel(NEW_YORK_EVENING, tick=False), django_capture_on_commit_callbacks(execute=True):
        certificate_issue(certificate_id=issued_certificate.pk)

    assert "Re-issued on November 26, 2026" in verify_page(issued_certificate.number)


def test_it_shows_a_reinstated_certificate_as_valid_again(issued_certificate, coordinator):
    certificate_revoke(certificate=issued_certificate, actor=coordinator, reason="Wrong learner.")
    assert "has been revoked" in verify_page(issued_certificate.number)

    certificate_reinstate(certificate=issued_certificate, actor=coordinator, reason="Right learner after all.")

    page = verify_page(issued_certificate.number)
    assert "Valid certificate" in page and "revoked" not in page.lower()


# --- Staff pages ------------------------------------------------------------------------


def test_it_finds_certificates_by_number_name_or_email(coordinator_client, activity):
    wanted = certificate_for(activity=activity, user=UserFactory(email="ada@example.org", certificate_name="Ada Byron"))
    other = certificate_for(activity=activity)

    for query in [wanted.number.lower().replace("-", " "), "ada byron", "ADA@EXAMPLE"]:
        page = coordinator_client.get("/staff/certificates/", {"q": query}).content.decode()
        assert wanted.number in page and other.number not in page, query


def test_it_says_so_when_no_certificate_matches_or_none_exist(coordinator_client, provider):
    assert "No certificates yet" in coordinator_client.get("/staff/certificates/").content.decode()
    page = coordinator_client.get("/staff/certificates/", {"q": "nobody"}).content.decode()
    assert "No certificate matches this search" in page


def test_it_lists_certificates_in_pages_with_the_same_number_of_queries(
    coordinator_client, activity, django_assert_num_queries
):
    for _ in range(3):
        certificate_for(activity=activity)
    coordinator_client.get("/staff/certificates/")
    with CaptureQueriesContext(connection) as few:
        coordinator_client.get("/staff/certificates/")
    for _ in range(30):
        certificate_for(activity=activity)
    with django_assert_num_queries(len(few.captured_queries)):
        page = coordinator_client.get("/staff/certificates/").content.decode()
    assert "Page 1 of 2" in page


def test_it_shows_a_certificates_versions_and_history_to_staff(
    issued_certificate, coordinator, coordinator_client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    rename(issued_certificate, "Grace Murray")
    reissued(issued_certificate, actor=coordinator, reason="Legal name change.", capture=django_capture_on_commit_callbacks)
    url = f"/staff/certificates/{issued_certificate.number}/"

    page = coordinator_client.get(url).content.decode()

    assert "Legal name change." in page and "Grace Murray" in page
    assert f"{url}versions/1.pdf" in page and f"{url}versions/2.pdf" in page
    assert "Re-issue requested" in page and coordinator.email in page
    response = coordinator_client.get(f"{url}versions/1.pdf")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert coordinator_client.get(f"{url}versions/3.pdf").status_code == 404


def test_it_shows_a_long_history_with_the_same_number_of_queries(
    issued_certificate, coordinator, coordinator_client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    url = f"/staff/certificates/{issued_certificate.number}/"
    coordinator_client.get(url)
    with CaptureQueriesContext(connection) as short:
        coordinator_client.get(url)
    for number in range(3):
        rename(issued_certificate, f"Grace Murray {number}")
        reissued(issued_certificate, actor=coordinator, capture=django_capture_on_commit_callbacks)
        certificate_revoke(certificate=issued_certificate, actor=coordinator, reason="Checking.")
        certificate_reinstate(certificate=issued_certificate, actor=coordinator, reason="Checked.")

    with django_assert_num_queries(len(short.captured_queries)):
        page = coordinator_client.get(url).content.decode()
    assert f"{url}versions/4.pdf" in page


@pytest.mark.parametrize("action", ["reissue", "revoke"])
def test_a_get_of_a_confirmation_page_changes_nothing(coordinator_client, issued_certificate, action):
    response = coordinator_client.get(f"/staff/certificates/{issued_certificate.number}/{action}/")

    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()
    issued_certificate.refresh_from_db()
    assert issued_certificate.state == Certificate.State.ISSUED
    assert not issued_certificate.events.exclude(action="issued").exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_turns_down_a_revocation_without_a_reason_and_changes_nothing(
    coordinator_client, issued_certificate, reason
):
    response = coordinator_client.post(f"/staff/certificates/{issued_certificate.number}/revoke/", {"reason": reason})

    assert response.status_code == 400
    assert "Give the reason for this change." in response.content.decode()
    issued_certificate.refresh_from_db()
    assert issued_certificate.state == Certificate.State.ISSUED


def test_staff_revoke_and_reinstate_with_a_reason(coordinator_client, coordinator, issued_certificate):
    base = f"/staff/certificates/{issued_certificate.number}"

    response = coordinator_client.post(f"{base}/revoke/", {"reason": "Did not attend."})
    assert response.status_code == 302 and response["Location"] == f"{base}/"
    assert Certificate.objects.get(pk=issued_certificate.pk).state == Certificate.State.REVOKED

    response = coordinator_client.post(f"{base}/reinstate/", {"reason": "Attendance confirmed."}, follow=True)
    assert "is reinstated: issued" in response.content.decode()
    assert list(issued_certificate.events.filter(actor=coordinator).values_list("action", "reason")) == [
        ("revoked", "Did not attend."),
        ("reinstated", "Attendance confirmed."),
    ]


def test_staff_reissue_with_a_reason(coordinator_client, coordinator, issued_certificate, django_capture_on_commit_callbacks):
    rename(issued_certificate, "Grace Murray")
    with django_capture_on_commit_callbacks(execute=True):
        response = coordinator_client.post(
            f"/staff/certificates/{issued_certificate.number}/reissue/", {"reason": "Legal name change."}
        )

    assert response.status_code == 302
    version = issued_certificate.versions.get(sequence=2)
    assert (version.actor, version.reason, version.name_after) == (coordinator, "Legal name change.", "Grace Murray")


def test_it_explains_that_a_revoked_certificate_must_be_reinstated_before_a_reissue(
    coordinator_client, coordinator, issued_certificate
):
    certificate_revoke(certificate=issued_certificate, actor=coordinator, reason="Wrong learner.")
    url = f"/staff/certificates/{issued_certificate.number}/reissue/"

    assert "Reinstate it first" in coordinator_client.get(url).content.decode()
    response = coordinator_client.post(url, {"reason": "Name change."})
    assert response.status_code == 400
    assert "Reinstate it first" in response.content.decode()
    assert Certificate.objects.get(pk=issued_certificate.pk).state == Certificate.State.REVOKED


def test_a_post_without_the_csrf_token_changes_nothing(coordinator, issued_certificate):
    client = Client(enforce_csrf_checks=True)
    staff_login(client, coordinator)

    response = client.post(f"/staff/certificates/{issued_certificate.number}/revoke/", {"reason": "Forged."})

    assert response.status_code == 403
    assert Certificate.objects.get(pk=issued_certificate.pk).state == Certificate.State.ISSUED


STAFF_PATHS = ["/", "{n}/", "{n}/versions/1.pdf", "{n}/reissue/", "{n}/revoke/", "{n}/reinstate/"]


@pytest.mark.parametrize("path", STAFF_PATHS)
def test_a_learner_cannot_reach_the_staff_certificate_pages_even_for_their_own(client, issued_certificate, path):
    client.force_login(issued_certificate.user)
    url = "/staff/certificates/" + path.format(n=issued_certificate.number).lstrip("/")

    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "Mine."}).status_code == 404
    assert Certificate.objects.get(pk=issued_certificate.pk).state == Certificate.State.ISSUED


@pytest.mark.parametrize("path", STAFF_PATHS)
def test_staff_without_the_coordinator_role_cannot_reach_them(client, issued_certificate, path):
    staff_login(client, StaffUserFactory(coordinator=False))
    url = "/staff/certificates/" + path.format(n=issued_certificate.number).lstrip("/")

    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "Because."}).status_code == 403
    assert Certificate.objects.get(pk=issued_certificate.pk).state == Certificate.State.ISSUED


def test_anonymous_visitors_are_sent_to_log_in(client, issued_certificate):
    response = client.post(f"/staff/certificates/{issued_certificate.number}/revoke/", {"reason": "Anyone."})

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Certificate.objects.get(pk=issued_certificate.pk).state == Certificate.State.ISSUED


def test_the_staff_index_links_to_certificates_and_the_audit_history(coordinator_client, provider):
    page = coordinator_client.get("/staff/").content.decode()

    assert 'href="/staff/certificates/"' in page and 'href="/staff/audit/"' in page


def test_it_still_lists_the_certificate_of_an_activity_edited_since(coordinator_client, provider):
    activity = complete_activity(title="Old title")
    certificate = certificate_for(activity=activity, rendered=True)
    activity.title = "New title"
    activity.save()

    page = coordinator_client.get(f"/staff/certificates/{certificate.number}/").content.decode()
    assert "Old title" in page and "New title" not in page
