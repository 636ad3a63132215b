"""The kinds of credit an activity can award, the professions they are for, and the
certifying boards that register activities for Maintenance of Certification (MOC).

The credit types themselves are rows (courses.models.CreditType), so a provider can
word them as its accreditors require; CREDIT_TYPE_SEED is what migration 0013 stores
first. The codes below are stable: certificates, exports and reporting files keep them.
"""

from django.db import models


class Profession(models.TextChoices):
    """A learner's profession, which decides the credit types they are eligible for.
    `lms.models.User.profession` takes its choices from here."""

    PHYSICIAN = "physician", "Physician (MD, DO)"
    PHYSICIAN_ASSISTANT = "physician_assistant", "Physician assistant (PA)"
    NURSE_PRACTITIONER = "nurse_practitioner", "Nurse practitioner (NP)"
    NURSE = "nurse", "Nurse (RN, LPN)"
    PHARMACIST = "pharmacist", "Pharmacist"
    PHARMACY_TECHNICIAN = "pharmacy_technician", "Pharmacy technician"
    STUDENT = "student", "Student or trainee"
    OTHER = "other", "Other health professional"


class LearnerDetail(models.TextChoices):
    """What a learner must supply before a credit type can be awarded and reported: the
    receiving body matches the learner on it."""

    NABP_EPROFILE = "nabp_eprofile_id", "NABP e-Profile ID"
    BIRTH_MONTH_DAY = "birth_month_day", "Month and day of birth"
    BOARD_ID = "board_id", "Certifying board ID"


class Board(models.TextChoices):
    """The certifying boards whose MOC programs take completions through ACCME's PARS,
    by the abbreviation PARS and the boards use."""

    ABIM = "ABIM", "American Board of Internal Medicine"
    ABP = "ABP", "American Board of Pediatrics"
    ABA = "ABA", "American Board of Anesthesiology"
    ABOHNS = "ABOHNS", "American Board of Otolaryngology – Head and Neck Surgery"
    ABPATH = "ABPath", "American Board of Pathology"
    ABS = "ABS", "American Board of Surgery"
    ABTS = "ABTS", "American Board of Thoracic Surgery"
    ABOS = "ABOS", "American Board of Orthopaedic Surgery"


# Each board's own kinds of MOC credit, as (code, label); an activity's registration
# lists those it counts for.
MOC_CREDIT_TYPES = {
    Board.ABIM: [("MK", "Medical Knowledge"), ("PA", "Practice Assessment"), ("PS", "Patient Safety")],
    Board.ABP: [("LL", "Lifelong Learning and Self-Assessment (Part 2)"), ("QI", "Improving Professional Practice (Part 4)")],
    Board.ABA: [("LL", "Lifelong Learning"), ("PS", "Patient Safety")],
    Board.ABOHNS: [("SA", "Self-Assessment"), ("LL", "Lifelong Learning")],
    Board.ABPATH: [("LL", "Lifelong Learning"), ("SA", "Self-Assessment")],
    Board.ABS: [("AC", "Accredited CME"), ("SA", "Self-Assessment")],
    Board.ABTS: [("LL", "Lifelong Learning"), ("SA", "Self-Assessment")],
    Board.ABOS: [("LL", "Lifelong Learning"), ("SA", "Self-Assessment")],
}

# Boards require completions within this many days of the learner completing.
MOC_REPORTING_DAYS = 30

AMA = "ama"
ACPE = "acpe"
PARTICIPATION = "participation"

_PHYSICIANS = [Profession.PHYSICIAN]


def _moc_type(board, order):
    return {
        "code": f"moc_{board.value.lower()}",
        "name": f"{board.value} MOC points",
        "unit_singular": "MOC point",
        "unit_plural": "MOC points",
        "accrediting_body": board.value,
        "eligible_professions": _PHYSICIANS,
        "learner_details": [LearnerDetail.BOARD_ID, LearnerDetail.BIRTH_MONTH_DAY],
        "claim_in_steps": False,
        "board": board.value,
        "accreditation_statement": "",
        "designation_statement": (
            f"Completing this activity, its evaluation and its post-test lets participants "
            f"earn up to {{amount}} in the {board.label} ({board.value}) Maintenance of "
            "Certification program. Participants earn MOC points equivalent to the amount "
            "of CME credit claimed. {provider} submits completions to the board through "
            "ACCME's PARS for learners who consent to it."
        ),
        "order": order,
    }


