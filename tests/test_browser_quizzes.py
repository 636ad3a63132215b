"""Browser tests for the post-test and evaluation states: each checked with axe at a
desktop width and at 375 px, plus a multi-answer attempt and a retake clicked for real.

The browser fixtures and checks come from tests/browser.py.
"""

import datetime

import pytest
from playwright.sync_api import expect

from certificates.services import certificate_claim
from quizzes.models import Attempt, EvaluationQuestion, PostTest
from quizzes.services import attempt_open, evaluation_submit

from . import factories
from .factories import complete_activity, graded_attempt, learner_ready_to_claim, multi_answer_question
from .browser import check_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def started(activity):
    user = factories.UserFactory()
    factories.ParticipationFactory(user=user, activity=activity, watched=True)
    return user


def posttest_path(activity):
    return f"/activities/{activity.slug}/posttest/"


# --- Page states ------------------------------------------------------------------------------


def after_one_attempt(*, correct, **posttest_settings):
    """An activity whose post-test has `posttest_settings`, and a learner who took it once."""
    activity = complete_activity()
    PostTest.objects.filter(pk=activity.posttest.pk).update(**posttest_settings)
    activity.posttest.refresh_from_db()
    user = started(activity)
    graded_attempt(activity=activity, user=user, correct=correct)
    return posttest_path(activity), user


def failed_score_only_state():
    path, user = after_one_attempt(correct=2)
    return path, user, "After a failed attempt you see your score only"


def failed_wrong_questions_state():
    path, user = after_one_attempt(correct=2, review_after_fail=PostTest.Review.WRONG_QUESTIONS)
    return path, user, "incorrect"


def failed_with_answers_shown_state():
    path, user = after_one_attempt(correct=2, review_after_fail=PostTest.Review.CORRECT_ANSWERS)
    return path, user, "Take the post-test again"


def passed_review_state():
    activity = complete_activity()
    multi_answer_question(posttest=activity.posttest)
    user = started(activity)
    graded_attempt(activity=activity, user=user, correct=5)
    return posttest_path(activity), user, "Claim your credit"


def no_attempts_left_state():
    path, user = after_one_attempt(correct=0, max_attempts=1)
    return path, user, "You have used all 1 attempts"


def waiting_state():
    path, user = after_one_attempt(correct=1, minutes_between_attempts=60)
    return path, user, "You can take the post-test again in"


def late_pass_state():
    activity = complete_activity(
        release_date=datetime.date(2025, 1, 1), termination_date=datetime.date(2025, 6, 30)
    )
    user = started(activity)
    handed_in = datetime.datetime(2025, 7, 1, 12, tzinfo=datetime.timezone.utc)
    attempt_open(user=user, posttest=activity.posttest, at=handed_in - datetime.timedelta(hours=13))
    graded_attempt(activity=activity, user=user, correct=4, at=handed_in)
    return posttest_path(activity), user, "does not earn credit"


def multi_answer_state():
    activity = complete_activity(question_count=0)
    multi_answer_question(posttest=activity.posttest)
    return posttest_path(activity), started(activity), "select all that apply"


def evaluation_of_every_kind(activity):
    evaluation = activity.evaluation
    Kind = EvaluationQuestion.Kind
    factories.EvaluationQuestionFactory(
        evaluation=evaluation, kind=Kind.YES_NO, text="Was the content free of commercial bias?"
    )
    factories.EvaluationQuestionFactory(
        evaluation=evaluation, kind=Kind.COMMITMENT, text="Will you change your practice?"
    )
    factories.EvaluationQuestionFactory(
        evaluation=evaluation, kind=Kind.TEXT, text="Any other comments?", required=False
    )
    return evaluation


def evaluation_editing_state():
    activity = complete_activity()
    evaluation = evaluation_of_every_kind(activity)
    user = started(activity)
    answers = {question.pk: ("yes", "") for question in evaluation.questions.all()}
    answers[evaluation.questions.first().pk] = ("4", "")
    evaluation_submit(user=user, evaluation=evaluation, answers=answers)
    return f"/activities/{activity.slug}/evaluation/", user, "You may change your answers below"


def evaluation_locked_state():
    activity = complete_activity()
    evaluation_of_every_kind(activity)
    user = learner_ready_to_claim(activity=activity)
    certificate_claim(user=user, activity=activity, credits="1", attested=True)
    return f"/activities/{activity.slug}/evaluation/", user, "these answers are final"


PAGES = {
    "posttest-failed-score-only": failed_score_only_state,
    "posttest-failed-wrong-questions": failed_wrong_questions_state,
    "posttest-failed-answers-shown": failed_with_answers_shown_state,
    "posttest-passed-review": passed_review_state,
    "posttest-no-attempts-left": no_attempts_left_state,
    "posttest-waiting": waiting_state,
    "posttest-late-pass": late_pass_state,
    "posttest-multi-answer": multi_answer_state,
    "evaluation-editing": evaluation_editing_state,
    "evaluation-locked": evaluation_locked_state,
}


# --- Tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_quiz_page_is_accessible_and_fits_a_phone(name, provider, open_page, axe):  # noqa: F811
    path, user, text = PAGES[name]()
    check_page(open_page, axe, name=name, path=path, user=user, expect_text=text)


def test_a_learner_ticks_every_right_box_of_a_multi_answer_question(provider, open_page):  # noqa: F811
    path, user, _ = multi_answer_state()
    page = open_page("mobile", user)
    page.goto(path)
    page.get_by_label("Right one").check()
    page.get_by_label("Right two").check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", name="passed")).to_contain_text("100%")
    assert Attempt.objects.get(user=user).passed


def test_a_learner_fails_then_retakes_the_post_test(provider, open_page):  # noqa: F811
    activity = complete_activity(question_count=2)
    user = started(activity)
    page = open_page("desktop", user)
    page.goto(posttest_path(activity))
    for index in range(2):
        page.locator("fieldset").nth(index).get_by_label("Wrong answer").check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", name="not passed")).to_contain_text("0%")

    page.get_by_role("link", name="Take the post-test again").click()
    for index in range(2):
        page.locator("fieldset").nth(index).get_by_label("Right answer").check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", name="passed")).to_contain_text("100%")
    expect(page.get_by_role("heading", name="Your attempts")).to_be_visible()
    assert list(Attempt.objects.filter(user=user).values_list("passed", flat=True)) == [True, False]
