import random
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Max, ProtectedError
from django.utils import timezone

from courses.rules import text_problem
from courses.selectors import participation_of

from .models import (
    AnswerChoice,
    Attempt,
    AttemptAllowance,
    AttemptAnswer,
    Choice,
    Evaluation,
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationResponse,
    PostTest,
    Question,
)
from .rules import (
    answer_is_right,
    attempt_allowance_refusal,
    evaluation_is_editable,
    extra_attempts_problem,
    score_passes,
    score_percent,
)
from .selectors import attempt_questions, attempt_refusal_of, extra_attempts_of, posttest_standing

Kind = EvaluationQuestion.Kind
# The form a new installation starts from; staff edit it in the admin afterwards.
DEFAULT_EVALUATION_QUESTIONS = [
    ("The activity achieved its stated learning objectives.", Kind.LIKERT, True),
    ("What I learned applies to the patients I care for.", Kind.LIKERT, True),
    ("Was the content free of commercial bias?", Kind.YES_NO, True),
    ("Will you change your practice because of this activity?", Kind.COMMITMENT, True),
    ("Which topics would you like future activities to cover?", Kind.TEXT, False),
]


class AttemptClosed(Exception):
    """The attempt was already graded; a repeat submission changes nothing."""


class AttemptRefused(Exception):
    """The learner may not take (or hand in) an attempt now; the message says why."""


class EvaluationLocked(Exception):
    """The certificate is issued, so the evaluation it rests on no longer changes."""


def attempt_open(*, user, posttest, at=None, standing=None):
    """The learner's ungraded attempt, opened now if there is none and one is allowed.

    The order of questions and choices is drawn here, once, and kept on the attempt.
    `standing` is the learner's posttest_standing when the caller has just read it.
    """
    standing = standing or posttest_standing(user=user, posttest=posttest, at=at)
    if standing.refusal:
        raise AttemptRefused(standing.refusal)
    if standing.open_attempt:
        return standing.open_attempt
    questions = list(posttest.questions.prefetch_related("choices"))
    if not questions:
        raise AttemptRefused("This post-test is not ready yet. Please come back later.")
    if posttest.shuffle_questions:
        random.shuffle(questions)
    layout = []
    for question in questions:
        choice_ids = [choice.pk for choice in question.choices.all()]
        if posttest.shuffle_choices:
            random.shuffle(choice_ids)
        layout.append([question.pk, choice_ids])
    try:
        with transaction.atomic():
            return Attempt.objects.create(
                user=user, posttest=posttest, layout=layout, started_at=at or timezone.now()
            )
    except IntegrityError:
        return Attempt.objects.get(user=user, posttest=posttest, submitted_at__isnull=True)


def _chosen_ids(answers, question_id):
    """The choice ids posted for a question as a set; text that is no id becomes None,
    which matches no choice and so makes the answer wrong."""
    value = answers.get(question_id, answers.get(str(question_id)))
    if value is None:
        return set()
    values = value if isinstance(value, Iterable) and not isinstance(value, str) else [value]
    chosen = set()
    for item in values:
        try:
            chosen.add(int(item))
        except (TypeError, ValueError):
            chosen.add(None)
    return chosen


