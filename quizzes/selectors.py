from collections import Counter

from django.db import router
from django.db.models import Case, Count, Max, Prefetch, Q, Sum, When
from django.db.models.functions import Lower, Trim

from courses.prepared import PreparedQuery

from .models import (
    COMMITMENT_CHOICES,
    LIKERT_CHOICES,
    YES_NO_CHOICES,
    Attempt,
    AttemptAllowance,
    AttemptAnswer,
    Choice,
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationResponse,
    PostTest,
    Question,
)
from .rules import (
    attempt_refusal,
    attempt_review_level,
    attempts_used_up,
    next_attempt_time,
    standing_of,
)


# The credit gate reads these on every claim page and claim: compiled once.
_PASSED_ATTEMPT = PreparedQuery(
    Attempt,
    lambda *, user_id, activity_id: Attempt.objects.filter(
        user_id=user_id, posttest__activity_id=activity_id, passed=True
    )
    .select_related("posttest__activity")
    .order_by("submitted_at")[:1],
    user_id=-(2**62) + 47,
    activity_id=-(2**62) + 53,
)
_EVALUATION_RESPONSE = PreparedQuery(
    EvaluationResponse,
    lambda *, user_id, activity_id: EvaluationResponse.objects.filter(
        user_id=user_id, evaluation__activity_id=activity_id
    ).order_by("pk")[:1],
    user_id=-(2**62) + 59,
    activity_id=-(2**62) + 61,
)


def posttest_passed_attempt(*, user, activity):
    """The learner's first passing attempt on the activity's post-test, or None."""
    return _PASSED_ATTEMPT.first(user_id=user.pk, activity_id=activity.pk)


def extra_attempts_of(*, user, posttest):
    """How many attempts beyond the post-test's cap staff allowed `user` in all."""
    total = AttemptAllowance.objects.filter(user=user, posttest=posttest).aggregate(
        total=Sum("extra_attempts")
    )["total"]
    return total or 0


def _extra_attempts_if_capped(*, user, posttest, graded_count):
    # Allowances only matter to a learner who has used the post-test's own attempts, so
    # everyone else is spared the query.
    if attempts_used_up(posttest=posttest, graded_count=graded_count):
        return extra_attempts_of(user=user, posttest=posttest)
    return 0


def posttest_standing(*, user, posttest, at=None):
    attempts = list(Attempt.objects.filter(user=user, posttest=posttest))
    graded_count = sum(attempt.is_submitted for attempt in attempts)
    return standing_of(
        posttest=posttest,
        attempts=attempts,
        at=at,
        extra_attempts=_extra_attempts_if_capped(user=user, posttest=posttest, graded_count=graded_count),
    )


_LEARNER_ATTEMPT = PreparedQuery(
    Attempt,
    lambda *, pk, user_id, posttest_id: Attempt.objects.filter(pk=pk, user_id=user_id, posttest_id=posttest_id),
    pk=-(2**62) + 31,
    user_id=-(2**62) + 37,
    posttest_id=-(2**62) + 41,
)


def learner_attempt(*, pk, user, posttest):
    """`user`'s attempt `pk` at `posttest`, or Attempt.DoesNotExist (another learner's
    attempt or another post-test's does not exist for them). Compiled once: every
    hand-in reads it."""
    attempt = _LEARNER_ATTEMPT.first(pk=pk, user_id=user.pk, posttest_id=posttest.pk)
    if attempt is None:
        raise Attempt.DoesNotExist("No such attempt of this learner at this post-test.")
    return attempt


_GRADED_TOTALS = {"count": Count("pk"), "passed": Count("pk", filter=Q(passed=True)), "last": Max("submitted_at")}
# Every hand-in asks it: compiled once.
_GRADED_BESIDES = PreparedQuery(
    Attempt,
    lambda *, user_id, posttest_id, besides_id: Attempt.objects.filter(
        user_id=user_id, posttest_id=posttest_id, submitted_at__isnull=False
    )
    .exclude(pk=besides_id)
    .order_by()
    .values("posttest_id")
    .annotate(**_GRADED_TOTALS)
    .values_list(*_GRADED_TOTALS),
    user_id=-(2**62) + 19,
    posttest_id=-(2**62) + 23,
    besides_id=-(2**62) + 29,
)


