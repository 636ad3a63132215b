"""The accreditation fields of an activity: target audience, commercial support, joint
providership, the provider's ACCME ID, and disclosure from everyone in control of content
(faculty, planners and reviewers), generated from their relationships."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from certificates.services import certificate_snapshot
from courses.models import CommercialSupport, FacultyRole
from courses.rules import RELATIONSHIP_NATURES, activity_content_problems, validate_relationships

from .factories import (
    ActivityFactory,
    CommercialSupportFactory,
    FacultyRoleFactory,
    PersonFactory,
    UserFactory,
    complete_activity,
)

pytestmark = pytest.mark.django_db


def page_of(client, activity):
    client.force_login(UserFactory())
    return client.get(activity.get_absolute_url()).content.decode()


# --- commercial support ----------------------------------------------------------------


def test_it_tells_learners_before_the_start_button_that_there_was_no_commercial_support(client, activity):
    page = page_of(client, activity)

    assert page.index("Commercial support") < page.index("This activity received no commercial support.")
    assert page.index("This activity received no commercial support.") < page.index("Start activity")


def test_it_names_each_supporter_and_the_kind_of_support_before_the_start_button(client, activity):
    CommercialSupportFactory(activity=activity, supporter="Acme Pharma", order=0)
    CommercialSupportFactory(activity=activity, supporter="Gamma Medical", kind="in_kind", amount=None,
                             description="ultrasound equipment", order=1)

    page = page_of(client, activity)

    grant = "This activity is supported by an educational grant from Acme Pharma."
    in_kind = "In-kind support was provided by Gamma Medical (ultrasound equipment)."
    assert page.index(grant) < page.index(in_kind) < page.index("Start activity")
    assert "no commercial support" not in page
    assert "5000" not in page


def test_it_names_several_grants_in_one_sentence(activity):
    for order, supporter in enumerate(["Acme Pharma", "Beta Devices", "Acme Pharma"]):
        CommercialSupportFactory(activity=activity, supporter=supporter, order=order)

    assert activity.commercial_support_statement() == (
        "This activity is supported by educational grants from Acme Pharma and Beta Devices.")


def test_it_refuses_an_amount_on_in_kind_support(activity):
    support = CommercialSupport(activity=activity, supporter="Gamma Medical", kind="in_kind",
                                amount=Decimal("100"))

    with pytest.raises(ValidationError) as raised:
        support.full_clean()

    assert raised.value.message_dict == {
        "amount": ["An amount is for monetary support; describe in-kind support instead."]}


# --- joint providership ----------------------------------------------------------------


def test_it_prints_the_generated_joint_providership_statement_instead_of_the_accreditation_one(
    client, provider, activity
):
    activity.joint_providers = ["City Health Department", "Equity Institute"]
    activity.save()

    page = page_of(client, activity)

    statement = activity.texts().accreditation_statement
    assert statement.startswith(
        "Test Medical School, City Health Department and Equity Institute provide this activity jointly.")
    assert "Test Medical School is accredited by the ACCME to provide continuing medical education" in statement
    assert statement in page
    assert provider.get_accreditation_statement() not in page


def test_it_names_one_joint_provider_in_prose(provider, activity):
    activity.joint_providers = ["City Health Department"]

    assert activity.texts().accreditation_statement.startswith(
        "Test Medical School and City Health Department provide this activity jointly.")


def test_it_prints_staffs_own_joint_providership_statement_when_given(client, provider, activity):
    activity.joint_providers = ["City Health Department"]
    activity.joint_providership_statement = "Planned with the City Health Department."
    activity.accreditation_statement = "Our own accreditation wording."
    activity.save()

    page = page_of(client, activity)

    assert "Planned with the City Health Department." in page
    assert "Our own accreditation wording." not in page


def test_it_freezes_the_joint_providership_statement_into_the_certificate(provider, activity):
    activity.joint_providers = ["City Health Department"]
    activity.save()

    frozen = certificate_snapshot(user=UserFactory(), activity=activity, credits=Decimal("1"))

    assert frozen["accreditation_statement"] == activity.texts().accreditation_statement
    assert "City Health Department" in frozen["accreditation_statement"]


def test_it_keeps_the_plain_accreditation_statement_without_joint_providers(provider, activity):
    assert activity.texts().accreditation_statement == provider.get_accreditation_statement()


@pytest.mark.parametrize(("joint_providers", "message"), [
    ("City Health", "List the joint providers by name"),
    (["City Health", ""], "List the joint providers by name"),
    (["City Health", 3], "List the joint providers by name"),
    (["City Health", "CITY HEALTH "], "CITY HEALTH is listed twice as a joint provider."),
])
def test_it_refuses_joint_providers_that_are_not_distinct_names(provider, joint_providers, message):
    activity = ActivityFactory.build(joint_providers=joint_providers)

    with pytest.raises(ValidationError) as raised:
        activity.full_clean(exclude=["series"])

    assert message in raised.value.message_dict["joint_providers"][0]


def test_it_refuses_a_joint_providership_statement_without_joint_providers(provider):
    activity = ActivityFactory.build(joint_providership_statement="Planned jointly.")

    with pytest.raises(ValidationError) as raised:
        activity.full_clean(exclude=["series"])

    assert "needs the joint providers it names" in raised.value.message_dict["joint_providership_statement"][0]


# --- target audience -------------------------------------------------------------------


def test_it_shows_the_target_audience_before_the_objectives(client, activity):
    activity.target_audience = "Primary care physicians and nurse practitioners."
    activity.save()

    page = page_of(client, activity)

    assert page.index("Target audience") < page.index("Primary care physicians and nurse practitioners.")
    assert page.index("Primary care physicians and nurse practitioners.") < page.index("Learning objectives")


def test_it_leaves_out_a_target_audience_not_given(client, activity):
    assert "Target audience" not in page_of(client, activity)


# --- everyone in control of content is disclosed ----------------------------------------


def test_it_discloses_planners_and_reviewers_before_the_start_button(client, activity):
    FacultyRoleFactory(activity=activity, role=FacultyRole.Role.PLANNER, order=1,
                       person=PersonFactory(name="Pat Planner", degrees="MSN"))
    FacultyRoleFactory(activity=activity, role=FacultyRole.Role.REVIEWER, order=2,
                       person=PersonFactory(name="Rae Reviewer", degrees="PharmD"),
                       relationships=[{"company": "Acme Pharma", "nature": "researcher"}])

    page = page_of(client, activity)

    disclosure = page[page.index("Disclosure of relevant financial relationships"):page.index("Start activity")]
    assert disclosure.index("Planners and reviewers") < disclosure.index(
        "Pat Planner, MSN has no relevant financial relationships with ineligible companies.")
    assert ("Rae Reviewer, PharmD has relevant financial relationships with: Acme Pharma "
            "(researcher / grant recipient).") in disclosure
    assert "have been mitigated" in disclosure
    statement = activity.disclosure_statement()
    assert (len(statement.faculty), len(statement.planners)) == (1, 2)


def test_it_lists_planners_and_reviewers_apart_from_the_faculty(client, activity):
    FacultyRoleFactory(activity=activity, role=FacultyRole.Role.REVIEWER, order=1,
                       person=PersonFactory(name="Rae Reviewer", degrees="PharmD"))

    page = page_of(client, activity)

    faculty = page[page.index("<h2>Faculty</h2>"):page.index("<h2>Planners and reviewers</h2>")]
    planners = page[page.index("<h2>Planners and reviewers</h2>"):page.index("Disclosure of relevant")]
    assert "Rae Reviewer" not in faculty
    assert "Rae Reviewer, PharmD</strong> — Reviewer" in planners
    assert activity.faculty.get(role="presenter").person.name in faculty


def test_it_publishes_without_a_disclosure_note(provider):
    activity = complete_activity()
    activity.faculty.update(disclosure="")

    assert activity_content_problems(activity=activity) == []


def test_it_still_needs_someone_in_control_of_content(provider):
    activity = complete_activity()
    activity.faculty.all().delete()

    assert activity_content_problems(activity=activity) == [
        "The activity needs at least one faculty member or planner."]


# --- the nature of a relationship ------------------------------------------------------


@pytest.mark.parametrize("nature", [value for value, _ in RELATIONSHIP_NATURES] + ["other: spouse's employer"])
def test_it_accepts_each_listed_nature_and_other_with_words(nature):
    validate_relationships([{"company": "Acme Pharma", "nature": nature}])


@pytest.mark.parametrize("nature", ["speakers bureau", "Consultant", "other:", "other:   ", "friend"])
def test_it_refuses_a_nature_not_in_the_list(nature):
    with pytest.raises(ValidationError) as raised:
        validate_relationships([{"company": "Acme Pharma", "nature": nature}])

    assert raised.value.messages[0].startswith(f"Relationship with Acme Pharma: {nature!r} is not a nature")


def test_it_prints_the_words_of_an_other_nature(activity):
    role = activity.faculty.get()
    role.relationships = [{"company": "Acme Pharma", "nature": "other: spouse is employed there"},
                          {"company": "Beta Devices", "nature": "stock or ownership"}]

    assert role.disclosure_text.endswith(
        "has relevant financial relationships with: Acme Pharma (spouse is employed there); "
        "Beta Devices (stock or ownership).")


# --- the provider's ACCME ID -----------------------------------------------------------


def test_it_exports_the_providers_accme_id_with_each_activity(provider, activity):
    from lms.activity_io import activities_export

    provider.accme_provider_id = "1234567"
    provider.save()

    assert activities_export()[0]["accme_provider_id"] == "1234567"


# --- natures typed freely before the list ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_maps_freely_typed_natures_to_the_list_and_keeps_the_rest_as_other(provider):
    role = complete_activity().faculty.get()
    typed = [{"company": "Acme", "nature": "Speakers' Bureau"},
             {"company": "Beta", "nature": "research grant"},
             {"company": "Gamma", "nature": "spouse's employer"},
             {"company": "Delta", "nature": "Other: travel paid"}]
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("courses", "0010_accreditation_fields")])
        old_apps = executor.loader.project_state([("courses", "0010_accreditation_fields")]).apps
        old_apps.get_model("courses", "FacultyRole").objects.filter(pk=role.pk).update(relationships=typed)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    role.refresh_from_db()
    assert role.relationships == [{"company": "Acme", "nature": "speaker"},
                                  {"company": "Beta", "nature": "researcher"},
                                  {"company": "Gamma", "nature": "other: spouse's employer"},
                                  {"company": "Delta", "nature": "other: travel paid"}]
    validate_relationships(role.relationships)
