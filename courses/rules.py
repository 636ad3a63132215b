"""The pure decisions of courses: credit amounts, the credit types an activity offers and
to whom, the credit window, the review cycle, the viewing requirement and what keeps an
activity from being published.

models.py imports this module for its validators and choices, so nothing here imports
models at module level.
"""

import calendar
import datetime
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.utils.formats import date_format

from .credit_types import ACPE, AMA, MOC_CREDIT_TYPES, PARTICIPATION, LearnerDetail
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


# The nature of a relevant financial relationship, as (value, label): the value is what
# the relationship stores and the disclosure prints. A nature not in the list is written
# "other: …" with the learner-facing words after the colon (a spouse's employment, say),
# so nothing a faculty member disclosed has to be bent to fit a choice.
RELATIONSHIP_NATURES = [
    ("consultant", "Consultant"),
    ("speaker", "Speaker"),
    ("researcher", "Researcher / grant recipient"),
    ("advisory board", "Advisory board"),
    ("employee", "Employee"),
    ("stock or ownership", "Stock or ownership"),
    ("royalties", "Royalties"),
    ("other", "Other"),
]
OTHER_NATURE_PREFIX = "other:"


def relationship_nature_problem(nature):
    """Why `nature` is not one of RELATIONSHIP_NATURES nor "other: …", or None."""
    if nature in dict(RELATIONSHIP_NATURES):
        return None
    if nature.startswith(OTHER_NATURE_PREFIX) and nature[len(OTHER_NATURE_PREFIX):].strip():
        return None
    values = ", ".join(value for value, _ in RELATIONSHIP_NATURES)
    return f"{nature!r} is not a nature of relationship: use one of {values}, or \"other: …\" with a description"


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
        problem = relationship_nature_problem(item["nature"])
        if problem:
            raise ValidationError(f"Relationship with {item['company']}: {problem}.")


def validate_joint_providers(value):
    """Joint providers are a list of distinct names."""
    if not isinstance(value, list) or not all(isinstance(name, str) and name.strip() for name in value):
        raise ValidationError('List the joint providers by name, e.g. ["City Health Department"]; [] for none.')
    for name in value:
        if text_problem(name):
            raise ValidationError(f"A joint provider's name {text_problem(name)}.")
    seen = set()
    for name in value:
        if name.strip().casefold() in seen:
            raise ValidationError(f"{name.strip()} is listed twice as a joint provider.")
        seen.add(name.strip().casefold())


class ActivityStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class OutcomeMeasure(models.TextChoices):
    """What the provider measured to evaluate an activity's effect, as PARS asks for it
    before an activity can be closed (at least one)."""

    LEARNER_KNOWLEDGE = "learner_knowledge", "Learner knowledge"
    LEARNER_COMPETENCE = "learner_competence", "Learner competence"
    LEARNER_PERFORMANCE = "learner_performance", "Learner performance"
    PATIENT_HEALTH = "patient_health", "Patient health"
    COMMUNITY_HEALTH = "community_health", "Community or population health"


def validate_outcome_measures(value):
    """Outcome measures are a list of distinct OutcomeMeasure codes."""
    if not isinstance(value, list) or not all(code in OutcomeMeasure.values for code in value):
        codes = ", ".join(OutcomeMeasure.values)
        raise ValidationError(f"List outcome measures by their codes ({codes}); [] for none yet.")
    if len(set(value)) != len(value):
        raise ValidationError("An outcome measure is listed twice.")


class CreditWindow(models.TextChoices):
    """Where an activity stands, for credit, on a given day: the value is the reason
    code, the label the one wording of it."""

    DRAFT = "draft", "This activity is not published."
    NOT_YET_RELEASED = "not_yet_released", "This activity is not released yet."
    OPEN = "open", "Credit is available."
    EXPIRED = "expired", "Credit is no longer available for this activity."
    ARCHIVED = "archived", "This activity has been archived."


