"""The MOC reporting queue (issue 17): MOC points of consenting learners, due 30 days after
completion in the provider's calendar, what was sent when, and the boards' answers."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from certificates.models import Certificate
from lms.models import ReportedRecord

from .factories import (
    ProviderFactory,
    StaffUserFactory,
    certificate_for,
    certificate_with_lines as completion,
    complete_activity,
    credit_line_for,
    reporting_physician as physician,
    staff_login,
)

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
QUEUE = "/staff/reporting/moc/"


@pytest.fixture
def provider(db):
    return ProviderFactory(accme_provider_id="0012345")


@pytest.fixture
def staff_client(client, provider):
    staff_login(client, StaffUserFactory())
    return client


@pytest.fixture
def moc_activity(provider):
    return complete_activity(accme_activity_id="202612345", release_date=datetime.date(2025, 1, 1),
                             termination_date=datetime.date(2027, 12, 31))


def export(client):
    """The learner file of every completion, recorded at commit as an eager worker does."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            "/staff/reporting/pars/learners/", {"start": "2000-01-01", "end": "2030-12-31", "table_format": "txt"}
        )


def at(*moment):
    return time_machine.travel(datetime.datetime(*moment, tzinfo=NEW_YORK), tick=False)


def queue(client, **query):
    response = client.get(QUEUE, query)
    assert response.status_code == 200
    return response


def outcome(client, record, **data):
    return client.post(f"/staff/reporting/moc/records/{record.pk}/", data)


# --- Due dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment, days_left, overdue",
    [
        ((2026, 3, 30, 12, 0), 1, False),
        ((2026, 3, 31, 23, 59), 0, False),
        # 02:00 UTC on April 1 is still March 31 in New York: not overdue yet.
        ((2026, 3, 31, 22, 0), 0, False),
        ((2026, 4, 1, 0, 0), -1, True),
    ],
)
def test_it_falls_due_30_days_after_completion_in_the_providers_calendar(
    client, provider, moc_activity, moment, days_left, overdue
):
    completion(moc_activity, physician(), on=datetime.date(2026, 3, 1))
    with at(*moment):
        staff_login(client, StaffUserFactory())
        response = queue(client)

    [item] = response.context["items"]
    assert item.due_on == datetime.date(2026, 3, 31)
    assert (item.days_left, item.overdue) == (days_left, overdue)
    assert response.context["counts"]["overdue"] == int(overdue)
    assert ("Overdue by 1 day" in response.content.decode()) is overdue


def test_it_shows_what_falls_due_within_the_window_soonest_first(client, provider, moc_activity):
    soon = completion(moc_activity, physician(family_name="Soon"), on=datetime.date(2026, 3, 5))
    later = completion(moc_activity, physician(family_name="Later"), on=datetime.date(2026, 3, 25))
    with at(2026, 3, 28, 9, 0):
        staff_login(client, StaffUserFactory())
        week = queue(client, view="due", within=7)
        month = queue(client, view="due", within=30)

    assert [item.line.certificate for item in week.context["items"]] == [soon]
    assert [item.line.certificate for item in month.context["items"]] == [soon, later]


def test_it_lists_only_moc_points_of_consenting_learners_with_standing_certificates(staff_client, moc_activity):
    kept = completion(moc_activity, physician())
    completion(moc_activity, physician(share_with_boards=False))
    completion(moc_activity, physician(), state=Certificate.State.REVOKED)
    completion(moc_activity, physician(), moc=False)

    items = queue(staff_client).context["items"]

    assert [(item.line.certificate, item.line.credit_type.board) for item in items] == [(kept, "ABIM")]


def test_it_shows_when_a_record_was_sent_and_leaves_the_due_list(staff_client, moc_activity):
    completion(moc_activity, physician())
    export(staff_client)

    assert queue(staff_client).context["items"] == []
    [item] = queue(staff_client, view="sent").context["items"]
    record = ReportedRecord.objects.get(credit_line__credit_type__board="ABIM")
    assert item.line.record_id == record.pk
    assert item.line.sent_at == record.batch.created_at
    assert queue(staff_client).context["counts"]["sent"] == 1


def test_it_links_to_the_pars_file_of_what_is_not_sent(staff_client, moc_activity, today):
    completion(moc_activity, physician(), on=today - datetime.timedelta(days=3))
    page = queue(staff_client).content.decode()
    start = (today - datetime.timedelta(days=3)).isoformat()
    assert f"/staff/reporting/pars/?start={start}&amp;end={today.isoformat()}" in page


