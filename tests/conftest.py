import io

import pytest
from pypdf import PdfReader

from courses.models import provider_today
from lms.celery import app as celery_app

from . import factories

pytest_plugins = ["tests.browser"]


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


@pytest.fixture
def provider(db):
    return factories.ProviderFactory()


@pytest.fixture
def today(provider):
    """The provider's today, the only "today" a test may build dates from."""
    return provider_today(provider=provider)


@pytest.fixture
def learner(db):
    return factories.UserFactory()


@pytest.fixture
def activity(provider):
    return factories.complete_activity()


def pdf_text(content):
    """All text of a PDF, as pypdf extracts it."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
