from django.urls import path, register_converter
from django.urls.converters import StringConverter

from . import views


class CertificateNumberConverter(StringConverter):
    """A certificate number as typed into an address: any text but a NUL, which no number
    holds and PostgreSQL cannot compare, so such an address is a 404 rather than an error."""

    regex = "[^/\x00]+"


register_converter(CertificateNumberConverter, "certificate_number")

app_name = "certificates"
urlpatterns = [
    path("activities/<slug:slug>/claim/", views.claim, name="claim"),
    path("certificates/verify/", views.verify_form, name="verify_form"),
    path("certificates/verify/<certificate_number:number>/", views.verify, name="verify"),
    path("certificates/<certificate_number:number>/", views.detail, name="detail"),
    path("certificates/<certificate_number:number>/pdf/", views.pdf, name="pdf"),
    path("certificates/<certificate_number:number>/status/", views.status, name="status"),
]
