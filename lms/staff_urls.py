from django.urls import include, path, register_converter

from . import staff, staff_exports
from .exports import TableFormatConverter

register_converter(TableFormatConverter, "table_format")

app_name = "staff"

urlpatterns = [
    path("", staff.index, name="index"),
    path("authoring/", include("lms.authoring_urls")),
    path("pars.csv", staff.pars_csv, name="pars_csv"),
    path("activities/<slug:slug>/", staff.activity, name="activity"),
    path("exports/", staff_exports.exports, name="exports"),
    path("exports/download", staff_exports.export_download, name="export_download"),
    path("activities/<slug:slug>/completions.<table_format:table_format>", staff.completions_export,
         name="completions_export"),
    path("activities/<slug:slug>/evaluations.<table_format:table_format>", staff.evaluations_export,
         name="evaluations_export"),
]
