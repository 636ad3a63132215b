"""Reads behind the staff reports and exports (SPEC §5)."""

from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby

from django.db.models import (
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    OuterRef,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.shortcuts import get_object_or_404

from certificates.models import Certificate
from courses.models import Activity, Participation
from quizzes.models import Attempt, Evaluation, EvaluationResponse
from quizzes.selectors import (
    EVALUATION_SCALES,
    evaluation_answer_counts,
    evaluation_texts,
    evaluation_summary,
)

from .models import User

SCORE_BAND_WIDTH = 10


def count_per_activity(queryset, *, activity_path, distinct_field="pk"):
    """The count of `queryset` rows per activity as a subquery, so a list of activities
    takes one query however many it holds."""
    return Coalesce(
        Subquery(
            queryset.filter(**{activity_path: OuterRef("pk")})
            .order_by()
            .values(activity_path)
            .annotate(n=Count(distinct_field, distinct=distinct_field != "pk"))
            .values("n"),
            output_field=IntegerField(),
        ),
        Value(0),
    )


def _sum_per_activity(field):
    return Subquery(
        Certificate.objects.standing()
        .filter(activity=OuterRef("pk"))
        .order_by()
        .values("activity")
        .annotate(total=Sum(field))
        .values("total")
    )


def activities_with_completion_counts():
    """Every activity with the learners who started, evaluated, took and passed its
    post-test, the certificates it earned (revoked ones do not count), the credits and
    hours they certify, and the pass rate: passed learners per learner with a graded
    attempt, as a percentage (None when nobody took the post-test)."""
    graded = Attempt.objects.filter(submitted_at__isnull=False)
    return (
        Activity.objects.select_related("series")
        .annotate(
            started=count_per_activity(Participation.objects.all(), activity_path="activity"),
            evaluated=count_per_activity(
                EvaluationResponse.objects.all(), activity_path="evaluation__activity"
            ),
            tested=count_per_activity(
                graded, activity_path="posttest__activity", distinct_field="user"
            ),
            passed=count_per_activity(
                graded.filter(passed=True), activity_path="posttest__activity", distinct_field="user"
            ),
            certified=count_per_activity(
                Certificate.objects.standing(), activity_path="activity"
            ),
            credits_claimed=Coalesce(_sum_per_activity("credits_claimed"), Value(Decimal(0))),
            hours=Coalesce(_sum_per_activity("hours"), Value(Decimal(0))),
        )
        .annotate(
            pass_rate=Cast(F("passed"), FloatField()) * 100 / NullIf(Cast(F("tested"), FloatField()), 0.0)
        )
        .order_by("-release_date", "title")
    )


@dataclass
class Bar:
    """One bar of a chart: its label, count and share of the whole in percent."""

    label: str
    count: int
    percent: float


def _bars(pairs):
    total = sum(count for _, count in pairs)
    return [Bar(label, count, count * 100 / total if total else 0.0) for label, count in pairs]


def score_distribution(*, activity):
    """Learners per 10-point band of their best graded post-test score (100 falls in the
    top band), so retakes do not count a learner twice."""
    bests = (
        Attempt.objects.filter(posttest__activity=activity, submitted_at__isnull=False)
        .values("user")
        .annotate(best=Max("score"))
        .values_list("best", flat=True)
    )
    bands = [0] * (100 // SCORE_BAND_WIDTH)
    for best in bests:
        bands[min(int(best or 0) // SCORE_BAND_WIDTH, len(bands) - 1)] += 1
    labels = [
        f"{low}–{low + SCORE_BAND_WIDTH - 1}%" for low in range(0, 100, SCORE_BAND_WIDTH)
    ]
    labels[-1] = f"{100 - SCORE_BAND_WIDTH}–100%"
    return _bars(list(zip(labels, bands)))


def evaluation_report(*, activity):
    """The activity's evaluation summary, each answer count with its share of the
    question's answers for the chart; an empty list when the activity has no evaluation."""
    evaluation = Evaluation.objects.filter(activity=activity).first()
    if evaluation is None:
        return []
    return [
        {
            **item,
            "bars": _bars([(count["label"], count["count"]) for count in item["counts"]]),
        }
        for item in evaluation_summary(evaluation=evaluation)
    ]


@dataclass
class ActivityReport:
    activity: Activity
    scores: list
    evaluation: list


def activity_report(*, slug):
    """The completion report of one activity: its counts, score distribution and
    evaluation summary. Raises Http404 for an unknown slug."""
    activity = get_object_or_404(activities_with_completion_counts(), slug=slug)
    return ActivityReport(
        activity=activity,
        scores=score_distribution(activity=activity),
        evaluation=evaluation_report(activity=activity),
    )


# Rows a server-side cursor fetches at a time: exports hold one chunk, not the whole file.
EXPORT_CHUNK_ROWS = 2000


def activity_completions(*, activity):
    """Every certificate of the activity, revoked ones included (the state says so), in
    the order they were earned, as rows of the completions export: number, learner's
    name, e-mail, degree, profession, completion date, credit type, amount, state."""
    professions = dict(User.Profession.choices)
    rows = (
        Certificate.objects.filter(activity=activity)
        .order_by("completed_on", "pk")
        .values_list(
            "number", "learner_name", "user__email", "learner_degree", "user__profession",
            "completed_on", "kind", "credits_claimed", "hours", "state",
        )
    )
    for number, name, email, degree, profession, completed_on, kind, credits, hours, state in rows.iterator(
        chunk_size=EXPORT_CHUNK_ROWS
    ):
        yield [
            number, name, email, degree, professions.get(profession, profession),
            completed_on.isoformat(), Certificate.Kind(kind).label,
            certificate_amount(kind=kind, credits_claimed=credits, hours=hours),
            Certificate.State(state).label,
        ]


def evaluation_rows(*, activity):
    """The evaluation export: per question (numbered from 1), a row per answer of its
    scale with the count, then a row per free-text answer or comment, without who wrote
    it. Nothing when the activity has no evaluation."""
    evaluation = Evaluation.objects.filter(activity=activity).first()
    if evaluation is None:
        return
    counts = evaluation_answer_counts(evaluation=evaluation)
    texts = groupby(
        evaluation_texts(evaluation=evaluation).iterator(chunk_size=EXPORT_CHUNK_ROWS),
        key=lambda row: row[0],
    )
    # Both come in the form's order of questions: the texts are walked alongside.
    pending = next(texts, None)
    for number, question in enumerate(evaluation.questions.all(), start=1):
        for value, label in EVALUATION_SCALES[question.kind]:
            yield [number, question.text, question.kind, label, counts[question.pk, value], ""]
        if pending is not None and pending[0] == question.pk:
            for _, text in pending[1]:
                yield [number, question.text, question.kind, "", "", text]
            pending = next(texts, None)


def certificate_amount(*, kind, credits_claimed, hours):
    """What a certificate certifies, as a number: credits claimed or hours."""
    if kind == Certificate.Kind.PARTICIPATION:
        return hours
    return credits_claimed
