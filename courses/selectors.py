from decimal import Decimal
from itertools import groupby

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery
from django.http import Http404
from django.utils.formats import date_format

from .credit_types import AMA, PARTICIPATION
from .hooks import page_relations
from .models import Activity, ActivityCredit, CreditExtension, CreditType, FacultyRole, Participation, SavedActivity
from .prepared import PreparedQuery
from .rules import CreditWindow, activity_credit_window, assessment_locked, credit_offers, offers_for_profession
from .search import SEARCH_CONFIG, stores_search_vector
from .statements import ama_credits

SEARCH_FIELDS = ["title", "description", "objectives__text", "faculty__person__name"]


def _matching(activities, query):
    """`activities` whose title, description, objectives or faculty match `query`."""
    if stores_search_vector():
        from django.contrib.postgres.search import SearchQuery

        # The stored vector (courses.search), read through its GIN index by the page and
        # the count alike.
        return activities.filter(
            search_vector=SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
        )
    # Elsewhere (SQLite): every word must appear in one of the fields, matched in a
    # subquery of ids (searching across the joined rows would repeat activities).
    condition = Q()
    for word in query.split():
        condition &= Q(*(Q(**{f"{field}__icontains": word}) for field in SEARCH_FIELDS), _connector=Q.OR)
    return activities.filter(pk__in=Activity.objects.filter(condition).values("pk"))


# What a catalog card reads: the description and the stored search vector, the largest
# columns of the row, stay in the database.
CARD_FIELDS = (
    "slug", "title", "status", "release_date", "termination_date", "credits",
    "estimated_minutes", "series__title",
)


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
        activities = _matching(activities, query)
    return (
        activities.select_related("series")
        .only(*CARD_FIELDS)
        .order_by("-release_date", "title", "pk")
    )


def catalog_cards(*, activities, at=None):
    """What each of `activities` shows on its catalog card, as plain display strings
    (a card is read 20 times a page: nothing is left for the template to look up), in
    groups by month of release, newest first."""
    groups = []
    for month, items in groupby(activities, key=lambda a: a.release_date.replace(day=1)):
        cards = []
        for activity in items:
            window = activity_credit_window(activity, at=at)
            if window == CreditWindow.OPEN:
                badge = ("badge-open", f"Credit available until {date_format(activity.termination_date, 'M j, Y')}")
            elif window == CreditWindow.EXPIRED:
                badge = ("badge-expired", f"Credit ended {date_format(activity.termination_date, 'M j, Y')}")
            else:
                badge = ("badge-info", window.label)
            cards.append({
                "pk": activity.pk,
                "slug": activity.slug,
                "title": activity.title,
                "url": activity.get_absolute_url(),
                "series": activity.series.title if activity.series else "",
                "credits": ama_credits(activity.credits),
                "minutes": activity.estimated_minutes,
                "badge_class": badge[0],
                "badge": badge[1],
            })
        groups.append({"label": f"{date_format(month, 'F Y')} recordings", "cards": cards})
    return groups


def with_windows(activities, *, at=None):
    for activity in activities:
        activity.window = activity_credit_window(activity, at=at)
    return activities


class LearnerState:
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    LABELS = {NOT_STARTED: "Not started", IN_PROGRESS: "In progress", COMPLETED: "Completed"}


def _learner_marks_sql(count):
    participation, saved = Participation._meta.db_table, SavedActivity._meta.db_table
    places = ", ".join(["%s"] * count)
    return (
        f"SELECT activity_id, completed_at IS NOT NULL, FALSE FROM {participation} "
        f"WHERE user_id = %s AND activity_id IN ({places}) "
        f"UNION ALL SELECT activity_id, FALSE, TRUE FROM {saved} "
        f"WHERE user_id = %s AND activity_id IN ({places})"
    )


def learner_marks_of(*, user, activity_ids):
    """`user`'s own marks on each of `activity_ids`: {id: (LearnerState, saved)}, in one
    query. Anyone not signed in has none.

    Written in SQL: a signed-in catalog page asks it for its 20 cards on every load, and
    composing it with the ORM (a union of two reads) cost more than running it."""
    if not user.is_authenticated:
        return {}
    marks = {pk: (LearnerState.NOT_STARTED, False) for pk in activity_ids}
    if not activity_ids:
        return marks
    ids = list(activity_ids)
    with connection.cursor() as cursor:
        cursor.execute(_learner_marks_sql(len(ids)), [user.pk, *ids, user.pk, *ids])
        rows = cursor.fetchall()
    for pk, completed, is_saved in rows:
        state, was_saved = marks[pk]
        if is_saved:
            marks[pk] = (state, True)
        else:
            marks[pk] = (LearnerState.COMPLETED if completed else LearnerState.IN_PROGRESS, was_saved)
    return marks


def learner_marks(*, user, activities):
    """Set `learner_state` and `saved` on each of `activities` for `user`, in one query."""
    if not user.is_authenticated:
        return activities
    marks = learner_marks_of(user=user, activity_ids=[activity.pk for activity in activities])
    for activity in activities:
        activity.learner_state, activity.saved = marks[activity.pk]
    return activities


def saved_activities_of(*, user):
    """`user`'s saved activities, newest save first; archived ones stay listed, marked."""
    return [
        saved.activity
        for saved in SavedActivity.objects.filter(user=user).select_related("activity__series")
    ]


