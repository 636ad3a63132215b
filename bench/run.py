"""The benchmark suite of issue 18, one entry point: every figure beside its ceiling.

    .venv/bin/python bench/run.py [--quick] [--only pages,certificates,burst,exports]

(`make bench` installs wrk and runs it.) On PostgreSQL and Redis at 127.0.0.1:

- pages: the data set of bench/dataset.py in `lms_bench_pages` (built in bulk, kept
  between runs while the migrations, bench/dataset.py and the day are unchanged), served
  in the production shape (gunicorn, 2 sync workers, DJANGO_ENV=production behind an
  https proxy as wrk's X-Forwarded-Proto says, persistent database connections, Redis
  db 12 for cache and broker, static files collected for whitenoise) on a free port of
  127.0.0.1. wrk (1 thread, 8 connections) measures each page in alternating rounds with
  a bare "ok" view served through the same gunicorn and middleware (bench/bareview.py);
  each page's rate is a share of the bare rate measured beside it. POSTs (post-test
  submission, credit claim) come from pools of learners, so each one grades an attempt
  or creates a certificate; the pools are put back after each round.
- certificates and burst: bench/certificates.py and bench/burst.py (their own database
  `lms_bench` and Redis db 13), each in a process of its own.
- exports: the PARS, completions and transcript CSV exports of 100,000 rows each, and the
  staff exports page's completions across activities as CSV and as XLSX, from a database
  of their own (`lms_bench_exports`), with the time and the peak RSS of the gunicorn
  worker serving each. The PARS learner file is recorded by a Celery worker (one pool
  process, as the README starts one): it is timed from the POST to the batch ready (its
  status JSON polled) plus the download, with the peak RSS of the worker as well.

Results are printed and written to bench/RESULTS.md (a full run of everything), or to a
file in the temporary directory for --quick, --only or a smaller --size. No process the
run started outlives it, Ctrl-C included.
"""

import argparse
import atexit
import datetime
import fcntl
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT)]

from bench import dataset, load  # noqa: E402
from bench.bareview import BARE_PATH  # noqa: E402

SERVER = "postgres://postgres@127.0.0.1:5432"
PAGES_DATABASE_URL = os.environ.get("BENCH_PAGES_DATABASE_URL", f"{SERVER}/lms_bench_pages")
EXPORTS_DATABASE_URL = os.environ.get("BENCH_EXPORTS_DATABASE_URL", f"{SERVER}/lms_bench_exports")
REDIS_URL = os.environ.get("BENCH_PAGES_REDIS_URL", "redis://127.0.0.1:6379/12")
MEDIA_ROOT = os.environ.get("BENCH_PAGES_MEDIA_ROOT", str(Path(tempfile.gettempdir()) / "lms-bench-pages-media"))
SECRET_KEY = "bench-only-secret-key-never-used-in-production-0123456789"
# One CSRF secret for every benchmark POST: the cookie and the form field carry it alike.
CSRF_SECRET = "BenchCsrfSecret0123456789abcdefg"
LOCK = Path(tempfile.gettempdir()) / "lms-bench.lock"
PARTS = ("pages", "certificates", "burst", "exports")
# A streamed export's worker grows by its buffers, not its rows: more than this is "grows".
BOUNDED_GROWTH_MB = 50
P99_OVER_P50 = 5
CERTIFICATE_TARGET, CERTIFICATE_STRETCH, BURST_TARGET = 1.25, 1.10, 1.2

os.environ.update(
    DJANGO_SETTINGS_MODULE="lms.settings",
    DATABASE_URL=PAGES_DATABASE_URL,
    REDIS_URL=REDIS_URL,
    MEDIA_ROOT=MEDIA_ROOT,
    SECRET_KEY=SECRET_KEY,
    DEBUG="false",
    EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
)
for variable in ("DJANGO_ENV", "CONN_MAX_AGE"):
    os.environ.pop(variable, None)


def log(text=""):
    print(text, flush=True)


# --- databases ----------------------------------------------------------------------------


def _name(url):
    return url.rsplit("/", 1)[1]


def database_recreate(url):
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_name(url)}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{_name(url)}"')


def database_exists(url):
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [_name(url)]).fetchone())


