"""Layout learners notice (issue 14), measured in Chromium: the header and the Likert scale
at 375 px, the transcript's date inputs, the catalog's width on a desktop; and axe on the
pages the polish changed. Screenshots go to test-artifacts/."""

import datetime
import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from certificates.services import certificate_claim
from courses.models import provider_today

from .browser import check_page, save_screenshot
from .factories import (
    ActivityFactory,
    ParticipationFactory,
    UserFactory,
    complete_activity,
    learner_ready_to_claim,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_keeps_log_out_on_the_header_row_at_375_px(provider, open_page):
    page = open_page("mobile", UserFactory())
    page.goto("/")
    logout = page.get_by_role("button", name="Log out").bounding_box()
    catalog = page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").bounding_box()
    save_screenshot(page, "polish-header-mobile", full_page=False)
    # One line of text, on the same row as the first link.
    line_height = page.get_by_role("button", name="Log out").evaluate(
        "button => parseFloat(getComputedStyle(button).lineHeight)"
    )
    assert logout["height"] <= line_height * 1.5
    assert abs(logout["y"] - catalog["y"]) < 4


def test_it_puts_the_five_likert_options_on_one_row_at_375_px(provider, open_page):
    activity = complete_activity()
    user = UserFactory()
    ParticipationFactory(user=user, activity=activity, watched=True)
    page = open_page("mobile", user)
    page.goto(f"/activities/{activity.slug}/evaluation/")
    radios = page.locator("fieldset input[type=radio]")
    expect(radios).to_have_count(5)
    save_screenshot(page, "polish-likert-mobile")
    tops = {round(radios.nth(i).bounding_box()["y"]) for i in range(5)}
    assert len(tops) == 1, f"the options sit on {len(tops)} rows"


def test_it_styles_the_transcripts_date_inputs_like_the_other_fields(provider, open_page):
    page = open_page("mobile", UserFactory())
    page.goto("/me/transcript/")
    save_screenshot(page, "polish-transcript-dates-mobile", full_page=False)
    style = (
        "field => { const s = getComputedStyle(field); return [s.borderTopWidth, s.borderTopStyle,"
        " s.borderTopColor, s.borderRadius, s.paddingTop, s.paddingLeft, s.fontSize, s.fontFamily]; }"
    )
    date = page.get_by_label("From").evaluate(style)
    page.goto("/me/profile/")
    text = page.locator("main input[type=text]").first.evaluate(style)
    assert date == text


def test_it_widens_a_months_single_card_on_a_desktop(provider, open_page):
    month_end = provider_today().replace(day=1)
    for _ in range(3):
        month_end -= datetime.timedelta(days=1)
        ActivityFactory(release_date=month_end)
        month_end = month_end.replace(day=1)
    page = open_page("desktop")
    page.goto("/")
    save_screenshot(page, "polish-catalog-desktop")
    main = page.locator("main").bounding_box()
    months = [page.locator("main section").nth(i).bounding_box() for i in range(3)]
    cards = [page.locator(".card").nth(i).bounding_box() for i in range(3)]
    # Three months of one card each: side by side, not one narrow card per row.
    assert len({round(month["y"]) for month in months}) == 1
    assert sum(card["width"] for card in cards) > main["width"] * 0.75


def test_it_renders_a_completed_activity_page_accessibly(provider, open_page, axe):
    activity = complete_activity()
    learner = learner_ready_to_claim(activity=activity)
    certificate_claim(user=learner, activity=activity, credits="1", attested=True)
    check_page(open_page, axe, name="polish-activity-completed", path=activity.get_absolute_url(),
               user=learner, expect_text="View your certificate")


def test_it_renders_the_claim_page_with_the_printed_name_accessibly(provider, open_page, axe):
    activity = complete_activity()
    learner = learner_ready_to_claim(activity=activity)
    check_page(open_page, axe, name="polish-claim", path=f"/activities/{activity.slug}/claim/",
               user=learner, expect_text="Your certificate will read")


def test_it_renders_the_watch_page_of_an_expired_activity_for_a_newcomer_accessibly(open_page, axe):
    call_command("load_demo", stdout=io.StringIO())
    check_page(open_page, axe, name="polish-watch-without-credit",
               path="/activities/structural-equity-lessons-from-2020/watch/", user=UserFactory(),
               expect_text="watching it earns no credit")
