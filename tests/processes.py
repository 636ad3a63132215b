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


class ProjectProcesses:
    """Processes of the project started by a test, each in a session of its own (so a kill
    reaches its children too), logging to a file the test prints when it stops them."""

    def __init__(self, env, log_dir):
        self.env = env
        self.log_dir = log_dir
        self.processes = []

    def _spawn(self, name, command, env):
        path = self.log_dir / f"{name}-{len(self.processes)}.log"
        # Append mode: the process always writes at the end, whatever this one reads.
        log = open(path, "ab")
        process = subprocess.Popen(
            command,
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


class Workers(ProjectProcesses):
    """Starts Celery worker processes on the test database and Redis; stops them all."""

    def __init__(self, broker, media_root, log_dir):
        if connection.vendor != "postgresql":
            pytest.fail("The worker tests need PostgreSQL (make test sets DATABASE_URL).")
        env = dict(
            os.environ,
            DATABASE_URL=worker_database_url(),
            REDIS_URL=broker,
            MEDIA_ROOT=str(media_root),
            DJANGO_SETTINGS_MODULE="lms.settings",
        )
        super().__init__(env, log_dir)

    def start(self, *options, **env):
        """`options` go to `celery worker` as they are, e.g. "-B" to run beat inside it."""
        return self._spawn(
            "worker",
            [sys.executable, "-m", "celery", "-A", "lms", "worker", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO", *options],
            env,
        )


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


class WebServers(ProjectProcesses):
    """gunicorn processes serving the site from the test database, as production runs it:
    each is a separate process, so nothing in memory is shared between them."""

    def start(self, **env):
        return self.start_several(1, **env)[0]

    def start_several(self, count, **env):
        """`count` servers started together: each spends seconds importing Django before
        it answers, and they need not take those seconds in turn."""
        urls = []
        for _ in range(count):
            port = free_port()
            self._spawn(
                "web",
                [sys.executable, "-m", "gunicorn", "lms.wsgi:application", "--bind", f"127.0.0.1:{port}",
                 "--workers", "1", "--access-logfile", "-"],
                env,
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait_until(lambda url=url: _answers(url), what=f"gunicorn at {url} to answer", timeout=30)
        return urls


def _answers(url):
    try:
        with urllib.request.urlopen(url + "/privacy/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class S3Server:
    """moto's S3-compatible server on a free local port with one empty bucket: the object
    storage that web and worker processes on several machines would share. `env` is what
    those processes (and this one, through lms.settings.s3_storage) need to use it."""

    bucket = "lms-media"
    region = "us-east-1"

    def __init__(self, log_dir):
        self.log_path = log_dir / "moto.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_S3_REGION_NAME": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        self.process = None

    def start(self):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_until(lambda: _answers_at(self.url), what="moto_server to answer", timeout=30)
        self.client().create_bucket(Bucket=self.bucket)

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def keys(self):
        listing = self.client().list_objects_v2(Bucket=self.bucket)
        return [entry["Key"] for entry in listing.get("Contents", [])]

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _answers_at(url):
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that the test may stop and start
    again: the shared Redis is never touched. It keeps its data in an append-only file,
    as a production broker should, so a restart loses no queued message."""

    def __init__(self, directory):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory),
             "--logfile", str(self.directory / "redis.log")],
            start_new_session=True,
        )
        wait_until(self.answers, what=f"redis-server on port {self.port}", timeout=20)

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
