"""How much of a recording a learner has played: watched stretches as merged
millisecond intervals, credited no faster than real time allows."""

import datetime
import math
from dataclasses import dataclass


def merged_intervals(intervals):
    """The union of [start, end] pairs, sorted, with overlapping or touching pairs joined.

    Pairs that merely come close stay apart: joining across gaps would count unwatched
    time, however small each gap.
    """
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def intervals_total(intervals, *, limit=None):
    return sum(
        max(0, (end if limit is None else min(end, limit)) - start) for start, end in intervals
    )


def intervals_uncovered(intervals, covered):
    """The parts of merged `intervals` that merged `covered` leaves out."""
    uncovered = []
    for start, end in intervals:
        for covered_start, covered_end in covered:
            if covered_end <= start or covered_start >= end:
                continue
            if covered_start > start:
                uncovered.append([start, covered_start])
            start = covered_end
            if start >= end:
                break
        if start < end:
            uncovered.append([start, end])
    return uncovered


# The speeds the player offers (static/js/watch.js holds it to the fastest); watched time
# cannot grow faster than the fastest.
PLAYBACK_RATES = (0.75, 1, 1.25, 1.5, 1.75, 2)
MAX_PLAYBACK_RATE = max(PLAYBACK_RATES)
# How far credited viewing may run ahead of real time, for timers and requests in flight.
# It is one lead for the learner's participation, repaid by later reports, so neither
# more reports nor more sessions make it bigger.
PLAYBACK_GRACE_MS = 10_000
# A session without a report for this long is closed; the page then opens a new one.
VIEWING_SESSION_IDLE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class ViewingCredit:
    intervals: list
    clock: datetime.datetime


def viewing_credit(*, claimed, watched, at, since, clock):
    """What a report may add to `watched` (merged ms pairs), and the viewing clock after it.

    `claimed` is the report's merged stretches, `since` its session's previous report (or
    opening) and `clock` the participation's viewing clock. The new stretches may take the
    real time after both, at the fastest playback rate, plus what is left of the grace
    lead: the clock then advances by the time they took. The new stretches are taken from
    the start of the recording on, and what does not fit stays for a later report (the
    player sends everything again), so an honest viewer whose report runs a little ahead
    of the server's clock loses nothing, while a forged one never gets ahead of time.
    """
    base = max(since, clock or since)
    allowed_ms = math.floor((at - base).total_seconds() * 1000 * MAX_PLAYBACK_RATE) + PLAYBACK_GRACE_MS
    credited = []
    for start, end in intervals_uncovered(claimed, watched):
        if allowed_ms <= 0:
            break
        end = min(end, start + allowed_ms)
        credited.append([start, end])
        allowed_ms -= end - start
    if not credited:
        return ViewingCredit(intervals=[], clock=clock)
    used = datetime.timedelta(milliseconds=intervals_total(credited) / MAX_PLAYBACK_RATE)
    return ViewingCredit(intervals=credited, clock=base + used)


def viewing_session_live(*, session, at):
    return at - session.last_report_at <= VIEWING_SESSION_IDLE


def format_duration(seconds):
    """75 → "1 min 15 s", 3600 → "1 h", 0 → "0 s"."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    if secs and not hours:
        parts.append(f"{secs} s")
    return " ".join(parts) or "0 s"


# Resuming this close to the end would show the learner a finished video.
RESUME_END_MARGIN_MS = 3000


@dataclass(frozen=True)
class Viewing:
    """How much of a recording one learner has played, in whole milliseconds so the
    threshold comparison is exact."""

    watched_ms: int
    duration_ms: int
    required_percent: int
    resume_ms: int
    required: bool

    @property
    def reached(self):
        return self.duration_ms > 0 and self.watched_ms * 100 >= self.required_percent * self.duration_ms

    @property
    def percent(self):
        # Rounded down, so 89.9% never shows as a met 90%.
        return self.watched_ms * 100 // self.duration_ms if self.duration_ms else 0

    @property
    def remaining_seconds(self):
        needed_ms = -(-self.required_percent * self.duration_ms // 100) - self.watched_ms
        return max(0, -(-needed_ms // 1000))

    @property
    def resume_seconds(self):
        if self.duration_ms and self.resume_ms >= self.duration_ms - RESUME_END_MARGIN_MS:
            return 0
        return self.resume_ms / 1000

    @property
    def status(self):
        if not self.duration_ms:
            return "Your place in the recording is saved as you watch."
        watched = (
            f"You have watched {format_duration(round(self.watched_ms / 1000))} of "
            f"{format_duration(self.duration_ms // 1000)} ({self.percent}%)."
        )
        if not self.required:
            return watched
        if self.reached:
            return f"{watched} That is enough to continue."
        return (
            f"{watched} Watch {format_duration(self.remaining_seconds)} more to reach "
            f"{self.required_percent}% and continue."
        )

    def as_json(self):
        # Whether the learner may go on is the rule's (recording_requirement_met), which
        # also knows accommodations: the view adds it.
        return {
            "watched_seconds": self.watched_ms / 1000,
            "duration_seconds": self.duration_ms / 1000,
            "percent": self.percent,
            "required_percent": self.required_percent,
            "remaining_seconds": self.remaining_seconds,
            "status": self.status,
        }


def recording_viewing(*, participation, activity):
    """What `participation`'s learner has watched of `activity`'s recording."""
    recording = getattr(activity, "recording", None)
    duration_ms = recording.duration_seconds * 1000 if recording and recording.trackable else 0
    return Viewing(
        watched_ms=intervals_total(participation.watched_intervals_ms, limit=duration_ms),
        duration_ms=duration_ms,
        required_percent=recording.required_viewing_percent if recording else 100,
        resume_ms=participation.resume_position_ms,
        required=activity.requires_full_viewing,
    )