def credit_last_day(*, termination_date, extended_until=None):
    """The last day a learner may earn credit: the termination date, or the end of the
    extension staff granted them (CreditExtension) when it runs later."""
    if extended_until is not None and extended_until > termination_date:
        return extended_until
    return termination_date


def credit_window(*, status, release_date, termination_date, day, extended_until=None):
    """The credit window: whether credit can be earned on `day`, a calendar date in the
    provider's time zone, and if not why. The termination date is inclusive: credit is
    open until 23:59:59 that day, provider time. `extended_until` is the last day of one
    learner's extension: it keeps the window open for them alone, never a draft or an
    archived activity."""
    if status == ActivityStatus.DRAFT:
        return CreditWindow.DRAFT
    if status == ActivityStatus.ARCHIVED:
        return CreditWindow.ARCHIVED
    if day < release_date:
        return CreditWindow.NOT_YET_RELEASED
    if day > credit_last_day(termination_date=termination_date, extended_until=extended_until):
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


def activity_credit_window(activity, *, at=None, extended_until=None):
    """`activity`'s credit window at the moment `at` (now by default), provider time, for
    a learner whose credit staff extended until `extended_until` (None: everyone else)."""
    # models imports this module, so the clock it keeps is imported when needed.
    from .models import provider_today

    return credit_window(
        status=activity.status,
        release_date=activity.release_date,
        termination_date=activity.termination_date,
        day=provider_today(at=at),
        extended_until=extended_until,
    )


def learner_credit_window(activity, *, participation, at=None):
    """`activity`'s credit window for the learner of `participation` (None when they have
    not started it), their extension included. The participation must come from
    courses.selectors.participation_of, which reads the extension with it."""
    return activity_credit_window(
        activity, at=at, extended_until=participation.credit_extended_until if participation else None
    )


def credit_extension_refusal(*, status, participation):
    """Why no learner's credit can be extended in an activity with `status`, or why the
    learner of `participation` (None: they have not started it) needs no extension; ""
    when one may be granted."""
    if status == ActivityStatus.ARCHIVED:
        return "This activity has been archived: it gives no credit, so there is nothing to extend."
    if status == ActivityStatus.DRAFT:
        return "This activity is a draft: it gives no credit, so there is nothing to extend."
    if participation is None:
        return (
            "The learner has not started this activity: an extension lets a learner finish "
            "an activity they began."
        )
    if participation.completed_at is not None:
        return "The learner has completed this activity and claimed its certificate: there is nothing to extend."
    return ""


def credit_extension_problems(*, until, activity, day, extended_until=None):
    """Why one learner's credit in `activity` cannot be extended until `until` (inclusive)
    on `day`, as messages; empty when it can. `extended_until` is the last day of the
    extension they already have, if any.

    An extension runs past the termination date (before it, credit is open to everyone),
    ends no earlier than today, and stays within the review cycle: an enduring material
    gives no credit more than 3 years after its most recent review, or its release."""
    problems = []
    if until <= activity.termination_date:
        problems.append(
            f"The extension must end after the termination date, {_long_date(activity.termination_date)}: "
            "until then every learner can earn credit."
        )
    if until < day:
        problems.append(
            f"The extension must not end before today, {_long_date(day)}: the learner would "
            "have no time left to earn credit."
        )
    deadline = review_deadline(release_date=activity.release_date, reviewed_on=activity.reviewed_on)
    if until > deadline:
        since = "most recent review" if activity.reviewed_on else "release"
        problems.append(
            f"An enduring material must be reviewed at least every {REVIEW_CYCLE_YEARS} years, "
            f"so credit cannot run past {_long_date(deadline)}, {REVIEW_CYCLE_YEARS} years after "
            f"its {since}: choose that day or an earlier one."
        )
    if extended_until is not None and until <= extended_until:
        problems.append(
            f"The learner's credit is already extended until {_long_date(extended_until)}: "
            "choose a later day to extend it further."
        )
    return problems


def _long_date(day):
    return date_format(day, "F j, Y")


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


