"""ACCME's PARS files: the layout of the learner-completion and activity uploads, and the
pure decisions that fill them (what a row holds, which completions PARS cannot take and
why, when a board expects a completion).

The layouts follow what could be read of ACCME's own documents:

- "PARS Participant Tab Delimited File Upload Instructions – Learner Template B" (ACCME,
  document 736, last update April 23, 2020) and "Excel Template Instructions for
  Submitting Learner Completion Data" (ACCME, November 19, 2025,
  accme.org/resource/excel-learner-upload-instructions/): one learner record per row,
  added or deleted in batches; a row may carry CME or MOC credit; the Excel template is
  turned into a tab-delimited .txt file for upload.
- ACCME's FAQ "What information should I collect about each board-certified physician…":
  date of completion, the board-assigned ID, first and last name, month and day of birth.
- "Activity Tab Delimited File Upload Instructions For Reporting Year 2016 and Greater"
  (ACCME, document 634, February 4, 2019), the video FAQ "How do I conduct a tab-delimited
  upload in PARS?" (the .txt file has no header row; a row is one activity, matched on the
  Provider Activity ID) and the FAQ "What activity data are providers required to enter
  into PARS?" (title, format, start and end date, AMA PRA Category 1 amount,
  providership and joint providers, outcome measures, commercial support per source,
  physician and other learner counts, and per MOC board its practice areas, credit types
  and points).

Those pages gave the fields, their kinds and the Add/Delete action, not every column
heading of the current templates: the headings below name each field in PARS's own words
where the documents used them. Dates are written month first (MM/DD/YYYY; the date of
birth MM/DD), yes/no fields "Yes"/"No", as in ACCME's templates.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import models

from courses.credit_types import AMA, MOC_REPORTING_DAYS, Board
from courses.rules import OutcomeMeasure
from courses.statements import format_credits

from .exports import TableFormat

# The two files ACCME's templates come as: the Excel template (with its header row) and
# the tab-delimited text PARS uploads (without one).
PARS_FORMATS = [(TableFormat.XLSX, "Excel workbook (.xlsx), with a header row"),
                (TableFormat.TSV, "Tab-delimited text (.txt) for upload, without a header row")]


class RecordAction(models.TextChoices):
    """The learner file's "Record Action": PARS adds the record, or deletes the one sent
    before with the same details."""

    ADD = "Add", "Add"
    DELETE = "Delete", "Delete"


class CreditKind(models.TextChoices):
    """What a learner row reports: AMA PRA Category 1 Credit™ (CME) or a board's MOC points."""

    CME = "CME", "CME"
    MOC = "MOC", "MOC"


# Learner completions: "Learner Template B" and the Excel learner template (see above).
LEARNER_COLUMNS = [
    "Provider ID",
    "Activity ID",
    "Learner First Name",
    "Learner Last Name",
    "Date of Birth (MM/DD)",
    "Completion Date (MM/DD/YYYY)",
    "Credit Type",
    "CME Credits Earned",
    "Licensing State",
    "License Number",
    "NPI",
    "Certifying Board",
    "Board ID",
    "MOC Points Earned",
    "MOC Credit Types",
    "Record Action",
]
ACTION_COLUMN = LEARNER_COLUMNS.index("Record Action")

# Activities: "Activity Tab Delimited File Upload Instructions For Reporting Year 2016 and
# Greater" and the FAQ on required activity data (see above). Each board has its group of
# MOC registration columns; commercial support comes last, one group per source, repeated
# as often as the activity with the most sources needs.
ACTIVITY_FORMAT = "Enduring Material"
ACTIVITY_COLUMNS = [
    "ACCME Activity ID",
    "Provider Activity ID",
    "Reporting Year",
    "Activity Title",
    "Activity Format",
    "Start Date (MM/DD/YYYY)",
    "End Date (MM/DD/YYYY)",
    "Activity URL",
    "Hours of Instruction",
    "AMA PRA Category 1 Credits Designated",
    "Providership",
    "Joint Provider(s)",
    "Total Physician Learners",
    "Total Other Learners",
    *[f"Outcome Measured: {label}" for label in OutcomeMeasure.labels],
    "Commercial Support Received?",
    *[
        heading
        for board in Board
        for heading in (f"{board.value} MOC Registered", f"{board.value} MOC Practice Areas",
                        f"{board.value} MOC Credit Types", f"{board.value} MOC Points")
    ],
]
SUPPORT_COLUMNS = ["Commercial Supporter {n}", "Support Type {n}", "Monetary Amount {n}"]
SUPPORT_TYPES = {"monetary": "Monetary", "in_kind": "In-Kind"}
LIST_SEPARATOR = "; "


class LeftOut(models.TextChoices):
    """Why a completion stays out of the learner file: PARS would refuse it, or the
    learner did not allow it. In the order they are checked."""

    NO_CONSENT = "no_consent", "The learner has not agreed to share completions with boards"
    NO_ACTIVITY_ID = "no_activity_id", "The activity has no ACCME activity ID yet"
    NO_BIRTH_DATE = "no_birth_date", "The learner's month and day of birth are missing"
    NO_LICENCE = "no_licence", "Neither a licence (state and number) nor an NPI for the CME credit"
    NO_BOARD_ID = "no_board_id", "No board ID for the MOC points"


