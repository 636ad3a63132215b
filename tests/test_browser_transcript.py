"""The transcript and the certificate's waiting page in Debian's Chromium, with axe, at a
desktop width and at 375 px."""

import pytest
from playwright.sync_api import expect

from certificates.issuing import certificate_issue
from certificates.services import certificate_claim

from .browser import check_page
from .factories import complete_activity, learner_ready_to_claim

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def claimed(activity=None):
    activity = activity or complete_activity()
    learner = learner_ready_to_claim(activity=activity)
    return certificate_claim(user=learner, activity=activity, credits="0.75", attested=True)


def test_the_transcript_is_accessible_and_fits_a_phone(provider, open_page, axe):
    certificate = claimed()
    certificate_issue(certificate_id=certificate.pk)
    check_page(
        open_page, axe, name="transcript", path="/me/transcript/", user=certificate.user,
        expect_text=certificate.number,
    )


def test_the_empty_transcript_points_to_the_catalog(provider, open_page, axe, learner):
    check_page(open_page, axe, name="transcript-empty", path="/me/transcript/", user=learner,
               expect_text="No certificates yet")


def test_the_certificate_page_updates_itself_when_the_pdf_is_ready(provider, open_page, axe, monkeypatch):
    # No worker picks the task up: the certificate stays pending until the test issues it.
    monkeypatch.setattr("certificates.tasks.render_certificate.delay", lambda certificate_id: None)
    certificate = claimed()
    check_page(open_page, axe, name="certificate-pending", path=f"/certificates/{certificate.number}/",
               user=certificate.user, expect_text="being prepared")
    page = open_page("desktop", certificate.user)
    page.goto(f"/certificates/{certificate.number}/")
    certificate_issue(certificate_id=certificate.pk)
    expect(page.get_by_role("link", name="Download certificate (PDF)")).to_be_visible(timeout=10_000)
