from django.db import migrations
from django.db.models import Exists, OuterRef

BATCH = 2000


def backfill(apps, schema_editor):
    """Every certificate rendered before versions existed gets its version 1: the PDF it
    holds now, under the name and degree it certifies now. Earlier PDFs of re-issued
    certificates were deleted at the time and cannot be recovered."""
    Certificate = apps.get_model("certificates", "Certificate")
    CertificateVersion = apps.get_model("certificates", "CertificateVersion")
    rendered = (
        Certificate.objects.exclude(pdf="")
        .exclude(Exists(CertificateVersion.objects.filter(certificate=OuterRef("pk"))))
        .values_list("pk", "pdf", "learner_name", "learner_degree", "issued_at", "state_changed_at")
        .order_by("pk")
    )
    batch = []
    for pk, pdf, name, degree, issued_at, state_changed_at in rendered.iterator(chunk_size=BATCH):
        batch.append(
            CertificateVersion(
                certificate_id=pk,
                sequence=1,
                pdf=pdf,
                name_after=name,
                degree_after=degree,
                created_at=issued_at or state_changed_at,
            )
        )
        if len(batch) == BATCH:
            CertificateVersion.objects.bulk_create(batch)
            batch = []
    CertificateVersion.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("certificates", "0010_certificate_versions_and_reasons")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
