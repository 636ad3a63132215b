"""ACCME's PARS files (issue 17): the learner file and the activity file in the layout of
lms/pars.py, column by column, as XLSX and tab-delimited text; the log of what was sent
(add, delete, not sent twice); learners left out, counted by reason; and who may do it."""

import csv
import datetime
import io
import time
import tracemalloc
from decimal import Decimal

import openpyxl
import pytest
from django.conf import settings
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates.models import Certificate, CertificateCredit
from courses.models import Activity, Provider
from lms import pars, reporting, tasks
from lms.models import ReportedRecord, ReportingBatch, User

from .concurrency import in_threads
from .factories import (
    CommercialSupportFactory,
    LearnerBatchFactory,
    ProviderFactory,
    StaffUserFactory,
    certificate_for,
    certificate_with_lines as completion,
    certificates_in_bulk,
    complete_activity,
    credit_line_for,
    moc_offer_for,
    reporting_physician as physician,
    staff_login,
)
from .processes import connections_other

pytestmark = pytest.mark.django_db

PROVIDER_ID = "0012345"
MARCH = {"start": "2025-03-01", "end": "2025-03-31"}
APRIL = {"start": "2025-04-01", "end": "2025-04-30"}
LEARNERS = "/staff/reporting/pars/learners/"
ACTIVITIES = "/staff/reporting/pars/activities/"
PAGE = "/staff/reporting/pars/"


@pytest.fixture
def provider(db):
    return ProviderFactory(accme_provider_id=PROVIDER_ID)


@pytest.fixture
def staff(provider):
    return StaffUserFactory()


@pytest.fixture
def staff_client(client, staff):
    staff_login(client, staff)
    return client


@pytest.fixture
def demo_activity(provider):
    """Like the demo's jointly provided webinar: an ACCME activity ID, a joint provider, two
    commercial supporters, ABIM MOC registration and two outcome measures."""
    activity = complete_activity(
        slug="hypertension-update", title="Hypertension Update 2025", accme_activity_id="202512345",
        release_date=datetime.date(2025, 1, 15), termination_date=datetime.date(2027, 1, 14),
        credits=Decimal("1.50"), estimated_minutes=90,
        joint_providers=["Riverside Community Health Network"],
        outcome_measures=[Activity.OutcomeMeasure.LEARNER_KNOWLEDGE, Activity.OutcomeMeasure.LEARNER_COMPETENCE],
    )
    CommercialSupportFactory(activity=activity, supporter="Acme Devices", amount=Decimal("2500.00"), order=1)
    CommercialSupportFactory(activity=activity, supporter="Beta Labs", kind="in_kind", amount=None,
                             description="Blood pressure cuffs", order=2)
    moc_offer_for(activity=activity, board="ABIM", amount="1.5", practice_areas=["Cardiovascular Disease"],
                  credit_types=["MK"])
    return activity


def batch_url(batch, page=""):
    return f"/staff/reporting/pars/batches/{batch.pk}/{page}"


def export(client, period=MARCH, *, table_format="txt", include_reported=False):
    """Ask for the learner file as "Export and record" does, its recording run at commit
    as an eager worker runs it, and follow on: the batch's status page, and the download
    it offers once the file is ready. A refused POST is answered as it is."""
    data = {**period, "table_format": table_format}
    if include_reported:
        data["include_reported"] = "on"
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(LEARNERS, data)
    if response.status_code != 302:
        return response
    batch = ReportingBatch.objects.latest("pk")
    assert response.url == batch_url(batch, "status/")
    if batch.state != ReportingBatch.State.READY:
        return client.get(response.url)
    return client.get(batch_url(batch))


def tsv_rows(response):
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter="\t"))


def xlsx_rows(response):
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [["" if cell is None else cell for cell in row] for row in workbook.active.iter_rows(values_only=True)]


def by_column(row, columns=pars.LEARNER_COLUMNS):
    assert len(row) == len(columns)
    return dict(zip(columns, row))


# --- The learner file ----------------------------------------------------------------------


