"""The staff's learner pages in Debian's Chromium, with axe, at a desktop width and at
375 px: the search, one learner's whole record with its grant forms open, and a grant
refused for want of a reason."""

import pytest
from playwright.sync_api import expect

from certificates.models import CertificateEvent
from certificates.services import certificate_revoke
from quizzes.models import EvaluationQuestion

from .browser import VIEWPORTS, assert_accessible, assert_fits_phone, check_page, save_screenshot
from .factories import (
    AttemptAllowanceFactory,
    CreditExtensionFactory,
    EvaluationAnswerFactory,
    EvaluationQuestionFactory,
    EvaluationResponseFactory,
    ParticipationFactory,
    StaffUserFactory,
    UserFactory,
    ViewingAccommodationFactory,
    certificate_for,
    complete_activity,
    graded_attempt,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def staff(provider):
    return StaffUserFactory(given_name="Carla", family_name="Coordinator")


@pytest.fixture
def learner(provider, staff):
    """A learner with a long record: a certificate revoked and its history, a post-test
    they ran out of attempts on, an evaluation with a comment, and grants."""
    learner = UserFactory(
        given_name="Maximiliana", family_name="Featherstonehaugh-Okonkwo",
        email="maximiliana.featherstonehaugh-okonkwo@university-hospital.example.org",
        licence_state="NY", licence_number="267890", share_with_boards=True,
    )
    finished = complete_activity(title="Sepsis Recognition in the Emergency Department, a Long Title")
    participation = ParticipationFactory(user=learner, activity=finished, watched=True)
    ViewingAccommodationFactory(participation=participation, granted_by=staff)
    graded_attempt(activity=finished, user=learner, correct=4)
    comments = EvaluationQuestionFactory(
        evaluation=finished.evaluation, text="What would you change?", kind=EvaluationQuestion.Kind.TEXT
    )
    response = EvaluationResponseFactory(user=learner, evaluation=finished.evaluation)
    EvaluationAnswerFactory(response=response, question=finished.evaluation.questions.first(), value="5")
    EvaluationAnswerFactory(response=response, question=comments, value="More worked cases, please.")
    certificate = certificate_for(activity=finished, user=learner, credits="0.75")
    CertificateEvent.objects.create(certificate=certificate, action=CertificateEvent.Action.CLAIMED, actor=learner)
    certificate_revoke(certificate=certificate, actor=staff, reason="Claimed for the wrong run of the activity.")

    capped = complete_activity(title="Hypertension in Pregnancy")
    capped.posttest.max_attempts = 1
    capped.posttest.save()
    ParticipationFactory(user=learner, activity=capped, watched=True)
    graded_attempt(activity=capped, user=learner, correct=1)
    AttemptAllowanceFactory(user=learner, posttest=capped.posttest, granted_by=staff)
    graded_attempt(activity=capped, user=learner, correct=2)
    CreditExtensionFactory(user=learner, activity=capped, granted_by=staff)
    return learner


def test_the_learner_search_is_accessible_and_fits_a_phone(open_page, axe, learner, staff):
    check_page(open_page, axe, name="staff-learners", path="/staff/learners/?q=featherstonehaugh",
               user=staff, expect_text="Featherstonehaugh-Okonkwo")


def test_an_empty_learner_search_is_accessible(open_page, axe, learner, staff):
    check_page(open_page, axe, name="staff-learners-empty", path="/staff/learners/?q=nobody",
               user=staff, expect_text="No learner’s name or e-mail address contains")


def test_the_learners_record_with_its_grant_forms_open_is_accessible_and_fits_a_phone(
    open_page, axe, learner, staff
):
    path = f"/staff/learners/{learner.pk}/"
    for viewport in VIEWPORTS:
        page = open_page(viewport, staff)
        assert page.goto(path).status == 200
        expect(page.locator("main")).to_contain_text("More worked cases, please.")
        for summary in page.locator("details.grant summary").all():
            summary.click()
        expect(page.get_by_label("Credit until").first).to_be_visible()
        expect(page.get_by_label("Extra attempts")).to_be_visible()
        save_screenshot(page, f"staff-learner-{viewport}")
        assert_accessible(axe, page, f"staff-learner-{viewport}")
        if viewport == "mobile":
            assert_fits_phone(page, "staff-learner")


def test_a_grant_without_a_reason_comes_back_with_an_accessible_error(open_page, axe, learner, staff):
    page = open_page("mobile", staff)
    page.goto(f"/staff/learners/{learner.pk}/")
    form = page.locator("details.grant", has_text="Allow extra post-test attempts")
    form.locator("summary").click()
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        form.get_by_role("button", name="Allow the attempts").click()
    assert posted.value.status == 400
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Give the reason for the extra attempts.")
    expect(summary).to_be_focused()
    save_screenshot(page, "staff-learner-grant-error-mobile")
    assert_accessible(axe, page, "staff-learner-grant-error-mobile")
    assert_fits_phone(page, "staff-learner-grant-error")
