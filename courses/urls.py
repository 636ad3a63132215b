from django.urls import path, re_path

from . import views

app_name = "courses"
urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("activities/<slug:slug>/", views.activity_detail, name="activity"),
    path("activities/<slug:slug>/start/", views.activity_start, name="start"),
    path("activities/<slug:slug>/save/", views.activity_save, name="save"),
    path("activities/<slug:slug>/transcript/", views.transcript, name="transcript"),
    path("activities/<slug:slug>/watch/", views.watch, name="watch"),
    path("activities/<slug:slug>/watch/progress/", views.watch_progress, name="watch_progress"),
    path("activities/<slug:slug>/watch/session/", views.watch_session, name="watch_session"),
    re_path(
        r"^activities/(?P<slug>[-a-zA-Z0-9_]+)/watch/(?P<kind>video|captions|descriptions)/$",
        views.recording_file,
        name="recording_file",
    ),
]
