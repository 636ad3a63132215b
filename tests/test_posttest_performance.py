"""The post-test's cost per request (issue 18): handing in an attempt reads the post-test,
its questions and choices once, counts the learner's earlier attempts instead of loading
them and writes only what grading changes, in the same number of queries however many
questions and earlier attempts there are."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.models import Activity
from quizzes.models import Attempt, AttemptAnswer
from quizzes.services import AttemptClosed, AttemptRefused, attempt_open, attempt_submit

from .conftest import NEW_YORK
from .factories import (
    AttemptFactory,
    ParticipationFactory,
    QuestionFactory,
    UserFactory,
    complete_activity,
    graded_attempt,
)


def learner_with_history(*, question_count, earlier_attempts):
    """A learner who started a fresh activity and failed its post-test `earlier_attempts`
    times, with an attempt open; returns (activity, learner, open attempt)."""
    activity = complete_activity(question_count=question_count)
    user = UserFactory()
    ParticipationFactory(user=user, activity=activity, watched=True)
    for _ in range(earlier_attempts):
        graded_attempt(activity=activity, user=user, correct=0)
    return activity, user, attempt_open(user=user, posttest=activity.posttest)


def right_answers(attempt):
    """The page's post data that answers every question of `attempt` right."""
    data = {"attempt": attempt.pk}
    for question in attempt.posttest.questions.prefetch_related("choices"):
        data[f"question-{question.pk}"] = next(c.pk for c in question.choices.all() if c.is_correct)
    return data


def right_answers_by_question(activity):
    """The grading service's answers that get every question of `activity` right."""
    return {
        question.pk: [choice.pk for choice in question.choices.all() if choice.is_correct]
        for question in activity.posttest.questions.prefetch_related("choices")
    }


def hand_in(client, activity, user, attempt):
    client.force_login(user)
    data = right_answers(attempt)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/activities/{activity.slug}/posttest/", data)
    assert response.status_code == 302
    return [query["sql"] for query in queries]


# The provider, the session's user, the participation with its activity, recording and
# post-test, the attempt, its questions joined to their choices, the count of the learner's
# other attempts; then the graded attempt with its answers and their choices, in one
# statement that needs no transaction (nor, here, savepoint) around it.
HAND_IN_QUERIES = 7


@pytest.mark.parametrize("question_count, earlier_attempts", [(2, 0), (9, 6)])
def test_it_hands_in_an_attempt_in_the_same_queries_for_more_questions_and_attempts(
    provider, client, django_assert_num_queries, question_count, earlier_attempts
):
    activity, user, attempt = learner_with_history(
        question_count=question_count, earlier_attempts=earlier_attempts
    )
    client.force_login(user)
    data = right_answers(attempt)
    with django_assert_num_queries(HAND_IN_QUERIES):
        response = client.post(f"/activities/{activity.slug}/posttest/", data)

    assert response.status_code == 302
    attempt.refresh_from_db()
    assert (attempt.passed, attempt.correct_count, attempt.question_count) == (True, question_count, question_count)
    assert AttemptAnswer.objects.filter(attempt=attempt).count() == question_count


def test_it_reads_the_questions_and_choices_once_per_submission(provider, client):
    queries = hand_in(client, *learner_with_history(question_count=4, earlier_attempts=2))

    reads = [sql for sql in queries if sql.startswith("SELECT")]
    assert sum('"quizzes_question"' in sql for sql in reads) == 1
    assert sum('"quizzes_choice"' in sql for sql in reads) == 1
    # The activity page's objectives, resources and faculty play no part in grading.
    assert not any('"courses_learningobjective"' in sql for sql in reads)


def test_it_reads_no_credit_extension_to_hand_in_an_attempt(provider, client):
    queries = hand_in(client, *learner_with_history(question_count=2, earlier_attempts=0))

    assert not any('"courses_creditextension"' in sql for sql in queries)


def test_it_counts_earlier_attempts_instead_of_loading_them(provider, client):
    queries = hand_in(client, *learner_with_history(question_count=2, earlier_attempts=3))

    attempt_reads = [
        sql for sql in queries if sql.startswith("SELECT") and 'FROM "quizzes_attempt"' in sql and "COUNT(" not in sql
    ]
    # The attempt handed in, read once to check it; grading claims it by its UPDATE.
    assert len(attempt_reads) == 1
    assert '"quizzes_attempt"."id" =' in attempt_reads[0]


def test_it_writes_only_the_columns_grading_changes(provider, client):
    queries = hand_in(client, *learner_with_history(question_count=2, earlier_attempts=0))

    [update] = [sql for sql in queries if 'UPDATE "quizzes_attempt"' in sql]
    assert '"submitted_at" =' in update and '"score" =' in update and '"passed" =' in update
    assert '"layout"' not in update
    assert '"started_at"' not in update
    # Only an attempt still open is graded: the UPDATE itself checks it, under its row lock.
    assert '"submitted_at" IS NULL' in update


