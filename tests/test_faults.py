"""The fault suite: bursts of real claims through real web servers and Celery workers,
with a fault in the middle of each. After every fault, within a minute of recovery, each
claim has exactly one issued certificate whose PDF parses, and one e-mail.

Every process is the test's own: gunicorn, Celery workers (one running beat), and a
redis-server on a free port that the test stops and starts. PostgreSQL is the shared
server, and only the workers' own connections are ended.
"""

import http.client
import re
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction

from certificates.models import Certificate

from .conftest import pdftotext
from .factories import complete_activity, learner_ready_to_claim
from .processes import PrivateRedis, WebServers, Workers, scalar, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CLAIMS = 200
RECOVERY_SECONDS = 60
# Any 32 letters and digits make a valid CSRF secret; the form sends it back unmasked.
CSRF = "faultsuite" * 3 + "ok"
WORKER_CONNECTIONS = "cme-fault-worker"


class Site:
    """Web servers, workers and a private broker on the test database."""

    def __init__(self, tmp_path, media_root):
        self.redis = PrivateRedis(tmp_path / "redis")
        self.redis.start()
        self.mail_dir = tmp_path / "mail"
        self.media_root = media_root
        self.workers = Workers(self.redis.url, media_root, tmp_path)
        self.workers.env.update(
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(self.mail_dir),
        )
        self.web = WebServers(dict(self.workers.env), tmp_path)
        self.workers.env["DATABASE_URL"] += f"?application_name={WORKER_CONNECTIONS}"
        self.urls = self.web.start_several(2)

    def stop(self):
        self.workers.stop_all()
        self.web.stop_all()
        self.redis.stop()

    def manage(self, *args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=self.workers.env,
            capture_output=True, text=True, check=True,
        )

    def emails_per_certificate(self):
        numbers = Counter()
        for path in self.mail_dir.glob("*.log") if self.mail_dir.exists() else []:
            numbers.update(re.findall(r"Certificate number: (CME-[0-9A-Z-]+)", path.read_text()))
        return numbers


@pytest.fixture
def site(tmp_path, media_root, provider):
    site = Site(tmp_path, media_root)
    yield site
    site.stop()


@pytest.fixture
def learners():
    # One transaction: one commit for the 200, not one for each of their rows.
    with transaction.atomic():
        activity = complete_activity()
        return activity, [learner_ready_to_claim(activity=activity) for _ in range(CLAIMS)]


def session_for(user):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def claim_over_http(base_url, session_key, slug):
    """Post the claim form as the learner's browser would, then open the page it leads
    to. Returns (status of the claim, status of the page, the page's text)."""
    url = urlsplit(base_url)
    cookies = {"Cookie": f"sessionid={session_key}; csrftoken={CSRF}"}
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.request(
            "POST",
            f"/activities/{slug}/claim/",
            urlencode({"csrfmiddlewaretoken": CSRF, "credits": "1", "attest": "on"}),
            {**cookies, "Content-Type": "application/x-www-form-urlencoded"},
        )
        claimed = connection.getresponse()
        claimed.read()
        if claimed.status != 302:
            return claimed.status, None, ""
        connection.request("GET", claimed.getheader("Location"), headers=cookies)
        page = connection.getresponse()
        return claimed.status, page.status, page.read().decode()
    finally:
        connection.close()


def claim_all(site, activity, users):
    sessions = [session_for(user) for user in users]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(
            pool.map(
                lambda pair: claim_over_http(site.urls[pair[0] % 2], pair[1], activity.slug),
                enumerate(sessions),
            )
        )


def issued_count(activity):
    return Certificate.objects.filter(activity=activity, state=Certificate.State.ISSUED).count()


def wait_for_every_certificate(site, activity, *, since, what):
    """Waits until every claim is issued and mailed; returns the seconds each took from
    `since` (the moment of recovery), failing past the promised minute."""
    done = Certificate.objects.filter(activity=activity, state=Certificate.State.ISSUED)
    wait_until(lambda: done.count() == CLAIMS, what=f"every certificate issued after {what}",
               timeout=RECOVERY_SECONDS)
    issued_after = time.monotonic() - since
    wait_until(lambda: done.filter(emailed_at__isnull=False).count() == CLAIMS,
               what=f"every e-mail sent after {what}", timeout=max(1, RECOVERY_SECONDS - issued_after))
    mailed_after = time.monotonic() - since
    print(f"\nFAULT {what}: {CLAIMS} claims; all issued {issued_after:.1f} s and all mailed "
          f"{mailed_after:.1f} s after recovery")
    return issued_after, mailed_after


