"""Browser tests for the public verification form: empty and with an error, checked with
axe at a desktop width and at 375 px, and a licensing board typing a number for real."""

import re

import pytest
from playwright.sync_api import expect

from certificates.models import Certificate

from .browser import VIEWPORTS, assert_accessible, assert_fits_phone, check_page, save_screenshot
from .factories import certificate_for, complete_activity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NUMBER = "CME-7K2QD-M4XRT-P9HWE"


def test_verify_form_is_accessible_and_fits_a_phone(provider, open_page, axe):
    check_page(open_page, axe, name="verify-form", path="/certificates/verify/", expect_text="Certificate number")


def test_verify_form_with_an_error_is_accessible_and_fits_a_phone(provider, open_page, axe):
    for viewport in VIEWPORTS:
        page = open_page(viewport)
        response = page.goto("/certificates/verify/?number=CME-AAAAA-BBBBB-CCCCC")
        assert response.status == 404
        expect(page.get_by_label("Certificate number")).to_have_accessible_description(
            re.compile("No certificate has this number. Check it against the certificate")
        )
        save_screenshot(page, f"verify-form-error-{viewport}")
        assert_accessible(axe, page, f"verify-form-error-{viewport}")
        if viewport == "mobile":
            assert_fits_phone(page, "verify-form-error")


def test_a_board_types_a_number_from_a_paper_certificate(provider, open_page, live_server):
    certificate = certificate_for(
        activity=complete_activity(), number=NUMBER, state=Certificate.State.ISSUED
    )
    page = open_page("mobile")
    page.goto("/")
    page.get_by_role("link", name="Verify a certificate").click()
    page.get_by_label("Certificate number").fill("cme 7k2qd m4xrt p9hwe")
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url(f"{live_server.url}/certificates/verify/{NUMBER}/")
    expect(page.locator("main")).to_contain_text("Valid certificate")
    expect(page.locator("main")).to_contain_text(certificate.learner_name)
