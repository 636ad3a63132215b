"""The texts generated from an activity's settings, never typed by hand: the credit
wording, the designation statement, the statements of each credit type it offers, the
joint providership statement, the method of participation, the disclosure and the
commercial support statement."""

from dataclasses import dataclass
from decimal import Decimal

from .credit_types import AMA, Profession
from .hooks import pass_mark_of
from .rules import OTHER_NATURE_PREFIX, RELATIONSHIP_NATURES

NO_RELATIONSHIPS = "has no relevant financial relationships with ineligible companies."
MITIGATION_STATEMENT = (
    "All relevant financial relationships listed above have been mitigated before the "
    "activity was released."
)


def format_credits(credits):
    """1.00 → "1", 1.50 → "1.5", 0.25 → "0.25"."""
    text = f"{Decimal(credits):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def ama_credits(credits):
    """An amount of AMA credit as the AMA words it: "1 AMA PRA Category 1 Credit™",
    "0.75 AMA PRA Category 1 Credits™". The one wording of pages, PDFs and exports (the
    template filter `ama_credits` in courses/templatetags/credits.py calls it)."""
    noun = "Credit" if Decimal(credits) == 1 else "Credits"
    return f"{format_credits(credits)} AMA PRA Category 1 {noun}™"


def hours_of_participation(hours):
    """"1 hour of participation", "1.5 hours of participation": what a Certificate of
    Participation records (filter `participation_hours`)."""
    noun = "hour" if Decimal(hours) == 1 else "hours"
    return f"{format_credits(hours)} {noun} of participation"


def credit_designation_statement(*, provider_name, credits):
    return (
        f"{provider_name} designates this enduring material for a maximum of "
        f"{ama_credits(credits)}. Physicians should claim only the credit "
        "commensurate with the extent of their participation in the activity."
    )


@dataclass(frozen=True)
class ActivityTexts:
    accreditation_statement: str
    designation_statement: str
    hardware_requirements: str
    contact_email: str
    disclaimer: str
    privacy_url: str


