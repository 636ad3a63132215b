import datetime

import pytest
import time_machine
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from certificates.services import certificate_claim
from quizzes.models import Evaluation, EvaluationAnswer, EvaluationQuestion, EvaluationResponse
from quizzes.rules import evaluation_problems
from quizzes.selectors import evaluation_summary
from quizzes.services import (
    DEFAULT_EVALUATION_QUESTIONS,
    EvaluationLocked,
    evaluation_create_from_default,
    evaluation_default,
    evaluation_submit,
)

from .conftest import NEW_YORK
from .factories import (
    ActivityFactory,
    DefaultEvaluationFactory,
    EvaluationAnswerFactory,
    EvaluationFactory,
    EvaluationQuestionFactory,
    EvaluationResponseFactory,
    ParticipationFactory,
    UserFactory,
    complete_activity,
    learner_ready_to_claim,
    staff_login,
)

Kind = EvaluationQuestion.Kind


@pytest.fixture
def form(provider):
    """An activity whose evaluation asks one question of each kind; only the text is optional."""
    activity = complete_activity()
    evaluation = activity.evaluation
    evaluation.questions.all().delete()
    questions = {
        "likert": EvaluationQuestionFactory(evaluation=evaluation, order=1, kind=Kind.LIKERT),
        "yes_no": EvaluationQuestionFactory(
            evaluation=evaluation, order=2, kind=Kind.YES_NO, text="Was the content free of commercial bias?"
        ),
        "commitment": EvaluationQuestionFactory(
            evaluation=evaluation, order=3, kind=Kind.COMMITMENT, text="Will you change your practice?"
        ),
        "text": EvaluationQuestionFactory(
            evaluation=evaluation, order=4, kind=Kind.TEXT, text="Any other comments?", required=False
        ),
    }
    return activity, questions


@pytest.fixture
def taking(form, learner, client):
    activity, questions = form
    ParticipationFactory(user=learner, activity=activity, watched=True)
    client.force_login(learner)
    return f"/activities/{activity.slug}/evaluation/", questions


