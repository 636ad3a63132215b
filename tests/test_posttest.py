import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from quizzes.models import AnswerChoice, Attempt, AttemptAnswer, PostTest, Question
from quizzes.rules import (
    assessment_problems,
    attempt_review_level,
    attempt_within_credit_window,
    posttest_problems,
    score_passes,
    score_percent,
)
from quizzes.services import AttemptClosed, AttemptRefused, attempt_open, attempt_submit

from .concurrency import in_threads
from .conftest import NEW_YORK
from .factories import (
    ActivityFactory,
    ChoiceFactory,
    ParticipationFactory,
    QuestionFactory,
    UserFactory,
    complete_activity,
    graded_attempt,
    multi_answer_question,
    staff_login,
)


@pytest.fixture
def started(activity, learner, client):
    ParticipationFactory(user=learner, activity=activity, watched=True)
    client.force_login(learner)
    return activity


def right(question):
    return question.choices.get(is_correct=True).pk


def wrong(question):
    return question.choices.get(is_correct=False).pk


def form_answers(page, pick):
    """The post data that answers every question on a post-test `page` with `pick`."""
    return {f"question-{item['question'].pk}": pick(item["question"]) for item in page.context["questions"]}


def submit(activity, user, *, correct):
    attempt = attempt_open(user=user, posttest=activity.posttest)
    questions = list(activity.posttest.questions.all())
    answers = {q.pk: right(q) if i < correct else wrong(q) for i, q in enumerate(questions)}
    return attempt_submit(attempt=attempt, user=user, answers=answers)


def test_it_passes_three_of_four_at_the_default_75_percent(activity, learner):
    attempt = submit(activity, learner, correct=3)
    assert attempt.passed
    assert attempt.score == Decimal("75.00")


def test_it_fails_two_of_four(activity, learner):
    attempt = submit(activity, learner, correct=2)
    assert not attempt.passed
    assert attempt.score == Decimal("50.00")


def test_it_never_rounds_just_below_the_pass_mark_up_to_it():
    assert score_percent(correct=74999, total=100000) == Decimal("74.99")
    assert not score_passes(correct=74999, total=100000, pass_percent=Decimal("75"))
    assert score_passes(correct=75000, total=100000, pass_percent=Decimal("75"))
    assert score_passes(correct=1, total=1, pass_percent=Decimal("100"))


def test_it_fails_a_post_test_with_no_questions():
    assert not score_passes(correct=0, total=0, pass_percent=Decimal("75"))


def test_it_counts_a_choice_from_another_question_as_wrong(activity, learner):
    first, second, *rest = activity.posttest.questions.all()
    attempt = attempt_open(user=learner, posttest=activity.posttest)
    answers = {first.pk: right(second), second.pk: right(first)}
    answers.update({q.pk: right(q) for q in rest})
    graded = attempt_submit(attempt=attempt, user=learner, answers=answers)
    assert graded.correct_count == 2
    assert not graded.passed


def test_it_counts_a_choice_from_another_activity_as_wrong(activity, learner, provider):
    other = complete_activity()
    attempt = attempt_open(user=learner, posttest=activity.posttest)
    foreign = [right(q) for q in other.posttest.questions.all()]
    answers = {q.pk: foreign[i] for i, q in enumerate(activity.posttest.questions.all())}
    graded = attempt_submit(attempt=attempt, user=learner, answers=answers)
    assert graded.correct_count == 0


def test_it_grades_a_repeated_submission_once(activity, learner):
    attempt = submit(activity, learner, correct=4)
    with pytest.raises(AttemptClosed):
        attempt_submit(attempt=attempt, user=learner, answers={})
    attempt.refresh_from_db()
    assert attempt.passed
    assert Attempt.objects.filter(user=learner).count() == 1


def test_it_refuses_to_grade_another_learners_attempt(activity, learner):
    attempt = attempt_open(user=UserFactory(), posttest=activity.posttest)
    with pytest.raises(Attempt.DoesNotExist):
        attempt_submit(attempt=attempt, user=learner, answers={})


def test_it_keeps_the_answer_key_out_of_a_live_attempt_page(started, client):
    html = client.get(f"/activities/{started.slug}/posttest/").content.decode()
    assert "Right answer" in html and "Wrong answer" in html
    assert "Because the guideline says so." not in html
    assert "correct" not in html.lower()


def test_it_shows_explanations_after_passing(started, client, learner):
    submit(started, learner, correct=4)
    html = client.get(f"/activities/{started.slug}/posttest/").content.decode()
    assert "Because the guideline says so." in html
    assert "Claim your credit" in html