def database_use(url):
    """Point this process's Django at `url`'s database (same server, another name)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = _name(url)


def dataset_ready(url, *, size, build, data_class):
    """The data set in `url`, built unless the database holds one of this fingerprint."""
    from django.core.management import call_command
    from django.db import connection

    today = datetime.datetime.now(datetime.UTC).date()
    fingerprint = dataset.fingerprint(size=f"{size}:{today}")
    if database_exists(url):
        database_use(url)
        stored, data = dataset.marker_read(connection)
        if stored == fingerprint:
            log(f"Data set in {_name(url)} is current ({size}); reusing it.")
            dataset.database_settle()
            return data_class(**data)
    started = time.perf_counter()
    log(f"Building the {size} data set in {_name(url)} …")
    connection.close()
    database_recreate(url)
    database_use(url)
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    data = build(sizes=dataset.SIZES[size])
    dataset.marker_write(connection, fingerprint=fingerprint, data=data)
    dataset.database_settle()
    log(f"  migrated in {migrated - started:.0f} s, data built in {time.perf_counter() - migrated:.0f} s")
    return data


def session_cookie(user_id, *, second_factor=False):
    """A signed-in session for the user, as Django's login makes it (and, for staff, with
    the password and authenticator-app steps allauth records)."""
    from importlib import import_module

    from django.conf import settings
    from django.test import RequestFactory

    from lms.models import User

    user = User.objects.get(pk=user_id)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
    store["_auth_user_hash"] = user.get_session_auth_hash()
    if second_factor:
        from allauth.account.internal.flows.login import record_authentication
        from allauth.mfa.models import Authenticator

        authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
        request = RequestFactory().get("/")
        request.session = store
        record_authentication(request, user, "password", email=user.email)
        record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}; {settings.CSRF_COOKIE_NAME}={CSRF_SECRET}"


def production_env(database_url, static_root):
    """The environment of the production shape, on http://127.0.0.1 behind a proxy that
    says https (wrk sends X-Forwarded-Proto), so every production setting holds."""
    env = dict(os.environ)
    env.pop("DEBUG", None)
    env.update(
        DJANGO_ENV="production",
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL="https://cme.bench.example.org",
        DEFAULT_FROM_EMAIL="cme@bench.example.org",
        STATIC_ROOT=str(static_root),
        CONN_MAX_AGE="600",
        LMS_BENCH_BARE_VIEW="1",
    )
    return env


def static_root():
    """Static files collected for whitenoise as production collects them (hashed names,
    compressed copies), kept between runs while the project's static files and the
    requirements are unchanged: collecting them takes 10-30 s."""
    import hashlib

    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes())
    for path in sorted((ROOT / "static").rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(ROOT)}:{path.stat().st_size}:{path.stat().st_mtime_ns}".encode())
    parent = Path(tempfile.gettempdir()) / "lms-bench-static"
    root = parent / digest.hexdigest()[:16]
    if not (root / "staticfiles.json").exists():
        shutil.rmtree(parent, ignore_errors=True)
        root.mkdir(parents=True)
        env = production_env(PAGES_DATABASE_URL, root)
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                       cwd=ROOT, env=env, check=True)
    return root


def proxy_headers(server):
    origin = f"https://127.0.0.1:{server.port}"
    return {"X-Forwarded-Proto": "https", "Origin": origin, "Referer": origin + "/"}


def fetch(server, path, *, cookie="", body=None, headers=None):
    """(status, body) of one request, redirects not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(server.base + path, data=body.encode() if body else None,
                                     headers={**(headers or {}), **({"Cookie": cookie} if cookie else {})})
    if body:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- pages --------------------------------------------------------------------------------


