"""The Content-Security-Policy every page sends (SPEC §6): only this site's own script and
style files, nothing inline, frames only for the video players we embed. The browser
suite fails on any violation (tests/browser.py); the tests here prove that it would."""

import re
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from certificates.models import Certificate
from courses.media import video_embed_url

from .browser import assert_accessible, take_csp_violations
from .factories import (
    PASSWORD,
    StaffUserFactory,
    UserFactory,
    certificate_for,
    complete_activity,
    learner_ready_to_claim,
    staff_login,
)
from .test_settings import run

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "media-src": "'self'",
    "frame-src": "https://www.youtube-nocookie.com https://player.vimeo.com",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PRINT_POLICY = """
import django
django.setup()
from django.conf import settings
print(" ".join(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["media-src"]))
"""


def directives(response):
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.fixture
def activity(provider):
    return complete_activity()


@pytest.fixture
def learner_client(client, activity):
    client.force_login(learner_ready_to_claim(activity=activity))
    return client


@pytest.fixture
def staff_client(client, provider):
    staff_login(client, StaffUserFactory(is_superuser=True))
    return client


# --- The header -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/", "/activities/{slug}/", "/accounts/login/", "/certificates/verify/{number}/"],
    ids=["catalog", "activity", "login", "verify"],
)
def test_it_sends_the_policy_on_public_pages(client, activity, path):
    certificate = certificate_for(activity=activity, state=Certificate.State.ISSUED)
    response = client.get(path.format(slug=activity.slug, number=certificate.number))
    assert response.status_code == 200
    assert directives(response) == POLICY


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["watch", "posttest"])
def test_it_sends_the_policy_on_a_learners_pages(learner_client, activity, page):
    response = learner_client.get(f"/activities/{activity.slug}/{page}/")
    assert response.status_code == 200
    assert directives(response) == POLICY


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/staff/", "/admin/"])
def test_it_sends_the_policy_on_staff_pages_and_the_admin(staff_client, activity, path):
    response = staff_client.get(path)
    assert response.status_code == 200
    assert directives(response) == POLICY