def attempt_submit(*, attempt, user, answers, at=None, questions=None):
    """Grade an open attempt on the server.

    `answers` maps question id to the chosen choice id, or to a list of ids for a
    multi-answer question, as posted. Questions of other post-tests are ignored; a
    choice that does not belong to its question, or a missing answer, counts as wrong.
    `questions` is attempt_questions of this attempt when the caller read it already (the
    page checks the posted form against it), so it is read once per submission.

    `attempt` may be stale: only its owner, post-test and layout, which never change, are
    read from it. Whether it is still open is decided by the database, under the row lock
    that the grading UPDATE takes, so simultaneous submissions grade once and refuse the
    rest. The learner's other attempts are counted before: a learner has one open attempt
    at a time (one_open_attempt_per_learner), so while this one is open none of the
    others can be graded, and the count cannot change under the grading.
    """
    if attempt.user_id != user.pk:
        raise Attempt.DoesNotExist("This attempt is not the learner's.")
    items = questions if questions is not None else attempt_questions(attempt=attempt)
    marked = []  # (question id, right)
    ticks = []  # (question id, ticked choice id): only the question's own choices
    for question, choices in items:
        chosen = _chosen_ids(answers, question.pk)
        marked.append((question.pk, answer_is_right(question=question, choices=choices, chosen_ids=chosen)))
        own = {choice.pk for choice in choices}
        ticks += [(question.pk, choice_id) for choice_id in sorted(chosen & own)]
    correct = sum(right for _, right in marked)
    result = {
        "correct_count": correct,
        "question_count": len(marked),
        "score": score_percent(correct=correct, total=len(marked)),
        "passed": score_passes(correct=correct, total=len(marked), pass_percent=attempt.posttest.pass_percent),
        "submitted_at": at or timezone.now(),
    }
    refusal = attempt_refusal_of(user=user, posttest=attempt.posttest, at=at, besides=attempt)
    if refusal:
        raise AttemptRefused(refusal)
    if not _attempt_grade(alias=router.db_for_write(Attempt), attempt=attempt, user=user, result=result,
                          marked=marked, ticks=ticks):
        raise AttemptClosed()
    for field, value in result.items():
        setattr(attempt, field, value)
    return attempt


def _attempt_grade(*, alias, attempt, user, result, marked, ticks):
    """Write `result` on the attempt, if it is `user`'s and still open, and its answers:
    whether it was. Grading only an attempt still open, in one statement: a second
    submission waits for the first to commit, then finds it graded and writes nothing."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=alias):
            still_open = Attempt.objects.using(alias).filter(pk=attempt.pk, user=user, submitted_at__isnull=True)
            if not still_open.update(**result):
                return False
            answers = AttemptAnswer.objects.using(alias).bulk_create(
                AttemptAnswer(attempt_id=attempt.pk, question_id=question_id, is_correct=right)
                for question_id, right in marked
            )
            answer_of = {answer.question_id: answer.pk for answer in answers}
            AnswerChoice.objects.using(alias).bulk_create(
                AnswerChoice(answer_id=answer_of[question_id], choice_id=choice_id)
                for question_id, choice_id in ticks
            )
            return True
    # On PostgreSQL the UPDATE, the answers and their ticks are one statement whose SQL is
    # built once: three statements compiled by the ORM cost more CPU than grading itself.
    # One statement is atomic by itself, so it needs no BEGIN and COMMIT, two of the hand-
    # in's round trips.
    params = [field.get_db_prep_save(result[field.name], connection) for field in _GRADED_FIELDS]
    params += [
        attempt.pk,
        user.pk,
        [question_id for question_id, _ in marked],
        [right for _, right in marked],
        [question_id for question_id, _ in ticks],
        [choice_id for _, choice_id in ticks],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_grading_sql(connection), params)
        return cursor.fetchone()[0] > 0


# What grading writes on the attempt, in the order of _grading_sql's parameters.
_GRADED_FIELDS = [
    Attempt._meta.get_field(name) for name in ("correct_count", "question_count", "score", "passed", "submitted_at")
]
_GRADING_SQL = {}


def _grading_sql(connection):
    """The one PostgreSQL statement of _attempt_grade, built from the models' _meta once
    per process. Its answers and ticks keep the order they are given in, as
    bulk_create's rows do."""
    if connection.vendor in _GRADING_SQL:
        return _GRADING_SQL[connection.vendor]
    quote = connection.ops.quote_name
    attempt_meta, answer_meta, tick_meta = Attempt._meta, AttemptAnswer._meta, AnswerChoice._meta

    def column(meta, name):
        return quote(meta.get_field(name).column)

    def array_type(meta, name):
        return f"{meta.get_field(name).db_type(connection)}[]"

    assignments = ", ".join(f"{quote(field.column)} = %s" for field in _GRADED_FIELDS)
    attempt_id = column(attempt_meta, "id")
    answer_id, answer_question = column(answer_meta, "id"), column(answer_meta, "question")
    sql = (
        f"WITH graded AS (UPDATE {quote(attempt_meta.db_table)} SET {assignments} "
        f"WHERE {attempt_id} = %s AND {column(attempt_meta, 'user')} = %s "
        f"AND {column(attempt_meta, 'submitted_at')} IS NULL RETURNING {attempt_id}), "
        f"answers AS (INSERT INTO {quote(answer_meta.db_table)} "
        f"({column(answer_meta, 'attempt')}, {answer_question}, {column(answer_meta, 'is_correct')}) "
        f"SELECT graded.{attempt_id}, marked.question_id, marked.is_correct FROM graded, "
        f"unnest(%s::{array_type(answer_meta, 'question')}, %s::{array_type(answer_meta, 'is_correct')}) "
        "WITH ORDINALITY AS marked(question_id, is_correct, position) ORDER BY marked.position "
        f"RETURNING {answer_id}, {answer_question}), "
        f"ticks AS (INSERT INTO {quote(tick_meta.db_table)} "
        f"({column(tick_meta, 'answer')}, {column(tick_meta, 'choice')}) "
        f"SELECT answers.{answer_id}, ticked.choice_id FROM answers JOIN "
        f"unnest(%s::{array_type(answer_meta, 'question')}, %s::{array_type(tick_meta, 'choice')}) "
        "WITH ORDINALITY AS ticked(question_id, choice_id, position) "
        f"ON ticked.question_id = answers.{answer_question} ORDER BY ticked.position) "
        "SELECT count(*) FROM graded"
    )
    _GRADING_SQL[connection.vendor] = sql
    return sql


