import datetime
import io
import os
import subprocess
from zoneinfo import ZoneInfo

import pytest
import redis
from django.db import connection
from django.test import override_settings
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from certificates.services import certificate_claim
from courses.models import provider_today
from courses.services import credit_types_seed
from lms.celery import app as celery_app

from . import factories
from .processes import WebServers, Workers

pytest_plugins = ["tests.browser"]

NEW_YORK = ZoneInfo("America/New_York")
# 03:30 UTC on the 27th is 22:30 on the 26th in New York: the machine's UTC date is already
# the provider's tomorrow.
NEW_YORK_EVENING = datetime.datetime(2026, 11, 27, 3, 30, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True, scope="session")
def fast_password_hasher():
    """PBKDF2's million rounds guard stored passwords; in tests they only cost half a
    second per factory user."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True, scope="session")
def local_memory_cache():
    """With REDIS_URL set, settings keep the cache (allauth's rate limits) in Redis, shared
    by every xdist process and kept from one run to the next: one test's failed logins
    would lock out another's learner. The suite's own process keeps it in memory; the web
    servers of tests/test_rate_limits.py use Redis, flushed by the `broker` fixture."""
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        yield


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with no cached pages (courses.cache): the database is rolled back
    between tests, the cache in memory is not."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def celery_eager():
    """Tasks run in-process unless a test starts a real worker (tests/test_worker.py)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def seeded_credit_types(request):
    """The credit types migration 0013 seeds, present in transactional tests (browser,
    worker, migration) too: each of them empties every table when it ends, and the next
    one in the process would otherwise find none, as no site ever does."""
    marker = request.node.get_closest_marker("django_db")
    if not ((marker and marker.kwargs.get("transaction")) or "transactional_db" in request.fixturenames):
        return
    request.getfixturevalue("_django_db_helper")
    credit_types_seed()


@pytest.fixture
def broker():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL must point at Redis for the worker tests (make test sets it).")
    redis.Redis.from_url(url).flushdb()
    celery_app.conf.task_always_eager = False
    return url


@pytest.fixture
def workers(broker, media_root, tmp_path):
    workers = Workers(broker, media_root, tmp_path)
    yield workers
    workers.stop_all()


@pytest.fixture
def worker(workers):
    return workers.start()


@pytest.fixture
def web_servers(workers, tmp_path):
    """gunicorn processes on the same database, broker and media as `workers`."""
    servers = WebServers(workers.env, tmp_path)
    yield servers
    servers.stop_all()


@pytest.fixture
def provider(db):
    return factories.ProviderFactory()


@pytest.fixture
def today(provider):
    """The provider's today, the only "today" a test may build dates from."""
    return provider_today()


@pytest.fixture
def learner(db):
    return factories.UserFactory()


@pytest.fixture
def activity(provider):
    return factories.complete_activity()


@pytest.fixture
def pending(activity):
    """A physician's certificate on `activity`, claimed and waiting for its rendering (the
    task is queued on commit, which a test's transaction never reaches)."""
    learner = factories.learner_ready_to_claim(activity=activity)
    return certificate_claim(user=learner, activity=activity, credits="1", attested=True)


@pytest.fixture
def issued_certificate(activity):
    """A physician's issued certificate on `activity`, its PDF rendered as the worker renders it."""
    return factories.certificate_for(activity=activity, rendered=True)


def writes_by_orm(monkeypatch, module, name):
    """Make `module.name` (a service's writer with a PostgreSQL statement of its own) write
    as on any other database, by the ORM's statements. The connection passes for another
    only while it writes: compiled reads are kept per connection, and would keep another
    database's SQL."""
    write = getattr(module, name)

    def by_orm(**kwargs):
        with monkeypatch.context() as patched:
            patched.setattr(connection, "vendor", "sqlite")
            return write(**kwargs)

    monkeypatch.setattr(module, name, by_orm)


@pytest.fixture(params=["postgresql", "orm"])
def write_path(request, monkeypatch):
    """Each test runs on the suite's PostgreSQL as is, and with the ORM's writes of the
    writer its module names as ORM_WRITER (module, function name)."""
    if request.param == "orm":
        writes_by_orm(monkeypatch, *request.module.ORM_WRITER)
    return request.param


def pdf_text(content):
    """All text of a PDF, as pypdf extracts it."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def pdftotext(content):
    """All text of a PDF, as poppler's pdftotext extracts it: about a fifth of pypdf's time,
    for the tests that read hundreds of certificates."""
    return subprocess.run(["pdftotext", "-q", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


def pdf_structure(content):
    """The structure elements (tags) of a tagged PDF, in reading order, as pypdf dictionaries."""
    elements = []

    def walk(node):
        node = node.get_object()
        if isinstance(node, ArrayObject):
            for kid in node:
                walk(kid)
        elif isinstance(node, DictionaryObject) and "/S" in node:
            elements.append(node)
            walk(node.get("/K", ArrayObject()))

    walk(PdfReader(io.BytesIO(content)).trailer["/Root"]["/StructTreeRoot"]["/K"])
    return elements


def pdfinfo(content, tmp_path):
    """poppler's pdfinfo of a PDF, as a dictionary of its "Key: value" lines."""
    path = tmp_path / "info.pdf"
    path.write_bytes(content)
    output = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True).stdout
    return {key: value.strip() for key, _, value in (line.partition(":") for line in output.splitlines())}


@pytest.fixture
def s3(settings, tmp_path, monkeypatch):
    """A bucket on a local S3-compatible server (moto), the file storage of this test's
    process; the worker and web processes it starts use it when given `s3.env`."""
    from lms.settings import s3_storage

    from .processes import S3Server

    server = S3Server(tmp_path)
    try:
        server.start()
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        settings.STORAGES = {**settings.STORAGES, "default": s3_storage()}
        yield server
    finally:
        server.stop()
