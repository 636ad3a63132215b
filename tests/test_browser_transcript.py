"""The transcript and the certificate's waiting page in Debian's Chromium, with axe, at a
desktop width and at 375 px."""

import pytest
from playwright.sync_api import expect

from certificates.issuing import certificate_issue
from certificates.models import Certificate

from .browser import assert_accessible, check_page
from .factories import certificate_for, certificates_in_bulk, complete_activity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_transcript_is_accessible_and_fits_a_phone(provider, open_page, axe):
    certificate = certificate_for(activity=complete_activity(), credits="0.75", rendered=True)
    check_page(
        open_page, axe, name="transcript", path="/me/transcript/", user=certificate.user,
        expect_text=certificate.number,
    )


def test_a_transcript_of_many_pages_is_accessible_and_fits_a_phone(provider, open_page, axe, learner):
    certificates_in_bulk(count=60, user=learner)
    check_page(
        open_page, axe, name="transcript-pages", path="/me/transcript/?page=2", user=learner,
        expect_text="Page 2 of 2",
    )


def test_the_empty_transcript_points_to_the_catalog(provider, open_page, axe, learner):
    check_page(open_page, axe, name="transcript-empty", path="/me/transcript/", user=learner,
               expect_text="No certificates yet")


@pytest.fixture
def waiting(provider, open_page):
    """A pending certificate's page, open and marked: a reload would lose window.__marker."""
    certificate = certificate_for(activity=complete_activity())
    page = open_page("desktop", certificate.user)
    page.goto(f"/certificates/{certificate.number}/")
    region = page.locator("main [role=status]")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(region).to_contain_text("being prepared")
    page.evaluate("window.__marker = 1")
    navigations = []

    def navigated(frame):
        navigations.append(frame.url)

    page.on("framenavigated", navigated)
    yield certificate, page, region, navigations
    # The page serves the whole run.
    page.remove_listener("framenavigated", navigated)


def test_it_passes_axe_while_the_certificate_is_being_prepared(provider, open_page, axe):
    certificate = certificate_for(activity=complete_activity())
    check_page(open_page, axe, name="certificate-pending", path=f"/certificates/{certificate.number}/",
               user=certificate.user, expect_text="being prepared")


def test_it_puts_the_download_in_the_live_region_without_a_reload(waiting, axe):
    certificate, page, region, navigations = waiting
    certificate_issue(certificate_id=certificate.pk)
    download = region.get_by_role("link", name="Download certificate (PDF)")
    expect(download).to_be_visible(timeout=10_000)
    expect(download).to_have_attribute("href", f"/certificates/{certificate.number}/pdf/")
    expect(region).to_contain_text("Your certificate is ready.")
    expect(region).not_to_contain_text("being prepared")
    assert page.evaluate("window.__marker") == 1
    assert navigations == []
    assert_accessible(axe, page, "certificate-ready-in-place")


def test_it_shows_a_failed_render_in_the_live_region_without_a_reload(waiting, axe):
    certificate, page, region, navigations = waiting
    Certificate.objects.filter(pk=certificate.pk).update(state=Certificate.State.FAILED)
    expect(region).to_contain_text("We could not prepare your certificate yet", timeout=10_000)
    expect(region).not_to_contain_text("being prepared")
    assert page.evaluate("window.__marker") == 1
    assert navigations == []
    assert_accessible(axe, page, "certificate-failed-in-place")