def test_it_writes_the_learner_file_column_by_column_in_the_pars_layout(staff_client, demo_activity):
    completion(demo_activity, physician())

    response = export(staff_client, table_format="xlsx")

    assert response["Content-Disposition"].startswith('attachment; filename="pars-learners-20250301-20250331-batch')
    header, cme, moc = xlsx_rows(response)
    assert header == pars.LEARNER_COLUMNS
    assert by_column(cme) == {
        "Provider ID": PROVIDER_ID, "Activity ID": "202512345", "Learner First Name": "Grace",
        "Learner Last Name": "Hopper", "Date of Birth (MM/DD)": "02/29",
        "Completion Date (MM/DD/YYYY)": "03/10/2025", "Credit Type": "CME", "CME Credits Earned": "1.25",
        "Licensing State": "NY", "License Number": "123456", "NPI": "1234567890", "Certifying Board": "",
        "Board ID": "", "MOC Points Earned": "", "MOC Credit Types": "", "Record Action": "Add",
    }
    assert by_column(moc) == {
        **by_column(cme), "Credit Type": "MOC", "CME Credits Earned": "", "Certifying Board": "ABIM",
        "Board ID": "246810", "MOC Points Earned": "1.25", "MOC Credit Types": "MK",
    }


def test_it_writes_the_tab_delimited_learner_file_without_a_header_row(staff_client, demo_activity):
    completion(demo_activity, physician(given_name="José", family_name="Núñez"))

    response = export(staff_client, table_format="txt")

    assert response["Content-Type"].startswith("text/tab-separated-values")
    assert response["Content-Disposition"].endswith('.txt"')
    rows = tsv_rows(response)
    assert [by_column(row)["Credit Type"] for row in rows] == ["CME", "MOC"]
    assert rows == list(ReportedRecord.objects.order_by("pk").values_list("row", flat=True))
    assert by_column(rows[0])["Learner Last Name"] == "Núñez"


def test_it_records_who_exported_what_and_a_record_per_row(staff_client, staff, demo_activity):
    certificate = completion(demo_activity, physician())

    export(staff_client, table_format="xlsx")

    batch = ReportingBatch.objects.get()
    assert (batch.kind, batch.actor, batch.table_format) == (ReportingBatch.Kind.PARS_LEARNERS, staff, "xlsx")
    assert (batch.period_start, batch.period_end) == (datetime.date(2025, 3, 1), datetime.date(2025, 3, 31))
    assert (batch.added, batch.deleted, batch.left_out, batch.include_reported) == (2, 0, {}, False)
    records = list(batch.records.order_by("pk"))
    assert [(r.certificate, r.credit_line.credit_type.code, r.action) for r in records] == [
        (certificate, "ama", "add"), (certificate, "moc_abim", "add"),
    ]


def test_it_does_not_send_a_record_twice(staff_client, demo_activity):
    completion(demo_activity, physician())
    export(staff_client)

    response = export(staff_client)

    assert response.status_code == 200
    assert "Nothing to send for this period" in response.content.decode()
    assert ReportingBatch.objects.filter(state=ReportingBatch.State.READY).count() == 1
    assert ReportedRecord.objects.count() == 2


def test_it_sends_records_again_when_staff_include_those_already_reported(staff_client, demo_activity):
    completion(demo_activity, physician())
    first = tsv_rows(export(staff_client))

    again = tsv_rows(export(staff_client, include_reported=True))

    assert again == first
    assert ReportingBatch.objects.latest("pk").include_reported is True


def test_it_sends_only_what_completed_in_the_period_plus_what_was_not_sent(staff_client, demo_activity):
    completion(demo_activity, physician(), on=datetime.date(2025, 2, 28))
    completion(demo_activity, physician(), on=datetime.date(2025, 3, 1))
    completion(demo_activity, physician(), on=datetime.date(2025, 3, 31))
    completion(demo_activity, physician(), on=datetime.date(2025, 4, 1))

    rows = tsv_rows(export(staff_client))

    assert sorted({by_column(row)["Completion Date (MM/DD/YYYY)"] for row in rows}) == ["03/01/2025", "03/31/2025"]


def test_it_deletes_a_certificate_revoked_after_it_was_sent_once(staff_client, demo_activity):
    certificate = completion(demo_activity, physician())
    added = tsv_rows(export(staff_client))
    Certificate.objects.filter(pk=certificate.pk).update(state=Certificate.State.REVOKED)

    deleted = tsv_rows(export(staff_client, APRIL))

    assert [by_column(row)["Record Action"] for row in deleted] == ["Delete", "Delete"]
    assert [row[:pars.ACTION_COLUMN] for row in deleted] == [row[:pars.ACTION_COLUMN] for row in added]
    assert ReportingBatch.objects.latest("pk").deleted == 2
    assert export(staff_client, APRIL).status_code == 200
    assert ReportingBatch.objects.filter(state=ReportingBatch.State.READY).count() == 2


