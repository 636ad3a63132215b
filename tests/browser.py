"""Browser-test support, loaded as a pytest plugin by tests/conftest.py: Debian's Chromium
driven by Playwright, axe checks, the phone-width check, and the Content-Security-Policy
watch: any violation of the site's policy on any page a test opens fails that test.

With SCREENSHOTS=1 in the environment, screenshots land in test-artifacts/ (gitignored) as
<page>-desktop.png / <page>-mobile.png, to look at pages as a user would; without it the
suite skips them (a full-page PNG costs about a third of a second).
"""

import itertools
import os
import threading
import time

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
# next to one unless told it is safe (the test code is plain synchronous code).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.test import Client  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from certificates.models import NUMBER_GROUP, NUMBER_GROUPS, Certificate, certificate_number_normalise  # noqa: E402

from .factories import staff_login  # noqa: E402

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
# WCAG 2.1 A and AA plus axe's best practices; every violation fails, whatever its impact.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    # Details only for what fails: axe then skips serialising every node that passed.
    "resultTypes": ["violations"],
}
# Runs in every document before its own scripts. Playwright adds it and the reporting
# function outside the page, so the page's own policy does not block them.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation({
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    document: event.documentURI,
    source: event.sourceFile,
    line: event.lineNumber,
  });
}, true);
"""


# --- Fixtures ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def widest_certificate_numbers(request, monkeypatch):
    """In browser tests, certificates are numbered in the widest letters (W, then M to keep
    them apart), so a page that fits a phone fits it whatever number a learner draws: with
    random numbers a 1 px overflow came and went from run to run."""
    if request.node.get_closest_marker("browser") is None:
        return
    serial = itertools.count()

    def widest_number():
        bits = next(serial)
        body = "".join("WM"[(bits >> place) & 1] for place in range(NUMBER_GROUP * NUMBER_GROUPS))
        return certificate_number_normalise(body)

    monkeypatch.setattr(Certificate._meta.get_field("number"), "_get_default", widest_number)


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
        # Generous: on a loaded 2-core machine a page behind a video or a worker took over
        # 10 s; a wait ends as soon as what it waits for is there.
        context.set_default_timeout(30_000)
        page = context.new_page()
        _track_requests_in_flight(page)
        _record_csp_violations(page, live_server.url)
        pages[viewport] = page
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
            if user.is_staff or user.is_superuser:
                staff_login(client, user)
            else:
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

    yield _open
    # The database is flushed after each test, and a request the server was still running
    # then deadlocked the flush (the watch page reports progress as it plays). So pages
    # send nothing more, wait for the answers to what they sent, and leave; then the
    # server's request threads finish.
    for page in pages.values():
        page.context.route("**/*", lambda route: route.abort())
        deadline = time.monotonic() + 10
        while page.requests_in_flight and time.monotonic() < deadline:
            page.wait_for_timeout(20)
        page.goto("about:blank")
        page.context.unroute("**/*")
    for thread in list(getattr(live_server.thread.httpd, "_threads", None) or ()):
        thread.join(timeout=10)
    _server_quiet_wait()
    violations = [violation for page in pages.values() for violation in take_csp_violations(page)]
    if violations:
        pytest.fail(
            "Content-Security-Policy violations (inline script or style, or a source the "
            "policy does not list):\n" + "\n".join(violations),
            pytrace=False,
        )


class _ServerRequests:
    """How many requests the live server (a thread of this process) is running. A page
    leaving sends its last progress report with `keepalive`, which Chromium may send after
    the page is gone, past the routes that abort everything else."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = 0
        self.last_change = time.monotonic()

    def change(self, by):
        # The tests' own Client runs in the main thread; the server's requests do not.
        if threading.current_thread() is threading.main_thread():
            return
        with self.lock:
            self.running += by
            self.last_change = time.monotonic()

    def quiet_for(self, seconds):
        with self.lock:
            return self.running <= 0 and time.monotonic() - self.last_change >= seconds


_server_requests = _ServerRequests()
request_started.connect(lambda **kwargs: _server_requests.change(1), weak=False)
request_finished.connect(lambda **kwargs: _server_requests.change(-1), weak=False)


def _server_quiet_wait(*, quiet=0.15, timeout=10):
    """Until the server has run no request for `quiet` seconds (or `timeout` passed)."""
    deadline = time.monotonic() + timeout
    while not _server_requests.quiet_for(quiet) and time.monotonic() < deadline:
        time.sleep(0.02)


def _track_requests_in_flight(page):
    in_flight = page.requests_in_flight = set()

    def sent(request):
        # Not video: a player may hold its stream open, and the view's queries ran before
        # the first byte was sent.
        if request.resource_type != "media":
            in_flight.add(request)

    def done(request):
        in_flight.discard(request)

    page.on("request", sent)
    page.on("requestfinished", done)
    page.on("requestfailed", done)


def _record_csp_violations(page, site_url):
    page.csp_violations = []

    def report(violation):
        # An embedded player's own policy is its business; ours is what we answer for.
        if not violation["document"].startswith(site_url):
            return
        where = f" ({violation['source']}:{violation['line']})" if violation["source"] else ""
        page.csp_violations.append(
            f"{violation['document']}: {violation['directive']} blocked "
            f"{violation['blocked'] or 'an unnamed source'}{where}"
        )

    page.expose_function("reportCspViolation", report)
    page.add_init_script(REPORT_CSP_VIOLATIONS)


def take_csp_violations(page):
    """The violations `page` reported since the last call, as readable lines."""
    violations, page.csp_violations = page.csp_violations, []
    return violations


def save_screenshot(page, name, *, full_page=True):
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=full_page)


# --- Checks -----------------------------------------------------------------------------


def assert_accessible(axe, page, name):
    results = axe.run(page, options=AXE_OPTIONS)
    violations = results.response["violations"]
    summary = "\n".join(
        f"{v['id']} ({v['impact']}): {len(v['nodes'])} node(s)" for v in violations
    )
    (ARTIFACTS / f"{name}-axe.txt").write_text(summary + "\n" if summary else "no violations\n")
    assert not violations, f"axe on {name} ({page.url}):\n" + "\n".join(
        results.generate_report(v["id"]) for v in violations
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
        save_screenshot(page, f"{name}-{viewport}")
        assert_accessible(axe, page, f"{name}-{viewport}")
        if viewport == "mobile":
            assert_fits_phone(page, name)
