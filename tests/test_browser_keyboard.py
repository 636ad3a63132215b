"""The learner's whole path with the keyboard alone, in Debian's Chromium: from the
activity page to the certificate with Tab, Shift+Tab, Enter, Space and the arrow keys, no
clicks and no address typed after the first page. The browser fixtures come from
tests/browser.py."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from certificates.models import Certificate

from . import factories
from .factories import complete_activity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Far more Tab presses than any page on the path needs to reach its next control.
MAX_TABS = 80
FOCUSED = """([selector, text]) => {
    const element = document.activeElement;
    return element !== null && element.matches(selector)
        && (text === null || element.textContent.trim() === text);
}"""
FOCUSED_LABEL = """() => {
    const element = document.activeElement;
    const label = element && element.labels && element.labels[0];
    return label ? label.textContent.trim() : "";
}"""


def tab_to(page, selector, *, text=None, key="Tab"):
    """Press Tab (or `key`, e.g. Shift+Tab) until the element matching `selector` (and
    reading `text`) has the focus; fail if it never gets it: the keyboard cannot reach it."""
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        if page.evaluate(FOCUSED, [selector, text]):
            return
    raise AssertionError(f"{key} never reaches {selector} on {page.url}")


def focused_label(page):
    return page.evaluate(FOCUSED_LABEL)


def test_it_takes_a_learner_from_the_activity_to_the_certificate_by_keyboard_alone(
    provider, open_page, live_server
):
    activity = complete_activity(requires_full_viewing=True)
    user = factories.UserFactory()
    page = open_page("desktop", user)
    page.goto(activity.get_absolute_url())

    # The activity page: the link past the disclosure and objectives, then Start.
    tab_to(page, "a[href='#start']")
    page.keyboard.press("Enter")
    tab_to(page, "button", text="Start activity")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/activities/{activity.slug}/watch/")

    # The watch page: play the whole recording from the keyboard, then Continue.
    continue_button = page.get_by_role("button", name="Continue to the evaluation")
    expect(continue_button).to_be_hidden()
    tab_to(page, "video")
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    page.keyboard.press("Space")
    page.wait_for_function("!document.querySelector('video').paused")
    expect(page.locator("#viewing-announcement")).to_have_text(
        "You have watched enough; Continue is now available below the video.", timeout=20_000
    )
    tab_to(page, "#continue-button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Activity evaluation")).to_be_visible()

    # The evaluation: the Likert group with the arrow keys, then Submit with Enter.
    tab_to(page, "input[type=radio]")
    assert focused_label(page).split()[0] == "1"
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert focused_label(page).split()[0] == "4"
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Post-test")).to_be_visible()

    # The post-test: Space picks the first choice, the arrows move between choices.
    questions = page.locator("fieldset")
    expect(questions).to_have_count(4)
    for index in range(4):
        tab_to(page, f"fieldset:nth-of-type({index + 1}) input[type=radio]")
        if index % 2:
            page.keyboard.press("ArrowDown")
            assert focused_label(page) == "Wrong answer"
            page.keyboard.press("ArrowUp")
        else:
            page.keyboard.press("Space")
        assert focused_label(page) == "Right answer"
        assert page.evaluate("document.activeElement.checked")
    # Back from the last question's choices to the third's with Shift+Tab, which leaves
    # the answers as they were.
    tab_to(page, "fieldset:nth-of-type(3) input[type=radio]", key="Shift+Tab")
    assert focused_label(page) == "Right answer"
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="passed")).to_contain_text("100%")

    # The claim: credits with the arrow keys, the attestation with Space.
    tab_to(page, "a", text="Claim your credit")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Claim credit")).to_be_visible()
    tab_to(page, "select#credits")
    page.keyboard.press("ArrowDown")
    expect(page.locator("select#credits")).to_have_value("0.75")
    tab_to(page, "input[type=checkbox]")
    page.keyboard.press("Space")
    assert page.evaluate("document.activeElement.checked")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/certificates/[^/]+/$"))
    certificate = Certificate.objects.get(user=user, activity=activity)
    expect(page).to_have_url(f"{live_server.url}/certificates/{certificate.number}/")
    expect(page.locator("main")).to_contain_text(certificate.number)
    assert certificate.credits_claimed == Decimal("0.75")