def faculty_problems(names):
    """`names` are those of the people in control of content. Their disclosure to learners
    is generated from their relationships ([] = none to disclose), which the model
    validates, so nothing typed besides is required."""
    if not names:
        return ["The activity needs at least one faculty member or planner."]
    return []


def activity_content_problems(*, activity):
    """What in courses keeps `activity` from being published, as messages for staff."""
    return objectives_problems([o.text for o in activity.objectives.all()]) + faculty_problems(
        # .all(), not select_related(): a caller's prefetch (lms.publishing checks a whole
        # page of activities at once) then serves it.
        [role.person.name for role in activity.faculty.all()]
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


# --- live activities: what is locked once learners have started -------------------------


def assessment_locked(*, status, started):
    """Whether what decides how learners are assessed or what they must watch (post-test,
    questions, choices, recording, viewing requirement) may no longer change in place:
    once anyone has started an activity that is not a draft. Unpublishing (back to draft)
    unlocks it; learners' progress is kept either way (SPEC §5)."""
    return status != ActivityStatus.DRAFT and started


def assessment_lock_message(*, title, part):
    """Why `part` ("post-test", "recording", …) of the activity `title` cannot change."""
    return (
        f"Learners have started “{title}”, so its {part} cannot be changed. Unpublish it "
        "first (their progress is kept), or duplicate it for a new run."
    )


# --- publishing: what blocks it and what only deserves a second look ---------------------


def recording_problems(*, recording, requires_full_viewing):
    """What keeps an activity with `recording` (None when it has none) from being published."""
    if recording is None or not (recording.video or recording.url):
        return ["The activity has no recording: upload a video or give its URL."]
    problems = []
    if requires_full_viewing and not recording.trackable:
        problems.append(
            "The activity requires full viewing, which can only be measured for a video file, "
            "not a YouTube or Vimeo page: give a video file or turn the requirement off."
        )
    if requires_full_viewing and not recording.duration_seconds:
        problems.append(
            "The activity requires full viewing, which is measured against the recording's "
            "duration: set the duration."
        )
    return problems


def credit_ended_problems(*, status, termination_date, day):
    """A draft whose credit ended before `day` would be published with no credit to give.
    A published activity past its termination date is the normal lifecycle, not a fault."""
    if status != ActivityStatus.DRAFT or termination_date is None or termination_date >= day:
        return []
    return [
        f"Credit for this activity ended on {date_format(termination_date, 'F j, Y')}; set a "
        "later termination date before publishing."
    ]


# A recording shorter than this is almost surely a wrong or broken file (a test clip).
MIN_PLAUSIBLE_RECORDING_SECONDS = 10


def _quarter_hours_up(minutes):
    """`minutes` as hours, rounded up to the next credit step."""
    quarters = -(-minutes // 15)
    return Decimal(quarters) * CREDIT_STEP


def credit_time_warnings(*, credits, estimated_minutes, recording_seconds):
    """Where the credit designated looks out of line with the time to complete, as
    messages for staff. Warnings only: an enduring material may add reading time to its
    recording, so only the clearly implausible is flagged.

    - credits above the estimated time in hours, rounded up to the next 0.25, by more than
      0.25 (60 minutes allows up to 1.25 credits; 10 minutes up to 0.5);
    - a recording longer than the estimated time to complete (learners must at least watch it);
    - credits under a quarter of the recording's hours (0.25 for a 2-hour recording).
    `recording_seconds` is 0 or None when there is no recording or its length is unknown.
    """
    warnings = []
    credits = Decimal(credits)
    allowed = _quarter_hours_up(estimated_minutes) + CREDIT_STEP
    if credits > allowed:
        warnings.append(
            f"{credits.normalize():f} credits is more than the estimated time to complete "
            f"({estimated_minutes} minutes) supports: at most {allowed.normalize():f}. Check "
            "the credits and the estimated time."
        )
    if recording_seconds and recording_seconds > estimated_minutes * 60:
        warnings.append(
            f"The recording runs {-(-recording_seconds // 60)} minutes, longer than the "
            f"estimated time to complete ({estimated_minutes} minutes)."
        )
    if recording_seconds and credits * 4 * 3600 < recording_seconds:
        warnings.append(
            f"{credits.normalize():f} credits is under a quarter of the recording's length "
            f"({-(-recording_seconds // 60)} minutes). Check the credits."
        )
    return warnings


def recording_length_warnings(*, duration_seconds):
    if duration_seconds and duration_seconds < MIN_PLAUSIBLE_RECORDING_SECONDS:
        return [
            f"The recording is only {duration_seconds} seconds long: check that the right "
            "file or URL was given."
        ]
    return []


# --- credit types: what an activity offers, to whom, and what each needs -----------------


@dataclass(frozen=True)
class CreditOffer:
    """A credit type an activity offers, with its amount: AMA PRA Category 1 Credit™ and
    hours of participation (both the activity's `credits`), or one of its ActivityCredit
    rows with what the receiving body needs about it (ACPE's UAN; for a board's MOC
    points, the activity's registration: practice areas and the board's credit types)."""

    credit_type: object  # a courses.models.CreditType
    amount: Decimal
    uan: str = ""
    moc_practice_areas: tuple = ()
    moc_credit_types: tuple = ()

    @property
    def code(self):
        return self.credit_type.code

    @property
    def board(self):
        """The certifying board of MOC points; "" for any other type."""
        return self.credit_type.board

    @property
    def for_participation(self):
        """Offered to learners eligible for no other type of the activity."""
        return not self.credit_type.eligible_professions

    @property
    def amount_display(self):
        return self.credit_type.amount_display(self.amount)

    @property
    def moc_credit_type_labels(self):
        labels = dict(MOC_CREDIT_TYPES.get(self.board, []))
        return [labels.get(code, code) for code in self.moc_credit_types]


def credit_offer_of(row):
    """An activity's ActivityCredit `row` as the offer it makes."""
    return CreditOffer(
        credit_type=row.credit_type,
        amount=row.amount,
        uan=row.uan,
        moc_practice_areas=tuple(row.moc_practice_areas),
        moc_credit_types=tuple(row.moc_credit_types),
    )


def credit_offers(*, credits, ama, participation, rows):
    """Every credit type an activity offers, in the types' order: AMA credit (`ama`, the
    CreditType) and hours of participation (`participation`), both for the activity's
    `credits`, and the types of its ActivityCredit `rows`."""
    offers = [
        CreditOffer(credit_type=ama, amount=credits),
        *(credit_offer_of(row) for row in rows),
        CreditOffer(credit_type=participation, amount=credits),
    ]
    return sorted(offers, key=lambda offer: offer.credit_type.order)


def offers_for_profession(offers, *, profession):
    """The offers a learner of `profession` may earn: those of the types open to the
    profession, or, when there are none, hours of participation."""
    eligible = [offer for offer in offers if profession and profession in offer.credit_type.eligible_professions]
    return eligible or [offer for offer in offers if offer.for_participation]


# Where a learner's profile keeps each detail a credit type may need.
LEARNER_DETAIL_FIELDS = {
    LearnerDetail.NABP_EPROFILE: ("nabp_eprofile_id",),
    LearnerDetail.BIRTH_MONTH_DAY: ("birth_month", "birth_day"),
    LearnerDetail.BOARD_ID: ("board_id",),
}


def details_needed(offers):
    """The LearnerDetail codes `offers` need between them, in LearnerDetail's order."""
    wanted = {detail for offer in offers for detail in offer.credit_type.learner_details}
    return [detail for detail in LearnerDetail if detail in wanted]


def detail_fields_missing(*, details, values):
    """The profile fields of `details` (LearnerDetail codes) that `values` (profile field
    name → value) leaves empty: [] when the learner has given everything they need."""
    return [
        name
        for detail in details
        for name in LEARNER_DETAIL_FIELDS[detail]
        if values.get(name) in (None, "")
    ]


def birth_month_day_problems(*, month, day):
    """What is wrong with a month and day of birth given for reporting, by field.

    Boards and CPE Monitor match learners on both together, so one without the other is
    refused; 29 February is a real birthday, so the check uses a leap year.
    """
    if month is None and day is None:
        return {}
    if month is None:
        return {"birth_month": "Give the month of birth too, or leave both empty."}
    if day is None:
        return {"birth_day": "Give the day of birth too, or leave both empty."}
    try:
        datetime.date(2000, month, day)
    except ValueError:
        return {"birth_day": f"{calendar.month_name[month]} has no day {day}."}
    return {}


def moc_points(*, registered, credit_claimed):
    """A learner's MOC points: as many as the AMA credit they claim (`credit_claimed`,
    None when they claim none), up to the points the activity is `registered` for."""
    return registered if credit_claimed is None else min(registered, credit_claimed)


def _moc_codes_text(board):
    return ", ".join(f"{code} ({label})" for code, label in MOC_CREDIT_TYPES[board])


def _is_list_of_text(value):
    return isinstance(value, list) and all(isinstance(item, str) and item.strip() for item in value)


def credit_offer_row_problems(*, credit_type, uan, moc_credit_types, moc_practice_areas):
    """What is wrong with a credit type offered beyond AMA credit, by field, whatever the
    activity's state: AMA credit and participation are not offered this way, a UAN is
    ACPE's, and MOC credit types and practice areas belong to a board's MOC points."""
    errors = {}
    if credit_type.code in (AMA, PARTICIPATION):
        errors["credit_type"] = (
            "AMA PRA Category 1 Credit™ is the activity's own credit amount, and hours of "
            "participation come with every activity: choose another credit type."
        )
    if uan and credit_type.code != ACPE:
        errors["uan"] = "A UAN is ACPE's activity number: give it for ACPE contact hours only."
    if not _is_list_of_text(moc_credit_types):
        errors["moc_credit_types"] = 'List the MOC credit types by code, e.g. ["MK"]; [] for none.'
    elif moc_credit_types and not credit_type.board:
        errors["moc_credit_types"] = "MOC credit types are for a board's MOC points only."
    elif credit_type.board:
        codes = dict(MOC_CREDIT_TYPES[credit_type.board])
        unknown = [code for code in moc_credit_types if code not in codes]
        if unknown:
            errors["moc_credit_types"] = (
                f"{unknown[0]} is not one of {credit_type.board}'s MOC credit types: "
                f"{_moc_codes_text(credit_type.board)}."
            )
        elif len(set(moc_credit_types)) < len(moc_credit_types):
            errors["moc_credit_types"] = "Each MOC credit type is listed once."
    if not _is_list_of_text(moc_practice_areas):
        errors["moc_practice_areas"] = 'List the practice areas by name, e.g. ["Cardiology"]; [] for none.'
    elif moc_practice_areas and not credit_type.board:
        errors["moc_practice_areas"] = "Practice areas are for a board's MOC points only."
    else:
        for area in moc_practice_areas:
            if text_problem(area):
                errors["moc_practice_areas"] = f"A practice area {text_problem(area)}."
    return errors


def credit_offer_problems(offers):
    """What in an activity's credit offers keeps it from being published, as messages for
    staff: ACPE credit is reported under the activity's UAN, and a board registers an
    activity for some of its MOC credit types. (Boards also ask that the activity assess
    the learner; every activity is published with a post-test, which quizzes checks.)"""
    problems = []
    for offer in offers:
        name = offer.credit_type.name
        if offer.code == ACPE and not offer.uan:
            problems.append(
                f"{name}: give the activity's UAN (Universal Activity Number); ACPE credit is reported under it."
            )
        if offer.board and not offer.moc_credit_types:
            problems.append(
                f"{name}: choose the {offer.board} MOC credit types the activity counts for "
                f"({_moc_codes_text(offer.board)})."
            )
    return problems
