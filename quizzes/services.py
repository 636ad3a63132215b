from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import (
    Attempt,
    AttemptAnswer,
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationResponse,
    score_passes,
    score_percent,
)


class AttemptClosed(Exception):
    """The attempt was already graded; a repeat submission changes nothing."""


def attempt_open(*, user, posttest):
    """The learner's ungraded attempt, opened now if there is none."""
    attempt = Attempt.objects.filter(user=user, posttest=posttest, submitted_at__isnull=True).first()
    if attempt:
        return attempt
    try:
        with transaction.atomic():
            return Attempt.objects.create(user=user, posttest=posttest)
    except IntegrityError:
        return Attempt.objects.get(user=user, posttest=posttest, submitted_at__isnull=True)


def attempt_submit(*, attempt_id, user, answers, at=None):
    """Grade an open attempt on the server.

    `answers` maps question id to the chosen choice id, as posted. A choice that does not
    belong to the question, or a missing answer, counts as wrong. The row lock makes a
    double submission grade once and refuse the second.
    """
    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update()
            .select_related("posttest")
            .get(pk=attempt_id, user=user)
        )
        if attempt.submitted_at is not None:
            raise AttemptClosed()
        questions = list(attempt.posttest.questions.prefetch_related("choices"))
        rows = []
        for question in questions:
            chosen = {str(choice.pk): choice for choice in question.choices.all()}.get(
                str(answers.get(question.pk, ""))
            )
            rows.append(
                AttemptAnswer(
                    attempt=attempt,
                    question=question,
                    choice=chosen,
                    is_correct=bool(chosen and chosen.is_correct),
                )
            )
        AttemptAnswer.objects.bulk_create(rows)
        correct = sum(row.is_correct for row in rows)
        attempt.correct_count = correct
        attempt.question_count = len(rows)
        attempt.score = score_percent(correct=correct, total=len(rows))
        attempt.passed = score_passes(
            correct=correct, total=len(rows), pass_percent=attempt.posttest.pass_percent
        )
        attempt.submitted_at = at or timezone.now()
        attempt.save()
    return attempt


def evaluation_submit(*, user, evaluation, answers, at=None):
    """Store the learner's one evaluation response; `answers` maps question id to
    (value, comment). Submitting again replaces the earlier answers."""
    with transaction.atomic():
        response, created = EvaluationResponse.objects.select_for_update().get_or_create(
            evaluation=evaluation, user=user, defaults={"submitted_at": at or timezone.now()}
        )
        if not created:
            response.answers.all().delete()
            response.submitted_at = at or timezone.now()
            response.save(update_fields=["submitted_at"])
        questions = EvaluationQuestion.objects.filter(evaluation=evaluation)
        EvaluationAnswer.objects.bulk_create(
            EvaluationAnswer(
                response=response,
                question=question,
                value=answers.get(question.pk, ("", ""))[0],
                comment=answers.get(question.pk, ("", ""))[1],
            )
            for question in questions
        )
    return response
