from django.db import migrations, models
from django.db.models import F


def certificates_already_mailed(apps, schema_editor):
    # Certificates issued before delivery was recorded had their e-mail sent when they
    # were issued; without this the sweep would mail every one of them again.
    Certificate = apps.get_model("certificates", "Certificate")
    Certificate.objects.filter(issued_at__isnull=False).update(emailed_at=F("issued_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0006_backfill_participation_completed"),
    ]

    operations = [
        migrations.AddField(
            model_name="certificate",
            name="queue_error",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="certificate",
            name="emailed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="certificate",
            name="email_sending_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(certificates_already_mailed, migrations.RunPython.noop),
    ]
