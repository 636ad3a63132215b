from django.urls import path

from . import views

app_name = "courses"
urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("activities/<slug:slug>/", views.activity_detail, name="activity"),
    path("activities/<slug:slug>/start/", views.activity_start, name="start"),
    path("activities/<slug:slug>/watch/", views.watch, name="watch"),
]
