"""The watch page in Debian's Chromium: the real demo video plays, viewing progress is
saved, a reload resumes where the learner stopped, and full viewing opens the way on.
The browser fixtures come from tests/browser.py."""

import datetime
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from courses.models import Participation, Recording
from courses.viewing import MAX_PLAYBACK_RATE, PLAYBACK_GRACE_MS, intervals_total
from lms.settings import s3_storage

from . import factories
from .factories import DEMO_MEDIA, UploadedRecordingFactory, complete_activity
from .browser import MOBILE_WIDTH, assert_accessible, assert_fits_phone, save_screenshot

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


PLAY_TO_THE_END = """async () => {
    const video = document.querySelector("video");
    video.muted = true;
    await video.play();
    await new Promise(resolve => video.addEventListener("ended", resolve, {once: true}));
}"""


def eventually(find, timeout=5):
    """What `find` returns once it returns something, waiting up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := find()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)
    return found


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

    stopped_at = page.evaluate(PLAY, PLAY_SECONDS)
    # The report sent on pause carries the place the learner stopped at.
    participation = eventually(
        lambda: Participation.objects.filter(
            user=user, activity=activity, resume_position_ms=round(stopped_at * 1000)
        ).first()
    )
    watched_seconds = intervals_total(participation.watched_intervals_ms) / 1000
    # What played, measured by the player: on a busy machine it plays less than the wall clock.
    assert stopped_at - 0.5 < watched_seconds <= stopped_at + 0.01, (participation.watched_intervals_ms, stopped_at)

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
    page.evaluate(PLAY_TO_THE_END)
    expect(continue_button).to_be_visible()
    expect(page.locator("#viewing-status")).to_contain_text("That is enough to continue.")
    expect(page.locator("#viewing-announcement")).to_have_text(
        "You have watched enough; Continue is now available below the video."
    )
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
    save_screenshot(page, "watch" if viewport == "desktop" else "watch-mobile")
    assert_accessible(axe, page, f"watch-player-{viewport}")
    if viewport == "mobile":
        assert page.evaluate("document.querySelector('video').getBoundingClientRect().width") <= MOBILE_WIDTH
        assert_fits_phone(page, "watch")


def test_it_reaches_a_requirement_of_the_whole_recording_by_playing_it_to_the_end(
    provider, open_page, live_server
):
    activity = complete_activity()
    Recording.objects.filter(activity=activity).update(required_viewing_percent=100)
    user = learner_on(activity)
    page = open_page("desktop", user)
    page.goto(f"/activities/{activity.slug}/watch/")
    continue_button = page.get_by_role("button", name="Continue to the evaluation")
    expect(continue_button).to_be_hidden()

    page.evaluate(PLAY_TO_THE_END)
    expect(continue_button).to_be_visible()
    expect(page.locator("#viewing-status")).to_have_text(
        "You have watched 8 s of 8 s (100%). That is enough to continue."
    )
    assert page.locator("#viewing-meter").get_attribute("value") == "100"
    participation = Participation.objects.get(user=user, activity=activity)
    assert participation.watched_intervals_ms == [[0, 8000]]
    assert participation.recording_completed_at


def test_it_shows_progress_rising_while_the_recording_plays(provider, open_page):
    activity = complete_activity()
    page = open_page("desktop", learner_on(activity))
    page.goto(f"/activities/{activity.slug}/watch/")
    expect(page.locator("#viewing-status")).to_contain_text("(0%)")
    reports = []
    page.on("request", lambda request: reports.append(request) if "/watch/progress/" in request.url else None)

    page.evaluate(
        """async () => {
            const video = document.querySelector("video");
            video.muted = true;
            await video.play();
            await new Promise(resolve => setTimeout(resolve, 2000));
        }"""
    )
    assert not page.evaluate("document.querySelector('video').paused")
    assert int(page.locator("#viewing-meter").get_attribute("value")) > 0
    expect(page.locator("#viewing-status")).not_to_contain_text("(0%)")
    # Nothing is announced before a milestone, so a screen reader is not talked over.
    expect(page.locator("#viewing-announcement")).to_have_text("")
    save_screenshot(page, "watch-playing")
    # A report goes out every few seconds while playing, so a reload loses little.
    page.wait_for_timeout(2500)
    assert reports, "no progress report while playing"
    page.evaluate("document.querySelector('video').pause()")


def test_it_keeps_the_frequent_status_quiet_and_announces_the_milestone_politely(provider, open_page):
    activity = complete_activity(requires_full_viewing=True)
    page = open_page("desktop", learner_on(activity))
    page.goto(f"/activities/{activity.slug}/watch/")
    status = page.locator("#viewing-status")
    # Neither a live region itself nor inside one, so its every-second changes stay silent.
    assert page.evaluate(
        "!document.getElementById('viewing-status').closest('[aria-live], [role=status], [role=alert], [role=log]')"
    )
    announcement = page.locator("#viewing-announcement")
    expect(announcement).to_have_attribute("role", "status")

    page.evaluate(PLAY_TO_THE_END)
    expect(announcement).to_have_text("You have watched enough; Continue is now available below the video.")
    expect(status).to_contain_text("That is enough to continue.")


def test_it_alerts_a_learner_whose_progress_cannot_be_saved_and_clears_it_once_saved(provider, open_page):
    activity = complete_activity(requires_full_viewing=True)
    user = learner_on(activity)
    page = open_page("desktop", user)
    page.goto(f"/activities/{activity.slug}/watch/")
    alert = page.get_by_role("alert")
    expect(alert).to_be_hidden()

    page.context.set_offline(True)
    page.evaluate(PLAY, 1)
    expect(alert).to_have_text(
        "We could not reach the server; your progress will be saved when the connection returns."
    )
    page.context.set_offline(False)
    with page.expect_response(progress_saved):
        page.evaluate(PLAY, 1)
    expect(alert).to_be_hidden()

    # Logged out behind the page's back: the session and CSRF cookies are gone.
    page.context.clear_cookies()
    page.evaluate(PLAY, 1)
    expect(alert).to_have_text("You have been logged out; log in again to save your progress.")


def test_it_hands_audio_descriptions_to_the_screen_reader_as_the_video_reaches_them(provider, open_page):
    activity = complete_activity()
    # Any WebVTT file serves: the demo's captions stand in for descriptions here.
    Recording.objects.filter(activity=activity).update(descriptions_url="/static/demo/welcome.vtt")
    page = open_page("desktop", learner_on(activity))
    page.goto(f"/activities/{activity.slug}/watch/")
    described = page.locator("#audio-description")
    expect(described).to_have_attribute("aria-live", "polite")

    page.evaluate(PLAY, 1)
    expect(described).to_have_text("Welcome to this continuing medical education recording.")
    # Hidden: the descriptions are for the screen reader, not drawn over the picture.
    assert page.evaluate("document.querySelector('track[kind=descriptions]').track.mode") == "hidden"


# What a script run from the watch page itself can post: a session asked for as the player
# asks for one, and the page's CSRF token.
FORGE_REPORTS = """async (stretches) => {
    const video = document.querySelector("video");
    const opened = await fetch(video.dataset.sessionUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": video.dataset.csrfToken},
        body: "{}",
    });
    const session = (await opened.json()).session;
    const statuses = [];
    for (const [start, end] of stretches) {
        const response = await fetch(video.dataset.progressUrl, {
            method: "POST",
            credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRFToken": video.dataset.csrfToken},
            body: JSON.stringify({session: session, position: end,
                                  watched: [[start, end]], sent_at: Date.now()}),
        });
        statuses.push(response.status);
    }
    return statuses;
}"""


@pytest.mark.parametrize(
    "started_days_ago, stretches",
    [(0, [[15 * n, 15 * (n + 1)] for n in range(40)]), (1, [[0, 590]])],
    ids=["forty-back-to-back-reports", "one-report-a-day-after-starting"],
)
def test_it_keeps_the_post_test_closed_after_forged_reports_from_the_page(
    provider, open_page, live_server, started_days_ago, stretches
):
    activity = complete_activity(requires_full_viewing=True)
    Recording.objects.filter(activity=activity).update(duration_seconds=600)
    user = factories.UserFactory()
    factories.ParticipationFactory(
        user=user, activity=activity,
        started_at=timezone.now() - datetime.timedelta(days=started_days_ago),
    )
    page = open_page("desktop", user)
    opened = time.monotonic()
    page.goto(f"/activities/{activity.slug}/watch/")

    statuses = page.evaluate(FORGE_REPORTS, stretches)

    assert set(statuses) == {200}
    participation = Participation.objects.get(user=user, activity=activity)
    # No more than real time (at the fastest playback rate) since the page opened, however
    # slowly a loaded machine let the script run: nowhere near the 540 s required.
    elapsed_ms = (time.monotonic() - opened) * 1000
    allowed_ms = elapsed_ms * MAX_PLAYBACK_RATE + PLAYBACK_GRACE_MS
    assert intervals_total(participation.watched_intervals_ms) <= allowed_ms
    assert allowed_ms < 540_000
    page.goto(f"/activities/{activity.slug}/posttest/")
    expect(page).to_have_url(f"{live_server.url}/activities/{activity.slug}/watch/")
    expect(page.get_by_role("button", name="Continue to the evaluation")).to_be_hidden()


# --- A presigned video URL that expires while the page is open ---------------------------

WEBM = (DEMO_MEDIA / "welcome.webm").read_bytes()


class ExpiringBucket(ThreadingHTTPServer):
    """An S3-compatible bucket as the player meets it: any presigned URL gets the demo
    video, in small byte ranges (so playing on takes more requests, as a long recording
    does), until the URL's signature expires; then 403, as S3 answers."""

    CHUNK_BYTES = 16 * 1024

    def __init__(self):
        super().__init__(("127.0.0.1", 0), BucketRequest)
        self.origin = f"http://127.0.0.1:{self.server_address[1]}"
        # (when the URL was signed, status answered), in order.
        self.answers = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def refused(self):
        return [signed for signed, status in self.answers if status == 403]

    def stop(self):
        self.shutdown()
        self.server_close()


