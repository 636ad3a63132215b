"""A site whose staff have not saved the provider yet: pages work on the placeholder texts,
but no certificate may freeze them (tests/test_claim.py), and the system checks and the
staff page say what is missing."""

import pytest
from django.core import checks

from .browser import check_page
from .factories import StaffUserFactory, complete_activity, staff_login

pytestmark = pytest.mark.django_db


def provider_issues(*, deploy=False):
    return [
        (issue.id, issue.level)
        for issue in checks.run_checks(include_deployment_checks=deploy)
        if issue.id.startswith("lms.")
    ]


def test_it_warns_in_the_system_checks_that_no_provider_is_saved():
    assert provider_issues() == [("lms.W001", checks.WARNING)]


def test_it_fails_the_deployment_checks_while_no_provider_is_saved():
    assert ("lms.E001", checks.ERROR) in provider_issues(deploy=True)


def test_it_passes_the_provider_checks_once_a_provider_is_saved(provider):
    assert provider_issues(deploy=True) == []


def test_it_serves_the_catalog_and_activity_pages_without_a_provider(client):
    activity = complete_activity(title="Equity in Practice")

    catalog = client.get("/")
    page = client.get(f"/activities/{activity.slug}/")

    assert catalog.status_code == 200
    assert "Equity in Practice" in catalog.content.decode()
    assert page.status_code == 200
    assert "Equity in Practice" in page.content.decode()


def test_it_tells_staff_that_no_provider_is_saved(client):
    staff_login(client, StaffUserFactory())

    page = client.get("/staff/").content.decode()

    assert "No accredited provider is saved: learners cannot claim credit." in page
    assert 'href="/staff/provider/"' in page


def test_it_drops_the_staff_warning_once_a_provider_is_saved(client, provider):
    staff_login(client, StaffUserFactory())

    page = client.get("/staff/").content.decode()

    assert "Staff reports" in page
    assert "No accredited provider is saved" not in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_staff_warning_is_accessible_and_fits_a_phone(open_page, axe):
    check_page(open_page, axe, name="staff-no-provider", path="/staff/", user=StaffUserFactory(),
               expect_text="No accredited provider is saved")
