"""The staff authoring workspace in Debian's Chromium: axe at 1280 px and 375 px on every
page, and the add-row buttons by keyboard."""

import re

import pytest
from playwright.sync_api import expect

from courses.models import Activity

from .browser import assert_accessible, assert_fits_phone, check_page
from .factories import (
    ActivityFactory,
    CoordinatorFactory,
    FacultyRoleFactory,
    ParticipationFactory,
    PersonFactory,
    complete_activity,
    publishable_draft,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def draft(provider):
    activity = publishable_draft(title="Sepsis Recognition in the Emergency Department, a Long Title")
    FacultyRoleFactory(
        activity=activity,
        person=PersonFactory(name="Dr Ada Moss", affiliation="City Hospital"),
        relationships=[{"company": "Acme Pharma", "nature": "consultant"}],
    )
    return activity


@pytest.mark.parametrize("step", ["details", "people", "recording", "posttest", "evaluation", "review",
                                  "preview", "duplicate"])
def test_every_step_of_a_draft_is_accessible_and_fits_a_phone(open_page, axe, draft, step):
    check_page(open_page, axe, name=f"authoring-{step}", path=f"/staff/authoring/{draft.slug}/{step}/",
               user=CoordinatorFactory(), expect_text=draft.title)


def test_the_list_and_a_new_activity_are_accessible(open_page, axe, draft):
    ActivityFactory(title="Published without a post-test")
    check_page(open_page, axe, name="authoring-list", path="/staff/authoring/", user=CoordinatorFactory(),
               expect_text="Fails publishing checks")
    check_page(open_page, axe, name="authoring-new", path="/staff/authoring/new/", user=CoordinatorFactory(),
               expect_text="New activity")
    check_page(open_page, axe, name="authoring-import", path="/staff/authoring/import/",
               user=CoordinatorFactory())


def test_a_locked_recording_and_the_unpublish_page_are_accessible(open_page, axe, provider):
    activity = complete_activity(title="Started Webinar")
    ParticipationFactory(activity=activity)
    check_page(open_page, axe, name="authoring-recording-locked",
               path=f"/staff/authoring/{activity.slug}/recording/", user=CoordinatorFactory(),
               expect_text="The recording cannot change now")
    check_page(open_page, axe, name="authoring-unpublish", path=f"/staff/authoring/{activity.slug}/unpublish/",
               user=CoordinatorFactory(), expect_text="Learners’ progress is kept")


@pytest.mark.parametrize("viewport", ["desktop", "mobile"])
def test_rejected_details_and_a_refused_publish_are_accessible(open_page, axe, provider, viewport):
    activity = ActivityFactory(status=Activity.Status.DRAFT, title="Incomplete Webinar")
    page = open_page(viewport, CoordinatorFactory())
    page.goto(f"/staff/authoring/{activity.slug}/details/")
    page.locator("#id_title").fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#error-summary")).to_be_focused()
    assert_accessible(axe, page, f"authoring-details-errors-{viewport}")

    page.goto(f"/staff/authoring/{activity.slug}/review/")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#error-summary")).to_contain_text("Not published")
    assert_accessible(axe, page, f"authoring-review-refused-{viewport}")
    if viewport == "mobile":
        assert_fits_phone(page, "authoring-review-refused")


def test_rows_are_added_by_keyboard_with_the_typing_kept(open_page, axe, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    page = open_page("desktop", CoordinatorFactory())
    page.goto(f"/staff/authoring/{activity.slug}/people/")
    page.locator("#id_people-0-name").fill("Dr Ada Moss")
    page.locator("#id_people-0-rel-0-company").fill("Acme Pharma")
    page.locator("#id_people-0-rel-0-nature").select_option("consultant")

    page.get_by_role("button", name="Add a relationship for person 1").focus()
    page.keyboard.press("Enter")

    expect(page.locator("#id_people-0-rel-1-company")).to_be_focused()
    expect(page.locator("#id_people-0-name")).to_have_value("Dr Ada Moss")
    page.keyboard.type("Beta Devices")
    page.locator("#id_people-0-rel-1-nature").select_option("speaker")
    page.locator("#id_people-1-name").fill("Dr Ben Ode")
    page.locator("#id_people-1-role").select_option("planner")
    page.locator("#id_people-1-no_relationships").check()

    page.get_by_role("button", name="Add a person").focus()
    page.keyboard.press("Space")

    expect(page.locator("#id_people-2-name")).to_be_focused()
    expect(page.locator("#id_people-0-rel-0-company")).to_have_value("Acme Pharma")
    expect(page.locator("#id_people-1-name")).to_have_value("Dr Ben Ode")
    assert_accessible(axe, page, "authoring-people-added-rows")
    page.get_by_role("button", name="Save and continue").click()

    expect(page).to_have_url(re.compile(f"/staff/authoring/{activity.slug}/recording/$"))
    roles = [(role.person.name, role.relationships) for role in activity.faculty.select_related("person")]
    assert roles == [
        ("Dr Ada Moss", [{"company": "Acme Pharma", "nature": "consultant"},
                         {"company": "Beta Devices", "nature": "speaker"}]),
        ("Dr Ben Ode", []),
    ]


def test_the_preview_has_its_banner_outside_the_learners_page(open_page, axe, draft):
    page = open_page("desktop", CoordinatorFactory())
    page.goto(f"/staff/authoring/{draft.slug}/preview/")

    expect(page.get_by_role("region", name="Preview")).to_contain_text("not visible to learners")
    expect(page.locator("main")).not_to_contain_text("not visible to learners")
    expect(page.locator("main").get_by_role("button", name="Start activity")).to_have_count(0)
