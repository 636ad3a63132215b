import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0006_https_url_fields'),
    ]

    operations = [
        migrations.AlterField(
            model_name='activity',
            name='requires_full_viewing',
            field=models.BooleanField(default=True),
        ),
        migrations.RenameField(
            model_name='participation',
            old_name='watched_updated_at',
            new_name='viewing_clock',
        ),
        migrations.CreateModel(
            name='ViewingSession',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.CharField(max_length=64, unique=True)),
                ('opened_at', models.DateTimeField()),
                ('last_report_at', models.DateTimeField()),
                ('participation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='viewing_sessions', to='courses.participation')),
            ],
        ),
    ]
