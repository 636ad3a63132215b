"""The reporting pages (issue 17) in Debian's Chromium, with axe, at a desktop width and at
375 px: the PARS page with a preview and its error state, the MOC queue and an answer."""

import datetime

import pytest

from lms.models import ReportedRecord

from .browser import assert_accessible, check_page
from .factories import (
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
