"""Login rate limits count every attempt, whichever process serves it (SPEC §6: rate limits
and caches use Redis through Django's cache framework)."""

import http.cookiejar
import re
import urllib.parse
import urllib.request

import pytest
from allauth.account import app_settings as allauth_settings
from allauth.core.internal.ratelimit import parse_rates
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from .factories import PASSWORD, UserFactory
from .test_settings import run

WRONG = "not-the-password"
SITE_HOST = "localhost"
REFUSED = "The email address and/or password you specified are not correct."
LOCKED_OUT = "Too many failed login attempts. Try again later."
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PRINT_CACHE = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps(settings.CACHES["default"]))
"""


def login_attempt(server, email, password):
    """Log in as a browser would, on a fresh session: the form's page for its CSRF token and
    cookie, then the post. Both carry the one Host a load balancer in front of the servers
    would pass on (allauth counts failures per site and address, and the servers' ports
    differ). Returns the address the post ended on and the page there."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    url = f"{server}/accounts/login/"
    with opener.open(urllib.request.Request(url, headers={"Host": SITE_HOST}), timeout=10) as response:
        token = CSRF_TOKEN.search(response.read().decode()).group(1)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "login": email, "password": password})
    request = urllib.request.Request(url, data=form.encode(), headers={"Host": SITE_HOST})
    with opener.open(request, timeout=10) as response:
        return urllib.parse.urlsplit(response.url).path, response.read().decode()


def web_learner():
    """A verified learner whose password the web servers can check: they hash with Django's
    own hashers, not the suite's fast one."""
    user = UserFactory()
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt())
    user.save(update_fields=["password"])
    return user


def failed_login_limit():
    """The number of failed logins allauth allows before it locks an address out."""
    return min(rate.amount for rate in parse_rates(allauth_settings.RATE_LIMITS["login_failed"]))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_locks_an_account_out_after_failed_logins_counted_across_processes(web_servers):
    servers = web_servers.start_several(2)
    user = web_learner()
    limit = failed_login_limit()

    for attempt in range(limit):
        path, page = login_attempt(servers[attempt % 2], user.email, WRONG)
        assert (path, REFUSED in page, LOCKED_OUT in page) == ("/accounts/login/", True, False), attempt
    path, page = login_attempt(servers[limit % 2], user.email, WRONG)
    assert LOCKED_OUT in page

    path, page = login_attempt(servers[(limit + 1) % 2], user.email, PASSWORD)
    assert path == "/accounts/login/"
    assert LOCKED_OUT in page


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_logs_in_on_either_process_before_the_limit(web_servers):
    servers = web_servers.start_several(2)
    user = web_learner()

    login_attempt(servers[0], user.email, WRONG)
    path, page = login_attempt(servers[1], user.email, PASSWORD)

    assert path == "/"
    assert LOCKED_OUT not in page


def cache_settings(**variables):
    result = run(["-c", PRINT_CACHE], **variables)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_it_keeps_the_cache_in_redis_when_redis_url_is_set():
    assert cache_settings(REDIS_URL="redis://broker.example.org:6379/2") == (
        '{"BACKEND": "lms.cache.TolerantRedisCache", '
        '"LOCATION": "redis://broker.example.org:6379/2", "KEY_PREFIX": "lms", '
        '"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}'
    )


def test_it_keeps_the_cache_in_local_memory_without_redis():
    assert cache_settings() == '{"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}'
