"""What every page's frame (templates/base.html) links to."""

import functools

from django.urls import get_script_prefix, reverse

SITE_URL_NAMES = {
    "catalog": "courses:catalog",
    "saved": "lms:saved_activities",
    "transcript": "lms:transcript",
    "profile": "lms:profile",
    "staff": "staff:index",
    "authoring": "staff:authoring_list",
    "admin": "admin:index",
    "logout": "account_logout",
    "login": "account_login",
    "signup": "account_signup",
    "verify": "certificates:verify_form",
    "privacy": "lms:privacy",
}


@functools.cache
def _site_urls(script_prefix):
    # The frame's eleven links were a tenth of a signed-in page's rendering when reversed
    # on every request; they change only with the URL configuration and the script prefix.
    return {key: reverse(name) for key, name in SITE_URL_NAMES.items()}


def site_urls(request):
    return {"site_urls": _site_urls(get_script_prefix())}