class BucketRequest(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        bucket = self.server
        query = {name: values[0] for name, values in parse_qs(urlsplit(self.path).query).items()}
        signed = datetime.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%S%z")
        if timezone.now() > signed + datetime.timedelta(seconds=int(query["X-Amz-Expires"])):
            bucket.answers.append((signed, 403))
            body = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
        else:
            bucket.answers.append((signed, 206))
            first = int((self.headers.get("Range") or "bytes=0-").partition("=")[2].partition("-")[0] or 0)
            body = WEBM[first:first + bucket.CHUNK_BYTES]
            self.send_response(206)
            self.send_header("Content-Type", "video/webm")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Range", f"bytes {first}-{first + len(body) - 1}/{len(WEBM)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except ConnectionError:
            # The player went elsewhere (a seek) before reading it all.
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def bucket(settings, monkeypatch):
    """The site's files in an ExpiringBucket, which the page's policy lets video come from
    (production names the bucket's origin in media-src the same way)."""
    bucket = ExpiringBucket()
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "cme-files")
    monkeypatch.setenv("AWS_S3_ENDPOINT_URL", bucket.origin)
    monkeypatch.setenv("AWS_S3_REGION_NAME", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage()}
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "DIRECTIVES": {**directives, "media-src": [*directives["media-src"], bucket.origin]},
    }
    yield bucket
    bucket.stop()