def test_it_never_sends_a_revoked_certificate_that_was_not_sent(staff_client, demo_activity):
    completion(demo_activity, physician(), state=Certificate.State.REVOKED)
    assert export(staff_client).status_code == 200
    assert not ReportedRecord.objects.exists()


def test_it_adds_a_reinstated_certificate_again(staff_client, demo_activity):
    certificate = completion(demo_activity, physician())
    export(staff_client)
    Certificate.objects.filter(pk=certificate.pk).update(state=Certificate.State.REVOKED)
    export(staff_client, APRIL)
    Certificate.objects.filter(pk=certificate.pk).update(state=Certificate.State.ISSUED)

    rows = tsv_rows(export(staff_client))

    assert [by_column(row)["Record Action"] for row in rows] == ["Add", "Add"]


def test_it_leaves_participation_and_other_credit_out_of_the_learner_file(staff_client, demo_activity):
    nurse = physician(profession=User.Profession.NURSE, degree="RN")
    certificate = certificate_for(activity=demo_activity, user=nurse, completed_on=datetime.date(2025, 3, 10))
    credit_line_for(certificate=certificate, code="participation")
    credit_line_for(certificate=certificate, code="ancc")

    response = staff_client.get(PAGE, MARCH)

    preview = response.context["preview"]
    assert (preview.added, preview.left_out_total) == (0, 0)


# --- Left out, by reason ---------------------------------------------------------------------


@pytest.fixture
def left_out(demo_activity):
    """One credit line left out for each reason, beside one complete completion."""
    completion(demo_activity, physician())
    completion(demo_activity, physician(share_with_boards=False), moc=False)
    completion(complete_activity(slug="no-pars-id-yet"), physician(), moc=False)
    completion(demo_activity, physician(birth_month=None, birth_day=None), moc=False)
    completion(demo_activity, physician(npi="", licence_state="", licence_number=""), moc=False)
    no_board_id = physician(board_id="")
    completion(demo_activity, no_board_id)
    return demo_activity


def test_it_counts_every_learner_left_out_by_reason_before_download(staff_client, left_out):
    response = staff_client.get(PAGE, MARCH)

    assert response.status_code == 200
    preview = response.context["preview"]
    assert dict(preview.left_out_by_reason) == {reason.label: 1 for reason in pars.LeftOut}
    assert (preview.added, preview.deleted) == (3, 0)
    page = response.content.decode()
    assert "The activity has no ACCME activity ID yet" in page
    assert not ReportingBatch.objects.exists()


def test_it_records_the_left_out_counts_with_the_batch(staff_client, left_out):
    rows = tsv_rows(export(staff_client))

    assert ReportingBatch.objects.get().left_out == {reason.value: 1 for reason in pars.LeftOut}
    assert len(rows) == 3
    assert "no-pars-id-yet" not in str(rows)


def test_it_uses_the_board_id_of_the_profile_when_the_claim_had_none(staff_client, demo_activity):
    user = physician(board_id="")
    certificate = completion(demo_activity, user)
    User.objects.filter(pk=user.pk).update(board_id="135790")

    rows = tsv_rows(export(staff_client))

    assert by_column(rows[1])["Board ID"] == "135790"
    assert CertificateCredit.objects.get(certificate=certificate, credit_type__code="moc_abim").reporting["board_id"] == ""


# --- Preview, re-download, bad input ----------------------------------------------------------


def test_it_previews_the_first_rows_without_recording_anything(staff_client, demo_activity):
    completion(demo_activity, physician())

    response = staff_client.get(PAGE, MARCH)

    sample = response.context["preview"].sample
    assert [(by_column(row)["Credit Type"], by_column(row)["Record Action"]) for row in sample] == [
        ("CME", "Add"), ("MOC", "Add"),
    ]
    assert "Export and record" in response.content.decode()
    assert not ReportingBatch.objects.exists() and not ReportedRecord.objects.exists()


def test_it_downloads_a_recorded_file_again_as_it_was_sent(staff_client, demo_activity):
    user = physician()
    completion(demo_activity, user)
    sent = xlsx_rows(export(staff_client, table_format="xlsx"))
    User.objects.filter(pk=user.pk).update(family_name="Renamed")
    batch = ReportingBatch.objects.get()

    again = xlsx_rows(staff_client.get(batch_url(batch)))

    assert again == sent
    assert ReportingBatch.objects.count() == 1


