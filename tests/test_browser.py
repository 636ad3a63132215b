"""Browser tests: every learner-facing page in Debian's Chromium, checked with axe at a
desktop width and at 375 px, plus the learner path and the demo video, clicked for real."""

import pytest
from playwright.sync_api import expect

from certificates.models import Certificate
from courses.models import Participation, Recording

from . import factories
from .browser import check_page
from .factories import PASSWORD, complete_activity, learner_ready_to_claim

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# --- Page states ------------------------------------------------------------------------


def catalog_state():
    complete_activity()
    complete_activity(title="Sepsis Bundles in the Emergency Department: What Changed in 2024")
    return "/", None, "Webinar recordings"


def activity_state():
    activity = complete_activity()
    return activity.get_absolute_url(), factories.UserFactory(), "Start activity"


def watch_state():
    activity = complete_activity()
    user = factories.UserFactory()
    factories.ParticipationFactory(user=user, activity=activity)
    return f"/activities/{activity.slug}/watch/", user, "Watch 8 s more to reach 90%"


def evaluation_state():
    activity = complete_activity()
    user = factories.UserFactory()
    factories.ParticipationFactory(user=user, activity=activity, watched=True)
    return f"/activities/{activity.slug}/evaluation/", user, "Submit evaluation"


def posttest_state():
    activity = complete_activity()
    user = factories.UserFactory()
    factories.ParticipationFactory(user=user, activity=activity, watched=True)
    return f"/activities/{activity.slug}/posttest/", user, "Submit answers"


def claim_state():
    activity = complete_activity()
    user = learner_ready_to_claim(activity=activity)
    return f"/activities/{activity.slug}/claim/", user, "Get my certificate"


def certificate_state():
    certificate = factories.certificate_for(activity=complete_activity(), rendered=True)
    return certificate.get_absolute_url(), certificate.user, "Download certificate"


def verify_state():
    certificate = factories.certificate_for(activity=complete_activity(), state=Certificate.State.ISSUED)
    return f"/certificates/verify/{certificate.number}/", None, "Valid certificate"


def privacy_state():
    return "/privacy/", None, "What we keep"


def profile_state():
    return "/me/profile/", factories.UserFactory(), "Save profile"


def transcript_state():
    activity = complete_activity()
    Recording.objects.filter(activity=activity).update(
        transcript="Welcome to this recording.\n\nThank you for learning with us."
    )
    return f"/activities/{activity.slug}/transcript/", None, "Thank you for learning with us."


def signup_state():
    return "/accounts/signup/", None, None


PAGES = {
    "catalog": catalog_state,
    "activity": activity_state,
    "watch": watch_state,
    "evaluation": evaluation_state,
    "posttest": posttest_state,
    "claim": claim_state,
    "certificate": certificate_state,
    "verify": verify_state,
    "profile": profile_state,
    "privacy": privacy_state,
    "signup": signup_state,
    "transcript": transcript_state,
}


# --- Tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_page_is_accessible_and_fits_a_phone(name, provider, open_page, axe):
    path, user, text = PAGES[name]()
    check_page(open_page, axe, name=name, path=path, user=user, expect_text=text)


def test_login_page_is_accessible_and_logs_a_learner_in(provider, open_page, axe, live_server):
    user = factories.UserFactory()
    check_page(open_page, axe, name="login", path="/accounts/login/")

    page = open_page("mobile")
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_learner_earns_a_certificate_in_the_browser(provider, open_page, live_server):
    activity = complete_activity()
    user = factories.UserFactory()
    page = open_page("desktop", user)

    page.goto(activity.get_absolute_url())
    page.get_by_role("button", name="Start activity").click()
    expect(page).to_have_url(f"{live_server.url}/activities/{activity.slug}/watch/")

    page.evaluate(
        """async () => {
            const video = document.querySelector("video");
            video.muted = true;
            await video.play();
            await new Promise(resolve => video.addEventListener("ended", resolve, {once: true}));
        }"""
    )
    page.get_by_role("button", name="Continue to the evaluation").click()
    expect(page.get_by_role("heading", name="Activity evaluation")).to_be_visible()
    assert Participation.objects.get(user=user, activity=activity).recording_completed_at

    page.get_by_label("4", exact=True).check()
    page.get_by_role("button", name="Submit evaluation").click()
    expect(page.get_by_role("heading", name="Post-test")).to_be_visible()

    questions = page.locator("fieldset")
    expect(questions).to_have_count(4)
    for index in range(4):
        questions.nth(index).get_by_label("Right answer").check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", name="passed")).to_contain_text("100%")

    page.get_by_role("link", name="Claim your credit").click()
    expect(page.get_by_role("heading", name="Claim credit")).to_be_visible()
    page.get_by_label("I claim only the credit commensurate").check()
    page.get_by_role("button", name="Get my certificate").click()

    certificate = Certificate.objects.get(user=user, activity=activity)
    expect(page).to_have_url(f"{live_server.url}/certificates/{certificate.number}/")
    download = page.get_by_role("link", name="Download certificate")
    expect(download).to_be_visible()
    href = download.get_attribute("href")
    assert href == f"/certificates/{certificate.number}/pdf/"

    response = page.request.get(href)
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")


def test_the_demo_recording_plays_with_captions(provider, open_page):
    activity = complete_activity()
    user = factories.UserFactory()
    factories.ParticipationFactory(user=user, activity=activity)
    page = open_page("desktop", user)
    page.goto(f"/activities/{activity.slug}/watch/")

    video = page.locator("video")
    expect(video.locator("source")).to_have_attribute("src", "/static/demo/welcome.webm")
    played = page.evaluate(
        """async () => {
            const video = document.querySelector("video");
            video.muted = true;
            await video.play();
            await new Promise(resolve => setTimeout(resolve, 1000));
            return {time: video.currentTime, error: video.error && video.error.code,
                    duration: video.duration};
        }"""
    )
    assert played["error"] is None
    assert played["time"] > 0, played
    assert 7 < played["duration"] < 9, played

    # <track default> loads by itself: readyState 2 is LOADED, 3 is ERROR.
    page.wait_for_function("document.querySelector('video track').readyState >= 2")
    captions = page.evaluate(
        """() => {
            const track = document.querySelector("video track");
            const cues = track.track.cues;
            return {state: track.readyState, mode: track.track.mode,
                    cues: cues ? cues.length : 0, first: cues && cues.length ? cues[0].text : ""};
        }"""
    )
    assert captions["state"] == 2, captions
    assert captions["mode"] == "showing", captions
    assert captions["cues"] == 3, captions
    assert captions["first"].startswith("Welcome")