def activity_in_bucket():
    activity = complete_activity()
    # Only its name: the page signs URLs without asking the bucket anything.
    Recording.objects.filter(activity=activity).update(url="", video="recordings/talk.webm")
    return activity


# The signed URLs' lifetime (AWS_QUERYSTRING_EXPIRE's default) and a little more: this
# process's clock, the bucket's and the signing view's alike, jumps that far ahead.
PAST_EXPIRY = datetime.timedelta(seconds=300 + 60)


def video_state(page):
    return page.evaluate(
        """() => {
            const video = document.querySelector("video");
            return {src: video.getAttribute("src"), time: video.currentTime, paused: video.paused,
                    error: video.error && video.error.code};
        }"""
    )


def test_it_signs_the_video_afresh_and_plays_on_from_where_it_was_once_its_url_expired(
    provider, open_page, bucket, time_machine
):
    activity = activity_in_bucket()
    page = open_page("desktop", learner_on(activity))
    page.goto(f"/activities/{activity.slug}/watch/")
    view_url = page.evaluate("document.querySelector('video source').src")
    page.wait_for_function("() => document.querySelector('video').readyState >= 1")
    assert video_state(page)["src"] is None

    # A long pause: the URL the player has expires, and the learner seeks ahead and plays.
    time_machine.move_to(timezone.now() + PAST_EXPIRY, tick=True)
    page.evaluate(
        """() => {
            const video = document.querySelector("video");
            video.muted = true;
            video.currentTime = 5;
            video.play().catch(() => {});
        }"""
    )

    page.wait_for_function("() => document.querySelector('video').currentTime > 5.5", timeout=15_000)
    state = video_state(page)
    assert bucket.refused(), "the expired URL was never asked for"
    assert state["src"] == view_url
    assert state["error"] is None and not state["paused"]
    signed, status = bucket.answers[-1]
    assert status == 206 and signed > bucket.refused()[-1]
    page.evaluate("document.querySelector('video').pause()")


