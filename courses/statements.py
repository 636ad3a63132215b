"""The texts generated from an activity's settings, never typed by hand: the credit
wording, the designation statement, the method of participation and the disclosure."""

from dataclasses import dataclass
from decimal import Decimal

from .hooks import pass_mark_of

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


def activity_texts(*, activity, provider):
    """The provider-wide texts as `activity` prints them: its own where staff overrode
    them, the provider's otherwise."""
    return ActivityTexts(
        accreditation_statement=activity.accreditation_statement
        or provider.get_accreditation_statement(),
        designation_statement=credit_designation_statement(
            provider_name=provider.name, credits=activity.credits
        ),
        hardware_requirements=activity.hardware_requirements or provider.hardware_requirements,
        contact_email=activity.contact_email or provider.contact_email,
        disclaimer=activity.disclaimer or provider.disclaimer,
        privacy_url=activity.privacy_url or provider.privacy_url,
    )


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


def faculty_disclosure_text(*, name, relationships):
    if not relationships:
        return f"{name} {NO_RELATIONSHIPS}"
    items = "; ".join(f"{item['company']} ({item['nature']})" for item in relationships)
    return f"{name} has relevant financial relationships with: {items}."


@dataclass(frozen=True)
class Disclosure:
    lines: list
    mitigation: str


def disclosure_statement(*, activity):
    """One line per person in control of content, and the mitigation statement when
    anyone has a relevant financial relationship (SPEC §2)."""
    lines = [role.disclosure_text for role in activity.faculty.all()]
    has_relationships = any(role.relationships for role in activity.faculty.all())
    return Disclosure(lines=lines, mitigation=MITIGATION_STATEMENT if has_relationships else "")