def pages_run(options, results):
    import redis

    from bench.load import Server, Target

    data = dataset_ready(PAGES_DATABASE_URL, size=options.size, build=dataset.pages_dataset_build,
                         data_class=dataset.PagesData)
    dataset.pools_reset(data=data)
    redis.Redis.from_url(REDIS_URL).flushdb()
    cookies = {user: session_cookie(user) for user in
               {data.light_user, data.heavy_user, *(e[0] for e in data.posttest_pool), *(e[0] for e in data.claim_pool)}}
    csrf = f"csrfmiddlewaretoken={CSRF_SECRET}"
    posttest_pool = [
        (cookies[user], f"/activities/{slug}/posttest/",
         "&".join([csrf, f"attempt={attempt}", *(f"question-{q}={c}" for q, c in answers.items())]))
        for user, slug, attempt, answers in data.posttest_pool
    ]
    claim_pool = [(cookies[user], f"/activities/{slug}/claim/", f"{csrf}&credits={credits}&attest=on")
                  for user, slug, credits in data.claim_pool]

    def after_pool(index, label):
        def after(measure):
            # Requests wrk left in flight finish within its timeout of their own.
            time.sleep(1)
            done = dataset.pools_work_done(data=data)[index]
            dataset.pools_reset(data=data)
            # The claims' rendering tasks: no worker runs here, and the next round queues its own.
            redis.Redis.from_url(REDIS_URL).delete("celery")
            if done < measure.requests:
                return (f"only {done} of {measure.requests} requests {label} (pool of "
                        f"{len(posttest_pool if index == 0 else claim_pool)}): the rest repeated done work")
            return ""
        return after

    slug = data.activity_slug
    targets = [
        Target("anonymous catalog /", path="/", target=0.60),
        Target("anonymous search /?q=diabetes", path="/?q=diabetes", target=0.30),
        Target("anonymous activity page", path=f"/activities/{slug}/", target=0.60),
        Target("public verify page", path=f"/certificates/verify/{data.verify_number}/", target=0.60),
        # No page of a signed-in learner can beat this: the session, the user and their
        # middleware, with no work of a page; it shows how much of each target is left.
        Target("signed-in bare view", path=BARE_PATH, cookie=cookies[data.light_user]),
        Target("logged-in catalog", path="/", cookie=cookies[data.light_user], target=0.25),
        Target("transcript (10 certificates)", path="/me/transcript/", cookie=cookies[data.light_user], target=0.25),
        Target(f"transcript ({data.heavy_certificates:,} certificates)", path="/me/transcript/",
               cookie=cookies[data.heavy_user], target=0.10),
        Target("watch page", path=f"/activities/{slug}/watch/", cookie=cookies[data.light_user], target=0.25),
        Target("post-test submission (graded)", pool=posttest_pool, target=0.15,
               after=after_pool(0, "graded an attempt")),
        Target("credit claim", pool=claim_pool, after=after_pool(1, "created a certificate")),
    ]
    server = Server(production_env(PAGES_DATABASE_URL, static_root()))
    server.start(BARE_PATH)
    try:
        headers = proxy_headers(server)
        pages_check(server, targets, headers=headers)
        dataset.pools_reset(data=data)
        log(f"Pages: {plural(options.rounds, 'round')} of {options.seconds} s per measurement, "
            f"wrk {load.WRK_THREADS} thread / {load.WRK_CONNECTIONS} connections, gunicorn on port {server.port}")
        pages, bare_rates = load.rounds_run(server, targets, rounds=options.rounds, seconds=options.seconds,
                                            headers=headers, bare_path=BARE_PATH, log=log)
        results["pages"] = pages
        results["bare_rates"] = bare_rates
        results["gunicorn_peak_mb"] = max(load.memory_mb(pid, "VmHWM") or 0 for pid in server.worker_pids())
    finally:
        server.stop()
        dataset.pools_reset(data=data)
        redis.Redis.from_url(REDIS_URL).flushdb()


def pages_check(server, targets, *, headers):
    """Each page answers 200 (not a redirect to the login or profile page) and each POST
    does its work (a redirect after grading or claiming), before anything is timed; the
    GETs a few times, to warm both workers."""
    for target in targets:
        if target.pool:
            cookie, path, body = target.pool[0]
            status, content = fetch(server, path, cookie=cookie, body=body, headers=headers)
            if status != 302:
                raise SystemExit(f"{target.name}: POST {path} answered {status}, not a redirect:\n{content[:2000]!r}")
        else:
            for _ in range(4):
                status, content = fetch(server, target.path, cookie=target.cookie, headers=headers)
                if status != 200:
                    raise SystemExit(f"{target.name}: GET {target.path} answered {status}:\n{content[:2000]!r}")


# --- certificates and burst (bench/certificates.py, bench/burst.py) --------------------------

RUNNER = """
import importlib, json, sys
sys.path[:0] = [{root!r}]
module = importlib.import_module({module!r})
print("BENCH-JSON " + json.dumps(module.measure(**{kwargs!r})), flush=True)
"""