def test_it_stays_where_it_was_paused_when_it_recovers_from_an_expired_url(
    provider, open_page, bucket, time_machine
):
    activity = activity_in_bucket()
    page = open_page("desktop", learner_on(activity))
    page.goto(f"/activities/{activity.slug}/watch/")
    page.wait_for_function("() => document.querySelector('video').readyState >= 1")

    time_machine.move_to(timezone.now() + PAST_EXPIRY, tick=True)
    page.evaluate("document.querySelector('video').currentTime = 6")

    page.wait_for_function(
        "() => document.querySelector('video').getAttribute('src') && document.querySelector('video').readyState >= 2"
    )
    state = video_state(page)
    assert bucket.refused()
    assert state["error"] is None and state["paused"]
    assert abs(state["time"] - 6) < 0.1, state


def test_it_asks_for_a_fresh_url_only_once_when_that_fails_too(provider, open_page, bucket, time_machine):
    activity = activity_in_bucket()
    page = open_page("desktop", learner_on(activity))
    page.goto(f"/activities/{activity.slug}/watch/")
    page.wait_for_function("() => document.querySelector('video').readyState >= 1")
    asked_the_view = []

    def count(request):
        if urlsplit(request.url).path.endswith("/watch/video/"):
            asked_the_view.append(request.url)

    page.on("request", count)

    # Logged out in another tab: the view now sends the player to the login page.
    page.context.clear_cookies()
    time_machine.move_to(timezone.now() + PAST_EXPIRY, tick=True)
    page.evaluate("document.querySelector('video').currentTime = 6")

    page.wait_for_function("() => document.querySelector('video').error !== null")
    # The learner presses play again, and waits.
    page.evaluate("() => { document.querySelector('video').play().catch(() => {}); }")
    page.wait_for_timeout(2000)
    page.remove_listener("request", count)
    assert len(asked_the_view) == 1, asked_the_view
    assert video_state(page)["error"] is not None
