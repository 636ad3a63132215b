from django.urls import include, path

from . import staff, staff_reporting

app_name = "staff"

urlpatterns = [
    path("", staff.index, name="index"),
    path("authoring/", include("lms.authoring_urls")),
    path("pars.csv", staff_reporting.pars_learners_legacy, name="pars_csv"),
    path("reporting/pars/", staff_reporting.pars_files, name="reporting_pars"),
    path("reporting/pars/learners/", staff_reporting.pars_learners_export, name="reporting_pars_learners"),
    path("reporting/pars/activities/", staff_reporting.pars_activities_export, name="reporting_pars_activities"),
    path("reporting/pars/batches/<int:pk>/", staff_reporting.pars_batch_download, name="reporting_pars_batch"),
    path("reporting/moc/", staff_reporting.moc, name="reporting_moc"),
    path("reporting/moc/records/<int:pk>/", staff_reporting.moc_outcome, name="reporting_moc_outcome"),
    path("activities/<slug:slug>/", staff.activity, name="activity"),
    path("activities/<slug:slug>/completions.csv", staff.completions_csv, name="completions_csv"),
    path("activities/<slug:slug>/evaluations.csv", staff.evaluations_csv, name="evaluations_csv"),
]
