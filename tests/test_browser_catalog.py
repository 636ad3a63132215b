"""Browser tests of the catalog with filters, the activity page, and the saved pages:
axe at desktop width and at 375 px (SCREENSHOTS=1 keeps screenshots in test-artifacts/)."""

import io

import pytest
from django.core.management import call_command

from courses.models import Activity

from .browser import check_page
from .factories import SavedActivityFactory, SavedSearchFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    call_command("load_demo", stdout=io.StringIO())


@pytest.fixture
def learner(demo):
    return UserFactory()


def test_it_renders_the_catalog_accessibly(open_page, axe, demo):
    check_page(open_page, axe, name="catalog-demo", path="/", expect_text="June 2021 recordings")


def test_it_renders_the_filtered_catalog_for_a_learner_accessibly(open_page, axe, learner):
    check_page(open_page, axe, name="catalog-filtered", path="/?q=equity&credit=expired",
               user=learner, expect_text="Save this search as")


def test_it_renders_the_activity_page_accessibly(open_page, axe, learner):
    check_page(open_page, axe, name="activity-demo", path="/activities/implicit-bias-in-clinical-decisions/",
               user=learner, expect_text="have been mitigated")


def test_it_renders_an_expired_activity_page_accessibly(open_page, axe, learner):
    check_page(open_page, axe, name="activity-expired", path="/activities/structural-equity-lessons-from-2020/",
               user=learner, expect_text="Credit no longer available")


def test_it_renders_the_saved_activities_accessibly(open_page, axe, learner):
    for activity in Activity.objects.order_by("-release_date")[:3]:
        SavedActivityFactory(user=learner, activity=activity)

    check_page(open_page, axe, name="saved-activities", path="/me/saved/", user=learner,
               expect_text="Your status: Not started")


def test_it_renders_the_saved_searches_accessibly(open_page, axe, learner):
    SavedSearchFactory(user=learner, name="Open equity talks", query="q=equity&credit=open")
    SavedSearchFactory(user=learner, name="Everything expired", query="credit=expired")

    check_page(open_page, axe, name="saved-searches", path="/me/searches/", user=learner,
               expect_text="Open equity talks")


def test_it_saves_an_activity_from_the_catalog_by_clicking(open_page, learner, live_server):
    page = open_page("mobile", learner)
    page.goto("/?credit=open")

    page.get_by_role("button", name="Save Implicit Bias in Clinical Decision-Making").click()

    page.wait_for_url("**/?credit=open")
    assert learner.saved_activities.get().activity.slug == "implicit-bias-in-clinical-decisions"
