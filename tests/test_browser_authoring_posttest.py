"""The post-test step and the activity import of the staff workspace in Debian's Chromium:
axe at 1280 and 375 px, and reordering questions with the keyboard alone."""

import json

import pytest
from playwright.sync_api import expect

from courses.models import Activity
from quizzes.models import PostTest

from .browser import VIEWPORTS, assert_accessible, assert_fits_phone, check_page, save_screenshot
from .factories import (
    ActivityFactory,
    ChoiceFactory,
    ParticipationFactory,
    PostTestFactory,
    QuestionFactory,
    StaffUserFactory,
    complete_activity,
)
from .test_browser_keyboard import tab_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GIFT = "::Stage:: Which stage is it? {=Stage 2 # Both readings are high. ~Stage 1 ~Normal}\n"


@pytest.fixture
def draft(provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT, title="Hypertension in Primary Care: a Long Title")
    posttest = PostTestFactory(activity=activity)
    for text in ("First?", "Second?"):
        question = QuestionFactory(posttest=posttest, text=text)
        ChoiceFactory(question=question, text=f"{text} right", is_correct=True, feedback="Well done.")
        ChoiceFactory(question=question, text=f"{text} wrong", is_correct=False)
    return activity


def checked(page, axe, name, viewport):
    save_screenshot(page, f"{name}-{viewport}")
    assert_accessible(axe, page, f"{name}-{viewport}")
    if viewport == "mobile":
        assert_fits_phone(page, name)


def test_the_post_test_editor_is_accessible_and_fits_a_phone(open_page, axe, draft):
    check_page(open_page, axe, name="authoring-posttest", path=f"/staff/authoring/{draft.slug}/posttest/",
               user=StaffUserFactory(), expect_text="Choices of question 2")


def test_the_editors_errors_are_accessible(open_page, axe, draft):
    staff = StaffUserFactory()
    for viewport in VIEWPORTS:
        page = open_page(viewport, staff)
        page.goto(f"/staff/authoring/{draft.slug}/posttest/")
        page.get_by_label("Correct: choice A of question 2").uncheck()
        page.get_by_role("button", name="Save", exact=True).click()
        summary = page.locator("#error-summary")
        expect(summary).to_contain_text("Question 2: Mark at least one choice as correct.")
        expect(summary).to_be_focused()
        checked(page, axe, "authoring-posttest-errors", viewport)


def test_a_live_post_test_is_shown_read_only_accessibly(open_page, axe, provider):
    activity = complete_activity(question_count=2)
    ParticipationFactory(activity=activity)
    check_page(open_page, axe, name="authoring-posttest-locked", path=f"/staff/authoring/{activity.slug}/posttest/",
               user=StaffUserFactory(), expect_text="This post-test is locked.")


def test_the_question_file_preview_is_accessible(open_page, axe, draft, tmp_path):
    staff = StaffUserFactory()
    path = tmp_path / "questions.gift"
    path.write_text(GIFT)
    for viewport in VIEWPORTS:
        page = open_page(viewport, staff)
        page.goto(f"/staff/authoring/{draft.slug}/posttest/")
        page.get_by_label("Questions file").set_input_files(path)
        page.get_by_role("button", name="Preview the questions").click()
        expect(page.locator("main")).to_contain_text("1 question will be added after the 2 questions")
        checked(page, axe, "authoring-posttest-import-preview", viewport)
    page.get_by_role("button", name="Import and edit them").click()
    expect(page.locator("main")).to_contain_text("Imported 1 question from questions.gift.")
    assert draft.posttest.questions.count() == 3


def test_the_activity_import_and_its_preview_are_accessible(open_page, axe, provider, tmp_path):
    staff = StaffUserFactory()
    check_page(open_page, axe, name="authoring-import", path="/staff/authoring/import/", user=staff,
               expect_text="Import activities")
    path = tmp_path / "activities.json"
    path.write_text(json.dumps({"slug": "sepsis", "title": "Sepsis Recognition", "release_date": "2025-01-10",
                                "termination_date": "2026-01-10", "credits": "1"}))
    for viewport in VIEWPORTS:
        page = open_page(viewport, staff)
        page.goto("/staff/authoring/import/")
        page.get_by_label("Activity JSON file").set_input_files(path)
        page.get_by_role("button", name="Preview the import").click()
        expect(page.locator("main")).to_contain_text("1 activity will be created")
        checked(page, axe, "authoring-import-preview", viewport)
    page.get_by_role("button", name="Confirm import").click()
    expect(page.locator("main")).to_contain_text("Imported 1 activity from activities.json: sepsis.")
    assert Activity.objects.filter(slug="sepsis").exists()


def test_it_reorders_questions_with_the_keyboard_alone(open_page, draft):
    page = open_page("desktop", StaffUserFactory())
    page.goto(f"/staff/authoring/{draft.slug}/posttest/")
    tab_to(page, "#down-0")
    page.keyboard.press("Enter")
    # Back on the page, focus is on the moved question's remaining move button, and the
    # status says what happened.
    expect(page.locator("#up-1")).to_be_focused()
    expect(page.locator("#posttest-status")).to_have_text("Question 1 moved down to position 2.")
    expect(page.locator("#id_q0-text")).to_have_value("Second?")
    expect(page.locator("#id_q1-text")).to_have_value("First?")
    assert [q.text for q in PostTest.objects.get(activity=draft).questions.all()] == ["First?", "Second?"]
    tab_to(page, "button", text="Save")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text("Post-test saved.")
    assert [q.text for q in PostTest.objects.get(activity=draft).questions.all()] == ["Second?", "First?"]
