"""Browser checks for issue 19 that need a real browser: focus moves to the error summary
after a rejected form, and the focus ring shows both of its tones."""

import pytest
from playwright.sync_api import expect

from . import factories
from .browser import assert_accessible
from .factories import complete_activity, learner_ready_to_claim

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUS_INK = "rgb(29, 39, 51)"
FOCUS_HALO = "rgb(242, 183, 5)"


def assert_error_summary_has_focus(page):
    expect(page.locator("#error-summary")).to_be_focused()
    assert page.title().startswith("Error: ")


def test_it_focuses_the_error_summary_after_an_empty_evaluation(provider, open_page, axe):
    activity = complete_activity()
    learner = factories.UserFactory()
    factories.ParticipationFactory(user=learner, activity=activity, watched=True)
    page = open_page("desktop", learner)
    page.goto(f"/activities/{activity.slug}/evaluation/")

    page.get_by_role("button", name="Submit evaluation").click()

    assert_error_summary_has_focus(page)
    assert_accessible(axe, page, "evaluation-error-desktop")
    # The summary's link leads to the first option of the unanswered question.
    page.locator("#error-summary a").first.click()
    expect(page.locator("input[aria-invalid=true]").first).to_be_focused()


def test_it_focuses_the_error_summary_after_a_wrong_password(provider, open_page, axe):
    user = factories.UserFactory()
    page = open_page("mobile")
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not the password")

    page.get_by_role("button", name="Sign In").click()

    assert_error_summary_has_focus(page)
    expect(page.locator("#error-summary")).to_contain_text("not correct")
    assert_accessible(axe, page, "login-error-mobile")


def test_it_focuses_the_error_summary_after_a_claim_without_attesting(provider, open_page, axe):
    activity = complete_activity()
    page = open_page("desktop", learner_ready_to_claim(activity=activity))
    page.goto(f"/activities/{activity.slug}/claim/")
    attest = page.get_by_label("I claim only the credit commensurate")
    # Not flagged before the learner has done anything.
    assert not attest.evaluate("box => box.matches(':invalid')")

    page.get_by_role("button", name="Get my certificate").click()

    assert_error_summary_has_focus(page)
    expect(page.get_by_label("I claim only the credit commensurate")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert_accessible(axe, page, "claim-error-desktop")


def test_it_draws_a_dark_ring_inside_a_yellow_halo_around_the_focused_link(provider, open_page):
    page = open_page("desktop")
    page.goto("/accounts/login/")

    page.keyboard.press("Tab")

    focused = page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            return {tag: document.activeElement.tagName, outlineStyle: style.outlineStyle,
                    outlineWidth: style.outlineWidth, outlineColor: style.outlineColor,
                    boxShadow: style.boxShadow};
        }"""
    )
    assert focused["tag"] == "A"
    assert focused["outlineStyle"] == "solid" and focused["outlineWidth"] == "3px"
    assert focused["outlineColor"] == FOCUS_INK
    assert FOCUS_HALO in focused["boxShadow"] and "6px" in focused["boxShadow"]