def assert_exactly_once(site, activity, users):
    certificates = list(Certificate.objects.filter(activity=activity).select_related("user"))
    assert len(certificates) == CLAIMS
    assert {c.user_id for c in certificates} == {u.pk for u in users}
    for certificate in certificates:
        assert certificate.state == Certificate.State.ISSUED
        assert certificate.events.filter(action="issued").count() == 1
        with certificate.pdf.open("rb") as file:
            text = " ".join(pdftotext(file.read()).split())
        assert certificate.learner_name in text
    # Read last: a duplicate e-mail would come from a delivery still running.
    time.sleep(2)
    emails = site.emails_per_certificate()
    assert emails == Counter({c.number: 1 for c in certificates})


def test_it_recovers_every_certificate_and_email_after_every_worker_is_killed(site, learners):
    activity, users = learners
    site.workers.start("-B")
    site.workers.start()
    with ThreadPoolExecutor(max_workers=1) as background:
        claims = background.submit(claim_all, site, activity, users)
        wait_until(lambda: issued_count(activity) >= 40, what="40 certificates issued", timeout=120)
        for process, _ in site.workers.processes:
            site.workers.kill(process)
        results = claims.result()
    assert all(result[:2] == (302, 200) for result in results)
    assert issued_count(activity) < CLAIMS

    # The site comes back as it was, both workers again: one alone, started on a loaded
    # machine, could spend most of the minute on the backlog of two.
    since = time.monotonic()
    site.workers.start("-B")
    site.workers.start()
    wait_for_every_certificate(site, activity, since=since, what="kill -9 of every worker")
    assert_exactly_once(site, activity, users)


def test_it_keeps_claims_and_issues_them_when_the_broker_comes_back(site, learners):
    activity, users = learners
    # A claim made while the broker is down waits out Celery's publish retries (about
    # 0.6 s) on one of two single-worker web servers: 20 of them show what 100 would, in a
    # fifth of the time.
    before, during = users[: CLAIMS - 20], users[CLAIMS - 20 :]
    site.workers.start("-B")
    site.workers.start()
    assert all(result[:2] == (302, 200) for result in claim_all(site, activity, before))
    wait_until(lambda: issued_count(activity) >= 20, what="20 certificates issued", timeout=120)

    site.redis.stop()
    results = claim_all(site, activity, during)
    assert [result[:2] for result in results] == [(302, 200)] * len(during)
    assert all("being prepared" in text for _, _, text in results)
    waiting = Certificate.objects.filter(user__in=during)
    assert waiting.exclude(queue_error="").count() == len(during)

    since = time.monotonic()
    site.redis.start()
    wait_for_every_certificate(site, activity, since=since, what="a broker outage")
    assert_exactly_once(site, activity, users)


def test_it_retries_when_the_database_ends_a_workers_connection(site, learners):
    activity, users = learners
    site.workers.start("-B")
    site.workers.start()
    ended = 0
    with ThreadPoolExecutor(max_workers=1) as background:
        claims = background.submit(claim_all, site, activity, users)
        deadline = time.monotonic() + 60
        while issued_count(activity) < CLAIMS * 3 // 4 and time.monotonic() < deadline:
            ended += scalar(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                f"WHERE application_name = '{WORKER_CONNECTIONS}'"
            )
            time.sleep(0.2)
        assert all(result[:2] == (302, 200) for result in claims.result())
    assert ended > 0
    assert any("retry: Retry in" in site.workers.log(i) for i in range(2))

    since = time.monotonic()
    wait_for_every_certificate(site, activity, since=since, what="database connections ended mid-task")
    assert_exactly_once(site, activity, users)


def test_it_marks_certificates_failed_while_storage_is_broken_and_issues_them_on_a_rerun(site, learners):
    activity, users = learners
    blocked = site.media_root / "certificates"
    site.media_root.mkdir(parents=True, exist_ok=True)
    blocked.write_text("a file where the certificates folder should be")
    # No retries: the burst fails at once instead of after half a minute per message (that
    # a failing render is retried first is tests/test_certificate_delivery.py's to show).
    site.workers.start("-B", CERTIFICATE_RENDER_RETRIES="0")
    site.workers.start(CERTIFICATE_RENDER_RETRIES="0")
    assert all(result[:2] == (302, 200) for result in claim_all(site, activity, users))

    failed = Certificate.objects.filter(activity=activity, state=Certificate.State.FAILED)
    wait_until(lambda: failed.count() == CLAIMS, what="every certificate marked failed", timeout=150)
    assert all("not a directory" in certificate.last_error for certificate in failed)
    assert site.emails_per_certificate() == Counter()

    blocked.unlink()
    since = time.monotonic()
    output = site.manage("sweep_certificates", "--failed").stdout
    assert f"{CLAIMS} failed certificate(s) queued again." in output
    wait_for_every_certificate(site, activity, since=since, what="storage failure, then a re-run")
    assert_exactly_once(site, activity, users)
