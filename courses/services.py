import math
import re
import secrets
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .credit_types import CREDIT_TYPE_SEED
from .models import (
    Activity,
    CreditExtension,
    CreditType,
    Participation,
    SavedActivity,
    SavedSearch,
    ViewingSession,
    local_date,
)
from .rules import (
    credit_extension_problems,
    credit_extension_refusal,
    recording_requirement_met,
    text_problem,
)
from .selectors import credit_extended_until_subquery
from .viewing import (
    VIEWING_SESSION_IDLE,
    merged_intervals,
    recording_viewing,
    viewing_credit,
    viewing_session_live,
)

# Browsers report the media's own length, which may differ a little from the whole
# seconds staff enter as the duration; positions within this margin of the end count as
# the end, so playing to the end always counts in full.
DURATION_TOLERANCE_MS = 1000
# Without a duration there is nothing to check positions against but common sense.
UNKNOWN_DURATION_LIMIT_MS = 24 * 3600 * 1000
MAX_REPORTED_INTERVALS = 200
MAX_STORED_INTERVALS = 500
# Tabs a learner may have reporting at once; opening another closes the oldest, so a
# script that reloads the page cannot pile up sessions.
MAX_LIVE_VIEWING_SESSIONS = 5


def credit_types_seed():
    """Store the credit types of CREDIT_TYPE_SEED that are missing, as migration 0013 does,
    leaving those present as staff worded them: for a database emptied by a flush (the
    transactional tests, the benchmarks), where no claim could otherwise find AMA credit."""
    present = set(CreditType.objects.values_list("code", flat=True))
    CreditType.objects.bulk_create(CreditType(**fields) for fields in CREDIT_TYPE_SEED if fields["code"] not in present)


class ViewingReportError(Exception):
    """A progress report that was refused; nothing was saved."""


class ViewingSessionRefused(ViewingReportError):
    """A report whose viewing session is missing, unknown, closed or someone else's.

    `code` tells the player whether opening a new session helps ("expired") or not."""

    def __init__(self, message, *, code):
        super().__init__(message)
        self.code = code


def participation_start(*, user, activity):
    participation, _ = Participation.objects.get_or_create(user=user, activity=activity)
    return participation


def participation_mark_completed(*, user, activity, at=None):
    """Record that the learner completed `activity` (their certificate was claimed), so
    their own pages can say so without asking certificates. Keeps the first moment."""
    Participation.objects.filter(user=user, activity=activity, completed_at__isnull=True).update(
        completed_at=at or timezone.now()
    )


def credit_extension_grant(*, user, activity, until, reason, granted_by, at=None):
    """Let `user` earn credit in `activity` until 23:59:59 of `until`, provider time,
    recording who allowed it and why. Raises ValidationError, granting nothing, when the
    reason is missing or courses.rules refuses the extension (by field: "until", or
    "__all__" when none can be granted)."""
    at = at or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for the extension."})
    if text_problem(reason):
        raise ValidationError({"reason": f"The reason {text_problem(reason)}."})
    with transaction.atomic():
        # The learner's participation is locked, so a form posted twice sees the extension
        # the first post granted and refuses to grant the same again.
        participation = (
            Participation.objects.select_for_update(of=("self",))
            .annotate(credit_extended_until=credit_extended_until_subquery())
            .filter(user=user, activity=activity)
            .first()
        )
        refusal = credit_extension_refusal(status=activity.status, participation=participation)
        if refusal:
            raise ValidationError(refusal)
        problems = credit_extension_problems(
            until=until,
            activity=activity,
            day=local_date(at),
            extended_until=participation.credit_extended_until,
        )
        if problems:
            raise ValidationError({"until": problems})
        return CreditExtension.objects.create(
            user=user, activity=activity, until=until, reason=reason, granted_by=granted_by, granted_at=at
        )


def saved_activity_set(*, user, activity, saved):
    """Save or unsave `activity` for `user`; idempotent either way."""
    if not saved:
        SavedActivity.objects.filter(user=user, activity=activity).delete()
        return
    try:
        with transaction.atomic():
            SavedActivity.objects.get_or_create(user=user, activity=activity)
    except IntegrityError:
        pass  # a double click saved it a moment ago