def test_it_sends_the_learner_back_to_the_post_test_page_after_handing_in_once_or_twice(started, client):
    page = client.get(f"/activities/{started.slug}/posttest/")
    form = {"attempt": page.context["attempt"].pk, **form_answers(page, right)}
    for _ in range(2):
        response = client.post(f"/activities/{started.slug}/posttest/", form)
        assert response.status_code == 302
        assert response.url == f"/activities/{started.slug}/posttest/"
    assert "Your result: 100% — passed" in client.get(response.url).content.decode()


def test_it_asks_again_when_an_answer_is_missing_and_grades_nothing(started, client):
    page = client.get(f"/activities/{started.slug}/posttest/")
    first = page.context["questions"][0]["question"]
    response = client.post(
        f"/activities/{started.slug}/posttest/",
        {"attempt": page.context["attempt"].pk, f"question-{first.pk}": right(first)},
    )
    assert response.status_code == 200
    assert "Answer question 2 before you submit." in response.content.decode()
    assert not Attempt.objects.filter(submitted_at__isnull=False).exists()


def test_it_rejects_a_forged_attempt_id_with_400(started, client):
    page = client.get(f"/activities/{started.slug}/posttest/")
    answers = form_answers(page, right)
    other = attempt_open(user=UserFactory(), posttest=started.posttest)
    for attempt_id in ("abc", other.pk):
        response = client.post(f"/activities/{started.slug}/posttest/", {"attempt": attempt_id, **answers})
        assert response.status_code == 400
    assert not Attempt.objects.filter(submitted_at__isnull=False).exists()


def test_it_shows_no_attempts_left_when_the_cap_is_reached(started, client, learner):
    started.posttest.max_attempts = 1
    started.posttest.save()
    submit(started, learner, correct=0)
    html = client.get(f"/activities/{started.slug}/posttest/").content.decode()
    assert "You have used all 1 attempts" in html
    assert 'name="attempt"' not in html


def test_it_sends_learners_who_have_not_started_back_to_the_activity(activity, client, learner):
    client.force_login(learner)
    response = client.get(f"/activities/{activity.slug}/posttest/")
    assert response.status_code == 302
    assert response.url == activity.get_absolute_url()


# --- Pass mark boundaries ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pass_percent", "correct", "total", "passes"),
    [
        ("75", 3, 4, True),
        ("75", 7499, 10000, False),
        ("74.99", 7499, 10000, True),
        ("75.01", 3, 4, False),
        ("100", 3, 4, False),
        ("100", 4, 4, True),
    ],
)
def test_it_applies_the_pass_mark_inclusively_in_exact_arithmetic(pass_percent, correct, total, passes):
    assert score_passes(correct=correct, total=total, pass_percent=Decimal(pass_percent)) is passes


def test_it_fails_three_of_four_when_staff_set_the_pass_mark_to_100(activity, learner):
    activity.posttest.pass_percent = Decimal("100")
    activity.posttest.save()
    attempt = submit(activity, learner, correct=3)
    assert attempt.score == Decimal("75.00")
    assert not attempt.passed


# --- Multi-answer questions ----------------------------------------------------------------


@pytest.fixture
def multi(provider):
    """An activity whose post-test is one multi-answer question (two of three correct)."""
    activity = complete_activity(question_count=0)
    multi_answer_question(posttest=activity.posttest)
    return activity


def ticks(question, *texts):
    return [choice.pk for choice in question.choices.all() if choice.text in texts]


@pytest.mark.parametrize(
    ("ticked", "right"),
    [
        (("Right one", "Right two"), True),
        (("Right one",), False),
        (("Right one", "Right two", "Wrong one"), False),
        (("Wrong one",), False),
        ((), False),
    ],
)
def test_it_counts_a_multi_answer_question_right_only_for_exactly_the_correct_set(
    multi, learner, ticked, right
):
    question = multi.posttest.questions.get()
    attempt = attempt_open(user=learner, posttest=multi.posttest)
    answers = {question.pk: ticks(question, *ticked)}
    graded = attempt_submit(attempt=attempt, user=learner, answers=answers)
    assert graded.passed is right
    assert graded.answers.get().is_correct is right


def test_it_records_every_choice_ticked_on_a_multi_answer_question(multi, learner):
    question = multi.posttest.questions.get()
    attempt = attempt_open(user=learner, posttest=multi.posttest)
    chosen = ticks(question, "Right one", "Wrong one")
    graded = attempt_submit(attempt=attempt, user=learner, answers={question.pk: chosen})
    assert sorted(graded.answers.get().choices.values_list("pk", flat=True)) == sorted(chosen)


def test_it_counts_two_choices_on_a_single_answer_question_as_wrong(activity, learner):
    first, *rest = activity.posttest.questions.all()
    attempt = attempt_open(user=learner, posttest=activity.posttest)
    answers = {first.pk: [right(first), wrong(first)], **{q.pk: right(q) for q in rest}}
    graded = attempt_submit(attempt=attempt, user=learner, answers=answers)
    assert graded.correct_count == 3
    assert not graded.answers.get(question=first).is_correct


