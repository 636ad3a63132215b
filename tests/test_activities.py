"""The complete activity (SPEC §2): its rules, its generated statements and its page."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from certificates.services import certificate_claim
from courses.hooks import pass_mark_of
from courses.models import Activity
from courses.rules import activity_date_problems
from courses.selectors import activity_for_learner
from courses.statements import credit_designation_statement

from .factories import (
    ActivityFactory,
    FacultyRoleFactory,
    LearningObjectiveFactory,
    PersonFactory,
    ResourceFactory,
    complete_activity,
    learner_ready_to_claim,
)

pytestmark = pytest.mark.django_db

RELEASE = datetime.date(2024, 3, 10)


def date_problems(**dates):
    values = {"recorded_on": None, "release_date": RELEASE, "reviewed_on": None,
              "termination_date": RELEASE + datetime.timedelta(days=180)}
    values.update(dates)
    return activity_date_problems(**values)


# --- rules ------------------------------------------------------------------------------


def test_it_allows_termination_exactly_three_years_after_release():
    assert date_problems(termination_date=datetime.date(2027, 3, 10)) == {}


def test_it_refuses_termination_a_day_more_than_three_years_after_release():
    problems = date_problems(termination_date=datetime.date(2027, 3, 11))

    assert "reviewed at least every 3 years" in problems["termination_date"]
    assert "2027-03-10" in problems["termination_date"]


def test_it_counts_three_years_from_the_most_recent_review():
    reviewed = datetime.date(2025, 1, 15)

    assert date_problems(reviewed_on=reviewed, termination_date=datetime.date(2028, 1, 15)) == {}
    assert "termination_date" in date_problems(
        reviewed_on=reviewed, termination_date=datetime.date(2028, 1, 16)
    )


def test_it_counts_three_years_from_a_leap_day_to_the_28th_of_february():
    assert date_problems(release_date=datetime.date(2024, 2, 29),
                         termination_date=datetime.date(2027, 2, 28)) == {}
    assert "termination_date" in date_problems(release_date=datetime.date(2024, 2, 29),
                                               termination_date=datetime.date(2027, 3, 1))


def test_it_refuses_termination_before_release():
    assert "before the release date" in date_problems(
        termination_date=RELEASE - datetime.timedelta(days=1))["termination_date"]


def test_it_refuses_a_review_before_release_and_a_recording_after_it():
    problems = date_problems(reviewed_on=RELEASE - datetime.timedelta(days=1),
                             recorded_on=RELEASE + datetime.timedelta(days=1))

    assert set(problems) == {"reviewed_on", "recorded_on"}


def test_it_names_the_field_when_the_model_is_cleaned():
    activity = ActivityFactory.build(release_date=RELEASE, termination_date=datetime.date(2030, 1, 1))

    with pytest.raises(ValidationError) as raised:
        activity.full_clean(exclude=["series", "slug"])

    assert "termination_date" in raised.value.message_dict


@pytest.mark.parametrize("credits", ["0", "-1", "1.1", "0.3"])
def test_it_refuses_credits_that_are_not_positive_quarter_steps(credits):
    activity = ActivityFactory.build(credits=Decimal(credits))

    with pytest.raises(ValidationError) as raised:
        activity.full_clean(exclude=["series", "slug"])

    assert "credits" in raised.value.message_dict


@pytest.mark.parametrize("credits, expected", [
    ("1", "a maximum of 1 AMA PRA Category 1 Credit™."),
    ("1.5", "a maximum of 1.5 AMA PRA Category 1 Credits™."),
    ("0.25", "a maximum of 0.25 AMA PRA Category 1 Credits™."),
])
def test_it_generates_the_designation_statement_singular_or_plural(credits, expected):
    assert expected in credit_designation_statement(provider_name="X", credits=Decimal(credits))


def test_it_generates_no_relationships_for_faculty_without_any(activity):
    statement = activity.disclosure_statement()

    assert statement.lines == [
        f"{activity.faculty.get().person} has no relevant financial relationships with ineligible companies."
    ]
    assert statement.mitigation == ""


def test_it_lists_each_company_and_nature_with_the_mitigation_statement(activity):
    FacultyRoleFactory(
        activity=activity,
        person=PersonFactory(name="Ada Example", degrees="MD"),
        relationships=[{"company": "Acme Pharma", "nature": "consultant"},
                       {"company": "Beta Devices", "nature": "speaker"}],
    )

    statement = activity.disclosure_statement()

    assert ("Ada Example, MD has relevant financial relationships with: Acme Pharma (consultant); "
            "Beta Devices (speaker).") in statement.lines
    assert "mitigated" in statement.mitigation


def test_it_refuses_relationships_without_company_or_nature(activity):
    role = activity.faculty.get()
    role.relationships = [{"company": "Acme Pharma"}]

    with pytest.raises(ValidationError) as raised:
        role.full_clean()

    assert "relationships" in raised.value.message_dict


def test_it_generates_the_method_of_participation_from_the_pass_mark(activity):
    activity.posttest.pass_percent = Decimal("80")
    activity.posttest.save()
    activity = Activity.objects.get(pk=activity.pk)

    assert "score at least 80% on the post-test" in activity.method_of_participation()


def test_it_asks_quizzes_for_the_pass_mark_through_the_hook_it_registers(activity):
    activity.posttest.pass_percent = Decimal("82.5")
    activity.posttest.save()

    assert pass_mark_of(Activity.objects.get(pk=activity.pk)) == "82.5"


def test_it_names_no_post_test_step_for_an_activity_without_one(provider):
    activity = ActivityFactory()

    assert pass_mark_of(activity) is None
    assert "post-test" not in activity.method_of_participation()


def test_it_reads_the_pass_mark_within_the_activity_pages_one_query(
    activity, learner, django_assert_num_queries
):
    shown = activity_for_learner(slug=activity.slug, user=learner)

    with django_assert_num_queries(0):
        assert "score at least 75% on the post-test" in shown.method_of_participation()


def test_it_names_the_viewing_share_when_the_activity_requires_it(activity):
    activity.requires_full_viewing = True

    assert "watch at least 90% of the recording" in activity.method_of_participation()


def test_it_prints_the_providers_texts_unless_the_activity_overrides_them(provider, activity):
    provider.disclaimer = "Provider disclaimer."
    provider.privacy_url = "https://example.org/privacy"
    provider.save()
    activity.disclaimer = "This activity's own disclaimer."

    texts = activity.texts()

    assert texts.disclaimer == "This activity's own disclaimer."
    assert texts.privacy_url == "https://example.org/privacy"
    assert texts.contact_email == provider.contact_email
    assert "Test Medical School is accredited" in texts.accreditation_statement


# --- the activity page ------------------------------------------------------------------

SECTIONS_IN_ORDER = [
    "Originally recorded on", "Date of original release", "Date of most recent review",
    "Termination date", "Estimated time to complete", "<h2>Faculty</h2>",
    "Disclosure of relevant financial relationships", "Commercial support", "Learning objectives",
    "Method of participation", "Accreditation", "designates this enduring material",
    "Start activity", "Resources for further study", "Hardware and software requirements",
    "Technical contact", "Disclaimer", "Privacy policy",
]


def test_it_shows_every_section_in_the_order_of_the_spec(client, learner, provider, today):
    provider.disclaimer = "Education only."
    provider.privacy_url = "https://example.org/privacy"
    provider.save()
    activity = complete_activity(recorded_on=today - datetime.timedelta(days=40),
                                 reviewed_on=today - datetime.timedelta(days=10))
    ResourceFactory(activity=activity)
    client.force_login(learner)

    page = client.get(activity.get_absolute_url()).content.decode()

    positions = [page.find(section) for section in SECTIONS_IN_ORDER]
    assert -1 not in positions, [s for s, p in zip(SECTIONS_IN_ORDER, positions) if p == -1]
    assert positions == sorted(positions)


def test_it_shows_continue_to_a_learner_who_started(client, learner, activity):
    client.force_login(learner)
    client.post(f"/activities/{activity.slug}/start/")

    page = client.get(activity.get_absolute_url()).content.decode()

    assert learner.participations.filter(activity=activity).exists()
    assert ">Continue<" in page
    assert "Start activity" not in page
    assert page.index("Continue where you left off") < page.index("Disclosure of relevant")


def test_it_points_a_new_learner_from_the_top_to_the_start_button_below_the_disclosure(
    client, learner, activity
):
    client.force_login(learner)
    page = client.get(activity.get_absolute_url()).content.decode()
    assert page.index('href="#start"') < page.index("Disclosure of relevant") < page.index('id="start"')
    assert page.index('id="start"') < page.index("Start activity")


def test_it_runs_the_same_number_of_queries_however_many_objectives_and_faculty(
    client, learner, provider, django_assert_num_queries
):
    small = complete_activity()
    large = complete_activity()
    for _ in range(30):
        LearningObjectiveFactory(activity=large)
        FacultyRoleFactory(activity=large)
        ResourceFactory(activity=large)
    client.force_login(learner)
    client.get(small.get_absolute_url())

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as baseline:
        client.get(small.get_absolute_url())
    with django_assert_num_queries(len(baseline)):
        assert client.get(large.get_absolute_url()).status_code == 200


def test_it_shows_an_archived_activity_as_a_notice_without_start(client, learner, activity):
    activity.status = Activity.Status.ARCHIVED
    activity.save()
    client.force_login(learner)

    response = client.get(activity.get_absolute_url())

    page = response.content.decode()
    assert response.status_code == 200
    assert "This activity has been archived." in page
    assert "Start activity" not in page
    assert client.post(f"/activities/{activity.slug}/start/").status_code == 302
    assert not learner.participations.exists()


def test_it_refuses_a_claim_on_an_archived_activity(client, activity):
    user = learner_ready_to_claim(activity=activity)
    activity.status = Activity.Status.ARCHIVED
    activity.save()
    client.force_login(user)

    page = client.post(f"/activities/{activity.slug}/claim/", {"credits": "1", "attest": "on"}).content.decode()

    assert "This activity has been archived." in page
    assert not user.certificates.exists()


def test_it_still_verifies_a_certificate_of_an_archived_activity(client, activity):
    from certificates.issuing import certificate_issue

    user = learner_ready_to_claim(activity=activity)
    certificate = certificate_claim(user=user, activity=activity, credits="1", attested=True)
    certificate_issue(certificate_id=certificate.pk)
    activity.status = Activity.Status.ARCHIVED
    activity.save()

    response = client.get(f"/certificates/verify/{certificate.number}/")

    assert response.status_code == 200
    assert activity.title in response.content.decode()
    assert client.get("/").content.decode().count(activity.title) == 0


def test_it_hides_a_draft_from_learners_and_shows_staff_a_preview(client, learner, activity):
    from .factories import UserFactory, staff_login

    activity.status = Activity.Status.DRAFT
    activity.save()
    client.force_login(learner)
    assert client.get(activity.get_absolute_url()).status_code == 404

    staff_login(client, UserFactory(is_staff=True))
    page = client.get(activity.get_absolute_url()).content.decode()
    assert "Preview for staff" in page
    assert "Start activity" not in page