def test_it_lists_the_exported_files_in_a_constant_number_of_queries(staff_client, demo_activity, django_assert_num_queries):
    export_activities(staff_client)
    with CaptureQueriesContext(connection) as one:
        staff_client.get(PAGE)
    # Read now: the next request clears the connection's query log.
    queries = len(one)
    for year in (2021, 2022, 2023, 2024):
        export_activities(staff_client, year=year)
    staff_login(staff_client, StaffUserFactory())
    export_activities(staff_client, year=2020)

    with django_assert_num_queries(queries):
        response = staff_client.get(PAGE)
    assert len(response.context["batches"].object_list) == 6


def test_it_sends_the_old_pars_csv_address_to_the_preview(staff_client, provider):
    response = staff_client.get("/staff/pars.csv", MARCH)
    assert response.status_code == 302
    assert response.url == f"{PAGE}?start=2025-03-01&end=2025-03-31"
    preview = staff_client.get(response.url)
    assert preview.status_code == 200 and preview.context["preview"] is not None


@pytest.mark.parametrize(
    "data, message",
    [
        ({"start": "2025-13-01", "end": "2025-03-31"}, "The start date is not a date"),
        ({"start": "2025-03-01", "end": "yesterday"}, "The end date is not a date"),
        ({"end": "2025-03-31"}, "Give the start date"),
        ({"start": "2025-03-31", "end": "2025-03-01"}, "must not be before its start"),
        ({**MARCH, "table_format": "csv"}, "Select a valid choice"),
    ],
)
def test_it_refuses_bad_input_with_400_and_records_nothing(staff_client, demo_activity, data, message):
    completion(demo_activity, physician())
    for response in (staff_client.get(PAGE, data), staff_client.post(LEARNERS, {"table_format": "txt", **data})):
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not ReportingBatch.objects.exists()


def test_it_refuses_to_export_before_the_provider_has_its_accme_id(staff_client, provider, demo_activity):
    completion(demo_activity, physician())
    Provider.objects.update(accme_provider_id="")

    response = export(staff_client)

    assert response.status_code == 400
    assert "ACCME provider ID in the provider settings first" in response.content.decode()
    assert not ReportingBatch.objects.exists()


# --- The activity file -------------------------------------------------------------------------


def export_activities(client, year=2025, table_format="xlsx"):
    return client.post(ACTIVITIES, {"activity-year": year, "activity-table_format": table_format})


def test_it_writes_the_activity_file_column_by_column_in_the_pars_layout(staff_client, demo_activity):
    completion(demo_activity, physician())
    completion(demo_activity, physician(), on=datetime.date(2025, 6, 1), moc=False)
    completion(demo_activity, physician(), on=datetime.date(2024, 12, 31))
    nurse = physician(profession=User.Profession.NURSE, degree="RN")
    participation = certificate_for(activity=demo_activity, user=nurse, completed_on=datetime.date(2025, 5, 5))
    credit_line_for(certificate=participation, code="participation")
    completion(demo_activity, physician(), state=Certificate.State.REVOKED)

    header, row = xlsx_rows(export_activities(staff_client))

    columns = pars.activity_columns(support_groups=2)
    assert header == columns
    cells = by_column(row, columns)
    assert cells == {
        **{column: cells[column] for column in columns},
        "ACCME Activity ID": "202512345", "Provider Activity ID": "hypertension-update",
        "Reporting Year": "2025", "Activity Title": "Hypertension Update 2025",
        "Activity Format": "Enduring Material", "Start Date (MM/DD/YYYY)": "01/15/2025",
        "End Date (MM/DD/YYYY)": "01/14/2027",
        "Activity URL": f"{settings.SITE_URL}/activities/hypertension-update/",
        "Hours of Instruction": "1.5", "AMA PRA Category 1 Credits Designated": "1.5",
        "Providership": "Joint", "Joint Provider(s)": "Riverside Community Health Network",
        "Total Physician Learners": "2", "Total Other Learners": "1",
        "Outcome Measured: Learner knowledge": "Yes", "Outcome Measured: Learner competence": "Yes",
        "Outcome Measured: Learner performance": "No", "Outcome Measured: Patient health": "No",
        "Outcome Measured: Community or population health": "No",
        "Commercial Support Received?": "Yes",
        "ABIM MOC Registered": "Yes", "ABIM MOC Practice Areas": "Cardiovascular Disease",
        "ABIM MOC Credit Types": "MK", "ABIM MOC Points": "1.5",
        "ABP MOC Registered": "No", "ABP MOC Practice Areas": "", "ABP MOC Credit Types": "",
        "ABP MOC Points": "",
        "Commercial Supporter 1": "Acme Devices", "Support Type 1": "Monetary", "Monetary Amount 1": "2500",
        "Commercial Supporter 2": "Beta Labs", "Support Type 2": "In-Kind", "Monetary Amount 2": "",
    }
    assert all(cells[f"{board} MOC Registered"] == "No" for board in ("ABA", "ABOHNS", "ABPath", "ABS", "ABTS", "ABOS"))


