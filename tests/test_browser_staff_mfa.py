"""Staff's second factor in Debian's Chromium (issue 15): allauth's set-up and code pages in
the site's layout pass axe at both widths, and a staff member gets through them with the
keyboard alone. The browser fixtures come from tests/browser.py; tests/browser.py also
fails a test on any Content-Security-Policy violation."""

import subprocess
import time
from urllib.parse import quote

import pytest
from django.test import Client
from playwright.sync_api import expect

from .browser import VIEWPORTS, assert_accessible, assert_fits_phone, save_screenshot
from .factories import PASSWORD, StaffUserFactory, authenticator_app_code, totp_code
from .test_browser_keyboard import tab_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACTIVATE = "/accounts/2fa/totp/activate/"
CODE_STEP = "/accounts/2fa/reauthenticate/"
LOGIN_CODE = "/accounts/2fa/authenticate/"


def with_time_to_type(code_of):
    """A code with a few seconds of its 30 left, so it is still the app's when it arrives."""
    left = 30 - time.time() % 30
    if left < 5:
        time.sleep(left)
    return code_of()


def page_with_session(open_page, viewport, client, live_server):
    page = open_page(viewport)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return page


def check_mfa_page(page, axe, path, *, name, heading):
    response = page.goto(path)
    assert response.status == 200 and page.url.endswith(path), f"{path} went to {page.url}"
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    save_screenshot(page, name)
    assert_accessible(axe, page, name)


def test_the_set_up_page_is_accessible_scans_and_fits_a_phone(provider, open_page, live_server, axe, tmp_path):
    staff = StaffUserFactory()
    client = Client()
    client.force_login(staff)
    # allauth asks for the password again before a second factor is added.
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    for viewport in VIEWPORTS:
        page = page_with_session(open_page, viewport, client, live_server)
        check_mfa_page(page, axe, ACTIVATE, name=f"mfa-activate-{viewport}",
                       heading="Set up your authenticator app")
        qr_code = page.get_by_role("img", name="QR code for your authenticator app")
        qr_code.screenshot(path=tmp_path / "qr.png")
        scan = subprocess.run(["zbarimg", "--quiet", "--raw", tmp_path / "qr.png"],
                              capture_output=True, text=True, check=True)
        secret = page.get_by_label("Set-up key").input_value()
        assert scan.stdout.strip() == (
            f"otpauth://totp/{quote(staff.email)}?secret={secret}&issuer=Test%20Medical%20School"
        )
        if viewport == "mobile":
            assert_fits_phone(page, "mfa-activate")


def test_the_code_step_is_accessible_and_fits_a_phone(provider, open_page, live_server, axe):
    client = Client()
    client.force_login(StaffUserFactory(authenticator_app=True))
    for viewport in VIEWPORTS:
        page = page_with_session(open_page, viewport, client, live_server)
        check_mfa_page(page, axe, CODE_STEP, name=f"mfa-code-{viewport}", heading="Enter your code")
        if viewport == "mobile":
            assert_fits_phone(page, "mfa-code")


def sign_in_by_keyboard(page, user):
    tab_to(page, "input[name=login]")
    page.keyboard.type(user.email)
    tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")


def test_staff_set_up_the_app_and_reach_the_reports_by_keyboard_alone(provider, open_page, live_server, axe):
    staff = StaffUserFactory()
    page = open_page("desktop")
    page.goto("/accounts/login/?next=/staff/")
    sign_in_by_keyboard(page, staff)

    # The reports send a staff member without a second factor to set one up; allauth
    # first asks for the password again.
    expect(page.locator(".messages")).to_contain_text("set up an authenticator app to continue")
    tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}{ACTIVATE}")
    tab_to(page, "#authenticator_secret")
    secret = page.evaluate("document.activeElement.value")
    tab_to(page, "input[name=code]")
    page.keyboard.type(with_time_to_type(lambda: totp_code(secret)))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    expect(page.get_by_label("Unused codes")).not_to_be_empty()
    assert_accessible(axe, page, "mfa-recovery-codes-desktop")
    tab_to(page, "a", text="Continue to staff reports")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/staff/")


def test_staff_sign_in_with_a_code_by_keyboard_alone(provider, open_page, live_server, axe):
    staff = StaffUserFactory(authenticator_app=True)
    page = open_page("desktop")
    page.goto("/accounts/login/")
    sign_in_by_keyboard(page, staff)
    expect(page).to_have_url(f"{live_server.url}{LOGIN_CODE}")
    assert_accessible(axe, page, "mfa-login-code-desktop")

    tab_to(page, "input[name=code]")
    page.keyboard.type("000000" if authenticator_app_code(staff) != "000000" else "111111")
    page.keyboard.press("Enter")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("Incorrect code.")
    assert_accessible(axe, page, "mfa-login-code-error-desktop")

    tab_to(page, "input[name=code]")
    page.keyboard.press("Control+A")
    page.keyboard.type(with_time_to_type(lambda: authenticator_app_code(staff)))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/")
    tab_to(page, "a", text="Reports")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/staff/")