def names_in_prose(names):
    """["A"] → "A", ["A", "B"] → "A and B", ["A", "B", "C"] → "A, B and C"."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def joint_providership_statement(*, provider_name, joint_providers):
    """ACCME's joint providership statement in our words: who provides the activity
    together, under whose accreditation."""
    return (
        f"{names_in_prose([provider_name, *joint_providers])} provide this activity "
        "jointly. It was planned and carried out under the accreditation requirements and "
        "policies of the Accreditation Council for Continuing Medical Education (ACCME). "
        f"{provider_name} is accredited by the ACCME to provide continuing medical "
        "education for physicians."
    )


def activity_texts(*, activity, provider):
    """The provider-wide texts as `activity` prints them: its own where staff overrode
    them, the provider's otherwise. A jointly provided activity prints the joint
    providership statement (staff's, or the generated one) as its accreditation
    statement, so certificates freeze that one too."""
    if activity.joint_providers:
        accreditation = activity.joint_providership_statement.strip() or joint_providership_statement(
            provider_name=provider.name, joint_providers=activity.joint_providers
        )
    else:
        accreditation = activity.accreditation_statement or provider.get_accreditation_statement()
    return ActivityTexts(
        accreditation_statement=accreditation,
        designation_statement=credit_designation_statement(
            provider_name=provider.name, credits=activity.credits
        ),
        hardware_requirements=activity.hardware_requirements or provider.hardware_requirements,
        contact_email=activity.contact_email or provider.contact_email,
        disclaimer=activity.disclaimer or provider.disclaimer,
        privacy_url=activity.privacy_url or provider.privacy_url,
    )


def _placeholders_filled(text, **values):
    """`text` with each {name} of `values` filled in. Any other brace is left as typed:
    staff word the credit types, and str.format would fail on a stray one."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def credit_offer_statements(*, offer, provider_name, texts):
    """The (accreditation, designation) statements of `offer` (a courses.rules.CreditOffer).
    AMA credit and hours of participation print the activity's own (`texts`, its
    ActivityTexts); another type its own wording, with the activity's accreditation
    statement where the type has none (a board's MOC points rest on the ACCME's)."""
    if offer.code == AMA or offer.for_participation:
        return texts.accreditation_statement, texts.designation_statement
    credit_type = offer.credit_type
    values = {"provider": provider_name, "amount": offer.amount_display, "uan": offer.uan}
    accreditation = _placeholders_filled(credit_type.accreditation_statement, **values)
    return (
        accreditation or texts.accreditation_statement,
        _placeholders_filled(credit_type.designation_statement, **values),
    )


@dataclass(frozen=True)
class OfferedCredit:
    """How the activity page presents a credit type offered beyond AMA credit."""

    offer: object
    professions: str
    # Blank where it is the activity's own, printed once above.
    accreditation_statement: str
    designation_statement: str


def offered_credit_texts(*, offers, provider_name, texts):
    """The credit types of `offers` other than AMA credit and hours of participation, as
    the activity page presents them: who may earn each, and its statements."""
    offered = []
    for offer in offers:
        if offer.code == AMA or offer.for_participation:
            continue
        accreditation, designation = credit_offer_statements(offer=offer, provider_name=provider_name, texts=texts)
        offered.append(OfferedCredit(
            offer=offer,
            professions=", ".join(Profession(code).label for code in offer.credit_type.eligible_professions),
            accreditation_statement="" if accreditation == texts.accreditation_statement else accreditation,
            designation_statement=designation,
        ))
    return offered


def method_of_participation(*, activity):
    """The steps and the minimum performance level, generated from the activity's
    settings so the learner knows them before starting."""
    steps = []
    recording = getattr(activity, "recording", None)
    # Where staff turned viewing off nothing checks it, so nothing may claim it is asked.
    optional = ""
    if not activity.requires_full_viewing:
        optional = "You may watch the recording as much as you find useful. " if recording else ""
    elif recording is not None:
        steps.append(f"watch at least {recording.required_viewing_percent}% of the recording")
    else:
        steps.append("watch the recording")
    steps.append("complete the activity evaluation")
    pass_mark = pass_mark_of(activity)
    if pass_mark is not None:
        steps.append(f"score at least {pass_mark}% on the post-test")
    steps.append("claim your credit or confirm your participation")
    sentence = ", ".join(steps[:-1]) + ", and " + steps[-1]
    return (
        f"{optional}To earn credit, {sentence} by the termination date. Your certificate "
        "is then available to download."
    )


NATURE_WORDING = {value: label.lower() for value, label in RELATIONSHIP_NATURES}


def relationship_nature_text(nature):
    """A relationship's nature as learners read it: "researcher / grant recipient" for
    "researcher", the staff's own words for "other: …"."""
    if nature.startswith(OTHER_NATURE_PREFIX):
        return nature[len(OTHER_NATURE_PREFIX):].strip()
    return NATURE_WORDING.get(nature, nature)


def faculty_disclosure_text(*, name, relationships):
    if not relationships:
        return f"{name} {NO_RELATIONSHIPS}"
    items = "; ".join(
        f"{item['company']} ({relationship_nature_text(item['nature'])})" for item in relationships
    )
    return f"{name} has relevant financial relationships with: {items}."


@dataclass(frozen=True)
class Disclosure:
    """Everyone in control of content: faculty (presenters, moderators, panelists) and
    the planners and reviewers, one line each."""

    faculty: list
    planners: list
    mitigation: str

    @property
    def lines(self):
        return self.faculty + self.planners


def disclosure_statement(*, activity):
    """One line per person in control of content, and the mitigation statement when
    anyone has a relevant financial relationship (SPEC §2)."""
    roles = list(activity.faculty.all())
    has_relationships = any(role.relationships for role in roles)
    return Disclosure(
        faculty=[role.disclosure_text for role in roles if not role.plans_or_reviews],
        planners=[role.disclosure_text for role in roles if role.plans_or_reviews],
        mitigation=MITIGATION_STATEMENT if has_relationships else "",
    )


NO_COMMERCIAL_SUPPORT = "This activity received no commercial support."


def commercial_support_statement(*, supports):
    """What learners are told of commercial support before they start (ACCME's Standards
    for Integrity and Independence): none, or each supporter and the kind of support.
    Amounts are for reporting, not for learners."""
    supports = list(supports)
    if not supports:
        return NO_COMMERCIAL_SUPPORT
    sentences = []
    # One supporter may give several grants: each supporter is named once.
    grants = list(dict.fromkeys(s.supporter for s in supports if s.kind == "monetary"))
    if grants:
        noun = "an educational grant" if len(grants) == 1 else "educational grants"
        sentences.append(f"This activity is supported by {noun} from {names_in_prose(grants)}.")
    in_kind = [
        f"{s.supporter} ({s.description})" if s.description else s.supporter
        for s in supports
        if s.kind == "in_kind"
    ]
    if in_kind:
        sentences.append(f"In-kind support was provided by {names_in_prose(in_kind)}.")
    return " ".join(sentences)
