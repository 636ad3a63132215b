"""The pure decisions of courses: credit amounts, the credit window, the review cycle,
the viewing requirement and what keeps an activity from being published.

models.py imports this module for its validators and choices, so nothing here imports
models at module level.
"""

import zoneinfo
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q

from .viewing import recording_viewing

CREDIT_STEP = Decimal("0.25")
# An enduring material is reviewed at least every three years (SPEC §2).
REVIEW_CYCLE_YEARS = 3


def validate_credit_amount(value):
    if value is None or value <= 0:
        raise ValidationError("Credits must be greater than 0.")
    if value % CREDIT_STEP:
        step = f"{CREDIT_STEP:f}"
        raise ValidationError(
            f"Credits must be in steps of {step} (for example {step}, 1, 1.5)."
        )


def validate_time_zone(value):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a known time zone.") from None


def text_problem(value):
    """Why the text `value` cannot be stored, or None. JSON and hand-parsed input allow
    both: PostgreSQL refuses a NUL character, and no database encoding holds half of a
    UTF-16 surrogate pair (Django's forms already refuse a NUL; their input never holds
    the other)."""
    if "\x00" in value:
        return "must not contain a NUL character (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"contains {value[error.start]!r}, half of a UTF-16 surrogate pair, which is not a character"
    return None


def validate_relationships(value):
    if not isinstance(value, list) or not all(
        isinstance(item, dict)
        and set(item) == {"company", "nature"}
        and all(isinstance(item[key], str) and item[key].strip() for key in item)
        for item in value
    ):
        raise ValidationError(
            'List each relationship as {"company": "…", "nature": "…"}, both filled in; [] for none.'
        )
    for item in value:
        for key, text in item.items():
            if text_problem(text):
                raise ValidationError(f"A relationship's {key} {text_problem(text)}.")


class ActivityStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class CreditWindow(models.TextChoices):
    """Where an activity stands, for credit, on a given day: the value is the reason
    code, the label the one wording of it."""

    DRAFT = "draft", "This activity is not published."
    NOT_YET_RELEASED = "not_yet_released", "This activity is not released yet."
    OPEN = "open", "Credit is available."
    EXPIRED = "expired", "Credit is no longer available for this activity."
    ARCHIVED = "archived", "This activity has been archived."


def credit_window(*, status, release_date, termination_date, day):
    """The credit window: whether credit can be earned on `day`, a calendar date in the
    provider's time zone, and if not why. The termination date is inclusive: credit is
    open until 23:59:59 that day, provider time."""
    if status == ActivityStatus.DRAFT:
        return CreditWindow.DRAFT
    if status == ActivityStatus.ARCHIVED:
        return CreditWindow.ARCHIVED
    if day < release_date:
        return CreditWindow.NOT_YET_RELEASED
    if day > termination_date:
        return CreditWindow.EXPIRED
    return CreditWindow.OPEN


def credit_window_q(window, *, day):
    """credit_window as a database filter: the activities whose window on `day` is
    `window`, so the catalog and admin can filter and paginate on it."""
    published = Q(status=ActivityStatus.PUBLISHED)
    return {
        CreditWindow.DRAFT: Q(status=ActivityStatus.DRAFT),
        CreditWindow.ARCHIVED: Q(status=ActivityStatus.ARCHIVED),
        CreditWindow.NOT_YET_RELEASED: published & Q(release_date__gt=day),
        CreditWindow.OPEN: published & Q(release_date__lte=day, termination_date__gte=day),
        CreditWindow.EXPIRED: published & Q(release_date__lte=day, termination_date__lt=day),
    }[CreditWindow(window)]


def activity_credit_window(activity, *, at=None):
    """`activity`'s credit window at the moment `at` (now by default), provider time."""
    # models imports this module, so the clock it keeps is imported when needed.
    from .models import provider_today

    return credit_window(
        status=activity.status,
        release_date=activity.release_date,
        termination_date=activity.termination_date,
        day=provider_today(at=at),
    )


def review_deadline(*, release_date, reviewed_on=None):
    """The latest termination date the 3-year review rule allows."""
    start = reviewed_on or release_date
    try:
        return start.replace(year=start.year + REVIEW_CYCLE_YEARS)
    except ValueError:  # 29 February
        return start.replace(year=start.year + REVIEW_CYCLE_YEARS, day=28)


def activity_date_problems(*, recorded_on, release_date, reviewed_on, termination_date):
    """What is wrong with an activity's dates, as {field: message}; empty when nothing."""
    errors = {}
    if not release_date or not termination_date:
        return errors
    if recorded_on and recorded_on > release_date:
        errors["recorded_on"] = "The recording date must not be after the release date."
    if reviewed_on and reviewed_on < release_date:
        errors["reviewed_on"] = "The most recent review must not be before the release date."
    if termination_date < release_date:
        errors["termination_date"] = "The termination date must not be before the release date."
    elif reviewed_on and reviewed_on > termination_date:
        errors["reviewed_on"] = "The most recent review must not be after the termination date."
    else:
        deadline = review_deadline(release_date=release_date, reviewed_on=reviewed_on)
        if termination_date > deadline:
            since = "most recent review" if reviewed_on else "release"
            errors["termination_date"] = (
                f"An enduring material must be reviewed at least every {REVIEW_CYCLE_YEARS} "
                f"years: the termination date must be on or before {deadline.isoformat()}, "
                f"{REVIEW_CYCLE_YEARS} years after the {since}."
            )
    return errors


def objectives_problems(texts):
    if not [text for text in texts if text.strip()]:
        return ["The activity needs at least one learning objective."]
    return []


def faculty_problems(rows):
    """`rows` are (person's name, disclosure on file) of the people in control of content."""
    if not rows:
        return ["The activity needs at least one faculty member or planner."]
    return [
        f"{name} has no disclosure on file: record their relevant financial relationships "
        "(or that there are none) in the disclosure field."
        for name, disclosure in rows
        if not disclosure.strip()
    ]


def activity_content_problems(*, activity):
    """What in courses keeps `activity` from being published, as messages for staff."""
    return objectives_problems([o.text for o in activity.objectives.all()]) + faculty_problems(
        [(role.person.name, role.disclosure) for role in activity.faculty.select_related("person")]
    )


def viewing_accommodation_of(*, participation):
    try:
        return participation.viewing_accommodation
    except ObjectDoesNotExist:
        return None


def recording_requirement_met_at(*, participation):
    """When the learner met the viewing requirement of an activity that requires full
    viewing, or None while they have not.

    They meet it by playing the recording's required share (90% unless staff set
    another), measured against its current duration, and recording_completed_at dates
    when they did; or by a viewing accommodation, from when staff granted it. Whichever
    came first counts, so granting one later never moves a completion date.
    """
    moments = []
    if participation.recording_completed_at is not None and recording_viewing(
        participation=participation, activity=participation.activity
    ).reached:
        moments.append(participation.recording_completed_at)
    accommodation = viewing_accommodation_of(participation=participation)
    if accommodation is not None:
        moments.append(accommodation.granted_at)
    return min(moments, default=None)


def recording_requirement_met(*, participation):
    """Whether the learner may go on past the recording: always where the activity does
    not require full viewing, otherwise once recording_requirement_met_at dates it."""
    if not participation.activity.requires_full_viewing:
        return True
    return recording_requirement_met_at(participation=participation) is not None
