"""A CME coordinator builds an activity from nothing in the staff workspace alone (the
questions come from a GIFT file), publishes it, and a learner then completes it and gets
the certificate: issue 16's end-to-end check, counting the screens and clicks it took."""

import datetime
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from certificates.models import Certificate
from courses.models import Activity, provider_today
from quizzes.models import Question

from . import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_VIDEO = Path(__file__).resolve().parent.parent / "static" / "demo" / "welcome.webm"
# Issue 16's goal for a 4-question activity with 2 faculty and an uploaded recording.
MOST_SCREENS = 10
MOST_CLICKS = 40
GIFT = """// Written by the coordinator in a text editor.
::Stage 1::Which office reading defines stage 1 hypertension in adults?{
=130–139 / 80–89 mm Hg#Right: the 2017 threshold.
~140–159 / 90–99 mm Hg#That was the older definition.
~120–129 / below 80 mm Hg
}

::First line::Which drug classes are first-line for most adults? Select all that apply.{
~%50%Thiazide diuretics
~%50%ACE inhibitors
~%-100%Alpha blockers
}

::Home readings::Home readings can confirm the diagnosis.{TRUE#Out-of-office readings are advised.#Right.}

::Recheck::How soon should stage 1 without high risk be rechecked \\: in months?{
=3 to 6 months
~1 week
~5 years
}
"""
RIGHT_ANSWERS = [
    ["130–139 / 80–89 mm Hg"],
    ["Thiazide diuretics", "ACE inhibitors"],
    ["True"],
    ["3 to 6 months"],
]


