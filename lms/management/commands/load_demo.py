from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from courses.models import Provider
from lms.activity_io import ActivityImportError, activities_import
from lms.demo import demo_activities
from lms.models import User

DEMO_PASSWORD = "demo-learner-2026"


class Command(BaseCommand):
    help = "Load the demo catalog, a demo learner and a staff login (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options):
        if not Provider.objects.exists():
            Provider.objects.create(
                name="Demo Medical School",
                contact_email="cme-help@example.org",
                disclaimer=(
                    "These activities are offered for education only and do not certify "
                    "competence. Use your own professional judgement in clinical decisions."
                ),
                privacy_url="https://example.org/privacy",
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
                           profession=User.Profession.OTHER, is_staff=True, is_superuser=True)
        self.stdout.write(self.style.SUCCESS(f"Loaded {len(activities)} demo activities."))
        self.stdout.write(f"Demo learner: {learner.email} / {DEMO_PASSWORD}")
        self.stdout.write(f"Staff login:  {staff.email} / {DEMO_PASSWORD}  (admin at /admin/)")

    def _user(self, email, **fields):
        user = User.objects.filter(email=email).first() or User(email=email)
        for name, value in fields.items():
            setattr(user, name, value)
        user.set_password(DEMO_PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