def test_it_counts_a_multi_answer_set_with_a_foreign_choice_as_wrong(multi, learner, activity):
    question = multi.posttest.questions.get()
    attempt = attempt_open(user=learner, posttest=multi.posttest)
    forged = ticks(question, "Right one", "Right two") + [right(activity.posttest.questions.first())]
    graded = attempt_submit(attempt=attempt, user=learner, answers={question.pk: forged})
    assert not graded.passed
    assert set(graded.answers.get().choices.values_list("text", flat=True)) == {"Right one", "Right two"}


def test_it_grades_ticked_checkboxes_posted_from_the_page(multi, learner, client):
    ParticipationFactory(user=learner, activity=multi, watched=True)
    client.force_login(learner)
    page = client.get(f"/activities/{multi.slug}/posttest/")
    question = page.context["questions"][0]["question"]
    response = client.post(
        f"/activities/{multi.slug}/posttest/",
        {
            "attempt": page.context["attempt"].pk,
            f"question-{question.pk}": ticks(question, "Right one", "Right two"),
        },
    )
    assert response.status_code == 302
    assert Attempt.objects.get(user=learner).passed


def inputs_of(html):
    return re.findall(r"<input[^>]*name=\"question-\d+\"[^>]*>", html)


def test_it_keeps_the_answer_key_out_of_a_live_multi_answer_attempt_page(multi, learner, client):
    ParticipationFactory(user=learner, activity=multi, watched=True)
    client.force_login(learner)
    html = client.get(f"/activities/{multi.slug}/posttest/").content.decode()
    assert "select all that apply" in html
    assert "correct" not in html.lower()
    assert "Because the guideline says so." not in html
    inputs = inputs_of(html)
    assert len(inputs) == 3
    # Right and wrong choices render the same but for their value (the choice's id) and
    # their element id (the position the error summary links to).
    assert len({re.sub(r'(value|id)="[\w-]+"', "", tag) for tag in inputs}) == 1
    assert all('type="checkbox"' in tag for tag in inputs)


# --- Shuffling ---------------------------------------------------------------------------------


@pytest.fixture
def reversing_shuffle(monkeypatch):
    """Shuffling that reverses, so the order a shuffled attempt shows is known."""
    monkeypatch.setattr("quizzes.services.random.shuffle", lambda items: items.reverse())


def page_order(client, activity):
    page = client.get(f"/activities/{activity.slug}/posttest/")
    return [
        (item["question"].pk, [choice.pk for choice, _ in item["choices"]])
        for item in page.context["questions"]
    ]


def staff_order(activity):
    return [
        (question.pk, [choice.pk for choice in question.choices.all()])
        for question in activity.posttest.questions.prefetch_related("choices")
    ]


def test_it_shows_questions_and_choices_in_staff_order_by_default(started, client, reversing_shuffle):
    assert page_order(client, started) == staff_order(started)


def test_it_shuffles_questions_and_choices_when_staff_ask(started, client, reversing_shuffle):
    started.posttest.shuffle_questions = started.posttest.shuffle_choices = True
    started.posttest.save()
    expected = [(question, choices[::-1]) for question, choices in staff_order(started)[::-1]]
    assert page_order(client, started) == expected


def test_it_keeps_a_shuffled_order_for_the_whole_attempt(started, client, learner):
    started.posttest.shuffle_questions = started.posttest.shuffle_choices = True
    started.posttest.save()
    first = page_order(client, started)
    assert [page_order(client, started) for _ in range(3)] == [first] * 3
    assert Attempt.objects.get(user=learner).layout == [[q, c] for q, c in first]


def test_it_grades_a_shuffled_attempt_by_the_choices_ticked_not_their_place(
    started, client, learner, reversing_shuffle
):
    started.posttest.shuffle_questions = started.posttest.shuffle_choices = True
    started.posttest.save()
    page = client.get(f"/activities/{started.slug}/posttest/")
    answers = form_answers(page, right)
    client.post(f"/activities/{started.slug}/posttest/", {"attempt": page.context["attempt"].pk, **answers})
    assert Attempt.objects.get(user=learner).score == Decimal("100.00")


# --- Attempts: retakes, caps, waits, no attempts after passing -----------------------------


def test_it_shows_the_result_and_offers_a_retake_after_a_failed_attempt(started, client, learner):
    submit(started, learner, correct=1)
    html = client.get(f"/activities/{started.slug}/posttest/").content.decode()
    assert "25% — not passed" in html
    assert "Take the post-test again" in html
    assert 'name="attempt"' not in html
    assert Attempt.objects.filter(user=learner).count() == 1


def test_it_opens_the_retake_when_the_learner_asks_for_it(started, client, learner):
    submit(started, learner, correct=1)
    html = client.get(f"/activities/{started.slug}/posttest/?retake=1").content.decode()
    assert 'name="attempt"' in html
    assert Attempt.objects.filter(user=learner, submitted_at__isnull=True).count() == 1


