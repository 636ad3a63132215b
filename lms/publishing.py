"""Publishing an activity: the combined rule and the staff actions that use it.

It lives in lms because the rule reads both courses (objectives, faculty disclosures)
and quizzes (post-test, evaluation), and courses may not import quizzes.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Prefetch
from django.utils.text import slugify

from courses.cache import catalog_changed
from courses.models import Activity, FacultyRole, Recording, SavedActivity, provider_today
from courses.rules import (
    activity_content_problems,
    activity_date_problems,
    credit_ended_problems,
    credit_offer_of,
    credit_offer_problems,
    credit_time_warnings,
    recording_length_warnings,
    recording_problems,
    review_deadline,
)
from quizzes.models import Evaluation, PostTest
from quizzes.rules import assessment_problems, pass_mark_warnings
from quizzes.services import evaluation_questions_copy


def _with_publishing_relations(activities):
    """`activities` with everything the publishing rule reads, in a fixed number of
    queries however many activities there are."""
    return activities.select_related("recording", "posttest", "evaluation").prefetch_related(
        "objectives",
        "credit_offers__credit_type",
        Prefetch("faculty", queryset=FacultyRole.objects.select_related("person")),
        "posttest__questions__choices",
        "evaluation__questions",
    )


def _recording_of(activity):
    try:
        return activity.recording
    except Recording.DoesNotExist:
        return None


def _problems(activity, *, day):
    """The publishing rule on an activity whose relations are fetched (see above)."""
    dates = activity_date_problems(
        recorded_on=activity.recorded_on,
        release_date=activity.release_date,
        reviewed_on=activity.reviewed_on,
        termination_date=activity.termination_date,
    )
    return (
        list(dates.values())
        + credit_ended_problems(status=activity.status, termination_date=activity.termination_date, day=day)
        + activity_content_problems(activity=activity)
        + credit_offer_problems([credit_offer_of(row) for row in activity.credit_offers.all()])
        + recording_problems(
            recording=_recording_of(activity), requires_full_viewing=activity.requires_full_viewing
        )
        + assessment_problems(activity=activity)
    )


def activity_publish_problems(*, activity):
    """Everything that keeps `activity` from being published, as messages for staff.

    Its fields are read as given (unsaved changes count); its objectives, faculty,
    recording, post-test and evaluation as stored now.
    """
    checked = activity
    if activity.pk is not None:
        checked = _with_publishing_relations(Activity.objects.filter(pk=activity.pk)).first() or activity
        for field in Activity._meta.concrete_fields:
            setattr(checked, field.attname, getattr(activity, field.attname))
    return _problems(checked, day=provider_today())


def activities_failing_checks(*, activities):
    """{pk: problems} of the published ones among `activities` that no longer pass the
    publishing checks (a row changed behind the rule, or a rule that came later). The
    same few queries whatever their number, so a page of a list can show it."""
    published = [activity.pk for activity in activities if activity.status == Activity.Status.PUBLISHED]
    if not published:
        return {}
    day = provider_today()
    failing = {}
    for activity in _with_publishing_relations(Activity.objects.filter(pk__in=published)):
        problems = _problems(activity, day=day)
        if problems:
            failing[activity.pk] = problems
    return failing


def activity_publish_warnings(*, activity):
    """What staff should look at twice before publishing, never a reason to refuse:
    credit out of line with the time to complete, a low pass mark, a suspiciously short
    recording."""
    saved = activity.pk is not None
    recording = Recording.objects.filter(activity=activity).first() if saved else None
    seconds = recording.duration_seconds if recording else 0
    posttest = PostTest.objects.filter(activity=activity).first() if saved else None
    return (
        credit_time_warnings(
            credits=activity.credits,
            estimated_minutes=activity.estimated_minutes,
            recording_seconds=seconds,
        )
        + recording_length_warnings(duration_seconds=seconds)
        + (pass_mark_warnings(pass_percent=posttest.pass_percent) if posttest else [])
    )


def activity_publish(*, activity):
    """Publish `activity`, or change nothing and return why it cannot be published."""
    problems = activity_publish_problems(activity=activity)
    if not problems:
        Activity.objects.filter(pk=activity.pk).update(status=Activity.Status.PUBLISHED)
        activity.status = Activity.Status.PUBLISHED
        catalog_changed()
    return problems


def activity_unpublish(*, activity):
    """Take `activity` back to draft, which unlocks its post-test, recording and viewing
    requirement for editing (courses.guards). Learners' progress, attempts and
    certificates are kept; it leaves the catalog until published again."""
    Activity.objects.filter(pk=activity.pk).exclude(status=Activity.Status.DRAFT).update(
        status=Activity.Status.DRAFT
    )
    activity.status = Activity.Status.DRAFT
    catalog_changed()


def activity_archive(*, activity):
    """Take `activity` out of the catalog. Its certificates and transcripts stay valid."""
    Activity.objects.filter(pk=activity.pk).update(status=Activity.Status.ARCHIVED)
    activity.status = Activity.Status.ARCHIVED
    catalog_changed()


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


def activity_duplicate_defaults(*, activity, today=None):
    """The new run's title and dates a duplication form starts from.

    The dates are shifted, not cleared (they are required): it is released the day after
    the old run's credit ends (or today, if that is later), is dated as reviewed that day
    (staff re-review the content before a new run), and keeps the old run's length of
    credit, within the 3-year review rule.
    """
    today = today or provider_today()
    release = max(today, activity.termination_date + datetime.timedelta(days=1))
    length = activity.termination_date - activity.release_date
    return {
        "title": f"{activity.title} (new run)",
        "release_date": release,
        "reviewed_on": release,
        "termination_date": min(
            release + length, review_deadline(release_date=release, reviewed_on=release)
        ),
    }


# Rows that hang off an activity but belong to learners, not to its content.
NOT_CONTENT = {SavedActivity}


def _duplicate_problems(*, source, title, release_date, termination_date, reviewed_on):
    errors = {}
    if not (title or "").strip():
        errors["title"] = "Give the new run a title."
    elif len(title.strip()) > Activity._meta.get_field("title").max_length:
        errors["title"] = "The title must be at most 300 characters."
    if not release_date:
        errors["release_date"] = "Give the new run's release date."
    if not termination_date:
        errors["termination_date"] = "Give the new run's termination date."
    return errors or activity_date_problems(
        recorded_on=source.recorded_on,
        release_date=release_date,
        reviewed_on=reviewed_on,
        termination_date=termination_date,
    )


@transaction.atomic
def activity_duplicate(*, activity, title, release_date, termination_date, reviewed_on=None):
    """A draft copy of `activity` for a new run of the same recording, under `title` and
    the new run's dates, or ValidationError naming the field that is wrong.

    The ACCME activity ID is cleared: each run is reported to PARS under its own ID.
    Copied: the activity's fields; every content row of courses that hangs off it
    (objectives, faculty with their disclosures, resources, the recording, and any such
    rows added later, such as commercial supports); the post-test with its questions and
    choices; the evaluation's questions. Not copied: learners' participations, saved
    activities, attempts, responses and certificates.
    """
    source = Activity.objects.get(pk=activity.pk)
    errors = _duplicate_problems(
        source=source,
        title=title,
        release_date=release_date,
        termination_date=termination_date,
        reviewed_on=reviewed_on,
    )
    if errors:
        raise ValidationError(errors)
    title = title.strip()
    copy = _copy(
        Activity.objects.get(pk=activity.pk),
        slug=_free_slug(slugify(title) or f"{source.slug}-new-run"),
        title=title,
        accme_activity_id="",
        status=Activity.Status.DRAFT,
        release_date=release_date,
        reviewed_on=reviewed_on,
        termination_date=termination_date,
    )
    for relation in Activity._meta.related_objects:
        model = relation.related_model
        # The recording is among them: the copy points at the same stored files, and
        # replacing a file on either run uploads a new one, leaving the other's alone.
        if (
            model._meta.app_label == "courses"
            and relation.on_delete is models.CASCADE
            and model not in NOT_CONTENT
        ):
            for row in model.objects.filter(**{relation.field.name: source}):
                _copy(row, **{relation.field.name: copy})
    posttest = PostTest.objects.filter(activity=source).first()
    if posttest:
        questions = list(posttest.questions.prefetch_related("choices"))
        new_posttest = _copy(posttest, activity=copy)
        for question in questions:
            choices = list(question.choices.all())
            new_question = _copy(question, posttest=new_posttest)
            for choice in choices:
                _copy(choice, question=new_question)
    evaluation = Evaluation.objects.filter(activity=source).first()
    if evaluation:
        evaluation_questions_copy(source=evaluation, target=Evaluation.objects.create(activity=copy))
    return copy
