"""The staff authoring workspace, /staff/authoring/, in the staff namespace."""

from django.urls import path

from . import authoring, authoring_posttest

urlpatterns = [
    path("", authoring.activity_list, name="authoring_list"),
    path("new/", authoring.activity_new, name="authoring_new"),
    path("<slug:slug>/details/", authoring.details, name="authoring_details"),
    path("<slug:slug>/people/", authoring.people, name="authoring_people"),
    path("<slug:slug>/recording/", authoring.recording, name="authoring_recording"),
    path("<slug:slug>/evaluation/", authoring.evaluation, name="authoring_evaluation"),
    path("<slug:slug>/review/", authoring.review, name="authoring_review"),
    path("<slug:slug>/preview/", authoring.preview, name="authoring_preview"),
    path("<slug:slug>/unpublish/", authoring.unpublish, name="authoring_unpublish"),
    path("<slug:slug>/duplicate/", authoring.duplicate, name="authoring_duplicate"),
    *authoring_posttest.urlpatterns,
]