def test_it_opens_no_new_attempt_after_the_learner_passed(started, client, learner):
    passed = submit(started, learner, correct=4)
    html = client.get(f"/activities/{started.slug}/posttest/?retake=1").content.decode()
    assert 'name="attempt"' not in html
    assert "Take the post-test again" not in html
    with pytest.raises(AttemptRefused):
        attempt_open(user=learner, posttest=started.posttest)
    assert list(Attempt.objects.filter(user=learner)) == [passed]


def test_it_lets_a_passed_learner_review_their_answers(started, client, learner):
    submit(started, learner, correct=3)
    html = client.get(f"/activities/{started.slug}/posttest/").content.decode()
    assert "75% — passed" in html
    assert html.count("your answer") == 4
    assert html.count("— <strong class=\"verdict-right\">correct</strong>") == 3


def test_it_refuses_an_attempt_beyond_the_cap(activity, learner):
    activity.posttest.max_attempts = 2
    activity.posttest.save()
    submit(activity, learner, correct=0)
    submit(activity, learner, correct=1)
    with pytest.raises(AttemptRefused, match="You have used all 2 attempts"):
        attempt_open(user=learner, posttest=activity.posttest)
    assert Attempt.objects.filter(user=learner).count() == 2


def test_it_refuses_to_grade_an_open_attempt_once_staff_lower_the_cap(activity, learner):
    submit(activity, learner, correct=0)
    attempt = attempt_open(user=learner, posttest=activity.posttest)
    activity.posttest.max_attempts = 1
    activity.posttest.save()
    with pytest.raises(AttemptRefused):
        attempt_submit(attempt=attempt, user=learner, answers={})
    attempt.refresh_from_db()
    assert attempt.submitted_at is None


@pytest.fixture
def waiting(activity, learner):
    """A learner who failed at 10:00 on a post-test with an hour's wait between attempts."""
    activity.posttest.minutes_between_attempts = 60
    activity.posttest.save()
    with time_machine.travel(datetime.datetime(2026, 11, 2, 10, 0, tzinfo=NEW_YORK), tick=False):
        submit(activity, learner, correct=0)
    return activity


def test_it_makes_the_learner_wait_until_the_wait_is_over(waiting, learner):
    with time_machine.travel(datetime.datetime(2026, 11, 2, 10, 59, 59, tzinfo=NEW_YORK), tick=False):
        with pytest.raises(AttemptRefused, match="Please wait"):
            attempt_open(user=learner, posttest=waiting.posttest)


def test_it_opens_the_next_attempt_once_the_wait_is_over(waiting, learner):
    with time_machine.travel(datetime.datetime(2026, 11, 2, 11, 0, tzinfo=NEW_YORK), tick=False):
        assert attempt_open(user=learner, posttest=waiting.posttest).submitted_at is None


def test_it_tells_a_waiting_learner_when_they_can_try_again(waiting, learner, client):
    ParticipationFactory(user=learner, activity=waiting, watched=True)
    client.force_login(learner)
    with time_machine.travel(datetime.datetime(2026, 11, 2, 10, 30, tzinfo=NEW_YORK), tick=False):
        html = client.get(f"/activities/{waiting.slug}/posttest/?retake=1").content.decode()
    assert "You can take the post-test again in 30\xa0minutes, from November 2, 2026, 11:00 AM EST" in html
    assert 'name="attempt"' not in html


def test_it_opens_no_attempt_on_a_post_test_without_questions(provider, learner, client):
    activity = complete_activity(question_count=0)
    ParticipationFactory(user=learner, activity=activity, watched=True)
    client.force_login(learner)
    html = client.get(f"/activities/{activity.slug}/posttest/").content.decode()
    assert "This post-test is not ready yet" in html
    assert not Attempt.objects.exists()


# --- The credit window -------------------------------------------------------------------------


@pytest.fixture
def ending(provider, learner, client):
    """An activity whose credit ends on November 30, 2026, and a learner who started it."""
    activity = complete_activity(
        release_date=datetime.date(2026, 1, 1), termination_date=datetime.date(2026, 11, 30)
    )
    ParticipationFactory(user=learner, activity=activity, watched=True)
    client.force_login(learner)
    with time_machine.travel(datetime.datetime(2026, 11, 30, 23, 50, tzinfo=NEW_YORK), tick=False):
        attempt_open(user=learner, posttest=activity.posttest)
    return activity


def submit_all_right_at(activity, learner, moment):
    attempt = Attempt.objects.get(user=learner, submitted_at__isnull=True)
    answers = {q.pk: right(q) for q in activity.posttest.questions.all()}
    with time_machine.travel(moment, tick=False):
        return attempt_submit(attempt=attempt, user=learner, answers=answers)


