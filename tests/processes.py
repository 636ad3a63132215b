"""Real processes for the tests that need them: Celery workers on the test database, and
the waits that go with them. The fixtures that start them are in conftest.py."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings
from django.db import connection, connections

LOCK_WAIT = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"


def worker_database_url():
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Workers:
    """Starts Celery worker processes on the test database and Redis; stops them all."""

    def __init__(self, broker, media_root, log_dir):
        if connection.vendor != "postgresql":
            pytest.fail("The worker tests need PostgreSQL (make test sets DATABASE_URL).")
        self.env = dict(
            os.environ,
            DATABASE_URL=worker_database_url(),
            REDIS_URL=broker,
            MEDIA_ROOT=str(media_root),
            DJANGO_SETTINGS_MODULE="lms.settings",
        )
        self.log_dir = log_dir
        self.processes = []

    def start(self, **env):
        path = self.log_dir / f"worker-{len(self.processes)}.log"
        # Append mode: the worker always writes at the end, whatever this process reads.
        log = open(path, "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "lms", "worker", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            cwd=settings.BASE_DIR,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append((process, path))
        return process

    def log(self, index):
        return self.processes[index][1].read_text(errors="replace")

    def kill(self, process):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self):
        for process, path in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.kill(process)
            print(path.read_text(errors="replace"))


def wait_for_state(certificate, state, *, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        certificate.refresh_from_db()
        if certificate.state == state:
            return certificate
        time.sleep(0.2)
    pytest.fail(f"certificate still {certificate.state!r} after {timeout} s, not {state!r}")


def renders_finished(log):
    return sum(
        "certificates.tasks.render_certificate[" in line and "succeeded in" in line
        for line in log.splitlines()
    )


def scalar(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def wait_until(condition, *, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


class connections_other:
    """A second database connection, as another process would have."""

    def __enter__(self):
        self.connection = connections.create_connection("default")
        self.connection.set_autocommit(True)
        return self.connection

    def __exit__(self, *exc):
        self.connection.close()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebServers:
    """gunicorn processes serving the site from the test database, as production runs it:
    each is a separate process, so nothing in memory is shared between them."""

    def __init__(self, env, log_dir):
        self.env = env
        self.log_dir = log_dir
        self.processes = []

    def start(self, **env):
        port = free_port()
        path = self.log_dir / f"web-{len(self.processes)}.log"
        log = open(path, "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "lms.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--access-logfile", "-"],
            cwd=settings.BASE_DIR,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append((process, path))
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(url), what=f"gunicorn on port {port} to answer", timeout=30)
        return url

    def stop_all(self):
        for process, path in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            print(path.read_text(errors="replace"))


def _answers(url):
    try:
        with urllib.request.urlopen(url + "/privacy/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
