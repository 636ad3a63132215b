"""Staff reports and exports under /staff/: access, numbers, CSVs, and the board-reporting
profile fields (the PARS files that read them: tests/test_pars.py)."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates.models import Certificate
from lms.forms import ProfileForm
from lms.models import User
from quizzes.models import EvaluationQuestion

from .factories import (
    ActivityFactory,
    EvaluationAnswerFactory,
    EvaluationQuestionFactory,
    EvaluationResponseFactory,
    ParticipationFactory,
    StaffUserFactory,
    UserFactory,
    certificate_for,
    complete_activity,
    graded_attempt,
    learner_ready_to_claim,
    staff_login,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return StaffUserFactory()


@pytest.fixture
def staff_client(client, staff):
    staff_login(client, staff)
    return client


def rows_of(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def learner_who_took_the_posttest(activity, *, correct):
    user = UserFactory()
    ParticipationFactory(user=user, activity=activity)
    graded_attempt(activity=activity, user=user, correct=correct)
    return user


def staff_paths(slug):
    return [
        "/staff/",
        f"/staff/activities/{slug}/",
        f"/staff/activities/{slug}/completions.csv",
        f"/staff/activities/{slug}/evaluations.csv",
    ]


# --- Access -----------------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_the_login_page(client, activity):
    for path in staff_paths(activity.slug):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url.startswith("/accounts/login/"), path


def test_it_answers_404_to_learners_who_are_not_staff(client, activity, learner):
    client.force_login(learner)
    for path in staff_paths(activity.slug):
        assert client.get(path).status_code == 404, path


def test_it_opens_every_report_to_staff(staff_client, activity):
    for path in staff_paths(activity.slug):
        assert staff_client.get(path).status_code == 200, path


def test_it_answers_404_for_an_unknown_activity(staff_client, provider):
    assert staff_client.get("/staff/activities/no-such-activity/").status_code == 404
    assert staff_client.get("/staff/activities/no-such-activity/completions.csv").status_code == 404


# --- The list of activities -------------------------------------------------------------


@pytest.fixture
def reported_activity(activity):
    """3 started; 2 took the post-test (one passed, one failed); the passer holds a
    certificate for 0.75 credits; a revoked certificate of 1 credit does not count."""
    passer = learner_ready_to_claim(activity=activity)
    learner_who_took_the_posttest(activity, correct=1)
    ParticipationFactory(activity=activity)
    certificate_for(activity=activity, user=passer, credits="0.75")
    certificate_for(activity=activity, credits="1", state=Certificate.State.REVOKED)
    return activity


def test_it_lists_started_completions_pass_rate_and_credits_per_activity(staff_client, reported_activity):
    response = staff_client.get("/staff/")
    row = next(a for a in response.context["page"].object_list if a.pk == reported_activity.pk)
    assert (row.started, row.tested, row.passed, row.certified) == (3, 2, 1, 1)
    assert row.pass_rate == 50
    assert row.credits_claimed == pytest.approx(0.75)
    assert "50%" in response.content.decode()


def test_it_shows_no_pass_rate_before_anyone_takes_the_post_test(staff_client, activity):
    response = staff_client.get("/staff/")
    assert response.context["page"].object_list[0].pass_rate is None
    assert "no attempts" in response.content.decode()


def test_it_paginates_the_activities(staff_client, provider):
    ActivityFactory.create_batch(27)
    first = staff_client.get("/staff/")
    second = staff_client.get("/staff/?page=2")
    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 2
    assert "Page 2 of 2" in second.content.decode()


def activities_with_learners(count):
    for _ in range(count):
        activity = complete_activity(question_count=1)
        learner_who_took_the_posttest(activity, correct=1)
        certificate_for(activity=activity)


def test_it_lists_activities_in_a_constant_number_of_queries(
    staff_client, provider, django_assert_num_queries
):
    activities_with_learners(3)
    with CaptureQueriesContext(connection) as few:
        staff_client.get("/staff/")
    activities_with_learners(27)
    with django_assert_num_queries(len(few.captured_queries)):
        response = staff_client.get("/staff/")
    assert len(response.context["page"].object_list) == 25


# --- One activity's report --------------------------------------------------------------


def test_it_counts_each_step_of_the_activity(staff_client, reported_activity):
    activity = staff_client.get(f"/staff/activities/{reported_activity.slug}/").context["report"].activity
    assert (activity.started, activity.evaluated, activity.tested, activity.passed) == (3, 1, 2, 1)
    assert activity.certified == 1


def test_it_bands_each_learners_best_score(staff_client, activity):
    retaker = learner_who_took_the_posttest(activity, correct=1)
    graded_attempt(activity=activity, user=retaker, correct=4)
    learner_who_took_the_posttest(activity, correct=0)
    learner_who_took_the_posttest(activity, correct=3)
    response = staff_client.get(f"/staff/activities/{activity.slug}/")
    bands = {bar.label: bar.count for bar in response.context["report"].scores}
    assert bands["90–100%"] == 1
    assert bands["20–29%"] == 0
    assert bands["0–9%"] == 1
    assert bands["70–79%"] == 1
    assert sum(bands.values()) == 3


def test_it_draws_the_score_chart_with_its_numbers_as_text(staff_client, activity):
    learner_who_took_the_posttest(activity, correct=2)
    page = staff_client.get(f"/staff/activities/{activity.slug}/").content.decode()
    assert "50–59%" in page
    assert '<rect class="chart-bar" width="100.0" height="1"/>' in page
    assert "1 <span class=\"muted\">(100%)</span>" in page


def evaluated(activity, value, question=None):
    response = EvaluationResponseFactory(evaluation=activity.evaluation)
    EvaluationAnswerFactory(
        response=response, question=question or activity.evaluation.questions.first(), value=value
    )
    return response.user


def test_it_summarises_the_evaluation_without_names(staff_client, activity):
    comment_question = EvaluationQuestionFactory(
        evaluation=activity.evaluation, text="What would you improve?", kind=EvaluationQuestion.Kind.TEXT
    )
    author = evaluated(activity, "5")
    evaluated(activity, "5")
    evaluated(activity, "2")
    evaluated(activity, "More cases, please.", question=comment_question)
    response = staff_client.get(f"/staff/activities/{activity.slug}/")
    likert, _comments = response.context["report"].evaluation
    assert [bar.count for bar in likert["bars"]] == [0, 1, 0, 0, 2]
    page = response.content.decode()
    assert "More cases, please." in page
    assert author.family_name not in page and author.email not in page


def test_it_links_the_activity_report_to_its_csv_exports(staff_client, activity):
    page = staff_client.get(f"/staff/activities/{activity.slug}/").content.decode()
    assert f"/staff/activities/{activity.slug}/completions.csv" in page
    assert f"/staff/activities/{activity.slug}/evaluations.csv" in page


def test_it_builds_the_activity_report_in_a_constant_number_of_queries(
    staff_client, activity, django_assert_num_queries
):
    for correct in (1, 4):
        certificate_for(activity=activity, user=learner_who_took_the_posttest(activity, correct=correct))
        evaluated(activity, "4")
    with CaptureQueriesContext(connection) as few:
        staff_client.get(f"/staff/activities/{activity.slug}/")
    for _ in range(10):
        certificate_for(activity=activity, user=learner_who_took_the_posttest(activity, correct=3))
        evaluated(activity, "3")
    with django_assert_num_queries(len(few.captured_queries)):
        staff_client.get(f"/staff/activities/{activity.slug}/")


# --- CSV exports ------------------------------------------------------------------------


def test_it_exports_one_row_per_certificate(staff_client, activity):
    physician = UserFactory(email="ada@example.org", given_name="Ada", family_name="Lovelace",
                            certificate_name="Ada Lovelace", degree="DO")
    nurse = UserFactory(profession=User.Profession.OTHER, degree="RN")
    kept = certificate_for(activity=activity, user=physician, credits="0.5",
                           completed_on=datetime.date(2025, 3, 4))
    certificate_for(activity=activity, user=nurse, state=Certificate.State.REVOKED)
    rows = rows_of(staff_client.get(f"/staff/activities/{activity.slug}/completions.csv"))
    assert rows[0] == ["certificate_number", "learner_name", "email", "degree", "profession",
                       "completed_on", "credit_type", "amount", "state"]
    assert rows[1] == [kept.number, "Ada Lovelace", "ada@example.org", "DO", "Physician (MD, DO)",
                       "2025-03-04", "AMA PRA Category 1 Credit™", "0.50", "Being prepared"]
    assert rows[2][6:] == ["Certificate of Participation", "1.00", "Revoked"]
    assert len(rows) == 3


def test_it_keeps_learner_text_from_running_as_a_spreadsheet_formula(staff_client, activity):
    user = UserFactory(certificate_name="=HYPERLINK(\"http://evil\")")
    certificate_for(activity=activity, user=user)
    rows = rows_of(staff_client.get(f"/staff/activities/{activity.slug}/completions.csv"))
    assert rows[1][1] == "'=HYPERLINK(\"http://evil\")"


def test_it_exports_evaluation_aggregates_without_learner_identity(staff_client, activity):
    author = evaluated(activity, "4")
    evaluated(activity, "4")
    response = staff_client.get(f"/staff/activities/{activity.slug}/evaluations.csv")
    rows = rows_of(response)
    assert rows[0] == ["question_number", "question", "kind", "answer", "count", "comment"]
    assert ["1", "The activity met its objectives.", "likert", "4", "2", ""] in rows
    assert len(rows) == 1 + 5
    assert author.email not in str(rows)
    assert author.family_name not in str(rows)


# --- Board-reporting profile fields -----------------------------------------------------


def profile_data(**fields):
    return {"given_name": "Grace", "family_name": "Hopper", "degree": "MD",
            "profession": "physician", **fields}


def test_it_saves_the_board_reporting_fields_from_the_profile(client, learner):
    client.force_login(learner)
    client.post("/me/profile/", profile_data(
        birth_month="2", birth_day="29", licence_state="ny", licence_number="123456",
        certifying_board="ABIM", board_id="B-77", share_with_boards="on",
    ))
    learner.refresh_from_db()
    assert (learner.birth_month, learner.birth_day, learner.licence_state) == (2, 29, "NY")
    assert (learner.licence_number, learner.certifying_board, learner.board_id) == ("123456", "ABIM", "B-77")
    assert learner.share_with_boards is True


def test_it_does_not_share_with_boards_unless_the_learner_consents(learner):
    form = ProfileForm(profile_data(), instance=learner)
    assert form.is_valid(), form.errors
    assert form.save().share_with_boards is False


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"birth_month": "2"}, "birth_day", "Give the day of birth too"),
        ({"birth_day": "12"}, "birth_month", "Give the month of birth too"),
        ({"birth_month": "2", "birth_day": "30"}, "birth_day", "February has no day 30"),
        ({"birth_month": "4", "birth_day": "31"}, "birth_day", "April has no day 31"),
        ({"licence_state": "NY"}, "licence_number", "Give the licence number"),
        ({"licence_number": "123456"}, "licence_state", "Give the state"),
        ({"licence_state": "New York", "licence_number": "1"}, "licence_state", "two-letter state code"),
    ],
)
def test_it_refuses_incomplete_or_impossible_board_details(client, learner, fields, field, message):
    client.force_login(learner)
    response = client.post("/me/profile/", profile_data(**fields))
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    learner.refresh_from_db()
    assert learner.birth_month is None and learner.licence_state == ""
