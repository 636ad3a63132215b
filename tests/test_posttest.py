from decimal import Decimal

import pytest

from quizzes.models import Attempt, score_passes, score_percent
from quizzes.services import AttemptClosed, attempt_open, attempt_submit

from .factories import ParticipationFactory, UserFactory, complete_activity


@pytest.fixture
def started(activity, learner, client):
    ParticipationFactory(user=learner, activity=activity)
    client.force_login(learner)
    return activity


def right(question):
    return question.choices.get(is_correct=True).pk


def wrong(question):
    return question.choices.get(is_correct=False).pk


def submit(activity, user, *, correct):
    attempt = attempt_open(user=user, posttest=activity.posttest)
    questions = list(activity.posttest.questions.all())
    answers = {q.pk: right(q) if i < correct else wrong(q) for i, q in enumerate(questions)}
    return attempt_submit(attempt_id=attempt.pk, user=user, answers=answers)


def test_it_passes_three_of_four_at_the_default_75_percent(activity, learner):
    attempt = submit(activity, learner, correct=3)
    assert attempt.passed
    assert attempt.score == Decimal("75.00")


def test_it_fails_two_of_four(activity, learner):
    attempt = submit(activity, learner, correct=2)
    assert not attempt.passed
    assert attempt.score == Decimal("50.00")


def test_it_never_rounds_just_below_the_pass_mark_up_to_it():
    assert score_percent(correct=74999, total=100000) == Decimal("74.99")
    assert not score_passes(correct=74999, total=100000, pass_percent=Decimal("75"))
    assert score_passes(correct=75000, total=100000, pass_percent=Decimal("75"))
    assert score_passes(correct=1, total=1, pass_percent=Decimal("100"))


def test_it_fails_a_post_test_with_no_questions():
    assert not score_passes(correct=0, total=0, pass_percent=Decimal("75"))


def test_it_counts_a_choice_from_another_question_as_wrong(activity, learner):
    first, second, *rest = activity.posttest.questions.all()
    attempt = attempt_open(user=learner, posttest=activity.posttest)
    answers = {first.pk: right(second), second.pk: right(first)}
    answers.update({q.pk: right(q) for q in rest})
    graded = attempt_submit(attempt_id=attempt.pk, user=learner, answers=answers)
    assert graded.correct_count == 2
    assert not graded.passed


def test_it_counts_a_choice_from_another_activity_as_wrong(activity, learner, provider):
    other = complete_activity()
    attempt = attempt_open(user=learner, posttest=activity.posttest)
    foreign = [right(q) for q in other.posttest.questions.all()]
    answers = {q.pk: foreign[i] for i, q in enumerate(activity.posttest.questions.all())}
    graded = attempt_submit(attempt_id=attempt.pk, user=learner, answers=answers)
    assert graded.correct_count == 0


def test_it_grades_a_repeated_submission_once(activity, learner):
    attempt = submit(activity, learner, correct=4)
    with pytest.raises(AttemptClosed):
        attempt_submit(attempt_id=attempt.pk, user=learner, answers={})
    attempt.refresh_from_db()
    assert attempt.passed
    assert Attempt.objects.filter(user=learner).count() == 1


def test_it_refuses_to_grade_another_learners_attempt(activity, learner):
    attempt = attempt_open(user=UserFactory(), posttest=activity.posttest)
    with pytest.raises(Attempt.DoesNotExist):
        attempt_submit(attempt_id=attempt.pk, user=learner, answers={})


def test_it_keeps_the_answer_key_out_of_a_live_attempt_page(started, client):
    html = client.get(f"/activities/{started.slug}/posttest/").content.decode()
    assert "Right answer" in html and "Wrong answer" in html
    assert "Because the guideline says so." not in html
    assert "correct" not in html.lower()


def test_it_shows_explanations_after_passing(started, client, learner):
    submit(started, learner, correct=4)
    html = client.get(f"/activities/{started.slug}/posttest/").content.decode()
    assert "Because the guideline says so." in html
    assert "Claim your credit" in html


def test_it_asks_again_when_an_answer_is_missing_and_grades_nothing(started, client):
    page = client.get(f"/activities/{started.slug}/posttest/")
    first = page.context["questions"][0]["question"]
    response = client.post(
        f"/activities/{started.slug}/posttest/",
        {"attempt": page.context["attempt"].pk, f"question-{first.pk}": right(first)},
    )
    assert response.status_code == 200
    assert "Please answer every question" in response.content.decode()
    assert not Attempt.objects.filter(submitted_at__isnull=False).exists()


def test_it_rejects_a_forged_attempt_id_with_400(started, client):
    page = client.get(f"/activities/{started.slug}/posttest/")
    answers = {
        f"question-{item['question'].pk}": right(item["question"]) for item in page.context["questions"]
    }
    other = attempt_open(user=UserFactory(), posttest=started.posttest)
    for attempt_id in ("abc", other.pk):
        response = client.post(f"/activities/{started.slug}/posttest/", {"attempt": attempt_id, **answers})
        assert response.status_code == 400
    assert not Attempt.objects.filter(submitted_at__isnull=False).exists()


def test_it_shows_no_attempts_left_when_the_cap_is_reached(started, client, learner):
    started.posttest.max_attempts = 1
    started.posttest.save()
    submit(started, learner, correct=0)
    html = client.get(f"/activities/{started.slug}/posttest/").content.decode()
    assert "You have used all 1 attempts" in html
    assert 'name="attempt"' not in html


def test_it_sends_learners_who_have_not_started_back_to_the_activity(activity, client, learner):
    client.force_login(learner)
    response = client.get(f"/activities/{activity.slug}/posttest/")
    assert response.status_code == 302
    assert response.url == activity.get_absolute_url()
