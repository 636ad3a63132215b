from django.db import migrations
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    """Participations whose learner already holds a certificate are completed: the
    catalog's "completed" status reads Participation.completed_at, added after them."""
    Participation = apps.get_model("courses", "Participation")
    Certificate = apps.get_model("certificates", "Certificate")
    claimed = Certificate.objects.filter(
        user=OuterRef("user"), activity=OuterRef("activity")
    ).values("claimed_at")[:1]
    Participation.objects.filter(completed_at__isnull=True).update(completed_at=Subquery(claimed))


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0005_frozen_logo_signature_signer"),
        ("courses", "0004_full_activity_provider_overrides_saved_items"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
