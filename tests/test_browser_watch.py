"""The watch page in Debian's Chromium: the real demo video plays, viewing progress is
saved, a reload resumes where the learner stopped, and full viewing opens the way on.
The browser fixtures come from tests/browser.py."""

import pytest
from playwright.sync_api import expect

from courses.models import Participation, Recording

from . import factories
from .factories import UploadedRecordingFactory, complete_activity
from .browser import ARTIFACTS, MOBILE_WIDTH, assert_accessible, assert_fits_phone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLAY_SECONDS = 3
PLAY = """async (seconds) => {
    const video = document.querySelector("video");
    video.muted = true;
    await video.play();
    await new Promise(resolve => setTimeout(resolve, seconds * 1000));
    video.pause();
    return video.currentTime;
}"""


def learner_on(activity):
    user = factories.UserFactory()
    factories.ParticipationFactory(user=user, activity=activity)
    return user


def progress_saved(response):
    return response.url.endswith("/watch/progress/") and response.request.method == "POST"


def uploaded_activity():
    activity = complete_activity()
    Recording.objects.filter(activity=activity).delete()
    UploadedRecordingFactory(activity=activity, duration_seconds=8)
    return activity


@pytest.mark.parametrize("make_activity", [complete_activity, uploaded_activity], ids=["demo", "uploaded"])
def test_it_resumes_the_video_where_the_learner_stopped(provider, open_page, make_activity):  # noqa: F811
    activity = make_activity()
    user = learner_on(activity)
    page = open_page("desktop", user)
    page.goto(f"/activities/{activity.slug}/watch/")

    with page.expect_response(progress_saved) as saved:
        stopped_at = page.evaluate(PLAY, PLAY_SECONDS)
    assert saved.value.ok, saved.value.text()
    progress = saved.value.json()
    assert PLAY_SECONDS - 1 < progress["watched_seconds"] <= stopped_at + 0.01, progress
    participation = Participation.objects.get(user=user, activity=activity)
    assert participation.resume_position_ms == round(stopped_at * 1000)

    page.reload()
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    resumed_at = page.evaluate("document.querySelector('video').currentTime")
    assert abs(resumed_at - stopped_at) < 0.1, (resumed_at, stopped_at)
    expect(page.locator("#viewing-status")).to_contain_text("You have watched")


def test_it_unlocks_continue_only_after_the_whole_video_is_played(provider, open_page, live_server):  # noqa: F811
    activity = complete_activity(requires_full_viewing=True)
    user = learner_on(activity)
    page = open_page("desktop", user)
    page.goto(f"/activities/{activity.slug}/watch/")
    continue_button = page.get_by_role("button", name="Continue to the evaluation")
    expect(continue_button).to_be_hidden()
    expect(page.locator("#viewing-status")).to_contain_text("Watch 8 s more to reach 90%")

    # Jumping to the end is not watching.
    with page.expect_response(progress_saved):
        page.evaluate(
            """async () => {
                const video = document.querySelector("video");
                video.currentTime = 7.5;
                await new Promise(resolve => video.addEventListener("seeked", resolve, {once: true}));
                video.dispatchEvent(new Event("pause"));
            }"""
        )
    expect(continue_button).to_be_hidden()

    page.evaluate("document.querySelector('video').currentTime = 0")
    with page.expect_response(progress_saved, timeout=20_000) as saved:
        page.evaluate(
            """async () => {
                const video = document.querySelector("video");
                video.muted = true;
                await video.play();
                await new Promise(resolve => video.addEventListener("ended", resolve, {once: true}));
            }"""
        )
    assert saved.value.json()["requirement_met"], saved.value.json()
    expect(continue_button).to_be_visible()
    expect(page.locator("#viewing-status")).to_contain_text("That is enough to continue.")
    continue_button.click()
    expect(page).to_have_url(f"{live_server.url}/activities/{activity.slug}/evaluation/")
    assert Participation.objects.get(user=user, activity=activity).recording_completed_at


@pytest.mark.parametrize("viewport", ["desktop", "mobile"])
def test_it_passes_axe_and_fits_a_phone(provider, open_page, axe, viewport):  # noqa: F811
    activity = complete_activity(requires_full_viewing=True)
    Recording.objects.filter(activity=activity).update(
        transcript=(
            "Welcome to this continuing medical education recording. Watch the talk, then "
            "complete the evaluation and the post-test. Thank you for learning with us."
        )
    )
    page = open_page(viewport, learner_on(activity))
    page.goto(f"/activities/{activity.slug}/watch/")
    with page.expect_response(progress_saved):
        page.evaluate(PLAY, 2)
    page.wait_for_function("document.querySelector('video track').readyState >= 2")
    page.locator("video").focus()
    page.screenshot(path=ARTIFACTS / ("watch.png" if viewport == "desktop" else "watch-mobile.png"), full_page=True)
    assert_accessible(axe, page, f"watch-player-{viewport}")
    if viewport == "mobile":
        assert page.evaluate("document.querySelector('video').getBoundingClientRect().width") <= MOBILE_WIDTH
        assert_fits_phone(page, "watch")