def test_it_paginates_the_queue_in_a_constant_number_of_queries(staff_client, moc_activity, django_assert_num_queries):
    def learners(count):
        for _ in range(count):
            completion(moc_activity, physician(), on=datetime.date(2025, 3, 1))

    learners(2)
    with CaptureQueriesContext(connection) as few:
        queue(staff_client)
    # Read now: the next request clears the connection's query log.
    queries = len(few)
    learners(28)
    with django_assert_num_queries(queries):
        response = queue(staff_client)
    assert len(response.context["items"]) == 25
    assert "Page 1 of 2" in response.content.decode()
    assert len(queue(staff_client, page=2).context["items"]) == 5


def test_it_refuses_an_unknown_view_with_400(staff_client, moc_activity):
    response = staff_client.get(QUEUE, {"view": "everything"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_it_says_when_nothing_falls_due(staff_client, moc_activity):
    assert "Nothing falls due within 30 days" in queue(staff_client).content.decode()


# --- The boards' answers -----------------------------------------------------------------------


@pytest.fixture
def sent_record(staff_client, moc_activity):
    completion(moc_activity, physician(given_name="Ada", family_name="Lovelace"))
    export(staff_client)
    return ReportedRecord.objects.get(credit_line__credit_type__board="ABIM")


def test_it_records_that_the_board_accepted(staff_client, sent_record):
    response = outcome(staff_client, sent_record, outcome="accepted")

    assert response.status_code == 302
    assert response.url == f"{QUEUE}?view=accepted"
    sent_record.refresh_from_db()
    assert (sent_record.outcome, sent_record.outcome_reason) == ("accepted", "")
    assert sent_record.outcome_by.is_staff and sent_record.outcome_at
    assert [item.line.record_id for item in queue(staff_client, view="accepted").context["items"]] == [sent_record.pk]


def test_it_records_a_rejection_with_its_reason(staff_client, sent_record):
    outcome(staff_client, sent_record, outcome="rejected", reason="  The board ID did not match.  ")

    sent_record.refresh_from_db()
    assert (sent_record.outcome, sent_record.outcome_reason) == ("rejected", "The board ID did not match.")
    assert queue(staff_client).context["counts"]["rejected"] == 1


def test_it_refuses_a_rejection_without_a_reason_and_changes_nothing(staff_client, sent_record):
    response = outcome(staff_client, sent_record, outcome="rejected", reason="   ")

    assert response.status_code == 400
    assert "Say why the board rejected the record" in response.content.decode()
    sent_record.refresh_from_db()
    assert sent_record.outcome == ""


def test_it_records_the_same_answer_once(staff_client, sent_record):
    outcome(staff_client, sent_record, outcome="accepted")
    sent_record.refresh_from_db()
    first_at = sent_record.outcome_at

    response = outcome(staff_client, sent_record, outcome="accepted")

    sent_record.refresh_from_db()
    assert sent_record.outcome_at == first_at
    assert "Nothing changed" in staff_client.get(response.url).content.decode()


def test_it_shows_the_record_with_its_answer_form(staff_client, sent_record):
    response = staff_client.get(f"/staff/reporting/moc/records/{sent_record.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ada Lovelace" in page and "None yet" in page


def test_it_has_no_answer_page_for_a_record_of_ama_credit(staff_client, sent_record):
    ama = ReportedRecord.objects.get(credit_line__credit_type__code="ama")
    assert staff_client.get(f"/staff/reporting/moc/records/{ama.pk}/").status_code == 404
    assert outcome(staff_client, ama, outcome="accepted").status_code == 404


def test_it_keeps_learners_and_plain_staff_out_of_the_queue(client, sent_record):
    staff_client_pages = [QUEUE, f"/staff/reporting/moc/records/{sent_record.pk}/"]
    client.logout()
    for path in staff_client_pages:
        assert client.get(path).url.startswith("/accounts/login/")
    client.force_login(physician())
    assert [client.get(path).status_code for path in staff_client_pages] == [404, 404]
    assert outcome(client, sent_record, outcome="accepted").status_code == 404
    staff_login(client, StaffUserFactory(coordinator=False))
    assert [client.get(path).status_code for path in staff_client_pages] == [403, 403]
    assert outcome(client, sent_record, outcome="accepted").status_code == 403
    sent_record.refresh_from_db()
    assert sent_record.outcome == ""


def test_it_counts_a_participation_certificate_nowhere(staff_client, moc_activity):
    certificate = certificate_for(activity=moc_activity, user=physician(), completed_on=datetime.date(2025, 3, 2))
    credit_line_for(certificate=certificate, code="participation")
    counts = queue(staff_client).context["counts"]
    assert (counts["due"], counts["sent"]) == (0, 0)
