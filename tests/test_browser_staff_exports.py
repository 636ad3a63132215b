"""The staff exports page in Debian's Chromium, with axe, at a desktop width and at 375 px."""

import datetime
import io

import pytest
from openpyxl import load_workbook

from .browser import VIEWPORTS, assert_accessible, assert_fits_phone, check_page
from .factories import StaffUserFactory, certificate_for, complete_activity, credit_line_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def completed(provider):
    activity = complete_activity(title="Sepsis Recognition in the Emergency Department, a Long Title")
    credit_line_for(certificate_for(activity=activity, completed_on=datetime.date(2025, 3, 10)))
    return activity


def test_the_exports_page_is_accessible_and_fits_a_phone(open_page, axe, completed):
    check_page(open_page, axe, name="staff-exports", path="/staff/exports/", user=StaffUserFactory(),
               expect_text="Include learners' names and e-mails")


def test_the_exports_page_shows_a_bad_period_accessibly(open_page, axe, provider):
    staff = StaffUserFactory()
    for viewport in VIEWPORTS:
        page = open_page(viewport, staff)
        response = page.goto("/staff/exports/download?export=completions&table_format=csv"
                             "&start=2025-03-31&end=2025-03-01")
        assert response.status == 400
        summary = page.locator("#error-summary")
        assert "must not be before its start" in summary.inner_text()
        assert page.evaluate("document.activeElement.id") == "error-summary"
        assert_accessible(axe, page, f"staff-exports-error-{viewport}")
        if viewport == "mobile":
            assert_fits_phone(page, "staff-exports-error")


def test_staff_download_a_workbook_from_the_exports_page(open_page, completed):
    page = open_page("mobile", StaffUserFactory())
    page.goto("/staff/exports/")
    page.get_by_label("From:", exact=True).fill("2025-03-01")
    page.get_by_label("To:", exact=True).fill("2025-03-31")
    page.get_by_label("Excel workbook (.xlsx)").check()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()

    assert download.value.suggested_filename == "completions-20250301-20250331.xlsx"
    # openpyxl goes by the extension of a path, and the saved download has none.
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).worksheets[0]
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == [completed.title]
