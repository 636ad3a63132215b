"""System checks for what settings cannot know: configuration that staff save in the
database.

No saved provider: pages work on placeholder texts, but the credit gate refuses every
claim, since a certificate would freeze "Example Medical School". Every command (runserver,
migrate, ...) warns; `check --deploy`, the gate before going live, fails with an error. It
is not an error on every command in production: createsuperuser and migrate are how a new
site gets the account that saves the provider, and they stop on errors.
"""

from django.core import checks
from django.db import DatabaseError

from courses.models import Provider

NO_PROVIDER = "No accredited provider is saved, so learners cannot claim credit."
NO_PROVIDER_HINT = (
    "Save the provider's name, time zone and statements in the administration "
    "(Courses > Providers); certificates print them."
)


def provider_missing():
    """True when no provider is saved; None when the database cannot say (not reachable,
    or not migrated yet: other checks and commands report that)."""
    try:
        return not Provider.objects.exists()
    except DatabaseError:
        return None


@checks.register()
def provider_saved(**kwargs):
    if provider_missing():
        return [checks.Warning(NO_PROVIDER, hint=NO_PROVIDER_HINT, id="lms.W001")]
    return []


@checks.register(deploy=True)
def provider_saved_for_deployment(**kwargs):
    if provider_missing():
        return [checks.Error(NO_PROVIDER, hint=NO_PROVIDER_HINT, id="lms.E001")]
    return []
