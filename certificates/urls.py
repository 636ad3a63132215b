from django.urls import path

from . import views

app_name = "certificates"
urlpatterns = [
    path("activities/<slug:slug>/claim/", views.claim, name="claim"),
    path("certificates/verify/", views.verify_form, name="verify_form"),
    path("certificates/verify/<str:number>/", views.verify, name="verify"),
    path("certificates/<str:number>/", views.detail, name="detail"),
    path("certificates/<str:number>/pdf/", views.pdf, name="pdf"),
    path("certificates/<str:number>/status/", views.status, name="status"),
]
