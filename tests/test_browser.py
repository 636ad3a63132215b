"""Browser tests: every learner-facing page in Debian's Chromium, checked with axe at a
desktop width and at 375 px, plus the learner path and the demo video, clicked for real.

Screenshots land in test-artifacts/ (gitignored) as <page>-desktop.png / <page>-mobile.png.
"""

import os

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
# next to one unless told it is safe (the test code is plain synchronous code).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from django.test import Client  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from certificates.models import Certificate  # noqa: E402
from certificates.services import certificate_claim  # noqa: E402
from courses.models import Participation  # noqa: E402

from . import factories  # noqa: E402
from .factories import PASSWORD, complete_activity, learner_ready_to_claim  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
MOBILE_WIDTH = 375
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "mobile": {
        "viewport": {"width": MOBILE_WIDTH, "height": 740},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}
BLOCKING_IMPACTS = {"serious", "critical"}


# --- Fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    ARTIFACTS.mkdir(exist_ok=True)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(scope="session")
def axe():
    return Axe()


@pytest.fixture(scope="session")
def pages(browser, live_server):
    """One reusable page per viewport, for the whole run (contexts are slow to make)."""
    pages = {}
    for viewport, options in VIEWPORTS.items():
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        pages[viewport] = context.new_page()
    yield pages
    for page in pages.values():
        page.context.close()


@pytest.fixture
def open_page(pages, live_server):
    """open_page(viewport, user=None) → the viewport's page, signed in as `user` or anonymous."""

    def _open(viewport="desktop", user=None):
        page = pages[viewport]
        page.context.clear_cookies()
        page.goto("about:blank")
        if user is not None:
            client = Client()
            client.force_login(user)
            page.context.add_cookies(
                [
                    {
                        "name": "sessionid",
                        "value": client.cookies["sessionid"].value,
                        "url": live_server.url,
                    }
                ]
            )
        return page

    return _open


@pytest.fixture
def provider(transactional_db):
    return factories.ProviderFactory()


# --- Checks -----------------------------------------------------------------------------


def assert_accessible(axe, page, name):
    results = axe.run(page)
    violations = results.response["violations"]
    summary = "\n".join(
        f"{v['id']} ({v['impact']}): {len(v['nodes'])} node(s)" for v in violations
    )
    (ARTIFACTS / f"{name}-axe.txt").write_text(summary + "\n" if summary else "no violations\n")
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe on {name} ({page.url}):\n" + "\n".join(
        results.generate_report(v["id"]) for v in blocking
    )


def assert_fits_phone(page, name):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= MOBILE_WIDTH, f"{name} scrolls sideways at {MOBILE_WIDTH} px: {width} px wide"


def check_page(open_page, axe, *, name, path, user=None, expect_text=None):
    """Load `path` at both widths: it renders, passes axe and fits a phone."""
    for viewport in VIEWPORTS:
        page = open_page(viewport, user)
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        assert page.url.endswith(path), f"{path} redirected to {page.url}"
        if expect_text:
            expect(page.locator("main")).to_contain_text(expect_text)
        page.screenshot(path=ARTIFACTS / f"{name}-{viewport}.png", full_page=True)
        assert_accessible(axe, page, f"{name}-{viewport}")
        if viewport == "mobile":
            assert_fits_phone(page, name)


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
    return f"/activities/{activity.slug}/watch/", user, "I have watched the recording"


def evaluation_state():
    activity = complete_activity()
    user = factories.UserFactory()
    factories.ParticipationFactory(user=user, activity=activity)
    return f"/activities/{activity.slug}/evaluation/", user, "Submit evaluation"


def posttest_state():
    activity = complete_activity()
    user = factories.UserFactory()
    factories.ParticipationFactory(user=user, activity=activity)
    return f"/activities/{activity.slug}/posttest/", user, "Submit answers"


def claim_state():
    activity = complete_activity()
    user = learner_ready_to_claim(activity=activity)
    return f"/activities/{activity.slug}/claim/", user, "Get my certificate"


def issued_certificate():
    activity = complete_activity()
    user = learner_ready_to_claim(activity=activity)
    certificate = certificate_claim(user=user, activity=activity, credits="1", attested=True)
    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.ISSUED, certificate.last_error
    return certificate


def certificate_state():
    certificate = issued_certificate()
    return certificate.get_absolute_url(), certificate.user, "Download certificate"


def verify_state():
    certificate = issued_certificate()
    return f"/certificates/verify/{certificate.number}/", None, "Valid certificate"


def profile_state():
    return "/me/profile/", factories.UserFactory(), "Save profile"


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
    "signup": signup_state,
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

    page.get_by_role("button", name="continue to the evaluation").click()
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