def attempt_refusal_of(*, user, posttest, at=None, besides=None):
    """posttest_standing(...).refusal from an aggregate of the learner's graded attempts
    rather than the attempts themselves: one small query however many they took.
    `besides` is an attempt left out of the count: the one being graded."""
    # No attempt has id 0: without `besides`, none is left out.
    found = _GRADED_BESIDES.rows(user_id=user.pk, posttest_id=posttest.pk, besides_id=besides.pk if besides else 0)
    graded = dict(zip(_GRADED_TOTALS, found[0])) if found else {"count": 0, "passed": 0, "last": None}
    return attempt_refusal(
        posttest=posttest,
        graded_count=graded["count"],
        passed=graded["passed"] > 0,
        next_attempt_at=next_attempt_time(posttest=posttest, last_submitted_at=graded["last"], at=at),
        extra_attempts=_extra_attempts_if_capped(user=user, posttest=posttest, graded_count=graded["count"]),
    )


def evaluation_response_of(*, user, activity):
    return _EVALUATION_RESPONSE.first(user_id=user.pk, activity_id=activity.pk)


_QUESTION_FIELDS = Question._meta.concrete_fields
_CHOICE_FIELDS = Choice._meta.concrete_fields
# Read on every post-test page and hand-in: compiled once.
_QUESTIONS_WITH_CHOICES = PreparedQuery(
    Question,
    lambda *, posttest_id: Question.objects.filter(posttest_id=posttest_id)
    .order_by("order", "pk", "choices__order", "choices__pk")
    .values_list(
        *(field.name for field in _QUESTION_FIELDS),
        *(f"choices__{field.name}" for field in _CHOICE_FIELDS),
    ),
    posttest_id=-(2**62) + 17,
)


def _questions_with_choices(*, posttest_id):
    """{question: [its choices]} of a post-test, in their stored order, from one query:
    the questions joined to their choices (a question without any keeps an empty list)."""
    db = router.db_for_read(Question)
    question_names = [field.attname for field in _QUESTION_FIELDS]
    choice_names = [field.attname for field in _CHOICE_FIELDS]
    split = len(_QUESTION_FIELDS)
    questions = {}
    for row in _QUESTIONS_WITH_CHOICES.rows(posttest_id=posttest_id):
        question_row, choice_row = row[:split], row[split:]
        if question_row[0] not in questions:
            questions[question_row[0]] = (Question.from_db(db, question_names, question_row), [])
        if choice_row[0] is not None:
            questions[question_row[0]][1].append(Choice.from_db(db, choice_names, choice_row))
    return dict(questions.values())


def attempt_questions(*, attempt):
    """The post-test's questions with their choices, in the order `attempt` shows them.

    Questions and choices staff add while the attempt is open come last; ones they
    remove drop out. Grading and the page both read this, so they never disagree.
    """
    choices_of = _questions_with_choices(posttest_id=attempt.posttest_id)
    layout = {question_id: position for position, (question_id, _) in enumerate(attempt.layout)}
    choice_layout = {question_id: choice_ids for question_id, choice_ids in attempt.layout}
    questions = sorted(choices_of, key=lambda question: layout.get(question.pk, len(layout)))
    items = []
    for question in questions:
        order = {pk: position for position, pk in enumerate(choice_layout.get(question.pk, []))}
        choices = sorted(choices_of[question], key=lambda choice: order.get(choice.pk, len(order)))
        items.append((question, choices))
    return items