class SavedSearchInvalid(Exception):
    pass


SAVED_SEARCH_LIMIT = 50


def saved_search_create(*, user, name, params):
    """Save the catalog search `params` (the catalog's cleaned filter values) as `name`."""
    name = (name or "").strip()
    if not name:
        raise SavedSearchInvalid("Give the search a name.")
    if len(name) > 100:
        raise SavedSearchInvalid("The name may be at most 100 characters.")
    if text_problem(name):
        # The name comes straight from the POST, not through a form that would refuse it.
        raise SavedSearchInvalid(f"The name {text_problem(name)}.")
    if SavedSearch.objects.filter(user=user).count() >= SAVED_SEARCH_LIMIT:
        raise SavedSearchInvalid(f"You can keep at most {SAVED_SEARCH_LIMIT} saved searches.")
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return SavedSearch.objects.create(user=user, name=name, query=query[:500])


def saved_search_delete(*, user, pk):
    """Delete one of `user`'s saved searches; False when `user` has none with that id."""
    deleted, _ = SavedSearch.objects.filter(user=user, pk=pk).delete()
    return bool(deleted)


def participation_mark_recording_watched(*, participation, at=None):
    """The learner's "continue" after the recording; False when they may not go on yet.

    Where the activity requires full viewing only the progress reports can complete the
    step, so the learner's word is not enough.
    """
    if participation.activity.requires_full_viewing:
        return recording_requirement_met(participation=participation)
    if participation.recording_completed_at is None:
        participation.recording_completed_at = at or timezone.now()
        participation.save(update_fields=["recording_completed_at"])
    return True


def viewing_session_open(*, participation, at=None):
    """A new viewing session for the watch page `participation`'s learner is loading.

    Closes their sessions that have gone quiet, and the oldest beyond
    MAX_LIVE_VIEWING_SESSIONS.
    """
    at = at or timezone.now()
    sessions = ViewingSession.objects.filter(participation=participation)
    newest = sessions.order_by("-opened_at", "-pk").values("pk")
    sessions.filter(
        Q(last_report_at__lt=at - VIEWING_SESSION_IDLE)
        | Q(pk__in=newest[MAX_LIVE_VIEWING_SESSIONS - 1 :])
    ).delete()
    return ViewingSession.objects.create(
        participation=participation, token=secrets.token_urlsafe(32), opened_at=at, last_report_at=at
    )


def participation_record_viewing(*, user, activity, report, at=None):
    """Merge one progress report from `user`'s player into their participation.

    `report` is the decoded JSON: {"session": the token of the watch page's viewing
    session, "position": seconds, "watched": [[start, end], ...] seconds this page
    played, "sent_at": browser clock in ms}. Reports are idempotent and may arrive in any
    order: watched time is a union and the furthest position a maximum, so a repeat or a
    late report changes neither; the resume point follows the report the browser sent
    last. New watched time is credited only as far as real time allows (viewing_credit).
    Raises ViewingReportError, saving nothing, for an activity the learner has not
    started, an archived one, a session that is not live, or values that make no sense.
    """
    at = at or timezone.now()
    if activity.status == Activity.Status.ARCHIVED:
        raise ViewingReportError("This activity has been archived.")
    recording = getattr(activity, "recording", None)
    if recording is None or not recording.trackable:
        raise ViewingReportError("This activity has no recording whose viewing can be saved.")
    duration_ms = recording.duration_seconds * 1000
    token, position_ms, watched, sent_at = _parse_report(report, duration_ms=duration_ms)

    with transaction.atomic():
        participation = (
            Participation.objects.select_for_update().filter(user=user, activity=activity).first()
        )
        if participation is None:
            raise ViewingReportError("Start the activity before watching the recording.")
        participation.activity = activity
        session = _live_session(participation=participation, token=token, at=at)
        before = recording_viewing(participation=participation, activity=activity)

        stored = participation.watched_intervals_ms
        credit = viewing_credit(
            claimed=merged_intervals(watched),
            watched=stored,
            at=at,
            since=session.last_report_at,
            clock=participation.viewing_clock,
        )
        merged = merged_intervals(stored + credit.intervals)
        if len(merged) > MAX_STORED_INTERVALS:
            raise ViewingReportError("This report has too many separate stretches of viewing.")

        session.last_report_at = at
        session.save(update_fields=["last_report_at"])
        participation.watched_intervals_ms = merged
        participation.viewing_clock = credit.clock
        participation.furthest_position_ms = max(
            [participation.furthest_position_ms, position_ms] + [end for _, end in merged]
        )
        if participation.resume_reported_at is None or sent_at >= participation.resume_reported_at:
            participation.resume_position_ms = position_ms
            participation.resume_reported_at = sent_at
        after = recording_viewing(participation=participation, activity=activity)
        if after.reached and (participation.recording_completed_at is None or not before.reached):
            participation.recording_completed_at = at
        participation.save(
            update_fields=[
                "watched_intervals_ms",
                "viewing_clock",
                "furthest_position_ms",
                "resume_position_ms",
                "resume_reported_at",
                "recording_completed_at",
            ]
        )
    return participation


