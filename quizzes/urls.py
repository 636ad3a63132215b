from django.urls import path

from . import views

app_name = "quizzes"
urlpatterns = [
    path("activities/<slug:slug>/evaluation/", views.evaluation, name="evaluation"),
    path("activities/<slug:slug>/posttest/", views.posttest, name="posttest"),
]
