"""Field-level history (issue 17, SPEC §5: staff actions that change a learner's record
are audited): django-auditlog records each change to users, activities, post-tests,
questions, choices and certificates with who made it, and /staff/audit/ lists them,
filtered by learner, activity and actor."""

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates.services import certificate_revoke
from lms.models import User
from quizzes.models import Choice, Question

from .factories import (
    ActivityFactory,
    ChoiceFactory,
    QuestionFactory,
    StaffUserFactory,
    UserFactory,
    certificate_for,
    complete_activity,
    staff_login,
)

pytestmark = pytest.mark.django_db

PROFILE = {
    "given_name": "Grace",
    "family_name": "Murray",
    "certificate_name": "Grace Murray",
    "degree": "DO",
    "profession": "physician",
}


@pytest.fixture
def coordinator(db):
    return StaffUserFactory(email="coordinator@example.org")


@pytest.fixture
def coordinator_client(client, coordinator):
    staff_login(client, coordinator)
    return client


def entries_for(instance):
    return LogEntry.objects.get_for_object(instance).order_by("timestamp", "pk")


# --- What is recorded -------------------------------------------------------------------


def test_it_records_a_learners_profile_change_field_by_field_with_the_learner_as_actor(client, provider):
    learner = UserFactory(certificate_name="Grace Hopper", degree="MD")
    client.force_login(learner)

    client.post("/me/profile/", PROFILE)

    entry = entries_for(learner).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == learner
    assert entry.changes["certificate_name"] == ["Grace Hopper", "Grace Murray"]
    assert entry.changes["degree"] == ["MD", "DO"]


def test_it_keeps_passwords_and_log_ins_out_of_the_history(learner):
    learner.set_password("another-long-password-1")
    learner.save()
    learner.last_login = learner.date_joined
    learner.save()

    assert not entries_for(learner).filter(action=LogEntry.Action.UPDATE).exists()
    assert "password" not in entries_for(learner).get(action=LogEntry.Action.CREATE).changes


def test_it_records_activity_changes_without_the_timestamps_or_search_index(provider):
    activity = ActivityFactory(title="Sepsis 2025")
    activity.title = "Sepsis 2026"
    activity.save()

    (entry,) = entries_for(activity).filter(action=LogEntry.Action.UPDATE)
    assert entry.changes == {"title": ["Sepsis 2025", "Sepsis 2026"]}


def test_it_records_post_test_questions_and_choices_as_they_change(provider):
    activity = complete_activity(question_count=1)
    question = activity.posttest.questions.get()
    choice = question.choices.get(is_correct=False)
    choice.is_correct = True
    choice.save()
    activity.posttest.pass_percent = 80
    activity.posttest.save()

    assert entries_for(choice).get(action=LogEntry.Action.UPDATE).changes["is_correct"] == ["False", "True"]
    assert "pass_percent" in entries_for(activity.posttest).get(action=LogEntry.Action.UPDATE).changes
    assert entries_for(question).filter(action=LogEntry.Action.CREATE).exists()


def test_it_records_a_certificate_change_with_its_actor_and_without_delivery_bookkeeping(
    issued_certificate, coordinator
):
    certificate_revoke(certificate=issued_certificate, actor=coordinator, reason="Issued in error.")

    entry = entries_for(issued_certificate).filter(action=LogEntry.Action.UPDATE).last()
    assert entry.actor == coordinator
    assert entry.changes == {"state": ["issued", "revoked"]}


# --- The staff audit page ---------------------------------------------------------------


def test_it_lists_changes_newest_first_with_who_what_and_each_field(coordinator_client, coordinator, issued_certificate):
    certificate_revoke(certificate=issued_certificate, actor=coordinator, reason="Issued in error.")

    page = coordinator_client.get("/staff/audit/").content.decode()

    revoked = page.index(f">{issued_certificate.number}</a>")
    assert page.index("coordinator@example.org") < revoked
    assert "<strong>State:</strong> Issued → Revoked" in page
    assert f'href="/staff/certificates/{issued_certificate.number}/"' in page