# Placeholders in the statements: {provider} (the provider's name), {amount} (the amount
# with its unit, e.g. "1.5 ANCC contact hours"), {uan} (ACPE's Universal Activity Number).
# An empty accreditation statement means the activity's own (ACCME) one.
CREDIT_TYPE_SEED = [
    {
        "code": AMA,
        "name": "AMA PRA Category 1 Credit™",
        "unit_singular": "AMA PRA Category 1 Credit™",
        "unit_plural": "AMA PRA Category 1 Credits™",
        "accrediting_body": "ACCME",
        "eligible_professions": _PHYSICIANS,
        "learner_details": [],
        "claim_in_steps": True,
        "board": "",
        "accreditation_statement": "",
        "designation_statement": (
            "{provider} designates this enduring material for a maximum of {amount}. "
            "Physicians should claim only the credit commensurate with the extent of their "
            "participation in the activity."
        ),
        "order": 0,
    },
    {
        "code": "ancc",
        "name": "ANCC contact hours",
        "unit_singular": "ANCC contact hour",
        "unit_plural": "ANCC contact hours",
        "accrediting_body": "ANCC",
        "eligible_professions": [Profession.NURSE, Profession.NURSE_PRACTITIONER],
        "learner_details": [],
        "claim_in_steps": False,
        "board": "",
        "accreditation_statement": (
            "{provider} is accredited as a provider of nursing continuing professional "
            "development by the American Nurses Credentialing Center's Commission on "
            "Accreditation."
        ),
        "designation_statement": "Nurses who complete this activity earn {amount}.",
        "order": 10,
    },
    {
        "code": ACPE,
        "name": "ACPE contact hours",
        "unit_singular": "ACPE contact hour",
        "unit_plural": "ACPE contact hours",
        "accrediting_body": "ACPE",
        "eligible_professions": [Profession.PHARMACIST, Profession.PHARMACY_TECHNICIAN],
        "learner_details": [LearnerDetail.NABP_EPROFILE, LearnerDetail.BIRTH_MONTH_DAY],
        "claim_in_steps": False,
        "board": "",
        "accreditation_statement": (
            "{provider} is accredited by the Accreditation Council for Pharmacy Education "
            "as a provider of continuing pharmacy education."
        ),
        "designation_statement": (
            "This knowledge-based activity is designated for {amount} (UAN {uan}). Credit "
            "is reported to CPE Monitor with the learner's NABP e-Profile ID and month and "
            "day of birth."
        ),
        "order": 20,
    },
    {
        "code": "aapa",
        "name": "AAPA Category 1 CME credit",
        "unit_singular": "AAPA Category 1 CME credit",
        "unit_plural": "AAPA Category 1 CME credits",
        "accrediting_body": "AAPA",
        "eligible_professions": [Profession.PHYSICIAN_ASSISTANT],
        "learner_details": [],
        "claim_in_steps": True,
        "board": "",
        "accreditation_statement": (
            "{provider} is authorized by the American Academy of Physician Associates "
            "(AAPA) to award AAPA Category 1 CME credit for activities planned in "
            "accordance with AAPA CME Criteria."
        ),
        "designation_statement": (
            "This activity is designated for a maximum of {amount}. PAs should claim only "
            "the credit commensurate with the extent of their participation."
        ),
        "order": 30,
    },
    *[_moc_type(board, 40 + index) for index, board in enumerate(Board)],
    {
        "code": PARTICIPATION,
        "name": "Hours of participation",
        "unit_singular": "hour of participation",
        "unit_plural": "hours of participation",
        "accrediting_body": "",
        "eligible_professions": [],
        "learner_details": [],
        "claim_in_steps": False,
        "board": "",
        "accreditation_statement": "",
        "designation_statement": (
            "This certificate records {amount} in an activity designated for AMA PRA "
            "Category 1 Credit™; it certifies participation, not credit."
        ),
        "order": 100,
    },
]