def field(scope, label):
    """The field labelled `label` in `scope`; a form's labels may end in ":" and "(required)"."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}:?( \(required\))?$"))


class Coordinator:
    """Does what the coordinator does on the page, counting clicks and screens: a click,
    a tick, a choice from a list and picking a file are each one click; typing is not."""

    def __init__(self, page):
        self.page = page
        self.clicks = 0
        self.fields_typed = 0
        self.screens = []
        page.on("framenavigated", self._navigated)

    def _navigated(self, frame):
        if frame == self.page.main_frame and frame.url != "about:blank":
            self.screens.append(frame.url)

    def type(self, locator, text):
        self.fields_typed += 1
        locator.fill(text)

    def click(self, locator):
        self.clicks += 1
        locator.click()

    def check(self, locator):
        self.clicks += 1
        locator.check()

    def choose(self, locator, label):
        self.clicks += 1
        locator.select_option(label=label)

    def pick_file(self, locator, path):
        self.clicks += 1
        locator.set_input_files(path)


def test_a_coordinator_builds_and_publishes_an_activity_that_a_learner_completes(
    provider, open_page, live_server, tmp_path
):
    coordinator_user = factories.CoordinatorFactory()
    gift = tmp_path / "hypertension.gift"
    gift.write_text(GIFT, encoding="utf-8")
    today = provider_today()
    page = open_page("desktop", coordinator_user)
    coordinator = Coordinator(page)

    page.goto("/staff/authoring/")
    expect(page.get_by_role("heading", name="Activities")).to_be_visible()
    coordinator.click(page.get_by_role("link", name="New activity", exact=True))

    coordinator.type(field(page, "Title"), "Hypertension Update: The 2024 Guideline")
    coordinator.type(field(page, "Description"), "What changed in the guideline, for primary care.")
    coordinator.type(
        field(page, "Learning objectives"),
        "Apply the new thresholds.\nChoose first-line treatment.",
    )
    coordinator.type(field(page, "Target audience"), "Primary care physicians and nurse practitioners")
    coordinator.type(field(page, "Originally recorded on"), today.isoformat())
    coordinator.type(field(page, "Date of original release"), today.isoformat())
    coordinator.type(field(page, "Termination date"), (today + datetime.timedelta(days=365)).isoformat())
    coordinator.type(field(page, "Estimated time to complete (minutes)"), "15")
    coordinator.type(field(page, "AMA PRA Category 1 Credits™"), "0.25")
    coordinator.click(page.get_by_role("button", name="Save and continue", exact=True))

    expect(page.get_by_role("heading", name="People and disclosures")).to_be_visible()
    first, second = page.locator("fieldset.person").nth(0), page.locator("fieldset.person").nth(1)
    coordinator.type(field(first, "Name"), "Ana Ruiz")
    coordinator.type(field(first, "Degrees"), "MD, MPH")
    coordinator.type(field(first, "Affiliation"), "Riverside Family Medicine")
    coordinator.type(field(first, "Ineligible company"), "Acme Pharma")
    coordinator.choose(field(first, "Nature of the relationship"), "Consultant")
    coordinator.type(field(second, "Name"), "Sam Okafor")
    coordinator.type(field(second, "Degrees"), "DO")
    coordinator.choose(field(second, "Role"), "Planner")
    coordinator.check(field(second, "No relevant financial relationships"))
    coordinator.click(page.get_by_role("button", name="Save and continue", exact=True))

    expect(page.get_by_role("heading", name="Recording")).to_be_visible()
    coordinator.pick_file(field(page, "Upload the video"), DEMO_VIDEO)
    coordinator.click(page.get_by_role("button", name="Save and continue", exact=True))

    expect(page.get_by_role("heading", name="Post-test")).to_be_visible()
    coordinator.pick_file(field(page, "Questions file"), gift)
    coordinator.click(page.get_by_role("button", name="Preview the questions"))
    expect(page.get_by_text("Which drug classes are first-line")).to_be_visible()
    coordinator.click(page.get_by_role("button", name="Import and continue to the evaluation"))

    expect(page.get_by_role("heading", name="Evaluation")).to_be_visible()
    coordinator.click(page.get_by_role("button", name="Save and continue", exact=True))

    expect(page.get_by_role("heading", name="Review and publish")).to_be_visible()
    coordinator.click(page.get_by_role("button", name="Publish", exact=True))
    expect(page.get_by_text("Status: Published")).to_be_visible()

    activity = Activity.objects.get(title="Hypertension Update: The 2024 Guideline")
    assert activity.status == Activity.Status.PUBLISHED
    assert activity.recording.duration_seconds == 8
    assert [q.text.splitlines()[0] for q in Question.objects.filter(posttest__activity=activity)] == [
        "Which office reading defines stage 1 hypertension in adults?",
        "Which drug classes are first-line for most adults? Select all that apply.",
        "Home readings can confirm the diagnosis.",
        "How soon should stage 1 without high risk be rechecked : in months?",
    ]
    screens, clicks = len(coordinator.screens), coordinator.clicks
    print(
        f"\nThe coordinator needed {screens} screens, {clicks} clicks and {coordinator.fields_typed} "
        "fields typed:\n" + "\n".join(coordinator.screens)
    )
    assert screens <= MOST_SCREENS and clicks <= MOST_CLICKS, (screens, clicks)

    learner = factories.UserFactory()
    page = open_page("desktop", learner)
    page.goto("/")
    page.get_by_role("link", name="Hypertension Update: The 2024 Guideline").click()
    expect(page.get_by_text("Acme Pharma")).to_be_visible()
    expect(page.get_by_text("This activity received no commercial support.")).to_be_visible()
    page.get_by_role("button", name="Start activity").click()
    page.evaluate(
        """async () => {
            const video = document.querySelector("video");
            video.muted = true;
            await video.play();
            await new Promise(resolve => video.addEventListener("ended", resolve, {once: true}));
        }"""
    )
    page.get_by_role("button", name="Continue to the evaluation").click()
    expect(page.get_by_role("heading", name="Activity evaluation")).to_be_visible()
    for rating in page.get_by_role("radio", name="4", exact=True).all():
        rating.check()
    page.get_by_role("radio", name="Yes", exact=True).first.check()
    page.get_by_role("radio", name="Not sure yet", exact=True).check()
    page.get_by_role("button", name="Submit evaluation").click()

    expect(page.get_by_role("heading", name="Post-test")).to_be_visible()
    questions = page.locator("fieldset")
    expect(questions).to_have_count(4)
    for index, answers in enumerate(RIGHT_ANSWERS):
        for answer in answers:
            questions.nth(index).get_by_label(answer, exact=True).check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", name="passed")).to_contain_text("100%")

    page.get_by_role("link", name="Claim your credit").click()
    page.get_by_label("I claim only the credit commensurate").check()
    page.get_by_role("button", name="Get my certificate").click()
    certificate = Certificate.objects.get(user=learner, activity=activity)
    expect(page.get_by_role("link", name="Download certificate")).to_be_visible()
    response = page.request.get(f"/certificates/{certificate.number}/pdf/")
    assert response.ok and response.body().startswith(b"%PDF-")
