from decimal import Decimal
from itertools import groupby

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import Http404

from .hooks import page_relations
from .models import Activity, FacultyRole, Participation, SavedActivity
from .rules import CreditWindow, activity_credit_window, assessment_locked

SEARCH_FIELDS = ["title", "description", "objectives__text", "faculty__person__name"]


def _matching(query):
    """Activities whose title, description, objectives or faculty match `query`, as a
    subquery of ids (searching across the joined rows would repeat activities)."""
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        return (
            Activity.objects.annotate(search=SearchVector(*SEARCH_FIELDS, config="english"))
            .filter(search=SearchQuery(query, config="english", search_type="websearch"))
            .values("pk")
        )
    # Elsewhere (SQLite): every word must appear in one of the fields.
    condition = Q()
    for word in query.split():
        condition &= Q(*(Q(**{f"{field}__icontains": word}) for field in SEARCH_FIELDS), _connector=Q.OR)
    return Activity.objects.filter(condition).values("pk")


def catalog_activities(*, query="", credit="", series=None, credits="", at=None):
    """The published, released activities a catalog search shows, newest first."""
    if credit:
        activities = Activity.objects.in_window(credit, at=at)
    else:
        activities = Activity.objects.visible(at=at)
    if series is not None:
        activities = activities.filter(series=series)
    if credits:
        activities = activities.filter(credits=Decimal(credits))
    if query:
        activities = activities.filter(pk__in=_matching(query))
    return activities.select_related("series").order_by("-release_date", "title", "pk")


def with_windows(activities, *, at=None):
    for activity in activities:
        activity.window = activity_credit_window(activity, at=at)
    return activities


def catalog_groups(*, activities):
    """A page of activities grouped by month of release, newest first."""
    return [
        {"month": month, "activities": list(items)}
        for month, items in groupby(activities, key=lambda a: a.release_date.replace(day=1))
    ]


class LearnerState:
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    LABELS = {NOT_STARTED: "Not started", IN_PROGRESS: "In progress", COMPLETED: "Completed"}


def learner_marks(*, user, activities):
    """Set `learner_state` and `saved` on each of `activities` for `user`, in two queries."""
    if not user.is_authenticated:
        return activities
    ids = [activity.pk for activity in activities]
    completed = dict(
        Participation.objects.filter(user=user, activity_id__in=ids).values_list(
            "activity_id", "completed_at"
        )
    )
    saved = set(
        SavedActivity.objects.filter(user=user, activity_id__in=ids).values_list("activity_id", flat=True)
    )
    for activity in activities:
        if activity.pk not in completed:
            state = LearnerState.NOT_STARTED
        elif completed[activity.pk] is None:
            state = LearnerState.IN_PROGRESS
        else:
            state = LearnerState.COMPLETED
        activity.learner_state = state
        activity.learner_state_label = LearnerState.LABELS[state]
        activity.saved = activity.pk in saved
    return activities


def saved_activities_of(*, user):
    """`user`'s saved activities, newest save first; archived ones stay listed, marked."""
    return [
        saved.activity
        for saved in SavedActivity.objects.filter(user=user).select_related("activity__series")
    ]


def activity_for_learner(*, slug, user):
    """The activity as `user` may see it, with its credit window as `window`: drafts and
    unreleased ones only for staff (Http404 for anyone else).

    Archived activities stay reachable (learners' certificates and transcripts link to
    them) and say so; credit_window ARCHIVED takes away every way to start or claim.
    """
    try:
        activity = (
            Activity.objects.select_related("series", "recording", *page_relations())
            .prefetch_related(
                "objectives",
                "resources",
                Prefetch("faculty", queryset=FacultyRole.objects.select_related("person")),
            )
            .get(slug=slug)
        )
    except Activity.DoesNotExist:
        raise Http404("No such activity.") from None
    window = activity_credit_window(activity)
    if window in (CreditWindow.DRAFT, CreditWindow.NOT_YET_RELEASED) and not user.is_staff:
        raise Http404("No such activity.")
    activity.window = window
    return activity


def participation_of(*, user, activity):
    if not user.is_authenticated:
        return None
    # The accommodation comes along: the viewing requirement asks for it.
    return (
        Participation.objects.select_related("viewing_accommodation")
        .filter(user=user, activity=activity)
        .first()
    )


def _with_started(activities):
    return activities.annotate(
        started=Exists(Participation.objects.filter(activity=OuterRef("pk")))
    )


def locked_activity_title(*, activities):
    """The title of the first of `activities` (a queryset, usually of one) whose post-test
    and recording are locked, or None: one query, for the guards on every save."""
    for row in _with_started(activities).values("title", "status", "started")[:1]:
        if assessment_locked(status=row["status"], started=row["started"]):
            return row["title"]
    return None


def activity_assessment_locked(*, activity):
    """Whether `activity`, as stored, is published or archived and started, so its
    post-test, recording and viewing requirement cannot change until it is unpublished."""
    return locked_activity_title(activities=Activity.objects.filter(pk=activity.pk)) is not None