def _live_session(*, participation, token, at):
    session = ViewingSession.objects.filter(token=token).first()
    if session is None:
        raise ViewingSessionRefused(
            "This viewing session has ended. Reload the page to go on saving your progress.",
            code="expired",
        )
    if session.participation_id != participation.pk:
        raise ViewingSessionRefused(
            "This viewing session belongs to another learner or activity. Reload the page to "
            "go on saving your progress.",
            code="forbidden",
        )
    if not viewing_session_live(session=session, at=at):
        raise ViewingSessionRefused(
            "This viewing session has ended after a long pause. Reload the page to go on "
            "saving your progress.",
            code="expired",
        )
    return session


# What viewing_session_open's tokens are made of (secrets.token_urlsafe). Anything else,
# a NUL or half a surrogate pair included, is refused before it reaches a query.
VIEWING_SESSION_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _parse_report(report, *, duration_ms):
    if not isinstance(report, dict):
        raise ViewingReportError("A progress report must be a JSON object.")
    limit_ms = duration_ms + DURATION_TOLERANCE_MS if duration_ms else UNKNOWN_DURATION_LIMIT_MS

    def moment(value, field, *, end=False):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ViewingReportError(f"{field} must be a number of seconds.")
        ms = round(value * 1000)
        if ms < 0:
            raise ViewingReportError(f"{field} must not be negative.")
        if ms > limit_ms:
            raise ViewingReportError(f"{field} is beyond the end of the recording.")
        if end and duration_ms and ms >= duration_ms - DURATION_TOLERANCE_MS:
            return duration_ms
        return min(ms, duration_ms) if duration_ms else ms

    position_ms = moment(report.get("position"), "position")
    pairs = report.get("watched")
    if not isinstance(pairs, list):
        raise ViewingReportError("watched must be a list of [start, end] pairs.")
    if len(pairs) > MAX_REPORTED_INTERVALS:
        raise ViewingReportError(f"watched may list at most {MAX_REPORTED_INTERVALS} pairs.")
    watched = []
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            raise ViewingReportError("watched must be a list of [start, end] pairs.")
        start, end = moment(pair[0], "A watched start"), moment(pair[1], "A watched end", end=True)
        if start > end:
            raise ViewingReportError("A watched stretch must not end before it starts.")
        if start < end:
            watched.append([start, end])
    sent_at = report.get("sent_at")
    if isinstance(sent_at, bool) or not isinstance(sent_at, int) or not 0 <= sent_at < 2**53:
        raise ViewingReportError("sent_at must be the browser's clock in milliseconds.")
    token = report.get("session")
    if not isinstance(token, str) or not VIEWING_SESSION_TOKEN.fullmatch(token):
        raise ViewingSessionRefused(
            "This report names no viewing session. Reload the page to go on saving your progress.",
            code="missing",
        )
    return token, position_ms, watched, sent_at
