"""The post-test's cost per request (issue 18): handing in an attempt reads the post-test,
its questions and choices once, counts the learner's earlier attempts instead of loading
them and writes only what grading changes, in the same number of queries however many
questions and earlier attempts there are."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from quizzes.models import Attempt, AttemptAnswer
from quizzes.services import AttemptRefused, attempt_open, attempt_submit

from .conftest import NEW_YORK
from .factories import AttemptFactory, ParticipationFactory, UserFactory, complete_activity, graded_attempt


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


def hand_in(client, activity, user, attempt):
    client.force_login(user)
    data = right_answers(attempt)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/activities/{activity.slug}/posttest/", data)
    assert response.status_code == 302
    return [query["sql"] for query in queries]


def test_it_hands_in_an_attempt_in_the_same_queries_for_more_questions_and_attempts(provider, client):
    small = hand_in(client, *learner_with_history(question_count=2, earlier_attempts=1))
    activity, user, attempt = learner_with_history(question_count=9, earlier_attempts=6)
    large = hand_in(client, activity, user, attempt)

    assert len(small) == len(large)
    attempt.refresh_from_db()
    assert (attempt.passed, attempt.correct_count, attempt.question_count) == (True, 9, 9)
    assert AttemptAnswer.objects.filter(attempt=attempt).count() == 9


def test_it_reads_the_questions_and_choices_once_per_submission(provider, client):
    queries = hand_in(client, *learner_with_history(question_count=4, earlier_attempts=2))

    assert sum('FROM "quizzes_question"' in sql for sql in queries) == 1
    assert sum('FROM "quizzes_choice"' in sql for sql in queries) == 1
    # The activity page's objectives, resources and faculty play no part in grading.
    assert not any('FROM "courses_learningobjective"' in sql for sql in queries)


def test_it_counts_earlier_attempts_instead_of_loading_them(provider, client):
    queries = hand_in(client, *learner_with_history(question_count=2, earlier_attempts=3))

    attempt_reads = [sql for sql in queries if 'FROM "quizzes_attempt"' in sql and "COUNT(" not in sql]
    # The attempt handed in, once to check it and once locked to grade it; never the rest.
    assert len(attempt_reads) == 2
    assert all('"quizzes_attempt"."id" =' in sql for sql in attempt_reads)


def test_it_writes_only_the_columns_grading_changes(provider, client):
    queries = hand_in(client, *learner_with_history(question_count=2, earlier_attempts=0))

    [update] = [sql for sql in queries if sql.startswith('UPDATE "quizzes_attempt"')]
    assert '"submitted_at"' in update and '"score"' in update and '"passed"' in update
    assert '"layout"' not in update
    assert '"started_at"' not in update


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
            attempt_submit(attempt_id=early.pk, user=user, answers={})
    early.refresh_from_db()
    assert early.submitted_at is None


def test_it_refuses_a_submission_after_a_pass_counted_in_the_database(provider):
    activity, user, attempt = learner_with_history(question_count=2, earlier_attempts=0)
    Attempt.objects.filter(pk=attempt.pk).update(
        submitted_at=attempt.started_at, passed=True, score=100, correct_count=2, question_count=2
    )
    second = AttemptFactory(user=user, posttest=activity.posttest, layout=attempt.layout)
    with pytest.raises(AttemptRefused, match="You have passed"):
        attempt_submit(attempt_id=second.pk, user=user, answers={})


def test_it_opens_the_post_test_page_in_the_same_queries_however_many_earlier_attempts(provider, client):
    counts = []
    for earlier_attempts in (1, 6):
        activity, user, _ = learner_with_history(question_count=3, earlier_attempts=earlier_attempts)
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/activities/{activity.slug}/posttest/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
