"""The ceiling bench/run.py measures every page against: a view that answers "ok" and
does nothing else, served by the same gunicorn through the same middleware as the pages.
lms/urls.py adds it only when LMS_BENCH_BARE_VIEW=1, which only the bench sets."""

from django.http import HttpResponse
from django.urls import path

BARE_PATH = "/bench/bare/"


def bare(request):
    return HttpResponse("ok")


urlpatterns = [path(BARE_PATH.strip("/") + "/", bare)]
