"""What every benchmark shares: its own database (`lms_bench`, created if missing) and
Redis database 13, production-like settings, the project on the import path, and the
Celery worker processes a benchmark starts, measures and stops. Import it before Django
is set up."""

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lms_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.update(
    DJANGO_SETTINGS_MODULE="lms.settings",
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=REDIS_URL,
    MEDIA_ROOT=os.environ.get("BENCH_MEDIA_ROOT", "/tmp/lms-bench-media"),
    EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    # As in production: with DEBUG on, Django keeps every SQL query of a worker in memory.
    DEBUG="false",
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def ensure_database():
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def fresh_database():
    """Django set up on the bench database, migrated and emptied, and the bench's Redis
    database emptied: every run starts from nothing."""
    ensure_database()
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.test import override_settings

    # PBKDF2's million rounds guard real passwords; here they would cost half a second
    # for each of the benchmark's thousand learners.
    override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]).enable()

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    # The flush took the credit types migration 0013 stored: a claim needs AMA credit.
    from courses.services import credit_types_seed

    credit_types_seed()
    redis.Redis.from_url(REDIS_URL).flushdb()


_BARE_RENDERER = """
import gc, sys, time
sys.path[:0] = [{root!r}]
from bench import benchenv
import django
django.setup()
from weasyprint import HTML
from certificates import pdf
from certificates.models import Certificate
html = pdf.certificate_html(Certificate.objects.get(pk=int(sys.argv[1])))
pdf.renderer_warm()
stylesheet = pdf._stylesheet("certificate.css")
gc.collect()
gc.freeze()
for line in sys.stdin:
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(int(line)):
        HTML(string=html).write_pdf(stylesheets=[stylesheet], font_config=pdf._font_config, **pdf.PDF_OPTIONS)
    print(time.perf_counter() - started, time.process_time() - cpu, flush=True)
"""


class BareRenderer:
    """WeasyPrint alone rendering `certificate`'s HTML, with the stylesheet, fonts, PDF
    options and collector settings a worker's pool process uses: the machine's own
    ceiling. It renders in a process of its own, started as a worker is, in a session of
    its own: the same loop ran 7% faster there than in a terminal's session (Linux groups
    a session's processes for scheduling), so measured in the benchmark's own process the
    ceiling depended on how the benchmark was started."""

    def __init__(self, certificate):
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BARE_RENDERER.format(root=str(ROOT)), str(certificate.pk)],
            cwd=ROOT, env=os.environ.copy(), start_new_session=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def seconds(self, count):
        """(wall-clock seconds, CPU seconds) of `count` renders."""
        self.begin(count)
        return self.end()

    def begin(self, count):
        """Start `count` renders and return at once: end() waits for them. Two renderers
        begun together render side by side, as a worker's two pool processes do."""
        self.process.stdin.write(f"{count}\n")
        self.process.stdin.flush()

    def end(self):
        """(wall-clock seconds, CPU seconds) of the renders begin() started."""
        answer = self.process.stdout.readline()
        if not answer:
            raise SystemExit(f"the bare renderer stopped (exit {self.process.wait()})")
        wall, cpu = answer.split()
        return float(wall), float(cpu)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def worker_start(*arguments):
    """A Celery worker as the README starts it, in a session of its own so that stopping
    it reaches its pool processes too."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lms", "worker", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "--loglevel=WARNING", *arguments],
        cwd=ROOT, env=os.environ.copy(), start_new_session=True,
    )


def workers_stop(workers):
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def _processes():
    """(/proc entry, command name, the fields of its stat after the name) of every live
    process of the machine."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, fields = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        yield entry, name.split("(", 1)[1], fields.split()


def _group_members(group):
    """Live processes of a process group (a worker started by worker_start and its pool)."""
    for entry, _, fields in _processes():
        if int(fields[2]) == group:
            yield entry, fields


def group_cpu_seconds(group):
    """CPU time (user and system) used so far by the live processes of a process group."""
    return sum(int(fields[11]) + int(fields[12]) for _, fields in _group_members(group)) / CLOCK_TICKS


def cpu_seconds_by_command():
    """{(command name, pid): CPU seconds (user and system) used so far} of every live
    process of the machine."""
    return {
        (name, entry.name): (int(fields[11]) + int(fields[12])) / CLOCK_TICKS for entry, name, fields in _processes()
    }


def group_peak_rss_mb(group):
    """The largest peak resident set (VmHWM) among the live processes of a process group."""
    peak = 0
    for entry, _ in _group_members(group):
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak / 1024
