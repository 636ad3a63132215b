from django.urls import include, path

from . import staff, staff_provider

app_name = "staff"

urlpatterns = [
    path("", staff.index, name="index"),
    path("authoring/", include("lms.authoring_urls")),
    path("provider/", staff_provider.provider_settings, name="provider"),
    path("provider/image/<str:field>/", staff_provider.provider_image, name="provider_image"),
    path("pars.csv", staff.pars_csv, name="pars_csv"),
    path("activities/<slug:slug>/", staff.activity, name="activity"),
    path("activities/<slug:slug>/completions.csv", staff.completions_csv, name="completions_csv"),
    path("activities/<slug:slug>/evaluations.csv", staff.evaluations_csv, name="evaluations_csv"),
]