def measure_of(module, kwargs):
    """bench.<module>.measure(**kwargs), run in a process of its own (it sets Django up on
    its own database) with its output echoed."""
    code = RUNNER.format(root=str(ROOT), module=f"bench.{module}", kwargs={**kwargs, "verbose": True})
    # Its database and Redis come from bench/benchenv.py (BENCH_DATABASE_URL, BENCH_REDIS_URL).
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT")}
    process = load.popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    figures = None
    for line in process.stdout:
        if line.startswith("BENCH-JSON "):
            figures = json.loads(line.removeprefix("BENCH-JSON "))
        else:
            log(f"  [{module}] {line.rstrip()}")
    if process.wait() or figures is None:
        raise SystemExit(f"bench/{module}.py measure() failed (exit {process.returncode})")
    return figures


def certificates_run(options, results):
    results["certificates"] = measure_of(
        "certificates", {"rounds": options.certificate_rounds, "per_round": options.certificate_count}
    )


def burst_run(options, results):
    results["burst"] = {
        **measure_of("burst", {"claims": options.claims, "workers": 2, "rounds": options.burst_rounds}),
        "claims": options.claims,
    }


# --- exports ------------------------------------------------------------------------------


@dataclass
class ExportResult:
    name: str
    rows: int
    expected: int
    seconds: float
    status: int
    peak_mb: float
    growth_mb: float
    # The serving worker's processor time: the wall time stretches with the machine's load.
    cpu_seconds: float
    # A file a Celery worker records first: seconds from the POST to the batch ready (within
    # `seconds`), and the worker's peak RSS meanwhile.
    ready_seconds: float = None
    celery_peak_mb: float = None

    @property
    def bounded(self):
        return self.status == 200 and self.rows == self.expected and self.growth_mb <= BOUNDED_GROWTH_MB


def export_download(server, path, *, cookie, headers, body=None, header_rows=1):
    """Download `path` (POSTing `body` when given) in chunks to a file, as a browser saves
    it; (status, data rows, seconds to the last byte). A workbook's rows are counted once it
    is all there; `header_rows` are not data."""
    import http.client
    import zipfile

    from openpyxl import load_workbook

    from lms.exports import CONTENT_TYPES, TableFormat

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as saved:
        try:
            if body is None:
                connection.request("GET", path, headers={**headers, "Cookie": cookie})
            else:
                connection.request("POST", path, body=body, headers={
                    **headers, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            try:
                while chunk := response.read(65536):
                    saved.write(chunk)
            except (http.client.IncompleteRead, ConnectionError):
                pass
            seconds = time.perf_counter() - started
        finally:
            connection.close()
        saved.seek(0)
        if response.getheader("Content-Type") == CONTENT_TYPES[TableFormat.XLSX]:
            try:
                lines = sum(1 for _ in load_workbook(saved, read_only=True).worksheets[0].iter_rows())
            except zipfile.BadZipFile:
                # Cut off: no workbook, so no rows.
                lines = 0
        else:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: saved.read(65536), b""))
    return response.status, max(0, lines - header_rows), seconds


PARS_LEARNERS_PATH = "/staff/reporting/pars/learners/"
PARS_READY_TIMEOUT = 1800


