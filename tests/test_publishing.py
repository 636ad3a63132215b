"""Staff publishing in the Django admin: validation, preview, filters and the publish,
archive and duplicate actions (lms/publishing.py, lms/admin.py)."""

import datetime

import pytest
import time_machine
from django.utils.text import slugify

from courses.models import Activity, FacultyRole, Recording, provider_today
from lms.publishing import (
    activity_duplicate,
    activity_duplicate_defaults,
    activity_publish,
    activity_publish_problems,
)
from quizzes.models import Choice, Evaluation, PostTest, Question

from .conftest import NEW_YORK_EVENING
from .factories import (
    ActivityFactory,
    ResourceFactory,
    UserFactory,
    multi_answer_question,
    publishable_draft,
    staff_login,
)

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/courses/activity/add/"
CHANGELIST = "/admin/courses/activity/"


@pytest.fixture
def staff_client(client, provider):
    staff_login(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def _inline(prefix, rows=(), initial=0):
    data = {f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": initial,
            f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000}
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def activity_form(activity=None, *, objectives=None, faculty=None, **fields):
    """The admin change form of `activity` (or a new one), as staff would submit it."""
    today = provider_today()
    data = {
        "title": "Sepsis update", "slug": "sepsis-update", "series": "", "status": "draft",
        "recorded_on": "", "release_date": today.isoformat(), "reviewed_on": "",
        "termination_date": (today + datetime.timedelta(days=365)).isoformat(),
        "credits": "1.00", "estimated_minutes": 60, "description": "",
        "accreditation_statement": "", "hardware_requirements": "", "contact_email": "",
        "disclaimer": "", "privacy_url": "",
    }
    if activity is not None:
        data.update(title=activity.title, slug=activity.slug, status=activity.status,
                    release_date=activity.release_date.isoformat(),
                    termination_date=activity.termination_date.isoformat(),
                    credits=str(activity.credits))
    data.update(fields)
    existing_objectives = list(activity.objectives.all()) if activity else []
    if objectives is None:
        objectives = [{"id": o.pk, "activity": activity.pk, "order": o.order, "text": o.text}
                      for o in existing_objectives]
    data.update(_inline("objectives", objectives, initial=len(existing_objectives)))
    existing_faculty = list(activity.faculty.all()) if activity else []
    if faculty is None:
        faculty = [{"id": r.pk, "activity": activity.pk, "person": r.person_id, "role": r.role,
                    "order": r.order, "relationships": "[]", "disclosure": r.disclosure}
                   for r in existing_faculty]
    data.update(_inline("faculty", faculty, initial=len(existing_faculty)))
    data.update(_inline("commercial_supports"))
    data.update(_inline("resources"))
    recording = Recording.objects.filter(activity=activity).first() if activity else None
    rec_rows = [] if recording is None else [{
        "id": recording.pk, "activity": activity.pk, "url": recording.url, "captions_url": recording.captions_url,
        "duration_seconds": recording.duration_seconds, "required_viewing_percent": 90, "transcript": ""}]
    data.update(_inline("recording", rec_rows, initial=len(rec_rows)))
    posttest = PostTest.objects.filter(activity=activity).first() if activity else None
    pt_rows = [] if posttest is None else [{
        "id": posttest.pk, "activity": activity.pk, "pass_percent": "75", "max_attempts": "",
        "minutes_between_attempts": 0, "review_after_fail": "score",
        "review_after_pass": "correct_answers"}]
    data.update(_inline("posttest", pt_rows, initial=len(pt_rows)))
    return data


def test_it_saves_a_post_test_left_at_its_defaults_in_the_admin(staff_client):
    data = activity_form()
    data.update(_inline("posttest", [{
        "pass_percent": "75", "max_attempts": "", "minutes_between_attempts": 0,
        "review_after_fail": "score", "review_after_pass": "correct_answers"}]))
    response = staff_client.post(ADD_URL, data)
    assert response.status_code == 302, errors_of(response)
    assert PostTest.objects.get(activity__slug="sepsis-update").pass_percent == 75


def errors_of(response):
    return response.context["adminform"].form.errors


# --- validation: field-named errors, nothing saved --------------------------------------


def test_it_adds_a_draft_activity(staff_client):
    response = staff_client.post(ADD_URL, activity_form())

    assert response.status_code == 302
    assert Activity.objects.get().status == Activity.Status.DRAFT


@pytest.mark.parametrize("fields, field, message", [
    ({"credits": "1.1"}, "credits", "steps of 0.25"),
    ({"credits": "0"}, "credits", "greater than 0"),
    ({"termination_date": "2020-01-01"}, "termination_date", "before the release date"),
    ({"release_date": "2024-01-01", "termination_date": "2027-01-02"}, "termination_date",
     "reviewed at least every 3 years"),
    ({"status": "published"}, "status", "Save the activity as a draft first"),
])
def test_it_names_the_field_and_saves_nothing_for_bad_input(staff_client, fields, field, message):
    response = staff_client.post(ADD_URL, activity_form(**fields))

    assert response.status_code == 200
    assert message in " ".join(errors_of(response)[field])
    assert not Activity.objects.exists()


def test_it_refuses_to_publish_through_the_form_without_an_evaluation(staff_client):
    activity = publishable_draft()
    Evaluation.objects.filter(activity=activity).delete()

    response = staff_client.post(f"/admin/courses/activity/{activity.pk}/change/",
                                 activity_form(activity, status="published"))

    assert "The activity has no evaluation." in errors_of(response)["status"]
    activity.refresh_from_db()
    assert activity.status == Activity.Status.DRAFT


def test_it_publishes_through_the_form_when_nothing_is_missing(staff_client):
    activity = publishable_draft()

    response = staff_client.post(f"/admin/courses/activity/{activity.pk}/change/",
                                 activity_form(activity, status="published"))

    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.status == Activity.Status.PUBLISHED


def test_it_refuses_to_remove_the_last_objective_of_a_published_activity(staff_client):
    activity = publishable_draft()
    activity_publish(activity=activity)
    data = activity_form(activity)
    data["objectives-0-DELETE"] = "on"

    response = staff_client.post(f"/admin/courses/activity/{activity.pk}/change/", data)

    assert response.status_code == 200
    formset = next(f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "objectives")
    assert "at least one learning objective" in " ".join(formset.formset.non_form_errors())
    assert activity.objectives.count() == 1


def test_it_publishes_a_faculty_member_without_a_disclosure_note(staff_client):
    # Learners read the disclosure generated from the relationships; the note is optional.
    activity = publishable_draft()
    FacultyRole.objects.filter(activity=activity).update(disclosure="")
    activity.refresh_from_db()

    staff_client.post(f"/admin/courses/activity/{activity.pk}/change/",
                      activity_form(activity, status="published"))

    activity.refresh_from_db()
    assert activity.status == Activity.Status.PUBLISHED


def test_it_refuses_relationships_that_are_not_company_and_nature(staff_client):
    activity = publishable_draft()
    data = activity_form(activity)
    data["faculty-0-relationships"] = '[{"company": "Acme"}]'

    response = staff_client.post(f"/admin/courses/activity/{activity.pk}/change/", data)

    assert response.status_code == 200
    assert FacultyRole.objects.get(activity=activity).relationships == []


# --- the publishing rule and actions ----------------------------------------------------


def test_it_lists_every_problem_of_an_empty_activity(provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)

    problems = activity_publish_problems(activity=activity)

    assert problems == [
        "The activity needs at least one learning objective.",
        "The activity needs at least one faculty member or planner.",
        "The activity has no recording: upload a video or give its URL.",
        "The activity has no post-test.",
        "The activity has no evaluation.",
    ]


def test_it_reports_a_question_without_a_correct_choice(provider):
    activity = publishable_draft()
    Choice.objects.filter(question__posttest__activity=activity).update(is_correct=False)

    problems = activity_publish_problems(activity=activity)

    assert "Post-test question 1: Mark at least one choice as correct." in problems


def test_it_publishes_with_the_action(staff_client):
    activity = publishable_draft()

    staff_client.post(CHANGELIST, {"action": "publish", "_selected_action": [activity.pk]})

    activity.refresh_from_db()
    assert activity.status == Activity.Status.PUBLISHED


def test_it_refuses_the_publish_action_listing_the_problems(staff_client):
    activity = publishable_draft()
    activity.objectives.all().delete()

    response = staff_client.post(CHANGELIST, {"action": "publish", "_selected_action": [activity.pk]},
                                 follow=True)

    activity.refresh_from_db()
    assert activity.status == Activity.Status.DRAFT
    assert "was not published: The activity needs at least one learning objective." in response.content.decode()


NOT_YET_VISIBLE = ("is published, but learners will not see it until its release date, November 27, "
                   "2026: today is November 26, 2026 in the provider's time zone (America/New_York).")


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize("release_date, warned", [("2026-11-26", False), ("2026-11-27", True)])
def test_it_warns_on_save_when_a_published_activity_is_not_released_yet_in_provider_time(
    staff_client, release_date, warned
):
    activity = publishable_draft()

    with time_machine.travel(NEW_YORK_EVENING, tick=False):
        response = staff_client.post(
            f"/admin/courses/activity/{activity.pk}/change/",
            activity_form(activity, status="published", release_date=release_date,
                          termination_date="2027-11-26"),
            follow=True,
        )

    activity.refresh_from_db()
    assert activity.status == Activity.Status.PUBLISHED
    assert any(NOT_YET_VISIBLE in message for message in messages_of(response)) is warned


@pytest.mark.parametrize("release_date, warned", [
    (datetime.date(2026, 11, 26), False), (datetime.date(2026, 11, 27), True)
])
def test_it_warns_on_the_publish_action_when_the_release_date_is_still_ahead(
    staff_client, release_date, warned
):
    activity = publishable_draft(release_date=release_date, termination_date=datetime.date(2027, 11, 26))

    with time_machine.travel(NEW_YORK_EVENING, tick=False):
        response = staff_client.post(
            CHANGELIST, {"action": "publish", "_selected_action": [activity.pk]}, follow=True
        )
        change_page = staff_client.get(f"/admin/courses/activity/{activity.pk}/change/").content.decode()

    assert any(NOT_YET_VISIBLE in message for message in messages_of(response)) is warned
    assert ("learners will not see it until" in change_page) is warned


def test_it_archives_with_the_action(staff_client):
    activity = publishable_draft(status=Activity.Status.PUBLISHED)

    staff_client.post(CHANGELIST, {"action": "archive", "_selected_action": [activity.pk]})

    activity.refresh_from_db()
    assert activity.status == Activity.Status.ARCHIVED


def test_it_duplicates_with_the_action_as_a_draft(staff_client):
    activity = publishable_draft(status=Activity.Status.PUBLISHED)

    staff_client.post(CHANGELIST, {"action": "duplicate", "_selected_action": [activity.pk]})

    copy = Activity.objects.exclude(pk=activity.pk).get()
    assert copy.status == Activity.Status.DRAFT
    assert copy.title == f"{activity.title} (new run)"
    assert copy.slug == slugify(copy.title)


def test_it_copies_everything_for_a_new_run(provider):
    activity = publishable_draft(release_date=datetime.date(2024, 1, 10),
                                 termination_date=datetime.date(2024, 7, 10))
    ResourceFactory(activity=activity)
    multi_answer_question(posttest=activity.posttest)
    PostTest.objects.filter(activity=activity).update(shuffle_questions=True, max_attempts=3)

    copy = activity_duplicate(
        activity=activity, **activity_duplicate_defaults(activity=activity, today=datetime.date(2025, 5, 1))
    )

    # The old run's 182 days of credit, from the day of the duplication.
    assert (copy.release_date, copy.reviewed_on, copy.termination_date) == (
        datetime.date(2025, 5, 1), datetime.date(2025, 5, 1), datetime.date(2025, 10, 30))
    assert [o.text for o in copy.objectives.all()] == [o.text for o in activity.objectives.all()]
    assert [(r.person_id, r.role, r.disclosure) for r in copy.faculty.all()] == [
        (r.person_id, r.role, r.disclosure) for r in activity.faculty.all()]
    assert copy.resources.count() == 1
    assert copy.recording.url == activity.recording.url
    assert (copy.posttest.shuffle_questions, copy.posttest.max_attempts) == (True, 3)
    assert [(q.text, q.multiple, [(c.text, c.is_correct) for c in q.choices.all()])
            for q in copy.posttest.questions.all()] == [
        (q.text, q.multiple, [(c.text, c.is_correct) for c in q.choices.all()])
        for q in activity.posttest.questions.all()]
    assert [q.text for q in copy.evaluation.questions.all()] == [
        q.text for q in activity.evaluation.questions.all()]
    assert Question.objects.filter(posttest__activity=activity).count() == 5
    # On the day of the duplication: later, the copy's credit would have ended already.
    with time_machine.travel(datetime.datetime(2025, 5, 1, 16, tzinfo=datetime.UTC), tick=False):
        assert activity_publish_problems(activity=copy) == []


def test_it_starts_a_new_run_the_day_after_the_old_one_ends(provider):
    activity = publishable_draft(release_date=datetime.date(2025, 1, 1),
                                 termination_date=datetime.date(2025, 12, 31))

    defaults = activity_duplicate_defaults(activity=activity, today=datetime.date(2025, 6, 1))

    assert defaults["release_date"] == datetime.date(2026, 1, 1)


# --- the admin pages --------------------------------------------------------------------


def test_it_links_a_preview_of_the_learner_page(staff_client):
    activity = publishable_draft()

    page = staff_client.get(f"/admin/courses/activity/{activity.pk}/change/").content.decode()

    assert f'href="{activity.get_absolute_url()}"' in page
    assert "Ready to publish." in page
    assert staff_client.get(activity.get_absolute_url()).status_code == 200


def test_it_filters_the_list_by_credit_open(staff_client):
    open_one = ActivityFactory(title="Open one")
    ActivityFactory(title="Expired one", release_date=datetime.date(2020, 1, 1),
                    termination_date=datetime.date(2020, 6, 1))

    page = staff_client.get(CHANGELIST + "?credit=open").content.decode()

    assert open_one.title in page
    assert "Expired one" not in page


@pytest.mark.parametrize("path", [CHANGELIST, ADD_URL, "/admin/courses/provider/",
                                  "/admin/courses/person/", "/admin/courses/series/"])
def test_it_renders_the_admin_pages(staff_client, path):
    publishable_draft()

    assert staff_client.get(path).status_code == 200
