from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from courses.models import Provider
from lms.activity_io import ActivityImportError, activities_import
from lms.demo import DEMO_ACCME_PROVIDER_ID, demo_activities
from lms.models import User
from lms.roles import coordinator_group_sync

DEMO_PASSWORD = "demo-learner-2026"


class Command(BaseCommand):
    help = "Load the demo catalog, a demo learner and a staff login (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DJANGO_ENV=production (the demo logins' password is public).",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        if settings.PRODUCTION and not options["allow_production"]:
            raise CommandError(
                "load_demo refuses to run with DJANGO_ENV=production: it adds demo activities and "
                "a superuser whose password is published in the README. Pass --allow-production "
                "if you really mean to."
            )
        if not Provider.objects.exists():
            Provider.objects.create(
                name="Demo Medical School",
                accme_provider_id=DEMO_ACCME_PROVIDER_ID,
                contact_email="cme-help@example.org",
                disclaimer=(
                    "These activities are offered for education only and do not certify "
                    "competence. Use your own professional judgement in clinical decisions."
                ),
                # No privacy_url: the demo school has no policy page of its own, so its
                # activities link the site's privacy notice instead of a placeholder.
                signer_name="Jordan Ellis, MD",
                signer_title="Director of Continuing Medical Education",
            )
        try:
            activities = activities_import(data=demo_activities())
        except ActivityImportError as error:
            raise CommandError(f"The demo catalog could not be loaded. {error}") from None
        learner = self._user("learner@example.org", given_name="Alex", family_name="Rivera",
                             certificate_name="Alex Rivera", degree="MD",
                             profession=User.Profession.PHYSICIAN, specialty="Internal medicine")
        staff = self._user("staff@example.org", given_name="Casey", family_name="Morgan",
                           certificate_name="Casey Morgan", degree="MEd",
                           profession=User.Profession.OTHER, is_staff=True)
        if staff[1]:
            # A CME coordinator, as real staff are: the workspace and reports, not the
            # superuser's whole admin.
            staff[0].groups.add(coordinator_group_sync())
        self.stdout.write(self.style.SUCCESS(f"Loaded {len(activities)} demo activities."))
        self.stdout.write(f"Demo learner: {_login(*learner)}")
        self.stdout.write(f"Staff login:  {_login(*staff)}  (CME coordinator: workspace at /staff/authoring/)")

    def _user(self, email, **fields):
        """(the demo login, whether it was created now). It is created with the demo
        password when absent; an existing account is left as it is, since whoever uses it
        may have changed the published password."""
        user, created = User.objects.get_or_create(
            email=email, defaults={**fields, "password": make_password(DEMO_PASSWORD)}
        )
        if created:
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user, created


def _login(user, created):
    if created:
        return f"{user.email} / {DEMO_PASSWORD}"
    return f"{user.email} (already there; its password was left unchanged)"
