"""Publishing an activity: the combined rule and the staff actions that use it.

It lives in lms because the rule reads both courses (objectives, faculty disclosures)
and quizzes (post-test, evaluation), and courses may not import quizzes.
"""

import datetime

from django.db import transaction

from courses.models import (
    Activity,
    FacultyRole,
    LearningObjective,
    Recording,
    Resource,
    provider_today,
)
from courses.rules import activity_content_problems, activity_date_problems, review_deadline
from quizzes.models import Choice, Evaluation, PostTest
from quizzes.rules import assessment_problems
from quizzes.services import evaluation_questions_copy


def activity_publish_problems(*, activity):
    """Everything that keeps `activity` from being published, as messages for staff."""
    dates = activity_date_problems(
        recorded_on=activity.recorded_on,
        release_date=activity.release_date,
        reviewed_on=activity.reviewed_on,
        termination_date=activity.termination_date,
    )
    return list(dates.values()) + activity_content_problems(activity=activity) + assessment_problems(
        activity=activity
    )


def activity_publish(*, activity):
    """Publish `activity`, or change nothing and return why it cannot be published."""
    problems = activity_publish_problems(activity=activity)
    if not problems:
        Activity.objects.filter(pk=activity.pk).update(status=Activity.Status.PUBLISHED)
        activity.status = Activity.Status.PUBLISHED
    return problems


def activity_archive(*, activity):
    """Take `activity` out of the catalog. Its certificates and transcripts stay valid."""
    Activity.objects.filter(pk=activity.pk).update(status=Activity.Status.ARCHIVED)
    activity.status = Activity.Status.ARCHIVED


def _free_slug(base):
    slug, number = base[:90], 2
    while Activity.objects.filter(slug=slug).exists():
        slug, number = f"{base[:90]}-{number}", number + 1
    return slug


def _copy(instance, **changes):
    instance.pk = instance.id = None
    instance._state.adding = True
    for name, value in changes.items():
        setattr(instance, name, value)
    instance.save()
    return instance


@transaction.atomic
def activity_duplicate(*, activity, today=None):
    """A draft copy of `activity` for a new run of the same recording.

    The new run's dates are shifted, not cleared (they are required): it is released the
    day after the old run's credit ends (or today, if that is later), is dated as
    reviewed that day (staff re-review the content before a new run), and keeps the old
    run's length of credit, within the 3-year review rule. Staff adjust them before
    publishing; the copy stays a draft until then.
    """
    today = today or provider_today()
    source = Activity.objects.get(pk=activity.pk)
    release = max(today, source.termination_date + datetime.timedelta(days=1))
    length = source.termination_date - source.release_date
    termination = min(release + length, review_deadline(release_date=release, reviewed_on=release))
    copy = _copy(
        Activity.objects.get(pk=activity.pk),
        slug=_free_slug(f"{source.slug}-new-run"),
        status=Activity.Status.DRAFT,
        release_date=release,
        reviewed_on=release,
        termination_date=termination,
    )
    for objective in LearningObjective.objects.filter(activity=source):
        _copy(objective, activity=copy)
    for role in FacultyRole.objects.filter(activity=source):
        _copy(role, activity=copy)
    for resource in Resource.objects.filter(activity=source):
        _copy(resource, activity=copy)
    recording = Recording.objects.filter(activity=source).first()
    if recording:
        # The copy points at the same stored files; replacing a file on either run
        # uploads a new one and leaves the other run's alone.
        _copy(recording, activity=copy)
    posttest = PostTest.objects.filter(activity=source).first()
    if posttest:
        questions = list(posttest.questions.prefetch_related("choices"))
        new_posttest = _copy(posttest, activity=copy)
        for question in questions:
            choices = list(question.choices.all())
            new_question = _copy(question, posttest=new_posttest)
            Choice.objects.bulk_create(
                Choice(question=new_question, order=c.order, text=c.text, is_correct=c.is_correct)
                for c in choices
            )
    evaluation = Evaluation.objects.filter(activity=source).first()
    if evaluation:
        evaluation_questions_copy(source=evaluation, target=Evaluation.objects.create(activity=copy))
    return copy