def test_it_writes_the_tab_delimited_activity_file_without_a_header_row(staff_client, demo_activity):
    direct = complete_activity(slug="direct", release_date=datetime.date(2025, 5, 1),
                               termination_date=datetime.date(2026, 4, 30))

    rows = tsv_rows(export_activities(staff_client, table_format="txt"))

    columns = pars.activity_columns(support_groups=2)
    assert [by_column(row, columns)["Provider Activity ID"] for row in rows] == [demo_activity.slug, direct.slug]
    plain = by_column(rows[1], columns)
    assert (plain["ACCME Activity ID"], plain["Providership"], plain["Commercial Support Received?"]) == ("", "Direct", "No")
    assert (plain["Commercial Supporter 1"], plain["Total Physician Learners"]) == ("", "0")


def test_it_lists_the_activities_that_ran_in_the_year_and_no_draft(staff_client, demo_activity):
    complete_activity(slug="ended-before", release_date=datetime.date(2023, 1, 1),
                      termination_date=datetime.date(2024, 12, 31))
    complete_activity(slug="starts-after", release_date=datetime.date(2026, 1, 1),
                      termination_date=datetime.date(2026, 12, 31))
    complete_activity(slug="a-draft", status=Activity.Status.DRAFT, release_date=datetime.date(2025, 2, 1),
                      termination_date=datetime.date(2025, 12, 31))

    header, *rows = xlsx_rows(export_activities(staff_client))

    assert [row[1] for row in rows] == ["hypertension-update"]


def test_it_records_the_activity_file_as_a_batch(staff_client, staff, demo_activity):
    export_activities(staff_client)
    batch = ReportingBatch.objects.get()
    assert (batch.kind, batch.actor, batch.added) == (ReportingBatch.Kind.PARS_ACTIVITIES, staff, 1)
    assert (batch.period_start, batch.period_end) == (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))


def test_it_refuses_a_year_to_come_with_400(staff_client, today):
    response = export_activities(staff_client, year=today.year + 1)
    assert response.status_code == 400
    assert f"Choose {today.year} or an earlier year" in response.content.decode()
    assert not ReportingBatch.objects.exists()


# --- Who may do it -----------------------------------------------------------------------------


def attempts(client, batch):
    return [
        client.get(PAGE, MARCH),
        client.post(LEARNERS, {**MARCH, "table_format": "txt"}),
        client.post(ACTIVITIES, {"activity-year": 2025, "activity-table_format": "txt"}),
        client.get(batch_url(batch)),
        client.get(batch_url(batch, "status/")),
        client.get(batch_url(batch, "status.json")),
        client.post(batch_url(batch, "retry/")),
        client.get("/staff/pars.csv", MARCH),
    ]


@pytest.fixture
def recorded_batch(staff_client, demo_activity):
    completion(demo_activity, physician())
    export(staff_client)
    staff_client.logout()
    completion(demo_activity, physician(), on=datetime.date(2025, 3, 20))
    return ReportingBatch.objects.get()


def test_it_sends_anonymous_visitors_to_the_login_page(client, recorded_batch):
    for response in attempts(client, recorded_batch):
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")
    assert ReportingBatch.objects.count() == 1


def test_it_answers_404_to_learners_and_records_nothing(client, recorded_batch):
    client.force_login(physician())
    assert [response.status_code for response in attempts(client, recorded_batch)] == [404] * 8
    assert ReportingBatch.objects.count() == 1


def test_it_forbids_staff_without_the_coordinator_role(client, recorded_batch):
    staff_login(client, StaffUserFactory(coordinator=False))
    assert [response.status_code for response in attempts(client, recorded_batch)] == [403] * 8
    assert ReportingBatch.objects.count() == 1


def test_it_records_nothing_on_a_get_of_the_export_addresses(staff_client, recorded_batch):
    staff_login(staff_client, StaffUserFactory())
    assert staff_client.get(LEARNERS, MARCH).status_code == 405
    assert staff_client.get(ACTIVITIES, {"activity-year": 2025}).status_code == 405
    assert ReportingBatch.objects.count() == 1
    assert ReportedRecord.objects.count() == 2


