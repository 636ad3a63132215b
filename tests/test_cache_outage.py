"""Redis down: the cache fails open, so sessions, shared pages and rate limits go on from
the database instead of answering 500 (the certificate path's own recovery is in
tests/test_faults.py, which stops a real Redis)."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import override_settings

from lms.cache import TolerantRedisCache

from .factories import PASSWORD, UserFactory, complete_activity
from .processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_redis_url():
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def redis_down(dead_redis_url):
    caches = {"default": {"BACKEND": "lms.cache.TolerantRedisCache", "LOCATION": dead_redis_url}}
    with override_settings(CACHES=caches, SESSION_ENGINE="django.contrib.sessions.backends.cached_db"):
        yield


def test_it_misses_and_drops_writes_when_redis_does_not_answer(dead_redis_url):
    cache = TolerantRedisCache(dead_redis_url, {})

    assert cache.get("page", "missed") == "missed"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set("page", "html") is None
    assert cache.add("lock", True) is True
    assert cache.incr("attempts") == 1


def test_it_serves_the_catalog_and_a_learners_pages_while_redis_is_down(client, provider, redis_down):
    activity = complete_activity(title="Served without Redis")
    client.force_login(UserFactory())

    catalog = client.get("/")
    page = client.get(activity.get_absolute_url())

    assert catalog.status_code == 200 and "Served without Redis" in catalog.content.decode()
    assert page.status_code == 200


def test_it_logs_a_learner_in_while_redis_is_down(client, provider, redis_down):
    user = UserFactory()

    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert client.get("/me/transcript/").status_code == 200


def test_it_shares_one_redis_client_between_calls_and_threads():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs REDIS_URL (make test sets it)")
    cache = TolerantRedisCache(url, {"KEY_PREFIX": "shared-client-test"})
    cache.set("page", "html", 30)
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda _: cache.get("page"), range(8))) == ["html"] * 8
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
    cache.delete("page")