def activity_for_learner(*, slug, user, page=True):
    """The activity as `user` may see it, with its credit window as `window`: drafts and
    unreleased ones only for staff (Http404 for anyone else). `page=False` leaves out the
    objectives, resources and faculty, which only the activity page shows: the steps after
    it (watch, post-test) then take one query.

    Archived activities stay reachable (learners' certificates and transcripts link to
    them) and say so; credit_window ARCHIVED takes away every way to start or claim.
    """
    activities = Activity.objects.select_related("series", "recording", *page_relations())
    if page:
        activities = activities.prefetch_related(
            "objectives",
            "resources",
            Prefetch("faculty", queryset=FacultyRole.objects.select_related("person")),
        )
    try:
        activity = activities.get(slug=slug)
    except Activity.DoesNotExist:
        raise Http404("No such activity.") from None
    return _window_set(activity, user=user)


def _window_set(activity, *, user):
    window = activity_credit_window(activity)
    if window in (CreditWindow.DRAFT, CreditWindow.NOT_YET_RELEASED) and not user.is_staff:
        raise Http404("No such activity.")
    activity.window = window
    return activity


def participation_of(*, user, activity):
    """`user`'s participation in `activity`, or None, with what the rules read of it in
    the same query: their viewing accommodation, and as `credit_extended_until` the last
    day of their credit extension (None without one)."""
    if not user.is_authenticated:
        return None
    return _PARTICIPATION.first(user_id=user.pk, activity_id=activity.pk)


def _participations(*, extension=True):
    participations = Participation.objects.select_related("viewing_accommodation")
    if extension:
        participations = participations.annotate(credit_extended_until=credit_extended_until_subquery())
    return participations


# What only the activity page, the certificate and the staff read of an activity: the
# longest columns of its row (the search vector the longest), left in the database by the
# step pages, which a learner loads again and again.
ACTIVITY_PAGE_ONLY_FIELDS = (
    "description", "target_audience", "accreditation_statement", "hardware_requirements",
    "disclaimer", "joint_providers", "joint_providership_statement", "outcome_measures",
    "search_vector",
)


def learner_step_of(*, slug, user, extension=True):
    """(activity, participation) for a signed-in learner's page of one step of an
    activity (page=False of activity_for_learner, without the series, which no step
    page shows; participation as participation_of gives it, or None, holding that same
    activity). One query for a learner who has started it, two otherwise: the step pages
    are the ones a learner loads again and again. `extension=False` leaves out the credit
    extension, for a step that decides nothing by the credit window: reading it there
    then fails rather than passing for no extension."""
    participation = _LEARNER_STEP[extension].first(user_id=user.pk, slug=slug)
    if participation is None:
        return activity_for_learner(slug=slug, user=user, page=False), None
    activity = _window_set(participation.activity, user=user)
    return activity, participation


def _learner_step_query(*, extension):
    def build(*, user_id, slug):
        return (
            _participations(extension=extension)
            .select_related(*(f"activity__{name}" for name in ("recording", *page_relations())))
            .defer(*(f"activity__{name}" for name in ACTIVITY_PAGE_ONLY_FIELDS))
            .filter(user_id=user_id, activity__slug=slug)
            .order_by("pk")[:1]
        )

    # Compiled once: these step pages are the ones a learner loads again and again, and
    # compiling this five-table read cost more than running it.
    return PreparedQuery(Participation, build, user_id=-(2**62) + 11, slug="\x1fprepared-slug\x1f")


_LEARNER_STEP = {extension: _learner_step_query(extension=extension) for extension in (True, False)}
# Every credit gate reads it: compiled once.
_PARTICIPATION = PreparedQuery(
    Participation,
    lambda *, user_id, activity_id: _participations()
    .filter(user_id=user_id, activity_id=activity_id)
    .order_by("pk")[:1],
    user_id=-(2**62) + 67,
    activity_id=-(2**62) + 71,
)


def credit_extended_until_subquery():
    """The last day of the latest-running credit extension of a participation's learner in
    its activity, as an annotation of Participation rows."""
    return Subquery(
        CreditExtension.objects.filter(user=OuterRef("user_id"), activity=OuterRef("activity_id"))
        .order_by("-until")
        .values("until")[:1]
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


# Every claim page and claim reads both: compiled once.
_BUILT_IN_CREDIT_TYPES = PreparedQuery(CreditType, lambda: CreditType.objects.filter(code__in=[AMA, PARTICIPATION]))
_ACTIVITY_CREDITS = PreparedQuery(
    ActivityCredit,
    lambda *, activity_id: ActivityCredit.objects.filter(activity_id=activity_id).select_related("credit_type"),
    activity_id=-(2**62) + 97,
)


def activity_credit_offers(*, activity):
    """Every credit type `activity` offers (courses.rules.credit_offers), in two queries."""
    types = {credit_type.code: credit_type for credit_type in _BUILT_IN_CREDIT_TYPES.list()}
    return credit_offers(
        credits=activity.credits,
        ama=types[AMA],
        participation=types[PARTICIPATION],
        rows=_ACTIVITY_CREDITS.list(activity_id=activity.pk),
    )


def learner_credit_offers(*, activity, user):
    """The credit types of `activity` that `user` may earn, by their profession."""
    return offers_for_profession(activity_credit_offers(activity=activity), profession=user.profession)