def attempt_allowance_grant(*, user, posttest, extra_attempts, reason, granted_by, at=None):
    """Allow `user` `extra_attempts` more attempts at `posttest` than its cap, recording
    who allowed it and why. Raises ValidationError, granting nothing, when the reason or
    the number is missing or wrong (by field), or when quizzes.rules sees no use in more
    attempts (the post-test sets no cap, the learner passed or has attempts left)."""
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = "Give the reason for the extra attempts."
    elif text_problem(reason):
        errors["reason"] = f"The reason {text_problem(reason)}."
    if extra_attempts_problem(extra_attempts):
        errors["extra_attempts"] = extra_attempts_problem(extra_attempts)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # The learner's attempts are locked, so a form posted twice sees the attempts the
        # first post allowed, and refuses to allow more while they are unused.
        attempts = list(
            Attempt.objects.select_for_update().filter(user=user, posttest=posttest, submitted_at__isnull=False)
        )
        refusal = attempt_allowance_refusal(
            posttest=posttest,
            graded_count=len(attempts),
            passed=any(attempt.passed for attempt in attempts),
            extra_attempts=extra_attempts_of(user=user, posttest=posttest),
        )
        if refusal:
            raise ValidationError(refusal)
        return AttemptAllowance.objects.create(
            user=user,
            posttest=posttest,
            extra_attempts=extra_attempts,
            reason=reason,
            granted_by=granted_by,
            granted_at=at or timezone.now(),
        )


def evaluation_submit(*, user, evaluation, answers, at=None):
    """Store the learner's one evaluation response; `answers` maps question id to
    (value, comment). Submitting again replaces the answers but keeps the date of the
    first submission. Refused once the learner's certificate exists."""
    if not evaluation_is_editable(participation=participation_of(user=user, activity=evaluation.activity)):
        raise EvaluationLocked()
    moment = at or timezone.now()
    with transaction.atomic():
        response, created = EvaluationResponse.objects.select_for_update().get_or_create(
            evaluation=evaluation, user=user, defaults={"submitted_at": moment}
        )
        if not created:
            response.answers.all().delete()
            response.updated_at = moment
            response.save(update_fields=["updated_at"])
        EvaluationAnswer.objects.bulk_create(
            EvaluationAnswer(
                response=response,
                question=question,
                value=answers.get(question.pk, ("", ""))[0],
                comment=answers.get(question.pk, ("", ""))[1],
            )
            for question in evaluation.questions.all()
        )
    return response


