"""Staff roles: the "CME coordinator" group and the decorators of the staff pages.

A coordinator works in the staff workspace (/staff/) with exactly the permissions listed
here; the Django admin's activity, post-test and evaluation pages stay for superusers.
"""

from functools import wraps

from django.apps import apps as global_apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

COORDINATOR_GROUP = "CME coordinator"
AUTHOR_ACTIVITIES = "lms.author_activities"
VIEW_STAFF_REPORTS = "lms.view_staff_reports"
VIEW_CERTIFICATES = "certificates.view_certificate"
CHANGE_CERTIFICATES = "certificates.change_certificate"

# (app label, model, codename, name). The certificate permissions open the workspace's
# certificate pages: viewing them and their versions' PDFs, and re-issuing, revoking and
# reinstating, each with a reason (lms.staff_certificates).
COORDINATOR_PERMISSIONS = [
    ("lms", "staffpermissions", "author_activities",
     "Can build and publish activities in the staff workspace"),
    ("lms", "staffpermissions", "view_staff_reports", "Can view staff reports and exports"),
    ("certificates", "certificate", "view_certificate", "Can view certificate"),
    ("certificates", "certificate", "change_certificate", "Can change certificate"),
]


def coordinator_group_sync(*, apps=global_apps):
    """Create the coordinator group if missing and give it exactly its permissions.

    Idempotent. `apps` is a migration's historical registry when a migration calls it;
    permissions are created here when missing because Django only adds them after all
    migrations have run.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    permissions = []
    for app_label, model, codename, name in COORDINATOR_PERMISSIONS:
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        permissions.append(permission)
    group, _ = Group.objects.get_or_create(name=COORDINATOR_GROUP)
    group.permissions.set(permissions)
    return group


def staff_permission_required(permission):
    """A view decorator for staff pages: anonymous visitors go to the login page,
    signed-in non-staff get a 404 (the staff pages do not announce themselves), and staff
    without `permission` a 403 that says which role they lack."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if not request.user.is_staff:
                raise Http404("No such page.")
            if not request.user.has_perm(permission):
                raise PermissionDenied(
                    f"This page is for the {COORDINATOR_GROUP} role; ask an administrator."
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


authoring_required = staff_permission_required(AUTHOR_ACTIVITIES)
reports_required = staff_permission_required(VIEW_STAFF_REPORTS)
certificates_view_required = staff_permission_required(VIEW_CERTIFICATES)
certificates_change_required = staff_permission_required(CHANGE_CERTIFICATES)
