from django.urls import include, path

# Imported for the certificate_number converter it registers, which the certificate
# routes below share with the learner's.
import certificates.urls  # noqa: F401

from . import audit, staff, staff_certificates

app_name = "staff"

urlpatterns = [
    path("", staff.index, name="index"),
    path("authoring/", include("lms.authoring_urls")),
    path("pars.csv", staff.pars_csv, name="pars_csv"),
    path("activities/<slug:slug>/", staff.activity, name="activity"),
    path("activities/<slug:slug>/completions.csv", staff.completions_csv, name="completions_csv"),
    path("activities/<slug:slug>/evaluations.csv", staff.evaluations_csv, name="evaluations_csv"),
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