def test_it_filters_by_learner_their_record_and_their_certificates(coordinator_client, activity):
    learner = UserFactory(email="ada@example.org", certificate_name="Ada Byron")
    theirs = certificate_for(activity=activity, user=learner)
    others = certificate_for(activity=activity, user=UserFactory(certificate_name="Someone Else"))

    page = coordinator_client.get("/staff/audit/", {"learner": "ADA@example.org"}).content.decode()

    assert "Ada Byron" in page and theirs.number in page
    assert others.number not in page and "Someone Else" not in page
    assert "Created activity" not in page and "Created question" not in page


def test_it_filters_by_activity_with_its_post_test_questions_and_choices_even_deleted(coordinator_client, provider):
    activity = complete_activity(question_count=1)
    question = QuestionFactory(posttest=activity.posttest, text="Which antibiotic first?")
    ChoiceFactory(question=question, text="Piperacillin-tazobactam")
    Question.objects.filter(pk=question.pk).delete()
    other = complete_activity(question_count=1)
    QuestionFactory(posttest=other.posttest, text="A question elsewhere?")

    page = coordinator_client.get("/staff/audit/", {"activity": activity.slug}).content.decode()

    assert "Which antibiotic first?" in page and "Piperacillin-tazobactam" in page
    assert "Deleted question" in page and activity.title in page
    assert "A question elsewhere?" not in page and other.title not in page


def test_it_filters_by_who_made_the_change(coordinator_client, coordinator, provider):
    activity = complete_activity(title="Anaphylaxis")
    revoked = certificate_for(activity=activity, rendered=True)
    certificate_revoke(certificate=revoked, actor=coordinator, reason="Issued in error.")

    page = coordinator_client.get("/staff/audit/", {"actor": coordinator.email}).content.decode()

    assert revoked.number in page
    assert "Anaphylaxis" not in page  # created outside any request: no actor


def test_it_turns_down_a_filter_naming_nobody_with_the_form_again(coordinator_client, provider):
    response = coordinator_client.get("/staff/audit/", {"learner": "nobody@example.org", "activity": "no-such"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "No learner has this e-mail address." in page and "No activity has this short name." in page


def test_it_says_so_when_no_change_matches(coordinator_client, coordinator):
    page = coordinator_client.get("/staff/audit/", {"actor": coordinator.email}).content.decode()

    assert "No change matches these filters." in page


def test_it_pages_the_history_with_the_same_number_of_queries(
    coordinator_client, provider, django_assert_num_queries
):
    activity = complete_activity(question_count=1)
    coordinator_client.get("/staff/audit/")
    with CaptureQueriesContext(connection) as few:
        coordinator_client.get("/staff/audit/", {"activity": activity.slug})
    for number in range(40):
        activity.title = f"Title {number}"
        activity.save()
    ChoiceFactory(question=QuestionFactory(posttest=activity.posttest))

    with django_assert_num_queries(len(few.captured_queries)):
        page = coordinator_client.get("/staff/audit/", {"activity": activity.slug}).content.decode()
    assert "Page 1 of 2" in page
    assert page.index("Title 39") < page.index("Title 38")


def test_a_learner_cannot_open_the_audit_history(client, learner):
    client.force_login(learner)

    assert client.get("/staff/audit/").status_code == 404


def test_staff_without_the_coordinator_role_cannot_open_it(client, provider):
    staff_login(client, StaffUserFactory(coordinator=False))

    assert client.get("/staff/audit/").status_code == 403


def test_a_users_own_deletion_of_a_choice_is_recorded_with_its_values(provider):
    choice = ChoiceFactory(text="Obsolete option")
    Choice.objects.filter(pk=choice.pk).delete()

    entry = LogEntry.objects.get(action=LogEntry.Action.DELETE, object_id=choice.pk)
    assert entry.changes["text"][0] == "Obsolete option"


def test_it_leaves_users_made_in_bulk_out_of_the_history(db):
    User.objects.bulk_create([User(email="bulk@example.org")])

    assert not LogEntry.objects.exists()
