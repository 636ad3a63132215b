"""What grading a hand-in writes: on PostgreSQL the graded attempt, its answers and their
ticked choices in one statement; elsewhere (SQLite) the same rows by the ORM."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.models import Activity
from quizzes import services
from quizzes.models import AnswerChoice, Attempt, AttemptAnswer
from quizzes.services import AttemptClosed, AttemptRefused, attempt_open, attempt_submit

from .conftest import writes_by_orm
from .factories import (
    AttemptFactory,
    ChoiceFactory,
    QuestionFactory,
    UserFactory,
    complete_activity,
    multi_answer_question,
)

pytestmark = pytest.mark.django_db

AT = datetime.datetime(2026, 11, 3, 15, 0, tzinfo=datetime.UTC)


# The writer the `write_path` fixture (conftest) makes write by the ORM.
ORM_WRITER = (services, "_attempt_grade")


def written(attempt):
    """The attempt's grading, its answers and their ticks, as rows in the order written."""
    attempt = Attempt.objects.get(pk=attempt.pk)
    return (
        (attempt.correct_count, attempt.question_count, attempt.score, attempt.passed, attempt.submitted_at),
        list(AttemptAnswer.objects.filter(attempt=attempt).order_by("pk").values_list("question_id", "is_correct")),
        list(
            AnswerChoice.objects.filter(answer__attempt=attempt)
            .order_by("pk")
            .values_list("answer__question_id", "choice_id")
        ),
    )


def mixed_post_test():
    """A draft post-test of five questions: two single-answer, a multi-answer one answered
    right, one answered with a wrong tick too, and one no one answers."""
    activity = complete_activity(question_count=2, status=Activity.Status.DRAFT)
    multi_answer_question(posttest=activity.posttest)
    multi_answer_question(posttest=activity.posttest)
    unanswered = QuestionFactory(posttest=activity.posttest)
    ChoiceFactory(question=unanswered, is_correct=True)
    ChoiceFactory(question=unanswered, is_correct=False)
    return activity


def mixed_answers(activity):
    """The first single-answer question right, the second with a choice of another
    question (ignored: not ticked, and wrong), the first multi-answer question right, the
    second with every choice ticked, the last question left out."""
    single, other_single, multi, over_ticked, _ = activity.posttest.questions.order_by("order", "pk")

    def ids(question, **filters):
        return sorted(question.choices.filter(**filters).values_list("pk", flat=True))

    foreign = ids(single, is_correct=True)[0]
    return {
        single.pk: ids(single, is_correct=True),
        other_single.pk: [foreign],
        multi.pk: ids(multi, is_correct=True),
        over_ticked.pk: ids(over_ticked),
    }, (single, other_single, multi, over_ticked)


def test_it_writes_the_grading_and_the_answers_in_one_statement_on_postgresql():
    activity = mixed_post_test()
    user = UserFactory()
    attempt = attempt_open(user=user, posttest=activity.posttest)
    answers, _ = mixed_answers(activity)

    with CaptureQueriesContext(connection) as queries:
        attempt_submit(attempt=attempt, user=user, answers=answers, at=AT)

    # The savepoints the test's own transaction adds are no writes.
    writes = [sql for sql in (query["sql"] for query in queries) if '"quizzes_' in sql and not sql.startswith("SELECT")]
    [statement] = writes
    assert 'UPDATE "quizzes_attempt"' in statement
    assert 'INSERT INTO "quizzes_attemptanswer"' in statement
    assert 'INSERT INTO "quizzes_answerchoice"' in statement


def test_it_writes_the_same_rows_as_the_orm(monkeypatch):
    activity = mixed_post_test()
    answers, (single, other_single, multi, over_ticked) = mixed_answers(activity)
    first, second = UserFactory(), UserFactory()
    by_statement = attempt_open(user=first, posttest=activity.posttest)
    by_orm = AttemptFactory(user=second, posttest=activity.posttest, layout=by_statement.layout)

    attempt_submit(attempt=by_statement, user=first, answers=answers, at=AT)
    writes_by_orm(monkeypatch, services, "_attempt_grade")
    attempt_submit(attempt=by_orm, user=second, answers=answers, at=AT)

    assert written(by_statement) == written(by_orm)
    grading, marked, ticks = written(by_statement)
    assert grading[:4] == (2, 5, 40, False)
    assert dict(marked) == {
        single.pk: True,
        other_single.pk: False,
        multi.pk: True,
        over_ticked.pk: False,
        activity.posttest.questions.order_by("order", "pk").last().pk: False,
    }
    # In the attempt's order of questions, each question's ticks by id; the foreign
    # choice posted for other_single is nowhere.
    order = {question_id: position for position, (question_id, _) in enumerate(by_statement.layout)}
    expected = [
        (question.pk, choice_id)
        for question in sorted((single, multi, over_ticked), key=lambda question: order[question.pk])
        for choice_id in answers[question.pk]
    ]
    assert ticks == expected


def test_it_writes_nothing_more_for_an_attempt_already_graded(write_path):
    activity = mixed_post_test()
    user = UserFactory()
    attempt = attempt_open(user=user, posttest=activity.posttest)
    answers, _ = mixed_answers(activity)
    attempt_submit(attempt=attempt, user=user, answers=answers, at=AT)
    before = written(attempt)

    replayed = Attempt.objects.get(pk=attempt.pk)
    replayed.submitted_at = None
    with pytest.raises(AttemptClosed):
        attempt_submit(attempt=replayed, user=user, answers={}, at=AT + datetime.timedelta(minutes=1))

    assert written(attempt) == before


def test_it_writes_nothing_on_an_attempt_of_another_learner_passed_off_as_ones_own(write_path):
    activity = mixed_post_test()
    owner, forger = UserFactory(), UserFactory()
    attempt = attempt_open(user=owner, posttest=activity.posttest)
    answers, _ = mixed_answers(activity)
    # Past the service's own check of the owner: the statement checks it again.
    forged = Attempt.objects.get(pk=attempt.pk)
    forged.user_id = forger.pk

    with pytest.raises(AttemptClosed):
        attempt_submit(attempt=forged, user=forger, answers=answers, at=AT)

    assert written(attempt) == ((0, 0, None, False, None), [], [])


def test_it_takes_back_the_answers_written_when_it_refuses_the_attempt(write_path):
    activity = complete_activity(question_count=2)
    activity.posttest.max_attempts = 1
    activity.posttest.save()
    user = UserFactory()
    first = attempt_open(user=user, posttest=activity.posttest)
    attempt_submit(attempt=first, user=user, answers={}, at=AT)
    # An attempt opened past the cap (staff lowered it meanwhile), handed in.
    late = AttemptFactory(user=user, posttest=activity.posttest, layout=first.layout)

    with pytest.raises(AttemptRefused, match="You have used all 1 attempts"):
        attempt_submit(attempt=late, user=user, answers={}, at=AT)

    assert written(late) == ((0, 0, None, False, None), [], [])


def test_it_grades_an_attempt_whose_questions_were_all_removed(write_path):
    activity = complete_activity(question_count=2, status=Activity.Status.DRAFT)
    user = UserFactory()
    attempt = attempt_open(user=user, posttest=activity.posttest)
    activity.posttest.questions.all().delete()

    attempt_submit(attempt=attempt, user=user, answers={}, at=AT)

    assert written(attempt) == ((0, 0, 0, False, AT), [], [])