def test_it_counts_a_pass_handed_in_on_the_last_second_of_termination_day(ending, learner):
    last_second = datetime.datetime(2026, 11, 30, 23, 59, 59, tzinfo=NEW_YORK)
    graded = submit_all_right_at(ending, learner, last_second)
    assert attempt_within_credit_window(attempt=graded)


def test_it_earns_no_credit_for_an_attempt_started_in_time_but_handed_in_after(ending, learner):
    graded = submit_all_right_at(ending, learner, datetime.datetime(2026, 12, 1, 0, 0, tzinfo=NEW_YORK))
    assert graded.passed
    assert not attempt_within_credit_window(attempt=graded)


def test_it_tells_the_learner_why_a_late_pass_earns_no_credit(ending, learner, client):
    submit_all_right_at(ending, learner, datetime.datetime(2026, 12, 1, 0, 5, tzinfo=NEW_YORK))
    html = client.get(f"/activities/{ending.slug}/posttest/").content.decode()
    assert (
        "you handed in this attempt on December 1, 2026, after credit for this activity ended on "
        "November 30, 2026" in html
    )
    assert "Claim your credit" not in html


def test_it_offers_the_claim_for_a_pass_handed_in_on_termination_day(ending, learner, client):
    submit_all_right_at(ending, learner, datetime.datetime(2026, 11, 30, 23, 59, tzinfo=NEW_YORK))
    with time_machine.travel(datetime.datetime(2026, 11, 30, 23, 59, 30, tzinfo=NEW_YORK), tick=False):
        html = client.get(f"/activities/{ending.slug}/posttest/").content.decode()
    assert "Claim your credit" in html
    assert "does not earn credit" not in html


# --- Tampering: every malformed post changes nothing ------------------------------------------


def db_state():
    return (
        list(Attempt.objects.order_by("pk").values_list("pk", "submitted_at", "score", "passed")),
        AttemptAnswer.objects.count(),
        AnswerChoice.objects.count(),
    )


@pytest.fixture
def live(started, client):
    """The learner's open attempt as the page shows it, and a complete set of right answers."""
    page = client.get(f"/activities/{started.slug}/posttest/")
    answers = form_answers(page, right)
    return page.context["attempt"], answers


