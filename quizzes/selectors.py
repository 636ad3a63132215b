from collections import Counter

from django.db.models import Count, Prefetch

from .models import (
    COMMITMENT_CHOICES,
    LIKERT_CHOICES,
    YES_NO_CHOICES,
    Attempt,
    AttemptAnswer,
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationResponse,
    PostTest,
)
from .rules import attempt_review_level, standing_of


def posttest_passed_attempt(*, user, activity):
    """The learner's first passing attempt on the activity's post-test, or None."""
    return (
        Attempt.objects.filter(user=user, posttest__activity=activity, passed=True)
        .select_related("posttest__activity")
        .order_by("submitted_at")
        .first()
    )


def posttest_standing(*, user, posttest, at=None):
    attempts = list(Attempt.objects.filter(user=user, posttest=posttest))
    return standing_of(posttest=posttest, attempts=attempts, at=at)


def evaluation_response_of(*, user, activity):
    return EvaluationResponse.objects.filter(user=user, evaluation__activity=activity).first()


def attempt_questions(*, attempt):
    """The post-test's questions with their choices, in the order `attempt` shows them.

    Questions and choices staff add while the attempt is open come last; ones they
    remove drop out. Grading and the page both read this, so they never disagree.
    """
    questions = list(attempt.posttest.questions.prefetch_related("choices"))
    layout = {question_id: position for position, (question_id, _) in enumerate(attempt.layout)}
    choice_layout = {question_id: choice_ids for question_id, choice_ids in attempt.layout}
    questions.sort(key=lambda question: layout.get(question.pk, len(layout)))
    items = []
    for question in questions:
        order = {pk: position for position, pk in enumerate(choice_layout.get(question.pk, []))}
        choices = sorted(question.choices.all(), key=lambda choice: order.get(choice.pk, len(order)))
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


def evaluation_summary(*, evaluation):
    """Aggregates of the answers to `evaluation`, for reports.

    Counts per Likert value, yes/no and commitment answer; free text (and what learners
    commit to change) listed without who wrote it, in alphabetical order so the list
    cannot be matched to the order responses came in.
    """
    kind = EvaluationQuestion.Kind
    scales = {
        kind.LIKERT: LIKERT_CHOICES,
        kind.YES_NO: YES_NO_CHOICES,
        kind.COMMITMENT: COMMITMENT_CHOICES,
        kind.TEXT: [],
    }
    answers = EvaluationAnswer.objects.filter(question__evaluation=evaluation)
    counts = Counter(
        {
            (row["question_id"], row["value"]): row["n"]
            for row in answers.exclude(question__kind=kind.TEXT)
            .values("question_id", "value")
            .annotate(n=Count("pk"))
        }
    )
    texts = {}
    for question_id, question_kind, value, comment in answers.filter(
        question__kind__in=[kind.TEXT, kind.COMMITMENT]
    ).values_list("question_id", "question__kind", "value", "comment"):
        text = (value if question_kind == kind.TEXT else comment).strip()
        if text:
            texts.setdefault(question_id, []).append(text)
    summary = []
    for question in evaluation.questions.all():
        scale = scales[question.kind]
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