def test_it_refuses_an_export_without_the_csrf_token(client, provider, demo_activity):
    completion(demo_activity, physician())
    client = type(client)(enforce_csrf_checks=True)
    staff_login(client, StaffUserFactory())
    assert client.post(LEARNERS, {**MARCH, "table_format": "txt"}).status_code == 403
    assert not ReportingBatch.objects.exists()


# --- Bounded memory ----------------------------------------------------------------------------


def lines_in_bulk(*, count, on):
    certificates = certificates_in_bulk(count=count, activity=complete_activity(accme_activity_id="1"), completed_on=on)
    User.objects.filter(certificates__in=certificates).update(birth_month=1, birth_day=2)


def peak_of_export(client, period):
    tracemalloc.start()
    try:
        response = export(client, period)
        rows = sum(piece.count(b"\n") for piece in response.streaming_content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, peak


def test_it_records_and_streams_the_learner_file_in_bounded_memory(staff_client, monkeypatch):
    monkeypatch.setattr(reporting, "EXPORT_CHUNK_ROWS", 100)
    monkeypatch.setattr(reporting, "LOG_WRITE_ROWS", 100)
    few, many = 1_000, 5_000
    lines_in_bulk(count=few, on=datetime.date(2025, 3, 1))
    lines_in_bulk(count=many, on=datetime.date(2025, 4, 1))

    few_rows, few_peak = peak_of_export(staff_client, MARCH)
    many_rows, many_peak = peak_of_export(staff_client, APRIL)

    assert (few_rows, many_rows) == (few, many)
    assert ReportedRecord.objects.count() == few + many
    # Five times the rows: held in memory, the peak would be five times as high.
    assert many_peak < few_peak * 1.5, (few_peak, many_peak)


# --- Prepared by a worker: the batch's states, its status page and the sweep -------------------


def ask(client, period=MARCH, **data):
    """The "Export and record" POST alone: the test's transaction never commits, so the
    recording it queues at commit does not run."""
    return client.post(LEARNERS, {**period, "table_format": "txt", **data})


@pytest.fixture
def asked(staff_client, demo_activity):
    """A learner file asked for and still being prepared, with two rows to send."""
    completion(demo_activity, physician())
    ask(staff_client, include_reported="on")
    return ReportingBatch.objects.get()


def test_it_answers_the_export_with_the_status_page_of_a_batch_being_prepared(staff_client, asked):
    response = staff_client.get(batch_url(asked, "status/"))

    assert (asked.state, asked.include_reported, asked.table_format) == (ReportingBatch.State.PREPARING, True, "txt")
    assert not ReportedRecord.objects.exists()
    page = response.content.decode()
    assert "The file is being prepared" in page
    assert "March 1, 2025 to March 31, 2025" in page and "Tab-delimited text" in page and "Sent again" in page
    assert f'href="{batch_url(asked, "status/")}">Refresh</a>' in page
    assert f'data-live-status="{batch_url(asked, "status.json")}"' in page and "js/live-status.js" in page
    assert "Download the learner file" not in page


def test_it_queues_the_recording_once_the_batch_is_committed(staff_client, demo_activity, django_capture_on_commit_callbacks):
    completion(demo_activity, physician())

    with django_capture_on_commit_callbacks() as callbacks:
        response = ask(staff_client)
    batch = ReportingBatch.objects.get()
    assert response.url == batch_url(batch, "status/")
    assert (batch.state, len(callbacks)) == (ReportingBatch.State.PREPARING, 1)
    callbacks[0]()

    batch.refresh_from_db()
    assert (batch.state, batch.added, batch.records.count()) == (ReportingBatch.State.READY, 2, 2)


def test_it_shows_the_summary_and_the_download_once_ready(staff_client, left_out):
    export(staff_client)
    batch = ReportingBatch.objects.get()

    page = staff_client.get(batch_url(batch, "status/")).content.decode()

    assert "The file is ready" in page
    assert "Rows adding a record: <strong>3</strong>" in page and "Left out: <strong>5</strong>" in page
    assert "The activity has no ACCME activity ID yet" in page
    assert f'href="{batch_url(batch)}">Download the learner file</a>' in page
    assert "data-live-status" not in page and "live-status.js" not in page


def test_it_records_once_when_the_task_runs_twice(asked):
    first = reporting.pars_learner_batch_prepare(batch_id=asked.pk)
    rows = list(reporting.pars_batch_rows(batch=first))

    again = reporting.pars_learner_batch_prepare(batch_id=asked.pk)

    assert again.state == first.state == ReportingBatch.State.READY
    assert ReportedRecord.objects.count() == len(rows) == 2
    assert list(reporting.pars_batch_rows(batch=again)) == rows


def test_it_ends_as_nothing_to_send_recording_nothing_and_out_of_the_history(staff_client, demo_activity):
    completion(demo_activity, physician(), state=Certificate.State.REVOKED)
    completion(demo_activity, physician(birth_month=None, birth_day=None), moc=False)

    page = export(staff_client).content.decode()

    batch = ReportingBatch.objects.get()
    assert (batch.state, batch.added, batch.left_out) == (ReportingBatch.State.EMPTY, 0, {"no_birth_date": 1})
    assert "Nothing to send for this period: no file was made and nothing was recorded." in page
    assert "Download the learner file" not in page
    download = staff_client.get(batch_url(batch), follow=True)
    assert download.redirect_chain == [(batch_url(batch, "status/"), 302)]
    assert "There was nothing to send for this period, so there is no file to download." in download.content.decode()
    assert not ReportedRecord.objects.exists()
    history = staff_client.get(PAGE)
    assert list(history.context["batches"].object_list) == []
    assert "No file exported yet." in history.content.decode()


def test_it_marks_a_failure_failed_with_its_reason_and_records_nothing(asked, monkeypatch):
    monkeypatch.setattr(reporting, "LOG_WRITE_ROWS", 1)
    learner_row = pars.learner_row
    rows = []

    def second_row_fails(line):
        rows.append(line)
        if len(rows) == 2:
            raise ValueError("the second row broke")
        return learner_row(line)

    monkeypatch.setattr(pars, "learner_row", second_row_fails)

    with pytest.raises(ValueError):
        reporting.pars_learner_batch_prepare(batch_id=asked.pk)

    asked.refresh_from_db()
    assert (asked.state, asked.error) == (ReportingBatch.State.FAILED, "ValueError: the second row broke")
    assert not ReportedRecord.objects.exists()


def test_it_offers_to_try_a_failed_batch_again(staff_client, asked):
    ReportingBatch.objects.filter(pk=asked.pk).update(state=ReportingBatch.State.FAILED, error="OperationalError: gone")

    page = staff_client.get(batch_url(asked, "status/")).content.decode()
    assert "The file could not be prepared, and nothing was recorded as sent" in page and "OperationalError: gone" in page
    assert f'action="{batch_url(asked, "retry/")}"' in page
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = staff_client.post(batch_url(asked, "retry/"))

    assert response.url == batch_url(asked, "status/")
    asked.refresh_from_db()
    assert (asked.state, asked.error, asked.records.count()) == (ReportingBatch.State.READY, "", 2)


def test_it_tries_again_only_a_failed_batch(staff_client, asked):
    response = staff_client.post(batch_url(asked, "retry/"), follow=True)

    assert "This file is not failed: it was not prepared again." in response.content.decode()
    asked.refresh_from_db()
    assert asked.state == ReportingBatch.State.PREPARING


def test_it_says_a_batch_being_prepared_has_no_file_yet_instead_of_serving_one(staff_client, asked):
    response = staff_client.get(batch_url(asked), follow=True)

    assert response.redirect_chain == [(batch_url(asked, "status/"), 302)]
    assert "The file is still being prepared: download it here once it is ready." in response.content.decode()


def test_it_lists_batches_being_prepared_and_failed_with_their_state_and_status_page(staff_client, asked, staff):
    failed = LearnerBatchFactory(state=ReportingBatch.State.FAILED, actor=staff)

    page = staff_client.get(PAGE).content.decode()

    for batch, state in ((asked, "Being prepared"), (failed, "Failed")):
        assert f'<a href="{batch_url(batch, "status/")}">PARS learner completions</a>' in page
        assert f"<strong>{state}</strong>" in page


def test_it_keeps_the_queued_batch_when_the_broker_is_down(staff_client, demo_activity, monkeypatch):
    from kombu.exceptions import OperationalError

    def broker_down(*args):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.prepare_pars_learner_batch, "delay", broker_down)
    completion(demo_activity, physician())

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = ask(staff_client)

    batch = ReportingBatch.objects.get()
    assert (response.status_code, batch.state) == (302, ReportingBatch.State.PREPARING)
    assert staff_client.get(response.url).status_code == 200