def celery_worker_start(env):
    """A Celery worker of one pool process on `env`'s database and broker, answering a
    ping before this returns."""
    from lms.celery import app

    worker = load.popen([sys.executable, "-m", "celery", "-A", "lms", "worker", "--concurrency=1",
                         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
                        cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=1.0):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the Celery worker did not start within 60 s")
    load.started_pids.extend(load.children_of(worker.pid))
    return worker


def pars_batch_ready(server, *, cookie, headers, body, worker):
    """POST the PARS learner file's form and poll the batch's status JSON until the worker
    has recorded it: (the download's path, seconds from the POST, the worker's peak RSS
    in MB, its pool included)."""
    import http.client

    group = [worker.pid, *load.children_of(worker.pid)]
    for pid in group:
        load.peak_reset(pid)
    with load.RssSampler(group) as sampler:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            connection.request("POST", PARS_LEARNERS_PATH, body=body, headers={
                **headers, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        status_page = response.getheader("Location") or ""
        if response.status not in (302, 303) or not status_page.endswith("/status/"):
            raise SystemExit(f"PARS learner file: the POST answered {response.status}, not its status page")
        status_json = status_page.removesuffix("/") + ".json"
        while time.perf_counter() - started < PARS_READY_TIMEOUT:
            status, content = fetch(server, status_json, cookie=cookie, headers=headers)
            if status == 200 and json.loads(content)["state"] != "preparing":
                break
            time.sleep(0.1)
        seconds = time.perf_counter() - started
    peak = max(max(load.memory_mb(pid, "VmHWM") or 0, sampler.peak[pid]) for pid in group)
    return status_page.removesuffix("status/"), seconds, peak


def exports_run(options, results):
    import redis

    from bench.load import RssSampler, Server

    data = dataset_ready(EXPORTS_DATABASE_URL, size=options.size, build=dataset.exports_dataset_build,
                         data_class=dataset.ExportsData)
    redis.Redis.from_url(REDIS_URL).flushdb()
    staff = session_cookie(data.staff_user, second_factor=True)
    learner = session_cookie(data.transcript_user)
    end = datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=1)
    across = f"/staff/exports/download?export=completions&start={data.completions_start}&end={end}&table_format="
    # The PARS learner file is asked for by a POST, recorded by the worker (every row, as
    # the period includes what was reported) and then downloaded. Its tab-delimited text,
    # as PARS takes it, has no header row.
    pars = (f"csrfmiddlewaretoken={CSRF_SECRET}&start=2000-01-01&end={end}&table_format=txt"
            "&include_reported=on")
    exports = [
        ("PARS learner file", PARS_LEARNERS_PATH, staff, data.pars_rows, (pars, 0)),
        ("completions CSV", f"/staff/activities/{data.activity_slug}/completions.csv", staff, data.rows, (None, 1)),
        ("transcript CSV", "/me/transcript.csv", learner, data.rows, (None, 1)),
        ("all completions CSV", across + "csv", staff, data.rows, (None, 1)),
        ("all completions XLSX", across + "xlsx", staff, data.rows, (None, 1)),
    ]
    measured = []
    env = production_env(EXPORTS_DATABASE_URL, static_root())
    server = Server(env)
    server.start(BARE_PATH)
    celery = celery_worker_start(env)
    try:
        headers = proxy_headers(server)
        for _ in range(10):
            fetch(server, BARE_PATH, headers=headers)
        for name, path, cookie, expected, (body, header_rows) in exports:
            ready_seconds = celery_peak = None
            if path == PARS_LEARNERS_PATH:
                path, ready_seconds, celery_peak = pars_batch_ready(
                    server, cookie=cookie, headers=headers, body=body, worker=celery)
                body = None
            workers = server.worker_pids()
            for pid in workers:
                load.peak_reset(pid)
            before = {pid: load.memory_mb(pid, "VmRSS") for pid in workers}
            cpu_before = {pid: load.cpu_seconds(pid) or 0 for pid in workers}
            with RssSampler(workers) as sampler:
                status, rows, seconds = export_download(
                    server, path, cookie=cookie, headers=headers, body=body, header_rows=header_rows)
            peaks = {pid: max(load.memory_mb(pid, "VmHWM") or 0, sampler.peak[pid]) for pid in workers}
            serving = max(workers, key=lambda pid: peaks[pid] - (before[pid] or 0))
            cpu = max((load.cpu_seconds(pid) or 0) - cpu_before[pid] for pid in workers)
            result = ExportResult(name, rows, expected, seconds + (ready_seconds or 0), status, peaks[serving],
                                  peaks[serving] - (before[serving] or 0), cpu, ready_seconds, celery_peak)
            measured.append(result)
            log(f"  {name:<20} {rows:>8,} of {expected:,} rows in {result.seconds:6.1f} s ({cpu:.1f} s CPU), "
                f"status {status}, peak RSS {result.peak_mb:.0f} MB (+{result.growth_mb:.0f} MB)"
                + (f"; ready after {ready_seconds:.1f} s, Celery worker peak RSS {celery_peak:.0f} MB"
                   if ready_seconds is not None else ""))
            if set(server.worker_pids()) != set(workers):
                log("  (a gunicorn worker was replaced: it timed out or died serving the export)")
                load.started_pids.extend(server.worker_pids())
                time.sleep(1)
    finally:
        load.process_stop(celery)
        server.stop()
    results["exports"] = measured


# --- the report ---------------------------------------------------------------------------


def _git_dirs():
    """(the checkout's git directory, the one its branches live in): both .git, except in
    a worktree, whose .git is a file naming its own directory inside the main one's."""
    git = ROOT / ".git"
    if git.is_file():
        git = Path(git.read_text().split(":", 1)[1].strip())
    common = git / "commondir"
    return git, (git / common.read_text().strip()).resolve() if common.exists() else git


def git_commit():
    """The checked-out commit, read from .git itself."""
    git, refs = _git_dirs()
    head = (git / "HEAD").read_text().strip()
    if not head.startswith("ref: "):
        return head[:12]
    ref = head.removeprefix("ref: ")
    path = refs / ref
    if path.exists():
        return f"{path.read_text().strip()[:12]} ({ref.rsplit('/', 1)[-1]})"
    packed = refs / "packed-refs"
    for line in packed.read_text().splitlines() if packed.exists() else []:
        if line.endswith(" " + ref):
            return f"{line.split()[0][:12]} ({ref.rsplit('/', 1)[-1]})"
    return "unknown"


def machine():
    import django
    import gunicorn
    import psycopg

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    try:
        with psycopg.connect(PAGES_DATABASE_URL.rsplit("/", 1)[0] + "/postgres") as conn:
            postgres = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    except psycopg.Error:
        postgres = "unknown"
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    wrk_version = (wrk.stdout + wrk.stderr).split()[1] if (wrk.stdout + wrk.stderr).strip() else "?"
    return {
        "cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
        "django": django.get_version(), "postgresql": postgres, "gunicorn": gunicorn.__version__,
        "wrk": wrk_version, "commit": git_commit(),
    }


def plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def _met(ok):
    return "met" if ok else "**missed**"


def report(options, results, started_at, loads):
    info = machine()
    sizes = dataset.SIZES[options.size]
    lines = [
        "# Benchmark results",
        "",
        f"Written by `bench/run.py` ({' '.join(sys.argv[1:]) or 'full run'}); compare the next change with it.",
        "",
        f"- date: {started_at:%Y-%m-%d %H:%M} UTC, {time.perf_counter() - options.clock:.0f} s",
        f"- machine: {info['cores']} cores, {info['cpu']}; load average {loads[0]} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end",
        f"- Python {info['python']}, Django {info['django']}, PostgreSQL {info['postgresql']}, "
        f"gunicorn {info['gunicorn']}, wrk {info['wrk']}",
        f"- commit: {info['commit']}",
        f"- data set ({options.size}): {sizes.activities:,} activities in {sizes.series} series, "
        f"{sizes.learners:,} learners, {sizes.attempts:,} attempts, {sizes.certificates:,} certificates; "
        f"exports of {sizes.export_rows:,} rows",
    ]
    if "pages" in results:
        lines += [
            "",
            "## Pages, against a bare view through the same gunicorn",
            "",
            f"gunicorn with 2 sync workers in the production shape; wrk {load.WRK_THREADS} thread, "
            f"{load.WRK_CONNECTIONS} connections, {plural(options.rounds, 'round')} of {options.seconds} s; "
            f"each ratio is to the bare view's rate measured just before and after it "
            f"(bare view: {statistics.median(results['bare_rates']):,.0f} req/s median, "
            f"{min(results['bare_rates']):,.0f}–{max(results['bare_rates']):,.0f}). Medians over the rounds.",
            "",
            "| page | req/s | p50 | p99 | p99/p50 | bare req/s | share of bare | spread | target | met |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        notes = []
        for page in results["pages"]:
            ratios = page.ratios
            share = statistics.median(ratios)
            p50, p99 = page.median("p50_ms"), page.median("p99_ms")
            tail = p99 / p50 if p50 else float("inf")
            target = page.target.target
            verdict = "—"
            if target is not None:
                verdict = _met(share >= target and tail <= P99_OVER_P50)
                if share >= target and tail > P99_OVER_P50:
                    verdict += " (p99/p50)"
            lines.append(
                f"| {page.target.name} | {page.median('requests_per_s'):,.1f} | {p50:.1f} ms | {p99:.1f} ms | "
                f"{tail:.1f} | {page.bare:,.0f} | {100 * share:.1f}% | {100 * min(ratios):.1f}–{100 * max(ratios):.1f}% | "
                f"{'≥ %d%%' % round(100 * target) if target is not None else '—'} | {verdict} |"
            )
            notes += [f"- {page.target.name}: {note}" for note in page.notes]
        lines += ["", f"Every target also asks p99 ≤ {P99_OVER_P50}× p50."]
        if notes:
            lines += ["", "Notes:", "", *notes]
    if any(key in results for key in ("certificates", "burst", "gunicorn_peak_mb", "exports")):
        lines += ["", "## Certificates, memory and exports", "", "| what | measured | ceiling | ratio | target | met |",
                  "|---|---|---|---|---|---|"]
    if "certificates" in results:
        c = results["certificates"]
        ratio = c["bare_per_s"] / c["worker_per_s"]
        per_round = " / ".join(f"{r:.2f}" for r in c["ratios"])
        cpu = f"; by CPU time {c['cpu_ratio']:.2f}×" if "cpu_ratio" in c else ""
        lines.append(
            f"| certificates through one worker, {plural(options.certificate_rounds, 'round')} of {options.certificate_count} | "
            f"{c['worker_per_s']:.2f}/s | bare render {c['bare_per_s']:.2f}/s | {ratio:.2f}× (per round {per_round}{cpu}) | "
            f"≤ {CERTIFICATE_TARGET}×, stretch ≤ {CERTIFICATE_STRETCH}× | "
            f"{_met(ratio <= CERTIFICATE_TARGET)}{' (stretch too)' if ratio <= CERTIFICATE_STRETCH else ''} |"
        )
    if "burst" in results:
        b = results["burst"]
        lines.append(
            f"| {b['claims']:,} claims, 2 worker processes, first claim to last issued"
            f"{', the median of %d rounds' % len(b['ratios']) if len(b.get('ratios', [])) > 1 else ''} | {b['seconds']:.1f} s | "
            f"ideal {b['ideal_seconds']:.1f} s"
            f"{' (bare render %.1f/s before the burst, %.1f/s after)' % (b['bare_before_per_s'], b['bare_after_per_s']) if 'bare_before_per_s' in b else ''}"
            f" | {b['ratio']:.2f}× ("
            f"{'rounds %s; ' % ' / '.join(f'{r:.2f}' for r in b['ratios']) if len(b.get('ratios', [])) > 1 else ''}"
            f"{b['duplicates']} queued twice"
            f"{'; other work on the machine: %.2f cores' % b['other_load'] if 'other_load' in b else ''}"
            f"{'; claim and worker CPU per certificate %.2f× the bare render' % b['cpu_ratio'] if 'cpu_ratio' in b else ''}"
            f") | "
            f"≤ {BURST_TARGET}× | {_met(b['ratio'] <= BURST_TARGET)} |"
        )
        if "parallel_per_s" in b:
            lines.append(
                f"| CPU per certificate of the burst | claim {b['claims_cpu_ms']:.1f} ms, worker {b['worker_cpu_ms']:.1f} ms "
                f"(a bare render {b['bare_cpu_ms']:.1f} ms), PostgreSQL {b['postgres_cpu_ms']:.1f} ms, "
                f"Redis {b['redis_cpu_ms']:.1f} ms, anything else {b['rest_cpu_ms']:.1f} ms; the machine "
                f"{100 * b['idle_share']:.1f}% idle | 2 bare renders side by side {b['parallel_per_s']:.1f}/s | "
                f"{b['parallel_ratio']:.2f}× | — | — |"
            )
        celery = b.get("celery_peak_rss_mb")
        lines.append(f"| peak RSS of a Celery worker after the burst | "
                     f"{f'{celery:.0f} MB' if celery is not None else 'not reported by bench/burst.py'} | — | — | — | — |")
    if "gunicorn_peak_mb" in results:
        lines.append(f"| peak RSS of a gunicorn worker after the pages | {results['gunicorn_peak_mb']:.0f} MB | — | — | — | — |")
    for export in results.get("exports", []):
        complete = export.status == 200 and export.rows == export.expected
        served = f"{export.seconds:.1f} s ({export.cpu_seconds:.1f} s CPU), peak RSS"
        if export.ready_seconds is not None:
            served = (f"{export.seconds:.1f} s from the POST to the last byte: recorded by a Celery worker in "
                      f"{export.ready_seconds:.1f} s (worker peak RSS {export.celery_peak_mb:.0f} MB), downloaded with "
                      f"{export.cpu_seconds:.1f} s CPU, gunicorn peak RSS")
        lines.append(
            f"| {export.name}, {export.expected:,} rows | {served} {export.peak_mb:.0f} MB "
            f"(+{export.growth_mb:.0f} MB while serving){'' if complete else f'; incomplete: {export.rows:,} rows, status {export.status}'} | "
            f"— | — | bounded (+≤ {BOUNDED_GROWTH_MB} MB) | {_met(export.bounded)} |"
        )
    return "\n".join(lines) + "\n"


def json_summary(results):
    summary = {"started_pids": sorted(set(load.started_pids))}
    for page in results.get("pages", []):
        summary.setdefault("pages", {})[page.target.name] = {
            "requests_per_s": page.median("requests_per_s"), "ratios": page.ratios,
            "p50_ms": page.median("p50_ms"), "p99_ms": page.median("p99_ms"), "notes": page.notes,
        }
    for key in ("certificates", "burst", "gunicorn_peak_mb"):
        if key in results:
            summary[key] = results[key]
    if "exports" in results:
        summary["exports"] = [vars(e) for e in results["exports"]]
    return summary


# --- entry point --------------------------------------------------------------------------


def options_parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="check the harness: 1 round of 3 s, the small data set, fewer certificates")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run, of {', '.join(PARTS)} (default: all)")
    parser.add_argument("--size", choices=sorted(dataset.SIZES), help="data set size (default full; small with --quick)")
    parser.add_argument("--rounds", type=int, help="alternating rounds per page (default 3; 1 with --quick)")
    parser.add_argument("--seconds", type=int, help="seconds per wrk measurement (default 10; 3 with --quick)")
    parser.add_argument("--results", type=Path, help="where to write the Markdown results")
    parser.add_argument("--json", type=Path, help="also write the figures (and every pid started) as JSON")
    options = parser.parse_args(argv)
    options.parts = [part.strip() for part in options.only.split(",") if part.strip()]
    unknown = set(options.parts) - set(PARTS)
    if unknown:
        parser.error(f"--only takes {', '.join(PARTS)}; not {', '.join(sorted(unknown))}")
    options.size = options.size or ("small" if options.quick else "full")
    options.rounds = options.rounds or (1 if options.quick else 3)
    options.seconds = options.seconds or (3 if options.quick else 10)
    options.certificate_rounds, options.certificate_count = (1, 10) if options.quick else (3, 60)
    options.claims = 100 if options.quick else 1000
    options.burst_rounds = 1 if options.quick else 3
    complete = not options.quick and options.size == "full" and set(options.parts) == set(PARTS)
    options.results = options.results or (
        BENCH / "RESULTS.md" if complete else Path(tempfile.gettempdir()) / "lms-bench-RESULTS.md"
    )
    return options


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    options = options_parse(argv)
    options.clock = time.perf_counter()
    if not shutil.which("wrk") and "pages" in options.parts:
        raise SystemExit("wrk is not installed: run ./scripts/system-packages.sh --bench (or make bench).")
    lock = LOCK.open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"Another bench run holds {LOCK}; waiting for it to finish …")
        fcntl.flock(lock, fcntl.LOCK_EX)
    atexit.register(load.processes_stop)
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)

    import django

    django.setup()
    started_at = datetime.datetime.now(datetime.UTC)
    loads = [f"{os.getloadavg()[0]:.2f}"]
    log(f"bench/run.py: {', '.join(options.parts)}; load average {loads[0]} on {os.cpu_count()} cores")
    results = {}
    runners = {"pages": pages_run, "certificates": certificates_run, "burst": burst_run, "exports": exports_run}
    try:
        for part in options.parts:
            log(f"\n== {part} ==")
            runners[part](options, results)
    finally:
        load.processes_stop()
    text = report(options, results, started_at, loads)
    options.results.write_text(text)
    if options.json:
        options.json.write_text(json.dumps(json_summary(results), indent=2, default=str))
    log("\n" + text)
    log(f"Written to {options.results}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit("Interrupted; every process the run started is stopped.") from None