def question_delete(*, question):
    """Delete a post-test question and its choices, or raise ValidationError saying why
    not: the activity is live (quizzes.guards), or learners' graded answers point at it
    (kept as the record of their attempts, even on a draft)."""
    try:
        with transaction.atomic():
            question.delete()
    except ProtectedError:
        raise ValidationError(
            f"Learners have already answered “{question.text}”, and their graded answers keep "
            "it: it cannot be deleted. Leave it in place, or duplicate the activity for a new "
            "run with other questions."
        ) from None


def evaluation_questions_copy(*, source, target):
    EvaluationQuestion.objects.bulk_create(
        EvaluationQuestion(
            evaluation=target, order=index, text=question.text, kind=question.kind, required=question.required
        )
        for index, question in enumerate(source.questions.all())
    )


def evaluation_default():
    """The default evaluation form, created with the standard questions on first use."""
    with transaction.atomic():
        evaluation, created = Evaluation.objects.get_or_create(is_default=True)
        if created:
            EvaluationQuestion.objects.bulk_create(
                EvaluationQuestion(
                    evaluation=evaluation, order=index, text=text, kind=kind, required=required
                )
                for index, (text, kind, required) in enumerate(DEFAULT_EVALUATION_QUESTIONS)
            )
    return evaluation


def evaluation_create_from_default(*, activity):
    """The activity's evaluation; a new one starts as a copy of the default form."""
    existing = Evaluation.objects.filter(activity=activity).first()
    if existing:
        return existing
    default = evaluation_default()
    try:
        with transaction.atomic():
            evaluation = Evaluation.objects.create(activity=activity)
            evaluation_questions_copy(source=default, target=evaluation)
    except IntegrityError:
        return Evaluation.objects.get(activity=activity)
    return evaluation


def posttest_questions_import(*, activity, questions, replace=False):
    """Add `questions` (quizzes.question_formats.ImportedQuestion, already checked) to the
    activity's post-test, after its questions or instead of them, all or nothing.

    The post-test is created with its defaults when the activity has none. Raises
    ValidationError, having saved nothing, when the activity is live (quizzes.guards) or
    when replacing questions learners have already answered.
    """
    with transaction.atomic():
        PostTest.objects.get_or_create(activity=activity)
        # Locked so that two imports at once number their questions one after the other.
        posttest = PostTest.objects.select_for_update().get(activity=activity)
        if replace:
            try:
                posttest.questions.all().delete()
            except ProtectedError:
                raise ValidationError(
                    "Learners have already answered this post-test's questions, and their graded "
                    "answers keep them: they cannot be replaced. Import without replacing, or "
                    "duplicate the activity for a new run."
                ) from None
            start = 0
        else:
            last = posttest.questions.aggregate(last=Max("order"))["last"]
            start = 0 if last is None else last + 1
        choices = []
        for index, imported in enumerate(questions):
            # Saved one by one, not in bulk: the live-activity guard listens to each save.
            question = Question.objects.create(
                posttest=posttest,
                order=start + index,
                text=imported.text,
                multiple=imported.multiple,
                explanation=imported.explanation,
            )
            choices += [
                Choice(
                    question=question,
                    order=order,
                    text=choice.text,
                    is_correct=choice.correct,
                    feedback=choice.feedback,
                )
                for order, choice in enumerate(imported.choices)
            ]
        Choice.objects.bulk_create(choices, batch_size=1000)
    return posttest