FORGERIES = {
    "blank attempt": lambda attempt, answers: {**answers, "attempt": ""},
    "no attempt": lambda attempt, answers: answers,
    "huge attempt id": lambda attempt, answers: {**answers, "attempt": "9" * 30},
    "text choice": lambda attempt, answers: {**answers, "attempt": attempt.pk, next(iter(answers)): "abc"},
    "text question": lambda attempt, answers: {**answers, "attempt": attempt.pk, "question-x": "1"},
    "foreign question": lambda attempt, answers: {**answers, "attempt": attempt.pk, "question-999999": "1"},
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_it_rejects_a_malformed_post_with_400_and_changes_nothing(started, client, live, forgery):
    attempt, answers = live
    before = db_state()
    response = client.post(f"/activities/{started.slug}/posttest/", FORGERIES[forgery](attempt, answers))
    assert response.status_code == 400
    assert db_state() == before


def test_it_rejects_questions_of_another_activity_with_400(started, client, live):
    attempt, answers = live
    other = complete_activity()
    forged = {f"question-{q.pk}": right(q) for q in other.posttest.questions.all()}
    before = db_state()
    response = client.post(
        f"/activities/{started.slug}/posttest/", {"attempt": attempt.pk, **answers, **forged}
    )
    assert response.status_code == 400
    assert db_state() == before


def test_it_rejects_the_learners_attempt_on_another_activity_with_400(started, client, live, learner):
    _, answers = live
    other = complete_activity()
    elsewhere = attempt_open(user=learner, posttest=other.posttest)
    before = db_state()
    response = client.post(f"/activities/{started.slug}/posttest/", {"attempt": elsewhere.pk, **answers})
    assert response.status_code == 400
    assert db_state() == before


def test_it_keeps_the_database_unchanged_when_an_answer_is_missing(started, client, live):
    attempt, answers = live
    answers.pop(next(iter(answers)))
    before = db_state()
    response = client.post(f"/activities/{started.slug}/posttest/", {"attempt": attempt.pk, **answers})
    assert response.status_code == 200
    assert "Please answer this question." in response.content.decode()
    assert db_state() == before


def test_it_keeps_the_learners_choices_when_asking_for_a_missing_answer(started, client, live):
    attempt, answers = live
    answers.pop(next(iter(answers)))
    response = client.post(f"/activities/{started.slug}/posttest/", {"attempt": attempt.pk, **answers})
    assert response.content.decode().count(" checked>") == 3


def test_it_grades_a_replayed_form_once(started, client, live, learner):
    attempt, answers = live
    url = f"/activities/{started.slug}/posttest/"
    client.post(url, {"attempt": attempt.pk, **answers})
    before = db_state()
    all_wrong = {key: wrong(Question.objects.get(pk=key.removeprefix("question-"))) for key in answers}
    response = client.post(url, {"attempt": attempt.pk, **all_wrong})
    assert response.status_code == 302
    assert db_state() == before
    assert Attempt.objects.get(user=learner).passed
    assert "already graded" in client.get(url).content.decode()


def test_it_does_not_let_an_old_form_grade_a_retake(started, client, learner):
    url = f"/activities/{started.slug}/posttest/"
    page = client.get(url)
    first_form = {"attempt": page.context["attempt"].pk}
    first_form.update(form_answers(page, wrong))
    client.post(url, first_form)
    retake = client.get(url + "?retake=1").context["attempt"]
    before = db_state()
    client.post(url, first_form)
    assert db_state() == before
    retake.refresh_from_db()
    assert retake.submitted_at is None


def test_it_counts_missing_answers_as_wrong_in_the_service(activity, learner):
    first, *rest = activity.posttest.questions.all()
    attempt = attempt_open(user=learner, posttest=activity.posttest)
    graded = attempt_submit(attempt=attempt, user=learner, answers={q.pk: right(q) for q in rest})
    assert graded.correct_count == 3
    assert graded.question_count == 4
    assert not graded.answers.get(question=first).is_correct


def test_it_ignores_answers_to_questions_outside_the_attempt(activity, learner):
    other = complete_activity()
    attempt = attempt_open(user=learner, posttest=activity.posttest)
    answers = {q.pk: right(q) for q in other.posttest.questions.all()}
    graded = attempt_submit(attempt=attempt, user=learner, answers=answers)
    assert graded.correct_count == 0
    assert set(graded.answers.values_list("question__posttest", flat=True)) == {activity.posttest.pk}


# --- Concurrency on PostgreSQL -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_grades_simultaneous_submissions_of_one_attempt_once(activity, learner):
    attempt = attempt_open(user=learner, posttest=activity.posttest)
    answers = {q.pk: right(q) for q in activity.posttest.questions.all()}
    results = in_threads(4, lambda: attempt_submit(attempt=attempt, user=learner, answers=answers))
    assert sum(isinstance(result, Attempt) for result in results) == 1
    assert sum(isinstance(result, AttemptClosed) for result in results) == 3
    assert Attempt.objects.filter(user=learner).count() == 1
    assert AttemptAnswer.objects.filter(attempt=attempt).count() == 4


@pytest.mark.django_db(transaction=True)
def test_it_grades_a_double_clicked_submit_once(activity, learner):
    ParticipationFactory(user=learner, activity=activity, watched=True)
    attempt = attempt_open(user=learner, posttest=activity.posttest)
    form = {f"question-{q.pk}": right(q) for q in activity.posttest.questions.all()}
    form["attempt"] = attempt.pk

    def click():
        client = Client()
        client.force_login(learner)
        return client.post(f"/activities/{activity.slug}/posttest/", form).status_code

    assert in_threads(2, click) == [302, 302]
    assert Attempt.objects.filter(user=learner).count() == 1
    assert AttemptAnswer.objects.filter(attempt=attempt).count() == 4


@pytest.mark.django_db(transaction=True)
def test_it_opens_one_attempt_for_simultaneous_page_loads(activity, learner):
    results = in_threads(4, lambda: attempt_open(user=learner, posttest=activity.posttest).pk)
    assert len(set(results)) == 1
    assert Attempt.objects.filter(user=learner).count() == 1


# --- Result page: what is revealed when ----------------------------------------------------------


def result_page(client, activity):
    return client.get(f"/activities/{activity.slug}/posttest/").content.decode()


ANSWER_KEY_TAG = 'class="tag tag-right">correct answer<'
REVIEW = PostTest.Review


def set_review(activity, *, after_fail=REVIEW.SCORE, after_pass=REVIEW.CORRECT_ANSWERS):
    activity.posttest.review_after_fail = after_fail
    activity.posttest.review_after_pass = after_pass
    activity.posttest.save()


def test_it_gives_an_attacker_nothing_but_the_score_after_a_failed_attempt_by_default(
    started, client, learner
):
    submit(started, learner, correct=2)
    html = result_page(client, started)
    assert "50% — not passed" in html
    assert "the pass mark is 75%" in html
    assert "Take the post-test again" in html
    for leak in ('class="verdict-', 'class="tag', "your answer", ">correct answer<",
                 "Right answer", "Wrong answer", "Because the guideline says so."):
        assert leak not in html
    for question in started.posttest.questions.all():
        assert question.text not in html


def test_it_says_what_a_failed_attempt_and_a_pass_show_by_default(started, client, learner):
    submit(started, learner, correct=2)
    assert (
        "After a failed attempt you see your score only; after passing, the correct answers "
        "and explanations." in result_page(client, started)
    )


def test_it_marks_the_wrong_questions_without_the_answers_when_staff_choose(started, client, learner):
    set_review(started, after_fail=REVIEW.WRONG_QUESTIONS)
    submit(started, learner, correct=2)
    html = result_page(client, started)
    assert html.count('class="verdict-right">correct<') == 2
    assert html.count('class="verdict-wrong">incorrect<') == 2
    assert html.count('class="tag">your answer<') == 4
    assert ANSWER_KEY_TAG not in html
    assert "Because the guideline says so." not in html


def test_it_shows_the_correct_answers_after_passing_by_default(started, client, learner):
    submit(started, learner, correct=3)
    html = result_page(client, started)
    assert html.count(ANSWER_KEY_TAG) == 4
    assert html.count("Because the guideline says so.") == 4


def test_it_shows_answers_after_a_failed_attempt_when_staff_choose(started, client, learner):
    set_review(started, after_fail=REVIEW.CORRECT_ANSWERS)
    submit(started, learner, correct=0)
    html = result_page(client, started)
    assert "Because the guideline says so." in html
    assert html.count(ANSWER_KEY_TAG) == 4
    assert "After every attempt you see the correct answers and explanations." in html


def test_it_shows_only_the_score_after_a_pass_when_staff_choose(started, client, learner):
    set_review(started, after_pass=REVIEW.SCORE)
    submit(started, learner, correct=4)
    html = result_page(client, started)
    assert "100% — passed" in html
    assert 'class="verdict-' not in html
    assert "Right answer" not in html


def test_it_marks_the_questions_after_a_pass_without_the_answers_when_staff_choose(
    started, client, learner
):
    set_review(started, after_pass=REVIEW.WRONG_QUESTIONS)
    submit(started, learner, correct=4)
    html = result_page(client, started)
    assert html.count('class="verdict-right">correct<') == 4
    assert "Because the guideline says so." not in html
    assert ANSWER_KEY_TAG not in html


@pytest.mark.parametrize(
    ("after_fail", "after_pass", "correct", "level"),
    [
        (REVIEW.SCORE, REVIEW.CORRECT_ANSWERS, 2, REVIEW.SCORE),
        (REVIEW.SCORE, REVIEW.CORRECT_ANSWERS, 3, REVIEW.CORRECT_ANSWERS),
        (REVIEW.WRONG_QUESTIONS, REVIEW.SCORE, 0, REVIEW.WRONG_QUESTIONS),
        (REVIEW.WRONG_QUESTIONS, REVIEW.SCORE, 4, REVIEW.SCORE),
    ],
)
def test_it_takes_the_review_level_of_a_fail_or_a_pass_from_the_settings(
    started, learner, after_fail, after_pass, correct, level
):
    set_review(started, after_fail=after_fail, after_pass=after_pass)
    assert attempt_review_level(attempt=submit(started, learner, correct=correct)) == level


def test_it_shows_only_the_score_level_for_an_attempt_not_yet_graded(started, learner):
    set_review(started, after_fail=REVIEW.CORRECT_ANSWERS)
    attempt = attempt_open(user=learner, posttest=started.posttest)
    assert attempt_review_level(attempt=attempt) == REVIEW.SCORE


def test_it_states_the_review_settings_beside_the_pass_mark_on_the_activity_page(started, client):
    set_review(started, after_fail=REVIEW.WRONG_QUESTIONS, after_pass=REVIEW.CORRECT_ANSWERS)
    html = client.get(started.get_absolute_url()).content.decode()
    assert (
        "Post-test pass mark 75%. After a failed attempt you see which questions you got wrong, "
        "without the correct answers; after passing, the correct answers and explanations." in html
    )


def test_it_keeps_the_answer_key_off_a_retake_page_when_a_fail_shows_the_answers(
    started, client, learner
):
    set_review(started, after_fail=REVIEW.CORRECT_ANSWERS)
    submit(started, learner, correct=0)
    html = client.get(f"/activities/{started.slug}/posttest/?retake=1").content.decode()
    assert 'name="attempt"' in html
    assert "correct" not in html.lower()
    assert "Because the guideline says so." not in html


def page_queries(client, activity, user, url_suffix=""):
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/activities/{activity.slug}/posttest/{url_suffix}").status_code == 200
    return len(queries)


def test_it_renders_the_result_page_in_the_same_number_of_queries_for_more_questions(provider, client):
    counts = []
    for question_count in (2, 9):
        activity = complete_activity(question_count=question_count)
        multi_answer_question(posttest=activity.posttest)
        user = UserFactory()
        ParticipationFactory(user=user, activity=activity, watched=True)
        graded_attempt(activity=activity, user=user, correct=0)
        graded_attempt(activity=activity, user=user, correct=question_count + 1)
        counts.append(page_queries(client, activity, user))
    assert counts[0] == counts[1]


def test_it_renders_a_live_attempt_in_the_same_number_of_queries_for_more_questions(provider, client):
    counts = []
    for question_count in (2, 9):
        activity = complete_activity(question_count=question_count)
        user = UserFactory()
        ParticipationFactory(user=user, activity=activity, watched=True)
        attempt_open(user=user, posttest=activity.posttest)
        counts.append(page_queries(client, activity, user))
    assert counts[0] == counts[1]


# --- Publish-time problems -----------------------------------------------------------------------


def test_it_finds_no_problem_in_a_complete_post_test(activity):
    multi_answer_question(posttest=activity.posttest)
    assert posttest_problems(activity=activity) == []


def test_it_reports_an_activity_without_a_post_test(provider):
    assert posttest_problems(activity=ActivityFactory()) == ["The activity has no post-test."]


def test_it_reports_a_post_test_with_no_questions(provider):
    activity = complete_activity(question_count=0)
    assert posttest_problems(activity=activity) == ["The post-test has no questions."]


@pytest.mark.parametrize(
    ("multiple", "choices", "message"),
    [
        (False, [("A", False), ("B", False)], "Mark at least one choice as correct."),
        (False, [("A", True), ("B", True)], "A single-answer question needs exactly one correct choice"),
        (False, [("A", True)], "A question needs at least two choices."),
        (True, [("A", False), ("B", False)], "Mark at least one choice as correct."),
        (True, [("A", True), ("B", True)], "at least one choice that is not correct"),
    ],
)
def test_it_reports_a_question_without_a_fair_answer_key(provider, multiple, choices, message):
    activity = complete_activity(question_count=1)
    question = QuestionFactory(posttest=activity.posttest, multiple=multiple)
    for text, is_correct in choices:
        ChoiceFactory(question=question, text=text, is_correct=is_correct)
    [problem] = posttest_problems(activity=activity)
    assert problem.startswith("Post-test question 2: ")
    assert message in problem


def test_it_reports_the_missing_evaluation_with_the_post_test_problems(provider):
    activity = ActivityFactory()
    assert assessment_problems(activity=activity) == [
        "The activity has no post-test.",
        "The activity has no evaluation.",
    ]


# --- Admin ------------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, db):
    staff_login(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def question_form(question, *, multiple, rows):
    """The admin change form of `question` with new choices `rows` [(text, correct)]."""
    data = {
        "posttest": question.posttest_id,
        "order": 0,
        "text": question.text,
        "explanation": "",
        "choices-TOTAL_FORMS": len(rows),
        "choices-INITIAL_FORMS": 0,
        "choices-MIN_NUM_FORMS": 0,
        "choices-MAX_NUM_FORMS": 1000,
    }
    if multiple:
        data["multiple"] = "on"
    for index, (text, is_correct) in enumerate(rows):
        data[f"choices-{index}-text"] = text
        data[f"choices-{index}-order"] = index
        if is_correct:
            data[f"choices-{index}-is_correct"] = "on"
    return data


@pytest.mark.parametrize(
    ("multiple", "rows", "message"),
    [
        (False, [("A", False), ("B", False)], "Mark at least one choice as correct."),
        (False, [("A", True), ("B", True)], "A single-answer question needs exactly one correct choice"),
        (True, [("A", False), ("B", False)], "Mark at least one choice as correct."),
    ],
)
def test_it_refuses_an_unfair_answer_key_in_the_admin(staff_client, provider, multiple, rows, message):
    question = QuestionFactory(posttest=complete_activity(question_count=0).posttest)
    data = question_form(question, multiple=multiple, rows=rows)
    response = staff_client.post(f"/admin/quizzes/question/{question.pk}/change/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    question.refresh_from_db()
    assert not question.multiple
    assert not question.choices.exists()


def test_it_accepts_several_correct_choices_on_a_multi_answer_question_in_the_admin(staff_client, provider):
    question = QuestionFactory(posttest=complete_activity(question_count=0).posttest)
    rows = [("A", True), ("B", True), ("C", False)]
    response = staff_client.post(
        f"/admin/quizzes/question/{question.pk}/change/", question_form(question, multiple=True, rows=rows)
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.multiple
    assert list(question.choices.values_list("text", "is_correct")) == rows


def test_it_lists_publish_problems_on_the_post_test_admin_page(staff_client, provider):
    activity = complete_activity(question_count=0)
    html = staff_client.get(f"/admin/quizzes/posttest/{activity.posttest.pk}/change/").content.decode()
    assert "The post-test has no questions." in html


@pytest.mark.parametrize(
    "path", ["/admin/quizzes/posttest/", "/admin/quizzes/posttest/add/", "/admin/quizzes/question/"]
)
def test_it_renders_the_post_test_admin_pages(staff_client, activity, path):
    assert staff_client.get(path).status_code == 200