def test_it_still_refuses_a_submission_before_the_wait_is_over(provider):
    activity, user, attempt = learner_with_history(question_count=2, earlier_attempts=0)
    attempt.delete()
    activity.posttest.minutes_between_attempts = 60
    activity.posttest.save()
    with time_machine.travel(datetime.datetime(2026, 11, 2, 10, 0, tzinfo=NEW_YORK), tick=False):
        graded_attempt(activity=activity, user=user, correct=0)
    # An attempt opened before staff set the wait, handed in during it.
    early = AttemptFactory(user=user, posttest=activity.posttest, layout=attempt.layout)
    with time_machine.travel(datetime.datetime(2026, 11, 2, 10, 30, tzinfo=NEW_YORK), tick=False):
        with pytest.raises(AttemptRefused, match="Please wait"):
            attempt_submit(attempt=early, user=user, answers={})
    early.refresh_from_db()
    assert early.submitted_at is None


def test_it_refuses_a_submission_after_a_pass_counted_in_the_database(provider):
    activity, user, attempt = learner_with_history(question_count=2, earlier_attempts=0)
    Attempt.objects.filter(pk=attempt.pk).update(
        submitted_at=attempt.started_at, passed=True, score=100, correct_count=2, question_count=2
    )
    second = AttemptFactory(user=user, posttest=activity.posttest, layout=attempt.layout)
    with pytest.raises(AttemptRefused, match="You have passed"):
        attempt_submit(attempt=second, user=user, answers={})


def test_it_opens_the_post_test_page_in_the_same_queries_however_many_earlier_attempts(provider, client):
    counts = []
    for earlier_attempts in (1, 6):
        activity, user, _ = learner_with_history(question_count=3, earlier_attempts=earlier_attempts)
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/activities/{activity.slug}/posttest/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_it_refuses_a_stale_copy_of_an_attempt_graded_meanwhile(provider):
    activity, user, attempt = learner_with_history(question_count=2, earlier_attempts=0)
    stale = Attempt.objects.get(pk=attempt.pk)
    graded = attempt_submit(attempt=attempt, user=user, answers={})
    assert stale.submitted_at is None

    with pytest.raises(AttemptClosed):
        attempt_submit(attempt=stale, user=user, answers=right_answers_by_question(activity))

    assert stale.submitted_at is None
    stale.refresh_from_db()
    assert (stale.submitted_at, stale.passed) == (graded.submitted_at, False)
    assert AttemptAnswer.objects.filter(attempt=attempt, is_correct=True).count() == 0
    assert AttemptAnswer.objects.filter(attempt=attempt).count() == 2


def test_it_grades_the_one_attempt_a_post_test_allows_without_counting_it_against_itself(provider):
    activity, user, attempt = learner_with_history(question_count=2, earlier_attempts=0)
    activity.posttest.max_attempts = 1
    activity.posttest.minutes_between_attempts = 60
    activity.posttest.save()

    graded = attempt_submit(attempt=attempt, user=user, answers=right_answers_by_question(activity))

    assert graded.passed
    attempt.refresh_from_db()
    assert attempt.passed and attempt.submitted_at is not None


def test_it_leaves_no_answer_behind_when_it_refuses_a_submission(provider):
    activity, user, attempt = learner_with_history(question_count=2, earlier_attempts=1)
    activity.posttest.max_attempts = 1
    activity.posttest.save()

    with pytest.raises(AttemptRefused, match="You have used all 1 attempts"):
        attempt_submit(attempt=attempt, user=user, answers=right_answers_by_question(activity))

    attempt.refresh_from_db()
    assert (attempt.submitted_at, attempt.score) == (None, None)
    assert not AttemptAnswer.objects.filter(attempt=attempt).exists()


def test_it_still_counts_a_question_without_choices_as_wrong(provider):
    # Questions and choices come from one joined read; a question with no choice left
    # must still count, or the learner would pass on fewer questions than the post-test has.
    activity = complete_activity(question_count=3, status=Activity.Status.DRAFT)
    empty = QuestionFactory(posttest=activity.posttest)
    user = UserFactory()
    attempt = attempt_open(user=user, posttest=activity.posttest)

    graded = attempt_submit(attempt=attempt, user=user, answers=right_answers_by_question(activity))

    assert (graded.correct_count, graded.question_count, graded.passed) == (3, 4, True)
    assert not AttemptAnswer.objects.get(attempt=attempt, question=empty).is_correct
