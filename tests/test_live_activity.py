"""Live activities are protected (issue 16): once learners have started a published or
archived activity, its post-test, recording and viewing requirement cannot change in
place until it is unpublished; publishing checks and warnings; duplicating for a new run;
the flag on activities that no longer pass the checks (courses.guards, quizzes.guards,
lms/publishing.py)."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from auditlog.context import disable_auditlog
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from courses.models import Activity, Recording
from courses.rules import credit_time_warnings, recording_length_warnings
from courses.selectors import activity_assessment_locked
from lms.activity_io import ActivityImportError, activities_import, activity_export
from lms.publishing import (
    activities_failing_checks,
    activity_duplicate,
    activity_publish,
    activity_publish_problems,
    activity_publish_warnings,
    activity_unpublish,
)
from quizzes.models import Choice, PostTest, Question
from quizzes.rules import pass_mark_warnings
from quizzes.services import question_delete

from .conftest import NEW_YORK_EVENING
from .factories import (
    ChoiceFactory,
    CommercialSupportFactory,
    ParticipationFactory,
    QuestionFactory,
    UserFactory,
    complete_activity,
    graded_attempt,
    publishable_draft,
    staff_login,
)

pytestmark = pytest.mark.django_db

LOCKED = "so its {} cannot be changed. Unpublish it first (their progress is kept)"


@pytest.fixture
def live(provider):
    """A published activity a learner has started."""
    activity = complete_activity(title="Sepsis update")
    ParticipationFactory(activity=activity)
    return activity


@pytest.fixture
def staff_client(client, provider):
    staff_login(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def first_question(activity):
    return activity.posttest.questions.first()


def first_choice(activity):
    return first_question(activity).choices.first()


# Each edit the lock refuses on a live activity, done as any code path would do it, and
# a way to read back the value it tried to change.
def edit_pass_mark(activity):
    posttest = PostTest.objects.get(activity=activity)
    posttest.pass_percent = Decimal("50")
    posttest.save()


def edit_question_text(activity):
    question = first_question(activity)
    question.text = "A different question?"
    question.save()


def edit_question_multiple(activity):
    question = first_question(activity)
    question.multiple = True
    question.save()


def edit_choice_correctness(activity):
    choice = first_choice(activity)
    choice.is_correct = not choice.is_correct
    choice.save()


def edit_choice_text(activity):
    choice = first_choice(activity)
    choice.text = "Another answer"
    choice.save()


def add_question(activity):
    QuestionFactory(posttest=activity.posttest)


def add_choice(activity):
    ChoiceFactory(question=first_question(activity))


def delete_question(activity):
    question_delete(question=first_question(activity))


def delete_choice(activity):
    first_choice(activity).delete()


def delete_posttest(activity):
    PostTest.objects.get(activity=activity).delete()


def delete_recording(activity):
    Recording.objects.filter(activity=activity).delete()


def replace_recording(activity):
    recording = Recording.objects.get(activity=activity)
    recording.url = "/static/demo/other.webm"
    recording.save()


def edit_recording_duration(activity):
    recording = Recording.objects.get(activity=activity)
    recording.duration_seconds = 3600
    recording.save()


def edit_viewing_share(activity):
    recording = Recording.objects.get(activity=activity)
    recording.required_viewing_percent = 50
    recording.save()


def edit_viewing_requirement(activity):
    stored = Activity.objects.get(pk=activity.pk)
    stored.requires_full_viewing = not stored.requires_full_viewing
    stored.save()


def snapshot(activity):
    """Everything the lock covers, as stored."""
    recording = Recording.objects.filter(activity=activity).values_list(
        "url", "duration_seconds", "required_viewing_percent"
    ).first()
    return {
        "requires_full_viewing": Activity.objects.get(pk=activity.pk).requires_full_viewing,
        "pass_percent": PostTest.objects.filter(activity=activity)
        .values_list("pass_percent", flat=True)
        .first(),
        "questions": list(
            Question.objects.filter(posttest__activity=activity).values_list("text", "multiple")
        ),
        "choices": list(
            Choice.objects.filter(question__posttest__activity=activity).values_list("text", "is_correct")
        ),
        "recording": recording,
    }


GUARDED = [
    (edit_pass_mark, "post-test"),
    (edit_question_text, "post-test"),
    (edit_question_multiple, "post-test"),
    (edit_choice_correctness, "post-test"),
    (edit_choice_text, "post-test"),
    (add_question, "post-test"),
    (add_choice, "post-test"),
    (delete_question, "post-test"),
    (delete_choice, "post-test"),
    (delete_posttest, "post-test"),
    (delete_recording, "recording"),
    (replace_recording, "recording"),
    (edit_recording_duration, "recording"),
    (edit_viewing_share, "recording"),
    (edit_viewing_requirement, "viewing requirement"),
]


# --- the lock, through the models and services ----------------------------------------


@pytest.mark.parametrize("edit, part", GUARDED, ids=[edit.__name__ for edit, _ in GUARDED])
def test_it_refuses_each_change_to_a_live_activity_and_changes_nothing(live, edit, part):
    before = snapshot(live)

    # As a database error would, a refused delete spoils the transaction it happens in:
    # whoever catches it wraps the change in its own atomic block.
    with pytest.raises(ValidationError) as refused, transaction.atomic():
        edit(live)

    assert f"Learners have started “Sepsis update”, {LOCKED.format(part)}" in refused.value.messages[0]
    assert snapshot(live) == before


@pytest.mark.parametrize("edit, part", GUARDED, ids=[edit.__name__ for edit, _ in GUARDED])
def test_it_allows_each_change_after_unpublishing(live, edit, part):
    before = snapshot(live)

    activity_unpublish(activity=live)
    edit(live)

    assert snapshot(live) != before


@pytest.mark.parametrize("edit, part", GUARDED, ids=[edit.__name__ for edit, _ in GUARDED])
def test_it_allows_each_change_while_nobody_has_started(provider, edit, part):
    activity = complete_activity()
    before = snapshot(activity)

    edit(activity)

    assert snapshot(activity) != before


def test_it_allows_each_change_to_a_started_draft(provider):
    activity = publishable_draft()
    ParticipationFactory(activity=activity)

    edit_pass_mark(activity)
    edit_viewing_requirement(activity)

    assert PostTest.objects.get(activity=activity).pass_percent == Decimal("50")
    assert Activity.objects.get(pk=activity.pk).requires_full_viewing is False


def test_it_locks_an_archived_activity_learners_started_too(live):
    Activity.objects.filter(pk=live.pk).update(status=Activity.Status.ARCHIVED)

    assert activity_assessment_locked(activity=live)
    with pytest.raises(ValidationError):
        edit_pass_mark(live)


def test_it_tells_whether_an_activity_is_locked(live, provider):
    assert activity_assessment_locked(activity=live)
    assert not activity_assessment_locked(activity=complete_activity())
    activity_unpublish(activity=live)
    assert not activity_assessment_locked(activity=live)


def test_it_keeps_what_does_not_change_grading_editable_on_a_live_activity(live):
    posttest = PostTest.objects.get(activity=live)
    posttest.max_attempts = 2
    posttest.review_after_fail = PostTest.Review.WRONG_QUESTIONS
    posttest.shuffle_questions = True
    posttest.save()
    question = first_question(live)
    question.explanation = "A better explanation."
    question.order = 9
    question.save()
    choice = first_choice(live)
    choice.order = 5
    choice.save()
    recording = Recording.objects.get(activity=live)
    recording.transcript = "What was said."
    recording.captions_url = "/static/demo/other.vtt"
    recording.save()
    activity = Activity.objects.get(pk=live.pk)
    activity.title = "Sepsis update, revised"
    activity.save()

    posttest.refresh_from_db()
    assert (posttest.max_attempts, posttest.shuffle_questions) == (2, True)
    assert Question.objects.get(pk=question.pk).explanation == "A better explanation."
    assert Recording.objects.get(activity=live).transcript == "What was said."
    assert Activity.objects.get(pk=live.pk).title == "Sepsis update, revised"


def test_it_lets_an_unchanged_save_of_a_live_row_through(live):
    Recording.objects.get(activity=live).save()
    first_choice(live).save()
    PostTest.objects.get(activity=live).save()


def test_it_guards_a_save_in_at_most_two_queries(live, django_assert_num_queries):
    question = first_question(live)
    question.explanation = "Edited."

    # Is it locked; the stored row to compare with; the UPDATE itself. (The field-level
    # history adds its own read and insert: tests/test_audit.py.)
    with disable_auditlog(), django_assert_num_queries(3):
        question.save()


def test_it_guards_a_draft_save_in_one_query(provider, django_assert_num_queries):
    question = first_question(publishable_draft())
    question.text = "Edited?"

    with disable_auditlog(), django_assert_num_queries(2):
        question.save()


def test_it_explains_why_an_answered_question_of_a_draft_cannot_be_deleted(live):
    graded_attempt(activity=live, user=UserFactory(), correct=2)
    activity_unpublish(activity=live)

    with pytest.raises(ValidationError, match="Learners have already answered “Question"):
        question_delete(question=first_question(live))
    assert live.posttest.questions.count() == 4


def test_it_deletes_an_unanswered_question_of_a_draft(provider):
    activity = publishable_draft()

    question_delete(question=first_question(activity))

    assert activity.posttest.questions.count() == 3


def test_it_unpublishes_idempotently_keeping_learners_progress(live):
    activity_unpublish(activity=live)
    activity_unpublish(activity=live)

    live.refresh_from_db()
    assert live.status == Activity.Status.DRAFT
    assert live.participations.count() == 1


# --- the lock, through the admin ------------------------------------------------------


def admin_messages(response):
    return [str(message) for message in response.context["messages"]]


def test_it_shows_a_live_post_tests_pass_mark_read_only_in_the_admin(staff_client, live):
    posttest = live.posttest
    url = f"/admin/quizzes/posttest/{posttest.pk}/change/"

    page = staff_client.get(url).content.decode()
    staff_client.post(url, {
        "pass_percent": "50", "minutes_between_attempts": 0, "review_after_fail": "score",
        "review_after_pass": "correct_answers", "questions-TOTAL_FORMS": 0,
        "questions-INITIAL_FORMS": 0, "questions-MIN_NUM_FORMS": 0, "questions-MAX_NUM_FORMS": 1000,
    })

    assert "Learners have started this activity" in page
    assert 'name="pass_percent"' not in page
    assert PostTest.objects.get(pk=posttest.pk).pass_percent == Decimal("75")
    assert staff_client.get(f"/admin/quizzes/posttest/{posttest.pk}/delete/").status_code == 403


def question_form(question, **fields):
    choices = list(question.choices.all())
    data = {
        "posttest": question.posttest_id, "order": question.order, "text": question.text,
        "multiple": "on" if question.multiple else "", "explanation": question.explanation,
        "choices-TOTAL_FORMS": len(choices), "choices-INITIAL_FORMS": len(choices),
        "choices-MIN_NUM_FORMS": 0, "choices-MAX_NUM_FORMS": 1000,
    }
    for index, choice in enumerate(choices):
        data.update({
            f"choices-{index}-id": choice.pk, f"choices-{index}-question": question.pk,
            f"choices-{index}-order": choice.order, f"choices-{index}-text": choice.text,
        })
        if choice.is_correct:
            data[f"choices-{index}-is_correct"] = "on"
    data.update(fields)
    return data


def test_it_keeps_a_live_questions_text_and_answer_key_in_the_admin(staff_client, live):
    question = first_question(live)
    before = snapshot(live)
    data = question_form(question, text="Rewritten?", explanation="Clearer now.")
    data["choices-0-is_correct"] = ""
    data["choices-1-is_correct"] = "on"
    data["choices-1-DELETE"] = "on"

    response = staff_client.post(f"/admin/quizzes/question/{question.pk}/change/", data)

    assert response.status_code == 302
    assert snapshot(live) == before
    assert Question.objects.get(pk=question.pk).explanation == "Clearer now."


def test_it_edits_a_draft_questions_answer_key_in_the_admin(staff_client, provider):
    activity = publishable_draft()
    question = first_question(activity)
    data = question_form(question, text="Rewritten?")
    data["choices-0-is_correct"] = ""
    data["choices-1-is_correct"] = "on"

    response = staff_client.post(f"/admin/quizzes/question/{question.pk}/change/", data)

    assert response.status_code == 302
    assert response.url == f"/admin/quizzes/posttest/{question.posttest_id}/change/"
    question.refresh_from_db()
    assert question.text == "Rewritten?"
    assert [c.is_correct for c in question.choices.all()] == [False, True]


def test_it_shows_a_message_not_an_error_when_an_admin_save_hits_the_lock(staff_client, live):
    data = {"posttest": live.posttest.pk, "order": 9, "text": "One more?", "explanation": "",
            "choices-TOTAL_FORMS": 2, "choices-INITIAL_FORMS": 0, "choices-MIN_NUM_FORMS": 0,
            "choices-MAX_NUM_FORMS": 1000, "choices-0-order": 0, "choices-0-text": "Yes",
            "choices-0-is_correct": "on", "choices-1-order": 1, "choices-1-text": "No"}

    response = staff_client.post("/admin/quizzes/question/add/", data, follow=True)

    assert response.status_code == 200
    assert any(LOCKED.format("post-test") in message for message in admin_messages(response))
    assert live.posttest.questions.count() == 4


def test_it_refuses_deleting_a_live_question_from_the_admin_list(staff_client, live):
    question = first_question(live)
    action = {"action": "delete_selected", "_selected_action": [question.pk]}

    confirmation = staff_client.post("/admin/quizzes/question/", action)
    confirmed = staff_client.post("/admin/quizzes/question/", {**action, "post": "yes"})

    assert "Cannot delete" in confirmation.content.decode()
    assert confirmed.status_code == 403
    assert Question.objects.filter(pk=question.pk).exists()


def test_it_keeps_a_live_activitys_recording_and_viewing_requirement_in_the_admin(staff_client, live):
    from .test_publishing import activity_form

    before = snapshot(live)
    data = activity_form(live, status="published", requires_full_viewing="")
    data.update({"recording-0-url": "/static/demo/other.webm", "recording-0-duration_seconds": 3600,
                 "recording-0-DELETE": "on", "recording-0-transcript": "Now with a transcript."})

    page = staff_client.get(f"/admin/courses/activity/{live.pk}/change/").content.decode()
    response = staff_client.post(f"/admin/courses/activity/{live.pk}/change/", data)

    assert response.status_code == 302
    assert "Learners have started this activity" in page
    assert snapshot(live) == before
    assert Recording.objects.get(activity=live).transcript == "Now with a transcript."


def test_it_changes_the_viewing_requirement_in_the_admin_after_unpublishing(staff_client, live):
    from .test_publishing import activity_form

    activity_unpublish(activity=live)

    response = staff_client.post(f"/admin/courses/activity/{live.pk}/change/",
                                 activity_form(live, status="draft"))

    assert response.status_code == 302
    assert Activity.objects.get(pk=live.pk).requires_full_viewing is False


# --- publishing checks ----------------------------------------------------------------


def test_it_refuses_to_publish_without_a_recording(provider):
    activity = publishable_draft()
    Recording.objects.filter(activity=activity).delete()

    problems = activity_publish(activity=activity)

    assert problems == ["The activity has no recording: upload a video or give its URL."]
    assert Activity.objects.get(pk=activity.pk).status == Activity.Status.DRAFT


def test_it_refuses_full_viewing_of_a_recording_it_cannot_measure(provider):
    activity = publishable_draft()
    Recording.objects.filter(activity=activity).update(url="https://vimeo.com/12345", duration_seconds=0)

    problems = activity_publish_problems(activity=activity)

    assert any("only be measured for a video file" in problem for problem in problems)
    assert any("set the duration" in problem for problem in problems)


@pytest.mark.parametrize("termination_date, refused", [
    (datetime.date(2026, 11, 26), False),  # the provider's today: credit open until midnight
    (datetime.date(2026, 11, 25), True),
])
def test_it_refuses_to_publish_a_draft_whose_credit_already_ended(provider, termination_date, refused):
    activity = publishable_draft(release_date=datetime.date(2026, 1, 5), termination_date=termination_date)

    # 22:30 on the 26th in New York, already the 27th in UTC.
    with time_machine.travel(NEW_YORK_EVENING, tick=False):
        problems = activity_publish(activity=activity)

    ended = ("Credit for this activity ended on November 25, 2026; set a later termination "
             "date before publishing.")
    assert (ended in problems) is refused
    assert (Activity.objects.get(pk=activity.pk).status == Activity.Status.DRAFT) is refused


# --- warnings, never blocking ---------------------------------------------------------


@pytest.mark.parametrize("credits, minutes, seconds, warned", [
    ("1.25", 60, 0, False),  # an hour, rounded up to 1, and one step more
    ("1.5", 60, 0, True),
    ("0.5", 10, 0, False),
    ("0.75", 10, 0, True),
    ("10", 10, 0, True),
    ("1", 60, 3600, False),  # the recording fills the estimated time exactly
    ("1", 60, 3601, True),
    ("0.5", 120, 7200, False),  # a quarter of the recording's 2 hours
    ("0.25", 120, 7200, True),
])
def test_it_warns_when_credit_is_out_of_line_with_the_time(credits, minutes, seconds, warned):
    warnings = credit_time_warnings(
        credits=Decimal(credits), estimated_minutes=minutes, recording_seconds=seconds
    )

    assert bool(warnings) is warned


@pytest.mark.parametrize("pass_percent, warned", [("70", False), ("69.99", True), ("10", True)])
def test_it_warns_about_a_low_pass_mark(pass_percent, warned):
    assert bool(pass_mark_warnings(pass_percent=Decimal(pass_percent))) is warned


@pytest.mark.parametrize("seconds, warned", [(10, False), (9, True), (0, False)])
def test_it_warns_about_a_very_short_recording(seconds, warned):
    assert bool(recording_length_warnings(duration_seconds=seconds)) is warned


def test_it_warns_but_publishes_an_implausible_activity(provider):
    activity = publishable_draft(credits=Decimal("10"), estimated_minutes=10)
    PostTest.objects.filter(activity=activity).update(pass_percent=Decimal("10"))
    Recording.objects.filter(activity=activity).update(duration_seconds=600)

    warnings = activity_publish_warnings(activity=activity)

    assert warnings == [
        "10 credits is more than the estimated time to complete (10 minutes) supports: at most "
        "0.5. Check the credits and the estimated time.",
        "The pass mark is 10%, below 70%: learners could pass while getting many questions "
        "wrong. The usual pass mark is 75%.",
    ]
    assert activity_publish(activity=activity) == []


# --- duplicate for a new run ----------------------------------------------------------


def test_it_duplicates_for_a_new_run_under_its_own_title_dates_and_no_accme_id(live):
    Activity.objects.filter(pk=live.pk).update(accme_activity_id="202412345")
    release, end = datetime.date(2027, 1, 1), datetime.date(2027, 12, 31)

    copy = activity_duplicate(activity=live, title="Sepsis update 2027", release_date=release,
                              termination_date=end, reviewed_on=release)

    assert (copy.title, copy.slug, copy.accme_activity_id) == ("Sepsis update 2027", "sepsis-update-2027", "")
    assert (copy.release_date, copy.reviewed_on, copy.termination_date) == (release, release, end)
    assert copy.status == Activity.Status.DRAFT
    assert not activity_assessment_locked(activity=copy)
    assert Activity.objects.get(pk=live.pk).accme_activity_id == "202412345"


def test_it_copies_commercial_support_and_joint_providers_to_the_new_run(live):
    CommercialSupportFactory(activity=live, supporter="Acme Devices", amount=Decimal("5000"))
    Activity.objects.filter(pk=live.pk).update(joint_providers=["State Medical Society"])

    copy = activity_duplicate(activity=live, title="Sepsis update 2027",
                              release_date=datetime.date(2027, 1, 1),
                              termination_date=datetime.date(2027, 12, 31))

    supports = [(s.supporter, s.amount) for s in copy.commercial_supports.all()]
    assert supports == [("Acme Devices", Decimal("5000"))]
    assert copy.joint_providers == ["State Medical Society"]
    assert live.commercial_supports.count() == 1


@pytest.mark.parametrize("changes, field, message", [
    ({"title": "  "}, "title", "Give the new run a title."),
    ({"termination_date": datetime.date(2026, 12, 31)}, "termination_date", "before the release date"),
    ({"termination_date": datetime.date(2031, 1, 2)}, "termination_date", "reviewed at least every 3 years"),
    ({"release_date": None}, "release_date", "Give the new run's release date."),
])
def test_it_refuses_a_new_run_with_bad_input_naming_the_field(live, changes, field, message):
    fields = {"title": "Sepsis update 2027", "release_date": datetime.date(2027, 1, 1),
              "termination_date": datetime.date(2027, 12, 31), **changes}

    with pytest.raises(ValidationError) as refused:
        activity_duplicate(activity=live, **fields)

    assert message in " ".join(refused.value.message_dict[field])
    assert Activity.objects.count() == 1


def test_it_clears_the_accme_id_with_the_admin_action(staff_client, live):
    Activity.objects.filter(pk=live.pk).update(accme_activity_id="202412345")

    staff_client.post("/admin/courses/activity/", {"action": "duplicate", "_selected_action": [live.pk]})

    copy = Activity.objects.exclude(pk=live.pk).get()
    assert (copy.title, copy.accme_activity_id) == ("Sepsis update (new run)", "")


# --- the flag on activity lists -------------------------------------------------------


def broken_live_activity(**fields):
    """A published activity whose post-test lost its questions behind the rule: unpublished,
    edited, then set back to published without the checks."""
    activity = complete_activity(**fields)
    activity_unpublish(activity=activity)
    Question.objects.filter(posttest__activity=activity).delete()
    Activity.objects.filter(pk=activity.pk).update(status=Activity.Status.PUBLISHED)
    activity.status = Activity.Status.PUBLISHED
    return activity


def test_it_flags_a_published_activity_that_fails_the_checks_on_the_staff_page(provider, client):
    broken = broken_live_activity(title="Broken one")
    complete_activity(title="Sound one")
    staff_login(client, UserFactory(is_staff=True, is_superuser=True))

    page = client.get("/staff/").content.decode()

    assert "Fails publishing checks:</strong> The post-test has no questions." in page
    assert page.count("Fails publishing checks") == 1
    assert activities_failing_checks(activities=[broken]) == {broken.pk: ["The post-test has no questions."]}


def test_it_flags_only_published_activities(provider):
    draft = publishable_draft()
    Question.objects.filter(posttest__activity=draft).delete()

    assert activities_failing_checks(activities=[draft]) == {}


def test_it_flags_a_page_of_activities_in_a_constant_number_of_queries(provider, django_assert_num_queries):
    broken_live_activity()
    complete_activity()
    activities = list(Activity.objects.all())
    with CaptureQueriesContext(connection) as few:
        activities_failing_checks(activities=activities)
    for _ in range(4):
        broken_live_activity()
        complete_activity()
    activities = list(Activity.objects.all())

    with django_assert_num_queries(len(few.captured_queries)):
        failing = activities_failing_checks(activities=activities)

    assert len(failing) == 5


def test_it_lists_the_staff_page_in_a_constant_number_of_queries_with_flags(
    provider, client, django_assert_num_queries
):
    staff_login(client, UserFactory(is_staff=True, is_superuser=True))
    broken_live_activity()
    with CaptureQueriesContext(connection) as few:
        client.get("/staff/")
    for _ in range(5):
        broken_live_activity()

    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get("/staff/")

    assert response.content.decode().count("Fails publishing checks") == 6


def test_it_flags_failing_activities_in_the_admin_list(staff_client, provider):
    broken_live_activity(title="Broken one")

    page = staff_client.get("/admin/courses/activity/").content.decode()

    assert "Fails publishing checks: The post-test has no questions." in page


# --- the lock, through the importer -----------------------------------------------------


def test_it_reimports_a_live_activity_unchanged(live):
    before = snapshot(live)

    activities_import(data={**activity_export(live), "title": "Sepsis update, retitled"})

    assert snapshot(live) == before
    assert Activity.objects.get(pk=live.pk).title == "Sepsis update, retitled"


def test_it_refuses_an_import_that_changes_a_live_post_test(live):
    before = snapshot(live)
    data = activity_export(live)
    data["posttest"]["pass_percent"] = "50"

    with pytest.raises(ActivityImportError, match="so its post-test cannot be changed"):
        activities_import(data=data)

    assert snapshot(live) == before