def test_it_sweeps_a_stuck_batch_into_the_queue_again_and_not_a_fresh_one(asked, staff, django_capture_on_commit_callbacks):
    fresh = LearnerBatchFactory(actor=staff)
    now = timezone.now()
    ReportingBatch.objects.filter(pk=asked.pk).update(queued_at=now - reporting.BATCH_STUCK_AFTER * 1.5)
    ReportingBatch.objects.filter(pk=fresh.pk).update(queued_at=now - reporting.BATCH_STUCK_AFTER / 2)

    with django_capture_on_commit_callbacks(execute=True):
        swept = reporting.pars_learner_batches_sweep(now=now)

    assert swept == 1
    asked.refresh_from_db(), fresh.refresh_from_db()
    assert (asked.state, asked.queued_at, asked.records.count()) == (ReportingBatch.State.READY, now, 2)
    assert fresh.state == ReportingBatch.State.PREPARING
    assert reporting.pars_learner_batches_sweep(now=now) == 0


def test_it_sweeps_on_celery_beat(settings):
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule[tasks.sweep_pars_learner_batches.name] <= reporting.BATCH_STUCK_AFTER.total_seconds() / 2


def test_it_answers_the_status_of_another_staff_members_batch(client, asked):
    staff_login(client, StaffUserFactory())

    status = client.get(batch_url(asked, "status.json")).json()

    assert status["state"] == "preparing" and "being prepared" in status["html"]
    reporting.pars_learner_batch_prepare(batch_id=asked.pk)
    status = client.get(batch_url(asked, "status.json")).json()
    assert status["state"] == "ready" and f'href="{batch_url(asked)}"' in status["html"]


