"""The staff authoring workspace under /staff/authoring/ (issue 16)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.models import Activity, CommercialSupport, FacultyRole, Recording, Resource
from quizzes.models import Evaluation
from quizzes.services import DEFAULT_EVALUATION_QUESTIONS

from .factories import (
    ActivityFactory,
    CoordinatorFactory,
    FacultyRoleFactory,
    ParticipationFactory,
    PersonFactory,
    RecordingFactory,
    StaffUserFactory,
    UserFactory,
    complete_activity,
    publishable_draft,
    staff_login,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator_client(client, provider):
    staff_login(client, CoordinatorFactory())
    return client


def details_data(today, **changes):
    return {
        "title": "Sepsis in the Emergency Department",
        "slug": "",
        "series": "",
        "new_series": "Grand Rounds 2026",
        "recorded_on": today.isoformat(),
        "release_date": today.isoformat(),
        "reviewed_on": "",
        "termination_date": (today + datetime.timedelta(days=365)).isoformat(),
        "estimated_minutes": "60",
        "credits": "1.25",
        "description": "A case-based webinar.",
        "objectives": "Recognise sepsis early\n\nStart treatment within the hour\n",
        "target_audience": "Emergency physicians",
        "requires_full_viewing": "on",
        "accme_activity_id": "",
        "joint_providers_text": "",
        "joint_providership_statement": "",
        "offers-TOTAL_FORMS": "0",
        "offers-INITIAL_FORMS": "0",
        "supports-TOTAL_FORMS": "0",
        "supports-INITIAL_FORMS": "0",
        "resources-TOTAL_FORMS": "1",
        "resources-INITIAL_FORMS": "0",
        "resources-0-title": "Surviving Sepsis Campaign",
        "resources-0-url": "https://www.sccm.org/survivingsepsiscampaign",
        **changes,
    }


def person_data(index, *, name, role="presenter", relationships=(), none=False, role_id=""):
    prefix = f"people-{index}"
    data = {
        f"{prefix}-role_id": role_id,
        f"{prefix}-name": name,
        f"{prefix}-degrees": "MD",
        f"{prefix}-affiliation": "City Hospital",
        f"{prefix}-role": role,
        f"{prefix}-rel-TOTAL_FORMS": str(len(relationships)),
        f"{prefix}-rel-INITIAL_FORMS": "0",
    }
    if none:
        data[f"{prefix}-no_relationships"] = "on"
    for number, (company, nature) in enumerate(relationships):
        data[f"{prefix}-rel-{number}-company"] = company
        data[f"{prefix}-rel-{number}-nature"] = nature
        data[f"{prefix}-rel-{number}-other"] = ""
    return data


def people_data(*people):
    data = {"people-TOTAL_FORMS": str(len(people)), "people-INITIAL_FORMS": "0"}
    for person in people:
        data.update(person)
    return data


# Who may open it


def test_it_sends_anonymous_visitors_to_the_login_page(client, provider):
    response = client.get("/staff/authoring/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_hides_the_workspace_from_learners(client, provider):
    client.force_login(UserFactory())

    assert client.get("/staff/authoring/").status_code == 404
    assert client.get("/staff/authoring/new/").status_code == 404


def test_it_refuses_staff_without_the_coordinator_role(client, provider):
    staff_login(client, StaffUserFactory(coordinator=False))

    assert client.get("/staff/authoring/").status_code == 403
    assert client.post("/staff/authoring/new/", details_data(datetime.date(2026, 1, 5))).status_code == 403
    assert not Activity.objects.exists()


def test_it_lets_a_coordinator_in(coordinator_client):
    response = coordinator_client.get("/staff/authoring/")

    assert response.status_code == 200
    assert "No activities yet." in response.content.decode()


# Details


def test_it_creates_a_draft_from_the_details_and_goes_on_to_the_people(coordinator_client, today):
    response = coordinator_client.post("/staff/authoring/new/", details_data(today, **{"continue": "1"}))

    activity = Activity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/staff/authoring/{activity.slug}/people/"
    assert activity.slug == "sepsis-in-the-emergency-department"
    assert activity.status == Activity.Status.DRAFT
    assert activity.series.title == "Grand Rounds 2026"
    assert activity.credits == 1.25
    assert activity.target_audience == "Emergency physicians"
    assert [o.text for o in activity.objectives.all()] == [
        "Recognise sepsis early", "Start treatment within the hour"
    ]
    assert [(r.title, r.url) for r in activity.resources.all()] == [
        ("Surviving Sepsis Campaign", "https://www.sccm.org/survivingsepsiscampaign")
    ]
    assert not activity.commercial_supports.exists()


def test_it_stays_on_the_details_after_save(coordinator_client, today):
    response = coordinator_client.post("/staff/authoring/new/", details_data(today, save="1"))

    assert response["Location"] == f"/staff/authoring/{Activity.objects.get().slug}/details/"


def test_it_saves_nothing_when_any_detail_is_wrong(coordinator_client, today):
    data = details_data(
        today,
        termination_date=(today - datetime.timedelta(days=1)).isoformat(),
        credits="1.1",
        objectives="  \n",
    )

    response = coordinator_client.post("/staff/authoring/new/", data)

    page = response.content.decode()
    assert response.status_code == 400
    assert "There are 3 problems" in page
    assert "The termination date must not be before the release date." in page
    assert "Credits must be in steps of 0.25" in page
    assert "Give at least one learning objective." in page
    assert 'value="Sepsis in the Emergency Department"' in page
    assert not Activity.objects.exists()
    assert not Resource.objects.exists()


def test_it_keeps_an_activity_unchanged_when_a_resource_row_is_wrong(coordinator_client, today):
    activity = publishable_draft(title="Old title")
    data = details_data(today, **{"resources-0-url": "not a url at all"})

    response = coordinator_client.post(f"/staff/authoring/{activity.slug}/details/", data)

    assert response.status_code == 400
    assert "Resource 1: Address (URL): Enter a valid URL." in response.content.decode()
    activity.refresh_from_db()
    assert activity.title == "Old title"
    assert not activity.resources.exists()


def test_it_adds_a_commercial_support_row_without_saving_or_losing_what_was_typed(coordinator_client, today):
    response = coordinator_client.post("/staff/authoring/new/", details_data(today, add="supports"))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="supports-0-supporter"' in page
    assert 'autofocus' in page
    assert 'value="Sepsis in the Emergency Department"' in page
    assert "There is a problem" not in page and "problems" not in page
    assert not Activity.objects.exists()


def test_it_saves_commercial_support_rows(coordinator_client, today):
    data = details_data(today, **{
        "supports-TOTAL_FORMS": "1",
        "supports-0-supporter": "Acme Pharma",
        "supports-0-kind": "monetary",
        "supports-0-amount": "5000",
        "supports-0-description": "",
    })

    coordinator_client.post("/staff/authoring/new/", data)

    support = CommercialSupport.objects.get()
    assert (support.supporter, support.kind, support.amount) == ("Acme Pharma", "monetary", 5000)


def test_it_saves_the_outcomes_measured_for_pars(coordinator_client, today):
    data = details_data(today, outcome_measures=["learner_knowledge", "patient_health"])

    coordinator_client.post("/staff/authoring/new/", data)

    assert Activity.objects.get().outcome_measures == ["learner_knowledge", "patient_health"]


def test_it_keeps_a_published_activitys_address(coordinator_client, today):
    activity = complete_activity(slug="kept-address")

    coordinator_client.post(f"/staff/authoring/{activity.slug}/details/", details_data(today, slug="moved"))

    activity.refresh_from_db()
    assert activity.slug == "kept-address"
    assert activity.title == "Sepsis in the Emergency Department"


# People and disclosures


def test_it_stores_relationship_rows_as_the_disclosure_json(coordinator_client, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    data = people_data(
        person_data(0, name="Dr Ada Moss", relationships=[("Acme Pharma", "consultant"), ("Beta Devices", "speaker")]),
        person_data(1, name="Dr Ben Ode", role="planner", none=True),
    )

    response = coordinator_client.post(f"/staff/authoring/{activity.slug}/people/", {**data, "continue": "1"})

    assert response.status_code == 302
    assert response["Location"] == f"/staff/authoring/{activity.slug}/recording/"
    roles = list(FacultyRole.objects.filter(activity=activity).select_related("person"))
    assert [(r.person.name, r.role, r.order) for r in roles] == [
        ("Dr Ada Moss", "presenter", 0), ("Dr Ben Ode", "planner", 1)
    ]
    assert roles[0].relationships == [
        {"company": "Acme Pharma", "nature": "consultant"},
        {"company": "Beta Devices", "nature": "speaker"},
    ]
    assert roles[1].relationships == []


def test_it_requires_relationships_or_none_for_each_person(coordinator_client, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    data = people_data(
        person_data(0, name="Dr Ada Moss"),
        person_data(1, name="Dr Ben Ode", relationships=[("Acme Pharma", "consultant")], none=True),
    )

    response = coordinator_client.post(f"/staff/authoring/{activity.slug}/people/", data)

    page = response.content.decode()
    assert response.status_code == 400
    assert "Person 1: No relevant financial relationships: Add their relevant financial relationships" in page
    assert "Person 2: No relevant financial relationships: Untick" in page
    assert not FacultyRole.objects.exists()


def test_it_words_an_other_relationship_in_the_staffs_words(coordinator_client, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    data = people_data(person_data(0, name="Dr Ada Moss", relationships=[("Acme Pharma", "other")]))
    data["people-0-rel-0-other"] = "Travel grant"

    coordinator_client.post(f"/staff/authoring/{activity.slug}/people/", data)

    assert FacultyRole.objects.get().relationships == [{"company": "Acme Pharma", "nature": "other: Travel grant"}]


def test_it_adds_a_relationship_row_keeping_what_was_typed(coordinator_client, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    data = people_data(person_data(0, name="Dr Ada Moss"))

    response = coordinator_client.post(
        f"/staff/authoring/{activity.slug}/people/", {**data, "add": "people-0-rel"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="people-0-rel-0-company"' in page
    assert 'value="Dr Ada Moss"' in page
    assert "problem" not in page
    assert not FacultyRole.objects.exists()


def test_it_updates_and_removes_people_in_place(coordinator_client, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    kept = FacultyRoleFactory(activity=activity, person=PersonFactory(name="Dr Old"), relationships=[])
    removed = FacultyRoleFactory(activity=activity)
    data = people_data(
        person_data(0, name="Dr Old Renamed", none=True, role_id=str(kept.pk)),
        person_data(1, name=removed.person.name, none=True, role_id=str(removed.pk)),
    )
    data["people-1-DELETE"] = "on"

    coordinator_client.post(f"/staff/authoring/{activity.slug}/people/", data)

    assert list(FacultyRole.objects.filter(activity=activity).values_list("pk", "person__name")) == [
        (kept.pk, "Dr Old Renamed")
    ]


def test_it_keeps_a_shared_person_as_the_other_activity_shows_them(coordinator_client, provider):
    person = PersonFactory(name="Dr Shared")
    other = FacultyRoleFactory(person=person)
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    role = FacultyRoleFactory(activity=activity, person=person)
    data = people_data(person_data(0, name="Dr Shared, Renamed", none=True, role_id=str(role.pk)))

    coordinator_client.post(f"/staff/authoring/{activity.slug}/people/", data)

    other.person.refresh_from_db()
    assert other.person.name == "Dr Shared"
    assert FacultyRole.objects.get(pk=role.pk).person.name == "Dr Shared, Renamed"


# Recording


def test_it_saves_a_recording_given_by_url_with_its_typed_duration(coordinator_client, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)

    response = coordinator_client.post(
        f"/staff/authoring/{activity.slug}/recording/",
        {"url": "/static/demo/welcome.webm", "duration_seconds": "3600", "transcript": "Hello.",
         "required_viewing_percent": "90", "continue": "1"},
    )

    assert response["Location"] == f"/staff/authoring/{activity.slug}/posttest/"
    recording = Recording.objects.get(activity=activity)
    assert (recording.url, recording.duration_seconds) == ("/static/demo/welcome.webm", 3600)


def test_it_reads_an_uploaded_videos_duration_from_the_file(coordinator_client, provider):
    from .factories import DEMO_MEDIA

    activity = ActivityFactory(status=Activity.Status.DRAFT)
    with open(DEMO_MEDIA / "welcome.webm", "rb") as video:
        coordinator_client.post(
            f"/staff/authoring/{activity.slug}/recording/",
            {"video": video, "url": "", "duration_seconds": "", "required_viewing_percent": "90"},
        )

    recording = Recording.objects.get(activity=activity)
    assert recording.video.name
    assert recording.duration_seconds > 0
    page = coordinator_client.get(f"/staff/authoring/{activity.slug}/recording/").content.decode()
    assert "read from the file" in page


def test_it_saves_no_recording_without_a_video(coordinator_client, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)

    response = coordinator_client.post(
        f"/staff/authoring/{activity.slug}/recording/", {"url": "", "required_viewing_percent": "90"}
    )

    assert response.status_code == 400
    assert "Upload a video or give its URL." in response.content.decode()
    assert not Recording.objects.exists()


def test_it_shows_a_started_published_recording_read_only(coordinator_client, activity):
    ParticipationFactory(activity=activity)

    response = coordinator_client.get(f"/staff/authoring/{activity.slug}/recording/")

    page = response.content.decode()
    assert "The recording cannot change now" in page
    assert f"/staff/authoring/{activity.slug}/unpublish/" in page
    assert 'name="url"' not in page


# Evaluation


def test_it_starts_an_evaluation_from_the_default_questions(coordinator_client, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)

    page = coordinator_client.get(f"/staff/authoring/{activity.slug}/evaluation/").content.decode()

    for text, _, _ in DEFAULT_EVALUATION_QUESTIONS:
        assert text in page
    assert not Evaluation.objects.filter(activity=activity).exists()


def test_it_saves_the_evaluations_questions_in_their_order(coordinator_client, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    data = {
        "questions-TOTAL_FORMS": "3", "questions-INITIAL_FORMS": "3",
        "questions-0-text": "Was it useful?", "questions-0-kind": "likert",
        "questions-0-required": "on", "questions-0-order": "2",
        "questions-1-text": "Free of bias?", "questions-1-kind": "yes_no",
        "questions-1-required": "on", "questions-1-order": "1",
        "questions-2-text": "Dropped", "questions-2-kind": "text", "questions-2-order": "3",
        "questions-2-DELETE": "on",
    }

    response = coordinator_client.post(f"/staff/authoring/{activity.slug}/evaluation/", data)

    assert response.status_code == 302
    questions = activity.evaluation.questions.all()
    assert [(q.text, q.kind, q.required) for q in questions] == [
        ("Free of bias?", "yes_no", True), ("Was it useful?", "likert", True)
    ]


def test_it_saves_no_evaluation_question_without_text(coordinator_client, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    data = {
        "questions-TOTAL_FORMS": "2", "questions-INITIAL_FORMS": "2",
        "questions-0-text": "Was it useful?", "questions-0-kind": "likert", "questions-0-order": "1",
        "questions-1-text": "", "questions-1-kind": "likert", "questions-1-order": "2",
    }

    response = coordinator_client.post(f"/staff/authoring/{activity.slug}/evaluation/", data)

    assert response.status_code == 400
    assert "Question 2: Question: This field is required." in response.content.decode()
    assert not Evaluation.objects.filter(activity=activity).exists()


# Review, publishing and preview


def test_it_lists_what_is_missing_and_refuses_to_publish(coordinator_client, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)

    response = coordinator_client.post(f"/staff/authoring/{activity.slug}/review/", {"action": "publish"})

    page = response.content.decode()
    assert response.status_code == 400
    assert "Not published" in page
    assert "Upload the recording or give its URL." in page
    assert "The activity has no post-test." in page
    activity.refresh_from_db()
    assert activity.status == Activity.Status.DRAFT


def test_it_publishes_a_complete_draft(coordinator_client, provider):
    activity = publishable_draft()

    response = coordinator_client.post(f"/staff/authoring/{activity.slug}/review/", {"action": "publish"})

    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.status == Activity.Status.PUBLISHED
    page = coordinator_client.get(f"/staff/authoring/{activity.slug}/review/").content.decode()
    assert "Unpublish" in page and "Archive" in page


def test_it_previews_a_draft_as_learners_will_see_it(coordinator_client, provider):
    activity = publishable_draft(title="Draft on Sepsis", description="Sepsis kills; act early.")

    response = coordinator_client.get(f"/staff/authoring/{activity.slug}/preview/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Preview — not visible to learners." in page
    assert page.index("Preview — not visible to learners.") < page.index('<main id="main"')
    assert "Draft on Sepsis" in page and "Sepsis kills; act early." in page
    assert "Disclosure of relevant financial relationships" in page
    assert activity.designation_statement() in page
    assert f"/activities/{activity.slug}/start/" not in page
    assert "Save for later" not in page


def test_it_confirms_before_unpublishing(coordinator_client, activity):
    ParticipationFactory(activity=activity)

    page = coordinator_client.get(f"/staff/authoring/{activity.slug}/unpublish/").content.decode()

    assert "Learners’ progress is kept: 1 learner started it" in page
    assert "post-test, its questions, the recording" in page
    activity.refresh_from_db()
    assert activity.status == Activity.Status.PUBLISHED
    response = coordinator_client.post(f"/staff/authoring/{activity.slug}/unpublish/")
    assert response["Location"] == f"/staff/authoring/{activity.slug}/review/"
    activity.refresh_from_db()
    assert activity.status == Activity.Status.DRAFT


def test_it_duplicates_for_a_new_run_with_the_new_title_and_dates(coordinator_client, today):
    activity = complete_activity(accme_activity_id="202612345")
    page = coordinator_client.get(f"/staff/authoring/{activity.slug}/duplicate/").content.decode()
    assert f'value="{activity.title} (new run)"' in page
    release = activity.termination_date + datetime.timedelta(days=1)

    response = coordinator_client.post(f"/staff/authoring/{activity.slug}/duplicate/", {
        "title": "Hypertension 2027",
        "release_date": release.isoformat(),
        "reviewed_on": release.isoformat(),
        "termination_date": (release + datetime.timedelta(days=365)).isoformat(),
    })

    copy = Activity.objects.get(title="Hypertension 2027")
    assert response["Location"] == f"/staff/authoring/{copy.slug}/details/"
    assert (copy.status, copy.accme_activity_id, copy.release_date) == (Activity.Status.DRAFT, "", release)


def test_it_refuses_a_new_run_ending_before_it_starts(coordinator_client, today):
    activity = complete_activity()

    response = coordinator_client.post(f"/staff/authoring/{activity.slug}/duplicate/", {
        "title": "Again",
        "release_date": today.isoformat(),
        "termination_date": (today - datetime.timedelta(days=1)).isoformat(),
    })

    assert response.status_code == 400
    assert "The termination date must not be before the release date." in response.content.decode()
    assert Activity.objects.count() == 1


# The list


def test_it_flags_a_published_activity_that_fails_the_publishing_checks(coordinator_client, provider):
    failing = ActivityFactory(title="Published without anything")
    draft = ActivityFactory(title="A draft", status=Activity.Status.DRAFT)

    page = coordinator_client.get("/staff/authoring/").content.decode()

    assert failing.title in page and draft.title in page
    assert page.count("Fails publishing checks") == 1
    assert "The activity has no post-test." in page


def test_it_pages_and_searches_the_activities(coordinator_client, provider):
    for number in range(26):
        ActivityFactory(title=f"Webinar {number:02}", status=Activity.Status.DRAFT)

    first = coordinator_client.get("/staff/authoring/").content.decode()
    second = coordinator_client.get("/staff/authoring/?page=2").content.decode()
    found = coordinator_client.get("/staff/authoring/?q=webinar 07").content.decode()

    assert "Webinar 25" in first and "Webinar 00" not in first and "Page 1 of 2" in first
    assert "Webinar 00" in second
    assert "Webinar 07" in found and "Webinar 08" not in found


def test_it_lists_activities_in_a_constant_number_of_queries(coordinator_client, provider):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert coordinator_client.get("/staff/authoring/").status_code == 200
        return len(captured)

    complete_activity()
    ActivityFactory(status=Activity.Status.DRAFT)
    few = queries()
    for _ in range(5):
        complete_activity()
        RecordingFactory(activity=ActivityFactory())

    assert queries() == few


def test_it_keeps_the_viewing_requirement_of_a_started_activity(coordinator_client, activity, today):
    ParticipationFactory(activity=activity)
    data = details_data(today)
    del data["requires_full_viewing"]

    response = coordinator_client.post(f"/staff/authoring/{activity.slug}/details/", data)

    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.requires_full_viewing
    assert activity.title == "Sepsis in the Emergency Department"