def full_answers(questions, **overrides):
    data = {
        f"q{questions['likert'].pk}": "5",
        f"q{questions['yes_no'].pk}": "yes",
        f"q{questions['commitment'].pk}": "yes",
        f"q{questions['commitment'].pk}_comment": "Screen every adult for hypertension.",
        f"q{questions['text'].pk}": "More case discussions, please.",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def stored():
    rows = EvaluationAnswer.objects.values_list("response__user_id", "question_id", "value", "comment")
    return sorted(rows)


def test_it_stores_one_answer_of_each_kind(taking, learner, client):
    url, questions = taking
    response = client.post(url, full_answers(questions))
    assert response.status_code == 302
    answers = EvaluationResponse.objects.get(user=learner).answers.all()
    saved = {answer.question_id: (answer.value, answer.comment) for answer in answers}
    assert saved == {
        questions["likert"].pk: ("5", ""),
        questions["yes_no"].pk: ("yes", ""),
        questions["commitment"].pk: ("yes", "Screen every adult for hypertension."),
        questions["text"].pk: ("More case discussions, please.", ""),
    }


def test_it_labels_both_ends_of_the_likert_scale(taking, client):
    url, _ = taking
    html = client.get(url).content.decode()
    assert "1 – Strongly disagree" in html
    assert "5 – Strongly agree" in html


@pytest.mark.parametrize(
    ("question", "field", "value", "message"),
    [
        ("likert", "", None, "This field is required."),
        ("yes_no", "", None, "This field is required."),
        ("commitment", "", None, "This field is required."),
        ("likert", "", "6", "Select a valid choice."),
        ("likert", "", "0", "Select a valid choice."),
        ("yes_no", "", "maybe", "Select a valid choice."),
        ("text", "", "x" * 5001, "at most 5000 characters"),
        ("commitment", "_comment", "", "Please tell us what you will change."),
    ],
)
def test_it_re_renders_a_bad_evaluation_with_a_message_and_stores_nothing(
    taking, client, question, field, value, message
):
    url, questions = taking
    response = client.post(url, full_answers(questions, **{f"q{questions[question].pk}{field}": value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not EvaluationResponse.objects.exists()
    assert stored() == []


def test_it_accepts_an_optional_question_left_blank(taking, learner, client):
    url, questions = taking
    response = client.post(url, full_answers(questions, **{f"q{questions['text'].pk}": None}))
    assert response.status_code == 302
    assert EvaluationResponse.objects.get(user=learner).answers.get(question=questions["text"]).value == ""


def test_it_accepts_a_commitment_of_no_without_a_comment(taking, learner, client):
    url, questions = taking
    commitment = f"q{questions['commitment'].pk}"
    response = client.post(url, full_answers(questions, **{commitment: "no", f"{commitment}_comment": None}))
    assert response.status_code == 302


def test_it_keeps_one_response_per_learner_and_replaces_its_answers(taking, learner, client):
    url, questions = taking
    with time_machine.travel(datetime.datetime(2026, 11, 2, 9, 0, tzinfo=NEW_YORK), tick=False):
        client.post(url, full_answers(questions))
    with time_machine.travel(datetime.datetime(2026, 11, 5, 9, 0, tzinfo=NEW_YORK), tick=False):
        client.post(url, full_answers(questions, **{f"q{questions['likert'].pk}": "2"}))
    response = EvaluationResponse.objects.get(user=learner)
    assert response.answers.get(question=questions["likert"]).value == "2"
    assert response.answers.count() == 4
    assert response.submitted_at == datetime.datetime(2026, 11, 2, 9, 0, tzinfo=NEW_YORK)
    assert response.updated_at == datetime.datetime(2026, 11, 5, 9, 0, tzinfo=NEW_YORK)


def test_it_shows_the_learner_their_earlier_answers_to_edit(taking, client):
    url, questions = taking
    client.post(url, full_answers(questions))
    page = client.get(url)
    html = page.content.decode()
    assert "You may change your answers below" in html
    likert = questions["likert"].pk
    assert f'name="q{likert}" value="5" required id="id_q{likert}_4" checked' in html
    assert "Screen every adult for hypertension." in html


def test_it_enforces_one_response_per_learner_and_evaluation_in_the_database(form, learner):
    activity, _ = form
    EvaluationResponseFactory(user=learner, evaluation=activity.evaluation)
    with pytest.raises(IntegrityError):
        EvaluationResponseFactory(user=learner, evaluation=activity.evaluation)


@pytest.fixture
def certified(form, learner, client):
    """The learner of `form` holds a certificate for the activity."""
    activity, questions = form
    learner_ready_to_claim(activity=activity, user=learner)
    certificate_claim(user=learner, activity=activity, credits="1", attested=True)
    client.force_login(learner)
    return f"/activities/{activity.slug}/evaluation/", questions


def test_it_refuses_to_change_the_evaluation_once_the_certificate_exists(certified, client):
    url, questions = certified
    before = stored()
    response = client.post(url, full_answers(questions))
    assert response.status_code == 200
    assert "your evaluation can no longer be changed" in response.content.decode()
    assert stored() == before


def test_it_shows_a_certified_learner_their_answers_without_a_submit_button(certified, client):
    url, _ = certified
    html = client.get(url).content.decode()
    assert "these answers are final" in html
    assert "Submit evaluation" not in html


def test_it_refuses_an_evaluation_change_in_the_service_once_the_certificate_exists(certified, learner, form):
    activity, _ = form
    with pytest.raises(EvaluationLocked):
        evaluation_submit(user=learner, evaluation=activity.evaluation, answers={})


def test_it_sends_a_learner_who_has_not_started_back_to_the_activity(form, learner, client):
    activity, _ = form
    client.force_login(learner)
    response = client.get(f"/activities/{activity.slug}/evaluation/")
    assert response.status_code == 302
    assert response.url == activity.get_absolute_url()


# --- The default form -------------------------------------------------------------------------


def test_it_creates_the_default_form_with_the_standard_questions_on_first_use(db):
    default = evaluation_default()
    assert default.is_default and default.activity is None
    assert [(q.text, q.kind, q.required) for q in default.questions.all()] == DEFAULT_EVALUATION_QUESTIONS


def test_it_starts_a_new_activitys_evaluation_from_the_default_form(provider):
    default = DefaultEvaluationFactory()
    EvaluationQuestionFactory(
        evaluation=default, text="Was the pacing right?", kind=Kind.YES_NO, required=False
    )
    activity = ActivityFactory()
    evaluation = evaluation_create_from_default(activity=activity)
    assert evaluation.activity == activity
    assert [(q.text, q.kind, q.required) for q in evaluation.questions.all()] == [
        ("Was the pacing right?", Kind.YES_NO, False)
    ]


def test_it_leaves_the_default_form_alone_when_a_copy_is_edited(provider):
    default = evaluation_default()
    evaluation = evaluation_create_from_default(activity=ActivityFactory())
    evaluation.questions.all().delete()
    assert default.questions.count() == len(DEFAULT_EVALUATION_QUESTIONS)


def test_it_keeps_an_existing_evaluation_when_asked_to_start_from_the_default(form):
    activity, questions = form
    assert evaluation_create_from_default(activity=activity) == activity.evaluation
    assert activity.evaluation.questions.count() == len(questions)


def test_it_allows_only_one_default_form(db):
    DefaultEvaluationFactory()
    with pytest.raises(IntegrityError):
        DefaultEvaluationFactory()


def test_it_refuses_a_default_form_that_belongs_to_an_activity(provider):
    with pytest.raises(IntegrityError):
        EvaluationFactory(activity=ActivityFactory(), is_default=True)


# --- Aggregates for reports ------------------------------------------------------------------


@pytest.fixture
def answered(form):
    """Three learners' answers to `form`."""
    activity, questions = form
    rows = [
        ("4", "yes", ("yes", "Order fewer tests."), "Zebra topics"),
        ("4", "no", ("unsure", ""), ""),
        ("2", "yes", ("yes", "ask about sleep"), "antibiotics"),
    ]
    for likert, yes_no, (commitment, comment), text in rows:
        response = EvaluationResponseFactory(
            evaluation=activity.evaluation, user=UserFactory(email=f"who-{likert}-{yes_no}@example.org")
        )
        EvaluationAnswerFactory(response=response, question=questions["likert"], value=likert)
        EvaluationAnswerFactory(response=response, question=questions["yes_no"], value=yes_no)
        EvaluationAnswerFactory(
            response=response, question=questions["commitment"], value=commitment, comment=comment
        )
        EvaluationAnswerFactory(response=response, question=questions["text"], value=text)
    return activity, questions


def summary_of(activity):
    return {item["question"].kind: item for item in evaluation_summary(evaluation=activity.evaluation)}


def test_it_counts_each_likert_value(answered):
    activity, _ = answered
    counts = [(c["value"], c["count"]) for c in summary_of(activity)["likert"]["counts"]]
    assert counts == [("1", 0), ("2", 1), ("3", 0), ("4", 2), ("5", 0)]


def test_it_counts_yes_and_no(answered):
    activity, _ = answered
    counts = summary_of(activity)["yes_no"]["counts"]
    assert [(c["label"], c["count"]) for c in counts] == [("Yes", 2), ("No", 1)]


def test_it_counts_commitments_and_lists_what_learners_will_change(answered):
    activity, _ = answered
    commitment = summary_of(activity)["commitment"]
    assert [c["count"] for c in commitment["counts"]] == [2, 0, 1]
    assert commitment["texts"] == ["ask about sleep", "Order fewer tests."]


def test_it_lists_free_text_alphabetically_without_who_wrote_it(answered):
    activity, _ = answered
    text = summary_of(activity)["text"]
    assert text["texts"] == ["antibiotics", "Zebra topics"]
    assert text["answered"] == 2
    assert "example.org" not in repr(evaluation_summary(evaluation=activity.evaluation))


def test_it_summarises_in_the_same_number_of_queries_for_more_responses(answered, learner):
    activity, questions = answered

    def queries():
        with CaptureQueriesContext(connection) as captured:
            evaluation_summary(evaluation=activity.evaluation)
        return len(captured)

    before = queries()
    evaluation_submit(
        user=learner,
        evaluation=activity.evaluation,
        answers={q.pk: ("5", "") for q in questions.values()},
    )
    assert queries() == before


# --- Publish-time problems ---------------------------------------------------------------------


def test_it_reports_an_activity_without_an_evaluation(provider):
    assert evaluation_problems(activity=ActivityFactory()) == ["The activity has no evaluation."]


def test_it_reports_an_evaluation_without_questions(provider):
    activity = ActivityFactory()
    EvaluationFactory(activity=activity)
    assert evaluation_problems(activity=activity) == ["The evaluation has no questions."]


def test_it_finds_no_problem_in_an_evaluation_with_questions(form):
    activity, _ = form
    assert evaluation_problems(activity=activity) == []


# --- Admin ---------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, db):
    staff_login(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def evaluation_form(**fields):
    data = {
        "questions-TOTAL_FORMS": 0,
        "questions-INITIAL_FORMS": 0,
        "questions-MIN_NUM_FORMS": 0,
        "questions-MAX_NUM_FORMS": 1000,
    }
    data.update(fields)
    return data


def test_it_adds_an_evaluation_in_the_admin_from_the_default_form(staff_client, provider):
    activity = ActivityFactory()
    response = staff_client.post(
        "/admin/quizzes/evaluation/add/", evaluation_form(activity=activity.pk, start_from_default="on")
    )
    assert response.status_code == 302
    texts = list(Evaluation.objects.get(activity=activity).questions.values_list("text", flat=True))
    assert texts == [text for text, _, _ in DEFAULT_EVALUATION_QUESTIONS]


def test_it_adds_an_empty_evaluation_in_the_admin_when_staff_opt_out(staff_client, provider):
    activity = ActivityFactory()
    staff_client.post("/admin/quizzes/evaluation/add/", evaluation_form(activity=activity.pk))
    assert not Evaluation.objects.get(activity=activity).questions.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Choose the activity, or make this the default form."),
        ({"is_default": "on", "activity": "ACTIVITY"}, "The default form belongs to no activity"),
        ({"is_default": "on"}, "There is already a default evaluation form."),
    ],
)
def test_it_refuses_an_evaluation_in_the_admin_that_belongs_nowhere_or_twice(
    staff_client, provider, fields, message
):
    DefaultEvaluationFactory()
    activity = ActivityFactory()
    fields = {key: activity.pk if value == "ACTIVITY" else value for key, value in fields.items()}
    response = staff_client.post("/admin/quizzes/evaluation/add/", evaluation_form(**fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Evaluation.objects.count() == 1


@pytest.mark.parametrize("path", ["/admin/quizzes/evaluation/", "/admin/quizzes/evaluation/add/"])
def test_it_renders_the_evaluation_admin_pages(staff_client, form, path):
    assert staff_client.get(path).status_code == 200