def test_it_frames_exactly_the_players_it_embeds():
    players = {
        video_embed_url("https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        video_embed_url("https://vimeo.com/76979871"),
    }
    origins = {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in players}
    assert set(POLICY["frame-src"].split()) == origins


# --- Object storage ---------------------------------------------------------------------


def printed_media_sources(**variables):
    storage = {"AWS_S3_ENDPOINT_URL": "", "AWS_S3_REGION_NAME": "eu-west-1", **variables}
    result = run(["-c", PRINT_POLICY], **storage)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_it_lets_the_player_follow_recordings_to_the_s3_bucket():
    sources = printed_media_sources(AWS_STORAGE_BUCKET_NAME="cme-files")
    assert sources == "'self' https://cme-files.s3.amazonaws.com"


def test_it_lets_the_player_follow_recordings_to_a_dotted_bucket_on_its_regions_host():
    # botocore cannot put a dotted name in the host, so it puts it in the path.
    sources = printed_media_sources(AWS_STORAGE_BUCKET_NAME="cme.files.example.org")
    assert sources == "'self' https://s3.eu-west-1.amazonaws.com"


def test_it_lets_the_player_follow_recordings_to_a_custom_endpoint():
    sources = printed_media_sources(
        AWS_STORAGE_BUCKET_NAME="cme-files",
        AWS_S3_ENDPOINT_URL="https://key:secret@Objects.Example.org:9000/some/path",
    )
    assert sources == "'self' https://objects.example.org:9000"


def test_it_allows_no_other_media_source_without_a_bucket():
    assert printed_media_sources(AWS_STORAGE_BUCKET_NAME="") == "'self'"


# --- In the browser ---------------------------------------------------------------------

def injecting(page, path, markup):
    """Serve `path` as the site answers it, header included, with `markup` added at the
    start of <main>: what an injection into a page would look like."""

    def inject(route):
        response = route.fetch()
        body = response.text().replace("<main", f"{markup}<main", 1)
        route.fulfill(response=response, body=body)

    page.route(f"**{path}", inject)


def violations_after_load(page, *, expected):
    # The page reports violations asynchronously; they arrive while Playwright waits.
    deadline = time.monotonic() + 5
    violations = []
    while len(violations) < expected and time.monotonic() < deadline:
        page.wait_for_timeout(20)
        violations += take_csp_violations(page)
    return violations


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_reports_an_inline_style_and_script_injected_into_a_page(open_page, provider):
    page = open_page()
    injecting(
        page, "/privacy/",
        '<p id="injected" style="color: red">Injected</p><script>window.injectedScriptRan = true;</script>',
    )
    page.goto("/privacy/")
    violations = violations_after_load(page, expected=2)
    page.unroute("**/privacy/")

    assert any("style-src-attr blocked inline" in line for line in violations), violations
    assert any("script-src-elem blocked inline" in line for line in violations), violations
    assert page.evaluate("window.injectedScriptRan") is None
    assert page.eval_on_selector("#injected", "p => getComputedStyle(p).color") != "rgb(255, 0, 0)"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_axe_still_finds_problems_under_the_policy(open_page, axe, provider):
    page = open_page()
    injecting(page, "/privacy/", '<img src="/static/favicon.svg">')
    page.goto("/privacy/")
    page.unroute("**/privacy/")

    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(axe, page, "csp-axe-probe")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_shows_the_admin_within_the_policy(open_page, provider):
    activity = complete_activity()
    certificate = certificate_for(activity=activity)
    page = open_page("desktop", StaffUserFactory(is_superuser=True))
    paths = [
        "/admin/",
        "/admin/courses/activity/",
        f"/admin/courses/activity/{activity.pk}/change/",
        "/admin/courses/activity/add/",
        "/admin/certificates/certificate/",
        f"/admin/certificates/certificate/{certificate.pk}/change/",
    ]
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        assert page.url.endswith(path), f"{path} redirected to {page.url}"
        # Scripts that style the page run once it has loaded (the admin's inlines, filters).
        page.wait_for_load_state("load")
    # Violations fail the test as it ends, listing each page and directive.


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_shows_the_account_pages_within_the_policy(open_page, provider):
    page = open_page()
    for path in ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]:
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"

    # Setting up an authenticator app asks for the password again, then shows the QR code
    # as a data: image.
    page = open_page("desktop", UserFactory())
    page.goto("/accounts/reauthenticate/?next=/accounts/2fa/totp/activate/")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    qr_code = page.locator("img.totp-qr")
    assert qr_code.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code did not load"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_shows_the_staff_charts_within_the_policy(open_page, provider):
    activity = complete_activity()
    learner_ready_to_claim(activity=activity)
    page = open_page("desktop", StaffUserFactory())
    page.goto(f"/staff/activities/{activity.slug}/")
    score_chart = page.locator("table.chart").first
    track = score_chart.locator(".chart-track").first.bounding_box()["width"]
    widths = score_chart.locator(".chart-bar").evaluate_all(
        "bars => bars.map(bar => bar.getBoundingClientRect().width)"
    )
    # One learner, with every answer right: the top band is full, every other one empty.
    assert widths[-1] == pytest.approx(track, abs=1)
    assert widths[:-1] == [0] * (len(widths) - 1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280, "the chart widens the page"


def test_it_lets_the_watch_page_play_a_recording_hosted_elsewhere(client, activity):
    recording = activity.recording
    recording.url = "https://media.example.edu/talks/sepsis.mp4"
    recording.captions_url = "https://captions.example.edu/sepsis.vtt"
    recording.save()
    client.force_login(learner_ready_to_claim(activity=activity))
    media = directives(client.get(f"/activities/{activity.slug}/watch/"))["media-src"]
    assert "https://media.example.edu" in media
    assert "https://captions.example.edu" in media
    assert "'self'" in media


def test_it_allows_other_hosts_only_on_the_page_that_plays_them(client, activity):
    activity.recording.url = "https://media.example.edu/talks/sepsis.mp4"
    activity.recording.save()
    media = directives(client.get(f"/activities/{activity.slug}/"))["media-src"]
    assert "https://media.example.edu" not in media
