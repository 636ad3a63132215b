"""The staff reports in Debian's Chromium, with axe, at a desktop width and at 375 px."""

import pytest

from quizzes.models import EvaluationQuestion

from .browser import check_page
from .factories import (
    EvaluationAnswerFactory,
    EvaluationQuestionFactory,
    EvaluationResponseFactory,
    ParticipationFactory,
    StaffUserFactory,
    UserFactory,
    certificate_for,
    complete_activity,
    graded_attempt,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def reported_activity(provider):
    activity = complete_activity(title="Sepsis Recognition in the Emergency Department, a Long Title")
    comments = EvaluationQuestionFactory(
        evaluation=activity.evaluation, text="What would you change?", kind=EvaluationQuestion.Kind.TEXT
    )
    commitment = EvaluationQuestionFactory(
        evaluation=activity.evaluation, text="Will you change your practice?",
        kind=EvaluationQuestion.Kind.COMMITMENT,
    )
    for correct, rating in [(4, "5"), (3, "4"), (2, "2"), (4, "5")]:
        user = UserFactory()
        ParticipationFactory(user=user, activity=activity)
        graded_attempt(activity=activity, user=user, correct=correct)
        response = EvaluationResponseFactory(user=user, evaluation=activity.evaluation)
        EvaluationAnswerFactory(response=response, question=activity.evaluation.questions.first(), value=rating)
        EvaluationAnswerFactory(response=response, question=comments, value="More worked cases, please.")
        EvaluationAnswerFactory(response=response, question=commitment, value="yes",
                                comment="Screen with qSOFA at triage.")
        if correct >= 3:
            certificate_for(activity=activity, user=user, credits="0.75")
    return activity


def test_the_staff_activity_list_is_accessible_and_fits_a_phone(open_page, axe, reported_activity):
    check_page(open_page, axe, name="staff-index", path="/staff/", user=StaffUserFactory(),
               expect_text="Sepsis Recognition")


def test_the_activity_report_is_accessible_and_fits_a_phone(open_page, axe, reported_activity):
    check_page(open_page, axe, name="staff-activity", path=f"/staff/activities/{reported_activity.slug}/",
               user=StaffUserFactory(), expect_text="Screen with qSOFA at triage.")
