from django.urls import include, path, register_converter

# Imported for the certificate_number converter it registers, which the certificate
# routes below share with the learner's.
import certificates.urls  # noqa: F401

from . import audit, staff, staff_certificates, staff_exports, staff_learners, staff_provider, staff_reporting
from .exports import TableFormatConverter

register_converter(TableFormatConverter, "table_format")

app_name = "staff"

urlpatterns = [
    path("", staff.index, name="index"),
    path("authoring/", include("lms.authoring_urls")),
    path("provider/", staff_provider.provider_settings, name="provider"),
    path("provider/image/<str:field>/", staff_provider.provider_image, name="provider_image"),
    path("pars.csv", staff_reporting.pars_learners_legacy, name="pars_csv"),
    path("reporting/pars/", staff_reporting.pars_files, name="reporting_pars"),
    path("reporting/pars/learners/", staff_reporting.pars_learners_export, name="reporting_pars_learners"),
    path("reporting/pars/activities/", staff_reporting.pars_activities_export, name="reporting_pars_activities"),
    path("reporting/pars/batches/<int:pk>/", staff_reporting.pars_batch_download, name="reporting_pars_batch"),
    path("reporting/pars/batches/<int:pk>/status/", staff_reporting.pars_batch_status,
         name="reporting_pars_batch_status"),
    path("reporting/pars/batches/<int:pk>/status.json", staff_reporting.pars_batch_status_json,
         name="reporting_pars_batch_status_json"),
    path("reporting/pars/batches/<int:pk>/retry/", staff_reporting.pars_batch_retry,
         name="reporting_pars_batch_retry"),
    path("reporting/moc/", staff_reporting.moc, name="reporting_moc"),
    path("reporting/moc/records/<int:pk>/", staff_reporting.moc_outcome, name="reporting_moc_outcome"),
    path("activities/<slug:slug>/", staff.activity, name="activity"),
    path("exports/", staff_exports.exports, name="exports"),
    path("exports/download", staff_exports.export_download, name="export_download"),
    path("activities/<slug:slug>/completions.<table_format:table_format>", staff.completions_export,
         name="completions_export"),
    path("activities/<slug:slug>/evaluations.<table_format:table_format>", staff.evaluations_export,
         name="evaluations_export"),
    path("learners/", staff_learners.learner_list, name="learners"),
    path("learners/<int:pk>/", staff_learners.learner_detail, name="learner"),
    path(
        "learners/<int:pk>/activities/<int:activity_id>/extension/",
        staff_learners.extension_grant,
        name="learner_extension",
    ),
    path(
        "learners/<int:pk>/activities/<int:activity_id>/extra-attempt/",
        staff_learners.extra_attempt_grant,
        name="learner_extra_attempt",
    ),
    path("certificates/", staff_certificates.certificate_list, name="certificate_list"),
    path(
        "certificates/<certificate_number:number>/",
        staff_certificates.certificate_detail,
        name="certificate_detail",
    ),
    path(
        "certificates/<certificate_number:number>/versions/<int:sequence>.pdf",
        staff_certificates.certificate_version_pdf,
        name="certificate_version_pdf",
    ),
    path(
        "certificates/<certificate_number:number>/reissue/",
        staff_certificates.certificate_reissue_confirm,
        name="certificate_reissue",
    ),
    path(
        "certificates/<certificate_number:number>/revoke/",
        staff_certificates.certificate_revoke_confirm,
        name="certificate_revoke",
    ),
    path(
        "certificates/<certificate_number:number>/reinstate/",
        staff_certificates.certificate_reinstate_confirm,
        name="certificate_reinstate",
    ),
    path("audit/", audit.audit_log, name="audit"),
]