def yes_no(value):
    return "Yes" if value else "No"


def pars_date(day):
    return day.strftime("%m/%d/%Y")


def birth_month_day(*, month, day):
    return f"{month:02d}/{day:02d}" if month and day else ""


def amount_text(amount):
    return format_credits(amount) if amount is not None else ""


def moc_due_date(completed_on):
    """The day a board expects a completion by: MOC_REPORTING_DAYS after the learner
    completed (boards count calendar days from the completion)."""
    return completed_on + timedelta(days=MOC_REPORTING_DAYS)


def credit_kind(*, credit_type_code, board):
    """CME for the AMA line, MOC for a board's points, None for a line PARS does not take."""
    if board:
        return CreditKind.MOC
    if credit_type_code == AMA:
        return CreditKind.CME
    return None


@dataclass(frozen=True)
class LearnerLine:
    """One credit line of a certificate, with what the learner file reports about it."""

    kind: str
    provider_id: str
    activity_id: str
    given_name: str
    family_name: str
    birth_month: int | None
    birth_day: int | None
    completed_on: object
    amount: object
    licence_state: str
    licence_number: str
    npi: str
    board: str
    board_id: str
    moc_credit_types: list
    consented: bool


def learner_line_problem(line):
    """Why `line` cannot go to PARS (a LeftOut), or None when it can."""
    if not line.consented:
        return LeftOut.NO_CONSENT
    if not line.activity_id:
        return LeftOut.NO_ACTIVITY_ID
    if not (line.birth_month and line.birth_day):
        return LeftOut.NO_BIRTH_DATE
    if line.kind == CreditKind.CME and not (line.npi or (line.licence_state and line.licence_number)):
        return LeftOut.NO_LICENCE
    if line.kind == CreditKind.MOC and not line.board_id:
        return LeftOut.NO_BOARD_ID
    return None


def learner_row(line, *, action=RecordAction.ADD):
    """The learner file's row for `line`, in LEARNER_COLUMNS order, every cell text."""
    moc = line.kind == CreditKind.MOC
    return [
        line.provider_id,
        line.activity_id,
        line.given_name,
        line.family_name,
        birth_month_day(month=line.birth_month, day=line.birth_day),
        pars_date(line.completed_on),
        str(line.kind),
        "" if moc else amount_text(line.amount),
        line.licence_state,
        line.licence_number,
        line.npi,
        line.board if moc else "",
        line.board_id if moc else "",
        amount_text(line.amount) if moc else "",
        LIST_SEPARATOR.join(line.moc_credit_types) if moc else "",
        str(action),
    ]


def deleting_row(row):
    """The row that asks PARS to delete the record `row` added: the same details, so PARS
    finds it, with the Delete action."""
    return [*row[:ACTION_COLUMN], str(RecordAction.DELETE), *row[ACTION_COLUMN + 1:]]


def learner_header(table_format):
    """The Excel file starts with the template's header row; the text file PARS uploads
    has none."""
    return LEARNER_COLUMNS if table_format == TableFormat.XLSX else None


def activity_columns(*, support_groups):
    return [
        *ACTIVITY_COLUMNS,
        *[heading.format(n=n) for n in range(1, support_groups + 1) for heading in SUPPORT_COLUMNS],
    ]


def activity_header(table_format, *, support_groups):
    return activity_columns(support_groups=support_groups) if table_format == TableFormat.XLSX else None


@dataclass(frozen=True)
class MocRegistration:
    board: str
    practice_areas: list
    credit_types: list
    points: object


@dataclass(frozen=True)
class Support:
    supporter: str
    kind: str
    amount: object


def activity_row(*, activity, year, url, physicians, others, registrations, supports, support_groups):
    """The activity file's row for `activity` in reporting `year`, in the order of
    activity_columns(support_groups=…): `registrations` are its MocRegistrations,
    `supports` its commercial Supports."""
    by_board = {registration.board: registration for registration in registrations}
    cells = [
        activity.accme_activity_id,
        activity.slug,
        str(year),
        activity.title,
        ACTIVITY_FORMAT,
        pars_date(activity.release_date),
        pars_date(activity.termination_date),
        url,
        amount_text(round(Decimal(activity.estimated_minutes) / 60, 2)),
        amount_text(activity.credits),
        "Joint" if activity.joint_providers else "Direct",
        LIST_SEPARATOR.join(activity.joint_providers),
        str(physicians),
        str(others),
        *[yes_no(code in activity.outcome_measures) for code in OutcomeMeasure.values],
        yes_no(supports),
    ]
    for board in Board:
        registration = by_board.get(board.value)
        cells += (
            [yes_no(True), LIST_SEPARATOR.join(registration.practice_areas),
             LIST_SEPARATOR.join(registration.credit_types), amount_text(registration.points)]
            if registration else [yes_no(False), "", "", ""]
        )
    for index in range(support_groups):
        support = supports[index] if index < len(supports) else None
        cells += (
            [support.supporter, SUPPORT_TYPES[support.kind], amount_text(support.amount)]
            if support else ["", "", ""]
        )
    return cells
