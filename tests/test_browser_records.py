"""Certificate records in Debian's Chromium, with axe, at a desktop width and at 375 px:
the staff certificate pages, their confirmations (with a rejected reason), the audit
history, and the public verification page of a re-issued and of a revoked certificate."""

import pytest
from playwright.sync_api import expect

from certificates.issuing import certificate_issue
from certificates.services import certificate_reissue, certificate_revoke

from .browser import VIEWPORTS, assert_accessible, assert_fits_phone, check_page, save_screenshot
from .factories import StaffUserFactory, UserFactory, certificate_for, complete_activity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def coordinator(db):
    return StaffUserFactory(email="coordinator@example.org")


@pytest.fixture
def reissued_certificate(provider, coordinator):
    """A certificate re-issued after a change of name, so it has two versions."""
    activity = complete_activity(title="Sepsis Recognition in the Emergency Department, a Long Title")
    learner = UserFactory(certificate_name="Grace Hopper", email="grace.hopper.with.a.long.address@example.org")
    certificate = certificate_for(activity=activity, user=learner, rendered=True)
    learner.certificate_name = "Grace Brewster Murray Hopper"
    learner.save()
    certificate_reissue(certificate=certificate, actor=coordinator, reason="Legal name change, court order attached.")
    certificate_issue(certificate_id=certificate.pk)
    return certificate


def check_rejected(open_page, axe, *, name, path, user, button, expect_text):
    """Submit the form at `path` empty: the page comes back with an error summary that
    takes focus, passes axe and fits a phone."""
    for viewport in VIEWPORTS:
        page = open_page(viewport, user)
        page.goto(path)
        with page.expect_response(lambda response: response.request.method == "POST") as answer:
            page.get_by_role("button", name=button).click()
        assert answer.value.status == 400
        expect(page.locator("#error-summary")).to_be_focused()
        expect(page.locator("#error-summary")).to_contain_text(expect_text)
        save_screenshot(page, f"{name}-{viewport}")
        assert_accessible(axe, page, f"{name}-{viewport}")
        if viewport == "mobile":
            assert_fits_phone(page, name)


def test_the_certificate_list_is_accessible_and_fits_a_phone(open_page, axe, reissued_certificate, coordinator):
    check_page(open_page, axe, name="staff-certificates", path="/staff/certificates/", user=coordinator,
               expect_text=reissued_certificate.number)


def test_the_empty_certificate_search_is_accessible(open_page, axe, provider, coordinator):
    check_page(open_page, axe, name="staff-certificates-none", path="/staff/certificates/?q=nobody",
               user=coordinator, expect_text="No certificate matches this search")


def test_a_certificates_record_is_accessible_and_fits_a_phone(open_page, axe, reissued_certificate, coordinator):
    check_page(open_page, axe, name="staff-certificate", path=f"/staff/certificates/{reissued_certificate.number}/",
               user=coordinator, expect_text="Legal name change, court order attached.")


@pytest.mark.parametrize("action", ["reissue", "revoke"])
def test_the_confirmations_are_accessible_and_fit_a_phone(open_page, axe, reissued_certificate, coordinator, action):
    check_page(open_page, axe, name=f"staff-certificate-{action}",
               path=f"/staff/certificates/{reissued_certificate.number}/{action}/", user=coordinator,
               expect_text=reissued_certificate.number)


def test_the_reinstatement_is_accessible_and_fits_a_phone(open_page, axe, reissued_certificate, coordinator):
    certificate_revoke(certificate=reissued_certificate, actor=coordinator, reason="Attendance in doubt.")
    check_page(open_page, axe, name="staff-certificate-reinstate",
               path=f"/staff/certificates/{reissued_certificate.number}/reinstate/", user=coordinator,
               expect_text="stands again")


def test_a_revocation_without_a_reason_is_accessible(open_page, axe, reissued_certificate, coordinator):
    check_rejected(open_page, axe, name="staff-certificate-revoke-error",
                   path=f"/staff/certificates/{reissued_certificate.number}/revoke/", user=coordinator,
                   button="Revoke the certificate", expect_text="Give the reason for this change.")


def test_a_coordinator_revokes_a_certificate_with_a_reason(open_page, reissued_certificate, coordinator):
    page = open_page("mobile", coordinator)
    page.goto(f"/staff/certificates/{reissued_certificate.number}/")
    page.get_by_role("link", name="Revoke").click()
    page.get_by_label("Reason").fill("The learner did not attend.")
    page.get_by_role("button", name="Revoke the certificate").click()

    expect(page.locator(".messages")).to_contain_text(f"Certificate {reissued_certificate.number} is revoked.")
    expect(page.locator("main")).to_contain_text("The learner did not attend.")
    expect(page.get_by_role("link", name="Reinstate")).to_be_visible()


def test_the_audit_history_is_accessible_and_fits_a_phone(open_page, axe, reissued_certificate, coordinator):
    check_page(open_page, axe, name="staff-audit", path="/staff/audit/", user=coordinator,
               expect_text="Grace Brewster Murray Hopper")


def test_the_audit_filter_error_is_accessible(open_page, axe, provider, coordinator):
    for viewport in VIEWPORTS:
        page = open_page(viewport, coordinator)
        response = page.goto("/staff/audit/?learner=nobody%40example.org")
        assert response.status == 400
        expect(page.locator("#error-summary")).to_contain_text("No learner has this e-mail address.")
        save_screenshot(page, f"staff-audit-error-{viewport}")
        assert_accessible(axe, page, f"staff-audit-error-{viewport}")
        if viewport == "mobile":
            assert_fits_phone(page, "staff-audit-error")


def test_the_verification_of_a_reissued_certificate_is_accessible(open_page, axe, reissued_certificate):
    check_page(open_page, axe, name="verify-reissued", path=f"/certificates/verify/{reissued_certificate.number}/",
               expect_text="Re-issued on")


def test_the_verification_of_a_revoked_certificate_is_accessible(open_page, axe, reissued_certificate, coordinator):
    certificate_revoke(certificate=reissued_certificate, actor=coordinator, reason="Issued in error.")
    check_page(open_page, axe, name="verify-revoked", path=f"/certificates/verify/{reissued_certificate.number}/",
               expect_text="Revoked on")
