"""Public pages kept whole in Django's cache (Redis with REDIS_URL, else local memory),
and when they go stale.

A cached entry is (version, value) under a key of its own, read with its version key in
one round trip, and served only while the two agree: a change sets a new version, so no
entry has to be found and deleted. The catalog, the activity pages and the filters share
the catalog version, set anew by any save or delete of what they show (the receivers
below; quizzes connects the post-test's pass mark, and the publishing services, which
write in bulk, call catalog_changed themselves); keys also hold the provider's day, as
the credit windows on a page move at the provider's midnight.

Only anonymous GET pages are shared, and only those that carry nothing of a session: no
messages, no CSRF token, no cookie.
"""

import functools
import hashlib
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse

from .models import (
    Activity,
    ActivityCredit,
    CommercialSupport,
    CreditType,
    FacultyRole,
    LearningObjective,
    Person,
    Provider,
    Recording,
    Resource,
    Series,
)

CATALOG_VERSION = "catalog:version"
# Versions outdate entries; the timeout bounds the memory of pages nobody asks for again
# (every distinct search is a page of its own), in a Redis that also holds the Celery
# queues and so may not evict keys at will. A page asked for more than once in ten
# minutes is rendered once per ten minutes at most.
ENTRY_SECONDS = 10 * 60


def _version_set(key):
    cache.set(key, uuid.uuid4().hex, None)


def version_bump(*, key, now=True):
    """Outdate every entry read under the version `key`: now, for this transaction's own
    later reads (unless `now` is False: a writer that reads nothing more), and again once
    it commits, so a page another request rendered from the rows as they were before the
    commit is not kept."""
    if now:
        _version_set(key)
    transaction.on_commit(lambda: _version_set(key))


def catalog_changed(**signal_kwargs):
    """Outdate the catalog, activity pages and filters (a signal receiver, or a call)."""
    version_bump(key=CATALOG_VERSION)


# Learners' transcripts word their totals in the credit types' own words; they are kept
# under digests of the learners' certificates (lms.views.transcript), and under this.
CREDIT_TYPES_VERSION = "credit_types:version"


def credit_types_changed(**signal_kwargs):
    version_bump(key=CREDIT_TYPES_VERSION)


RENDERING_FOLDERS = ("lms", "courses", "quizzes", "certificates", "templates")


@functools.cache
def code_release():
    """A digest of the code and templates that render cached pages, read once per process:
    after a deploy that changes them, pages rendered by the old release are not served."""
    digest = hashlib.sha256()
    for folder in RENDERING_FOLDERS:
        for path in sorted((Path(settings.BASE_DIR) / folder).rglob("*")):
            if path.suffix in (".py", ".html"):
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_key(*parts):
    """A short key for `parts` (query strings may be long, or hold any character) and the
    code release that renders them."""
    text = "\x1f".join(str(part) for part in (code_release(), *parts))
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{parts[0]}:{digest}"


def _current_version(version_key, found):
    version = found.get(version_key)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(version_key, version, None):
            version = cache.get(version_key, version)
    return version


def versioned(*, key, version_key, build):
    """The value under `key` while `version_key` has not changed since it was built, else
    `build()`, kept for the next caller."""
    found = cache.get_many([version_key, key])
    version = _current_version(version_key, found)
    entry = found.get(key)
    if entry is not None and entry[0] == version:
        return entry[1]
    value = build()
    cache.set(key, (version, value), ENTRY_SECONDS)
    return value


def shareable(request):
    """Whether the page for `request` is the same for every anonymous visitor."""
    return (
        request.method in ("GET", "HEAD")
        and not request.user.is_authenticated
        # len() reads the messages without marking them shown.
        and not len(get_messages(request))
    )


def shared_page(request, *, key, version_key, render):
    """The response of `render()`, served from the cache for anonymous visitors while
    `version_key` is unchanged. A response that set a cookie, used a CSRF token or is not
    a plain 200 is never kept."""
    if not shareable(request):
        return render()
    found = cache.get_many([version_key, key])
    version = _current_version(version_key, found)
    entry = found.get(key)
    if entry is not None and entry[0] == version:
        return HttpResponse(entry[1])
    response = render()
    if (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not getattr(response, "_csp_update", None)
    ):
        cache.set(key, (version, response.content), ENTRY_SECONDS)
    return response


for _model in (
    Activity,
    ActivityCredit,
    CreditType,
    Series,
    LearningObjective,
    FacultyRole,
    Person,
    Recording,
    CommercialSupport,
    Resource,
    Provider,
):
    post_save.connect(catalog_changed, sender=_model, dispatch_uid=f"catalog_saved_{_model.__name__}")
    post_delete.connect(catalog_changed, sender=_model, dispatch_uid=f"catalog_deleted_{_model.__name__}")

post_save.connect(credit_types_changed, sender=CreditType, dispatch_uid="credit_types_saved")
post_delete.connect(credit_types_changed, sender=CreditType, dispatch_uid="credit_types_deleted")
