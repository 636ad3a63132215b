from django.db import migrations, models


def coordinator_group_sync(apps, schema_editor):
    # The one list of the role's permissions lives in lms.roles; a later change to it
    # comes with a migration that calls this again.
    from lms.roles import coordinator_group_sync

    coordinator_group_sync(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("lms", "0002_learner_board_reporting_fields"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("certificates", "0007_delivery_and_queue_errors"),
    ]

    operations = [
        migrations.CreateModel(
            name="StaffPermissions",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
            options={
                "managed": False,
                "default_permissions": (),
                "permissions": [
                    ("author_activities", "Can build and publish activities in the staff workspace"),
                    ("view_staff_reports", "Can view staff reports and exports"),
                ],
            },
        ),
        migrations.RunPython(coordinator_group_sync, migrations.RunPython.noop),
    ]
