"""The "CME coordinator" role: exactly the permissions the staff workspace and reports need."""

import pytest
from django.contrib.auth.models import Group

from lms.roles import COORDINATOR_GROUP, coordinator_group_sync

from .factories import CoordinatorFactory, StaffUserFactory, complete_activity, staff_login

pytestmark = pytest.mark.django_db


def group_permissions():
    group = Group.objects.get(name=COORDINATOR_GROUP)
    return sorted(
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    )


def test_it_gives_the_coordinator_group_exactly_its_permissions():
    assert group_permissions() == [
        "certificates.change_certificate",
        "certificates.view_certificate",
        "lms.author_activities",
        "lms.view_staff_reports",
    ]


def test_it_syncs_the_group_again_without_duplicates_or_extras():
    group = Group.objects.get(name=COORDINATOR_GROUP)
    group.permissions.clear()

    coordinator_group_sync()
    coordinator_group_sync()

    assert Group.objects.filter(name=COORDINATOR_GROUP).count() == 1
    assert len(group_permissions()) == 4


def test_a_coordinator_reaches_the_reports_and_exports(client, provider):
    activity = complete_activity()
    staff_login(client, CoordinatorFactory())

    assert client.get("/staff/").status_code == 200
    assert client.get(f"/staff/activities/{activity.slug}/").status_code == 200
    assert client.get(f"/staff/activities/{activity.slug}/completions.csv").status_code == 200
    assert "/staff/authoring/" in client.get("/staff/").content.decode()


def test_staff_without_the_role_get_no_reports(client, provider):
    staff_login(client, StaffUserFactory(coordinator=False))

    assert client.get("/staff/").status_code == 403
    assert client.get("/staff/pars.csv?start=2026-01-01&end=2026-01-31").status_code == 403


def test_a_coordinator_cannot_open_the_admins_activity_pages(client, provider):
    activity = complete_activity()
    staff_login(client, CoordinatorFactory())

    assert client.get("/admin/courses/activity/").status_code == 403
    assert client.get(f"/admin/courses/activity/{activity.pk}/change/").status_code == 403
    assert client.get("/admin/quizzes/posttest/").status_code == 403
    assert client.get("/admin/certificates/certificate/").status_code == 200


def test_a_superuser_reaches_the_admin_and_the_workspace(client, provider):
    staff_login(client, StaffUserFactory(is_superuser=True, coordinator=False))

    assert client.get("/admin/courses/activity/").status_code == 200
    assert client.get("/staff/authoring/").status_code == 200
    assert client.get("/staff/").status_code == 200
