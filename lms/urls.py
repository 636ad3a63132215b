import os

from django.contrib import admin
from django.urls import include, path

from . import views

lms_patterns = (
    [
        path("privacy/", views.privacy, name="privacy"),
        path("me/profile/", views.profile, name="profile"),
        path("me/transcript/", views.transcript, name="transcript"),
        path("me/transcript.pdf", views.transcript_pdf, name="transcript_pdf"),
        path("me/transcript.csv", views.transcript_csv, name="transcript_csv"),
        path("me/saved/", views.saved_activities, name="saved_activities"),
        path("me/searches/", views.saved_searches, name="saved_searches"),
        path("me/searches/<int:pk>/delete/", views.saved_search_remove, name="saved_search_delete"),
    ],
    "lms",
)

urlpatterns = [
    path("favicon.ico", views.favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("staff/", include("lms.staff_urls")),
    path("", include(lms_patterns)),
    path("", include("courses.urls")),
    path("", include("quizzes.urls")),
    path("", include("certificates.urls")),
]

# No /media/ route, not even with DEBUG: stored files (certificate PDFs, recordings,
# captions) leave only through the views that check who may see them.

# bench/run.py measures every page against a bare "ok" view served through this same
# stack; it exists only in the gunicorn the bench starts.
if os.environ.get("LMS_BENCH_BARE_VIEW") == "1":
    from bench.bareview import urlpatterns as bench_urlpatterns

    urlpatterns += bench_urlpatterns