def test_it_has_no_status_page_for_an_activity_file(staff_client, demo_activity):
    export_activities(staff_client)
    batch = ReportingBatch.objects.get()
    for page in ("", "status/", "status.json"):
        assert staff_client.get(batch_url(batch, page)).status_code == 404
    assert staff_client.post(batch_url(batch, "retry/")).status_code == 404


def test_it_serves_the_status_page_and_its_json_in_a_constant_number_of_queries(staff_client, left_out, django_assert_num_queries):
    small = export_batch(staff_client, left_out, physicians=0)
    pages = {}
    for page in ("status/", "status.json"):
        with CaptureQueriesContext(connection) as queries:
            staff_client.get(batch_url(small, page))
        pages[page] = len(queries)
    large = export_batch(staff_client, left_out, physicians=30)
    assert large.added > small.added

    for page, count in pages.items():
        with django_assert_num_queries(count):
            staff_client.get(batch_url(large, page))


def export_batch(client, activity, *, physicians):
    for _ in range(physicians):
        completion(activity, physician())
    export(client, include_reported=True)
    return ReportingBatch.objects.latest("pk")


@pytest.mark.django_db(transaction=True)
def test_it_sends_no_line_twice_from_simultaneous_recordings(provider, demo_activity, monkeypatch):
    for _ in range(3):
        completion(demo_activity, physician())
    batches = LearnerBatchFactory.create_batch(2, actor=StaffUserFactory())
    plan = reporting._learner_plan

    def slow_plan(**options):
        # Holding the locks a moment, so that the other recordings arrive while they are held.
        time.sleep(0.3)
        yield from plan(**options)

    monkeypatch.setattr(reporting, "_learner_plan", slow_plan)
    # Each batch delivered twice at once, as a redelivery while it runs would be.
    deliveries = [batch.pk for batch in batches for _ in range(2)]
    results = in_threads(4, lambda: reporting.pars_learner_batch_prepare(batch_id=deliveries.pop()))

    assert not [result for result in results if isinstance(result, Exception)]
    states = sorted(ReportingBatch.objects.values_list("state", flat=True))
    assert states == [ReportingBatch.State.EMPTY, ReportingBatch.State.READY]
    lines = list(ReportedRecord.objects.values_list("credit_line", flat=True))
    assert len(lines) == len(set(lines)) == 6


@pytest.mark.django_db(transaction=True)
def test_it_sweeps_past_a_batch_a_worker_is_recording(provider):
    batch = LearnerBatchFactory(queued_at=timezone.now() - reporting.BATCH_STUCK_AFTER * 2)
    with connections_other() as worker, worker.cursor() as cursor:
        # What a worker recording the batch holds for as long as it records.
        cursor.execute("BEGIN")
        cursor.execute("SELECT id FROM lms_reportingbatch WHERE id = %s FOR UPDATE", [batch.pk])
        with connection.cursor() as ours:
            # A sweep that waited for the lock would fail here rather than hang the test.
            ours.execute("SET lock_timeout = '2s'")
            try:
                assert reporting.pars_learner_batches_sweep() == 0
            finally:
                ours.execute("RESET lock_timeout")
        cursor.execute("ROLLBACK")

    assert reporting.pars_learner_batches_sweep() == 1