def attempt_review(*, attempt):
    """The graded attempt question by question, for the result page.

    Only what the post-test's setting lets this attempt show is filled in: no questions
    at all for the score only, no correct choices, explanations or feedback unless the
    correct answers are revealed, so a template cannot leak them by mistake.
    """
    level = attempt_review_level(attempt=attempt)
    if level == PostTest.Review.SCORE:
        return []
    revealed = level == PostTest.Review.CORRECT_ANSWERS
    answers = {
        answer.question_id: answer
        for answer in AttemptAnswer.objects.filter(attempt=attempt).prefetch_related(
            Prefetch("choices", to_attr="ticked")
        )
    }
    items = []
    for question, choices in attempt_questions(attempt=attempt):
        answer = answers.get(question.pk)
        if answer is None:
            # Added after this attempt was graded: not part of it.
            continue
        ticked = {choice.pk for choice in answer.ticked}
        items.append(
            {
                "question": question,
                "right": answer.is_correct,
                "explanation": question.explanation if revealed else "",
                "choices": [
                    {
                        "text": choice.text,
                        "ticked": choice.pk in ticked,
                        "correct": revealed and choice.is_correct,
                        # What the learner's own answer says, alongside the explanation.
                        "feedback": choice.feedback if revealed and choice.pk in ticked else "",
                    }
                    for choice in choices
                ],
            }
        )
    return items


EVALUATION_SCALES = {
    EvaluationQuestion.Kind.LIKERT: LIKERT_CHOICES,
    EvaluationQuestion.Kind.YES_NO: YES_NO_CHOICES,
    EvaluationQuestion.Kind.COMMITMENT: COMMITMENT_CHOICES,
    EvaluationQuestion.Kind.TEXT: [],
}


def evaluation_answer_counts(*, evaluation):
    """How many learners gave each answer of a scale: Counter of (question id, value)."""
    return Counter(
        {
            (row["question_id"], row["value"]): row["n"]
            for row in EvaluationAnswer.objects.filter(question__evaluation=evaluation)
            .exclude(question__kind=EvaluationQuestion.Kind.TEXT)
            .values("question_id", "value")
            .annotate(n=Count("pk"))
        }
    )


def evaluation_texts(*, evaluation):
    """(question id, text) of the free-text answers and commitments to change, blank ones
    left out, without who wrote them: question by question in the form's order, and
    alphabetically within each, so the list cannot be matched to the order responses
    came in. A queryset, so an export reads it in chunks."""
    kind = EvaluationQuestion.Kind
    text = Trim(Case(When(question__kind=kind.TEXT, then="value"), default="comment"))
    return (
        EvaluationAnswer.objects.filter(
            question__evaluation=evaluation, question__kind__in=[kind.TEXT, kind.COMMITMENT]
        )
        .annotate(text=text)
        .exclude(text="")
        .order_by("question__order", "question_id", Lower("text"), "pk")
        .values_list("question_id", "text")
    )


def evaluation_summary(*, evaluation):
    """Aggregates of the answers to `evaluation`, for reports.

    Counts per Likert value, yes/no and commitment answer; free text (and what learners
    commit to change) listed without who wrote it, in alphabetical order so the list
    cannot be matched to the order responses came in.
    """
    kind = EvaluationQuestion.Kind
    counts = evaluation_answer_counts(evaluation=evaluation)
    texts = {}
    for question_id, question_kind, value, comment in EvaluationAnswer.objects.filter(
        question__evaluation=evaluation, question__kind__in=[kind.TEXT, kind.COMMITMENT]
    ).values_list("question_id", "question__kind", "value", "comment"):
        text = (value if question_kind == kind.TEXT else comment).strip()
        if text:
            texts.setdefault(question_id, []).append(text)
    summary = []
    for question in evaluation.questions.all():
        scale = EVALUATION_SCALES[question.kind]
        question_texts = sorted(texts.get(question.pk, []), key=str.casefold)
        summary.append(
            {
                "question": question,
                "counts": [
                    {"value": value, "label": label, "count": counts[question.pk, value]}
                    for value, label in scale
                ],
                "answered": sum(counts[question.pk, value] for value, _ in scale)
                if scale
                else len(question_texts),
                "texts": question_texts,
            }
        )
    return summary


def evaluation_answers_of(*, response):
    """The learner's own answers, as initial values for the evaluation form."""
    initial = {}
    for answer in response.answers.all():
        initial[f"q{answer.question_id}"] = answer.value
        if answer.comment:
            initial[f"q{answer.question_id}_comment"] = answer.comment
    return initial

