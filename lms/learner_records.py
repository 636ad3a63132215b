"""Reads behind the staff's learner pages (lms/staff_learners.py): finding a learner, and
one learner's whole record, activity by activity, in the same number of queries however
many attempts, answers, responses or certificates it holds."""

import datetime
from dataclasses import dataclass, field

from django.db.models import F, OuterRef, Prefetch, Q, Subquery

from certificates.models import Certificate, CertificateEvent
from courses.models import Activity, CreditExtension, Participation
from courses.rules import (
    credit_extension_refusal,
    credit_last_day,
    learner_credit_window,
    recording_requirement_met,
)
from courses.selectors import credit_extended_until_subquery
from courses.viewing import recording_viewing
from quizzes.models import (
    Attempt,
    AttemptAllowance,
    AttemptAnswer,
    EvaluationAnswer,
    EvaluationResponse,
    PostTest,
)
from quizzes.rules import attempt_allowance_refusal, attempts_allowed
from quizzes.selectors import EVALUATION_SCALES

from .models import User

SEARCH_FIELDS = ("email", "given_name", "family_name", "certificate_name")


def learners_matching(*, query=""):
    """Everyone with an account, by family and given name; with `query`, those whose
    names or e-mail address contain each of its words."""
    users = User.objects.order_by("family_name", "given_name", "email", "pk")
    for word in query.split():
        users = users.filter(
            Q(*(Q(**{f"{name}__icontains": word}) for name in SEARCH_FIELDS), _connector=Q.OR)
        )
    return users.only("pk", "email", "given_name", "family_name", "certificate_name", "degree", "profession")


def learner_activities(*, user):
    """The activities `user` started or holds a certificate for, the most recently
    started first (ones they hold a certificate for without having started come last)."""
    started_at = Participation.objects.filter(user=user, activity=OuterRef("pk")).values("started_at")[:1]
    return (
        Activity.objects.filter(
            Q(pk__in=Participation.objects.filter(user=user).values("activity_id"))
            | Q(pk__in=Certificate.objects.filter(user=user).values("activity_id"))
        )
        .select_related("recording", "posttest")
        .annotate(learner_started_at=Subquery(started_at))
        .order_by(F("learner_started_at").desc(nulls_last=True), "title", "pk")
    )


@dataclass
class AttemptRecord:
    attempt: Attempt
    number: int
    # (question, the choices the learner ticked, whether the answer was right), in the
    # order the attempt showed the questions.
    answers: list = field(default_factory=list)


@dataclass
class ActivityRecord:
    """What one learner did in one activity, and what staff allowed them there."""

    activity: Activity
    participation: Participation | None = None
    certificate: Certificate | None = None
    attempts: list = field(default_factory=list)
    # The learner's evaluation answers, or None when they have not handed it in.
    evaluation: list | None = None
    evaluation_submitted_at: datetime.datetime | None = None
    allowances: list = field(default_factory=list)
    extensions: list = field(default_factory=list)

    @property
    def posttest(self):
        try:
            return self.activity.posttest
        except PostTest.DoesNotExist:
            return None

    @property
    def viewing(self):
        if self.participation is None:
            return None
        return recording_viewing(participation=self.participation, activity=self.activity)

    @property
    def recording_met(self):
        return self.participation is not None and recording_requirement_met(participation=self.participation)

    @property
    def window(self):
        return learner_credit_window(self.activity, participation=self.participation)

    @property
    def extended_until(self):
        return self.participation.credit_extended_until if self.participation else None

    @property
    def credit_ends_on(self):
        return credit_last_day(
            termination_date=self.activity.termination_date, extended_until=self.extended_until
        )

    @property
    def graded(self):
        return [record.attempt for record in self.attempts if record.attempt.is_submitted]

    @property
    def extra_attempts(self):
        return sum(allowance.extra_attempts for allowance in self.allowances)

    @property
    def attempts_allowed(self):
        return self.posttest and attempts_allowed(posttest=self.posttest, extra_attempts=self.extra_attempts)

    @property
    def extension_refusal(self):
        """Why staff cannot extend this learner's credit here, or ""."""
        return credit_extension_refusal(status=self.activity.status, participation=self.participation)

    @property
    def allowance_refusal(self):
        """Why staff cannot allow this learner more attempts here, or "" (None without a
        post-test)."""
        if self.posttest is None:
            return None
        graded = self.graded
        return attempt_allowance_refusal(
            posttest=self.posttest,
            graded_count=len(graded),
            passed=any(attempt.passed for attempt in graded),
            extra_attempts=self.extra_attempts,
        )


def learner_activity_records(*, user, activities):
    """An ActivityRecord of `user` for each of `activities` (a page of learner_activities),
    in their order: ten queries however many activities, attempts and answers."""
    records = {activity.pk: ActivityRecord(activity=activity) for activity in activities}
    ids = list(records)
    participations = (
        Participation.objects.filter(user=user, activity_id__in=ids)
        .select_related("viewing_accommodation__granted_by")
        .annotate(credit_extended_until=credit_extended_until_subquery())
    )
    for participation in participations:
        record = records[participation.activity_id]
        # The page's activity holds its recording: the viewing rules read it from here.
        participation.activity = record.activity
        record.participation = participation
    events = CertificateEvent.objects.select_related("actor")
    for certificate in Certificate.objects.filter(user=user, activity_id__in=ids).prefetch_related(
        Prefetch("events", queryset=events), "credits"
    ):
        records[certificate.activity_id].certificate = certificate
    _place_attempts(records, user=user)
    _place_evaluations(records, user=user)
    for allowance in AttemptAllowance.objects.filter(user=user, posttest__activity_id__in=ids).select_related(
        "granted_by", "posttest"
    ):
        records[allowance.posttest.activity_id].allowances.append(allowance)
    for extension in CreditExtension.objects.filter(user=user, activity_id__in=ids).select_related("granted_by"):
        records[extension.activity_id].extensions.append(extension)
    return list(records.values())


def _place_attempts(records, *, user):
    attempts = list(
        Attempt.objects.filter(user=user, posttest__activity_id__in=list(records))
        .select_related("posttest")
        .order_by("started_at", "pk")
    )
    answers = {}
    for answer in (
        AttemptAnswer.objects.filter(attempt__in=attempts)
        .select_related("question")
        .prefetch_related(Prefetch("choices", to_attr="ticked"))
    ):
        answers.setdefault(answer.attempt_id, []).append(answer)
    for attempt in attempts:
        record = records[attempt.posttest.activity_id]
        position = {question_id: index for index, (question_id, _) in enumerate(attempt.layout)}
        shown = sorted(
            answers.get(attempt.pk, []),
            key=lambda answer: (position.get(answer.question_id, len(position)), answer.question_id),
        )
        record.attempts.append(
            AttemptRecord(
                attempt=attempt,
                number=len(record.attempts) + 1,
                answers=[(answer.question, answer.ticked, answer.is_correct) for answer in shown],
            )
        )


def _place_evaluations(records, *, user):
    answers = EvaluationAnswer.objects.select_related("question").order_by("question__order", "question_id")
    for response in EvaluationResponse.objects.filter(
        user=user, evaluation__activity_id__in=list(records)
    ).select_related("evaluation").prefetch_related(Prefetch("answers", queryset=answers)):
        record = records[response.evaluation.activity_id]
        record.evaluation_submitted_at = response.submitted_at
        record.evaluation = [
            {
                "question": answer.question,
                "answer": dict(EVALUATION_SCALES[answer.question.kind]).get(answer.value, answer.value),
                "comment": answer.comment,
            }
            for answer in response.answers.all()
        ]
