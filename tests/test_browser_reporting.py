"""The reporting pages (issue 17) in Debian's Chromium, with axe, at a desktop width and at
375 px: the PARS page with a preview and its error state, a learner file's status page
being prepared and ready, the MOC queue and an answer."""

import datetime

import pytest
from playwright.sync_api import expect

from lms.models import ReportedRecord
from lms.reporting import pars_learner_batch_prepare

from .browser import assert_accessible, check_page, save_screenshot
from .factories import (
    LearnerBatchFactory,
    ProviderFactory,
    StaffUserFactory,
    certificate_with_lines,
    complete_activity,
    reporting_physician,
    staff_login,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def reported(client):
    """One completion sent to PARS, one not sent and overdue, one left out."""
    ProviderFactory(accme_provider_id="0012345")
    activity = complete_activity(title="Sepsis Recognition in the Emergency Department, a Long Title",
                                 accme_activity_id="202612345")
    certificate_with_lines(activity, reporting_physician(given_name="Ada", family_name="Lovelace"),
                           on=datetime.date(2025, 3, 3))
    staff = StaffUserFactory()
    staff_login(client, staff)
    client.post("/staff/reporting/pars/learners/", {"start": "2025-03-01", "end": "2025-03-31", "table_format": "txt"})
    certificate_with_lines(activity, reporting_physician(family_name="Overdue"), on=datetime.date(2025, 3, 20))
    certificate_with_lines(activity, reporting_physician(birth_month=None, birth_day=None), on=datetime.date(2025, 3, 21))
    return staff


def test_the_pars_page_with_its_preview_is_accessible_and_fits_a_phone(open_page, axe, reported):
    check_page(open_page, axe, name="staff-pars", path="/staff/reporting/pars/?start=2025-03-01&end=2025-03-31",
               user=reported, expect_text="month and day of birth are missing")


def test_the_pars_page_with_errors_is_accessible(open_page, axe, reported):
    page = open_page("mobile", reported)
    response = page.goto("/staff/reporting/pars/?start=2025-03-31&end=2025-03-01")
    assert response.status == 400
    assert "must not be before its start" in page.locator("main").inner_text()
    assert_accessible(axe, page, "staff-pars-error")


def test_the_moc_queue_is_accessible_and_fits_a_phone(open_page, axe, reported):
    check_page(open_page, axe, name="staff-moc", path="/staff/reporting/moc/", user=reported,
               expect_text="Overdue by")
    check_page(open_page, axe, name="staff-moc-sent", path="/staff/reporting/moc/?view=sent", user=reported,
               expect_text="Record the board's answer")


def test_recording_a_rejection_is_accessible_with_its_error(open_page, axe, reported):
    record = ReportedRecord.objects.get(credit_line__credit_type__board="ABIM")
    path = f"/staff/reporting/moc/records/{record.pk}/"
    check_page(open_page, axe, name="staff-moc-answer", path=path, user=reported, expect_text="Ada Lovelace")
    page = open_page("mobile", reported)
    page.goto(path)
    page.get_by_label("Rejected").check()
    page.get_by_role("button", name="Record the answer").click()
    assert "Say why the board rejected the record" in page.locator("main").inner_text()
    assert_accessible(axe, page, "staff-moc-answer-error")


def test_the_status_page_of_a_learner_file_is_accessible_being_prepared_and_ready(open_page, axe, reported):
    batch = LearnerBatchFactory(actor=reported, include_reported=True)
    path = f"/staff/reporting/pars/batches/{batch.pk}/status/"
    check_page(open_page, axe, name="staff-pars-batch-preparing", path=path, user=reported,
               expect_text="The file is being prepared")
    pars_learner_batch_prepare(batch_id=batch.pk)
    check_page(open_page, axe, name="staff-pars-batch-ready", path=path, user=reported,
               expect_text="Download the learner file")


def test_the_status_page_turns_ready_by_itself_in_its_live_region(open_page, axe, reported):
    batch = LearnerBatchFactory(actor=reported, include_reported=True)
    page = open_page("desktop", reported)
    page.goto(f"/staff/reporting/pars/batches/{batch.pk}/status/")
    region = page.locator("main [role=status]")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(region).to_contain_text("The file is being prepared")
    # A reload would lose the marker.
    page.evaluate("window.__marker = 1")

    prepared = pars_learner_batch_prepare(batch_id=batch.pk)

    download = region.get_by_role("link", name="Download the learner file")
    expect(download).to_be_visible(timeout=10_000)
    expect(download).to_have_attribute("href", f"/staff/reporting/pars/batches/{batch.pk}/")
    expect(region).to_contain_text(f"Rows adding a record: {prepared.added}")
    expect(region).not_to_contain_text("being prepared")
    assert page.evaluate("window.__marker") == 1
    save_screenshot(page, "staff-pars-batch-ready-in-place")
    assert_accessible(axe, page, "staff-pars-batch-ready-in-place")
