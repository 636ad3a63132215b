"""The staff's view of one learner (issue 17, part 5): finding them, reading their record
(profile, transcript, progress, post-test answers, evaluation, certificates and their
history) and granting an extra post-test attempt, with who may do what."""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates.models import CertificateEvent
from certificates.services import certificate_revoke
from quizzes.models import AttemptAllowance, EvaluationQuestion
from quizzes.rules import attempt_allowance_refusal, attempts_used_up
from quizzes.services import AttemptRefused, attempt_open
from quizzes.selectors import attempt_refusal_of, posttest_standing

from .conftest import NEW_YORK
from .factories import (
    AttemptAllowanceFactory,
    CreditExtensionFactory,
    EvaluationAnswerFactory,
    EvaluationQuestionFactory,
    EvaluationResponseFactory,
    ParticipationFactory,
    StaffUserFactory,
    UserFactory,
    ViewingAccommodationFactory,
    certificate_for,
    complete_activity,
    graded_attempt,
    staff_login,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return StaffUserFactory(given_name="Carla", family_name="Coordinator")


@pytest.fixture
def staff_client(client, staff):
    staff_login(client, staff)
    return client


@pytest.fixture
def capped(provider):
    """An activity whose post-test allows two attempts."""
    activity = complete_activity()
    activity.posttest.max_attempts = 2
    activity.posttest.save()
    return activity


@pytest.fixture
def out_of_attempts(capped):
    """A learner who failed both attempts of `capped`."""
    user = UserFactory(given_name="Ada", family_name="Lovelace")
    ParticipationFactory(user=user, activity=capped, watched=True)
    graded_attempt(activity=capped, user=user, correct=1)
    graded_attempt(activity=capped, user=user, correct=2)
    return user


def page_of(client, user, **params):
    response = client.get(f"/staff/learners/{user.pk}/", params)
    assert response.status_code == 200
    return response.content.decode()


def text_of(html):
    """The page's words, tags and repeated spaces taken out, to read sentences across markup."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def attempt_url(user, activity):
    return f"/staff/learners/{user.pk}/activities/{activity.pk}/extra-attempt/"


REASON = "The learner's browser crashed while handing in the second attempt."


# --- Who may see and grant ---------------------------------------------------------------


def staff_paths(user, activity):
    return [
        "/staff/learners/",
        f"/staff/learners/{user.pk}/",
        attempt_url(user, activity),
        f"/staff/learners/{user.pk}/activities/{activity.pk}/extension/",
    ]


def test_it_sends_anonymous_visitors_to_the_login_page(client, capped, out_of_attempts):
    for path in staff_paths(out_of_attempts, capped):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url.startswith("/accounts/login/"), path


def test_it_hides_another_learners_record_from_a_learner(client, capped, out_of_attempts):
    client.force_login(UserFactory())
    for path in staff_paths(out_of_attempts, capped):
        assert client.get(path).status_code == 404, path


def test_it_lets_no_learner_grant_themselves_an_extra_attempt(client, capped, out_of_attempts):
    client.force_login(out_of_attempts)
    response = client.post(attempt_url(out_of_attempts, capped), {"extra_attempts": 3, "reason": REASON})
    assert response.status_code == 404
    assert not AttemptAllowance.objects.exists()


def test_it_refuses_staff_without_the_coordinator_role(client, capped, out_of_attempts):
    staff_login(client, StaffUserFactory(coordinator=False))
    for path in staff_paths(out_of_attempts, capped):
        assert client.get(path).status_code == 403, path
    response = client.post(attempt_url(out_of_attempts, capped), {"extra_attempts": 1, "reason": REASON})
    assert response.status_code == 403
    assert not AttemptAllowance.objects.exists()


def test_it_refuses_a_grant_posted_without_the_csrf_token(capped, out_of_attempts, staff):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    staff_login(client, staff)
    response = client.post(attempt_url(out_of_attempts, capped), {"extra_attempts": 1, "reason": REASON})
    assert response.status_code == 403
    assert not AttemptAllowance.objects.exists()


def test_it_answers_404_for_an_unknown_learner(staff_client, provider):
    assert staff_client.get("/staff/learners/999999/").status_code == 404


def test_it_links_the_learners_from_the_staff_reports(staff_client, provider):
    assert 'href="/staff/learners/"' in staff_client.get("/staff/").content.decode()


# --- Finding a learner -------------------------------------------------------------------


def test_it_finds_a_learner_by_name_or_email(staff_client, provider):
    ada = UserFactory(given_name="Ada", family_name="Lovelace", email="ada@analytical.example")
    grace = UserFactory(given_name="Grace", family_name="Hopper", email="grace@navy.example")

    for query in ("lovelace", "Ada Love", "analytical", "ADA@"):
        found = staff_client.get("/staff/learners/", {"q": query}).context["page"].object_list
        assert list(found) == [ada], query
    found = staff_client.get("/staff/learners/", {"q": ".example"}).context["page"].object_list
    assert set(found) == {ada, grace}


def test_it_finds_a_learner_by_the_name_on_their_certificates(staff_client, provider):
    learner = UserFactory(given_name="Wei", family_name="Zhang", certificate_name="ZHANG Wei")
    page = staff_client.get("/staff/learners/", {"q": "zhang wei"}).content.decode()
    assert f"/staff/learners/{learner.pk}/" in page


def test_it_says_when_no_learner_matches(staff_client, provider):
    UserFactory(family_name="Lovelace")
    page = staff_client.get("/staff/learners/", {"q": "nobody-like-this"}).content.decode()
    assert "No learner’s name or e-mail address contains “nobody-like-this”" in page


def test_it_refuses_an_overlong_search_with_its_error(staff_client, provider):
    response = staff_client.get("/staff/learners/", {"q": "x" * 201})
    assert response.status_code == 400
    assert "at most 200 characters" in response.content.decode()


def test_it_pages_the_learners_in_a_constant_number_of_queries(
    staff_client, provider, django_assert_num_queries
):
    UserFactory.create_batch(3)
    with CaptureQueriesContext(connection) as few:
        staff_client.get("/staff/learners/")
    UserFactory.create_batch(30)
    with django_assert_num_queries(len(few.captured_queries)):
        response = staff_client.get("/staff/learners/")
    assert len(response.context["page"].object_list) == 25
    assert "Page 1 of 2" in response.content.decode()


# --- One learner's record ----------------------------------------------------------------


def test_it_shows_the_learners_profile(staff_client, provider):
    learner = UserFactory(
        given_name="Ada", family_name="Lovelace", certificate_name="Augusta Ada King", degree="DO",
        npi="1234567893", specialty="Cardiology", licence_state="NY", licence_number="267890",
        certifying_board="ABIM", board_id="998877", birth_month=12, birth_day=10, share_with_boards=True,
    )
    page = text_of(page_of(staff_client, learner))
    for expected in ("Ada", "Lovelace", "Augusta Ada King", "DO", "Physician (MD, DO)", "1234567893",
                     "Cardiology", "NY 267890", "ABIM", "998877", "December 10",
                     "Yes: completions may be reported"):
        assert expected in page, expected


def test_it_shows_the_transcript_with_its_totals(staff_client, provider):
    learner = UserFactory()
    certificate_for(activity=complete_activity(), user=learner, credits="0.75")
    certificate_for(activity=complete_activity(), user=learner, credits="1")
    revoked = certificate_for(activity=complete_activity(), user=learner, credits="1")
    certificate_revoke(certificate=revoked, actor=None, reason="Claimed by mistake.")

    response = staff_client.get(f"/staff/learners/{learner.pk}/")
    assert response.context["transcript"].count == 2
    page = text_of(response.content.decode())
    assert "2 certificates that stand: 1.75 AMA PRA Category 1 Credits™ claimed" in page


def test_it_shows_progress_on_each_activity_started(staff_client, capped, provider):
    learner = UserFactory()
    with time_machine.travel(datetime.datetime(2026, 11, 2, 9, 15, tzinfo=NEW_YORK), tick=False):
        participation = ParticipationFactory(user=learner, activity=capped, watched_intervals_ms=[[0, 4000]])
    page = text_of(page_of(staff_client, learner))
    assert capped.title in page
    assert f"Started {participation.started_at:%B} 2, 2026, 9:15 AM EST" in page
    assert "50% watched of the 90% required · requirement not met yet" in page


def test_it_shows_a_viewing_accommodation_with_its_reason(staff_client, capped):
    participation = ParticipationFactory(activity=capped)
    ViewingAccommodationFactory(participation=participation, reason="Deaf-blind; reads with a braille display.")
    page = text_of(page_of(staff_client, participation.user))
    assert "requirement met" in page
    assert "Deaf-blind; reads with a braille display." in page


def test_it_shows_each_attempt_with_the_learners_answers(staff_client, capped, out_of_attempts):
    page = text_of(page_of(staff_client, out_of_attempts))
    assert "Attempt 1: 25%, not passed" in page
    assert "Attempt 2: 50%, not passed" in page
    assert "1 of 4 right" in page and "2 of 4 right" in page
    first_question = capped.posttest.questions.first()
    # The first question was answered right in both attempts, the last wrong in both.
    assert page.count(f"{first_question.text} Right answer Right") == 2
    assert page.count("Wrong answer Wrong") == 5
    assert "2 graded attempts of 2 allowed" in page


def test_it_shows_when_an_attempt_was_handed_in_in_the_providers_time(staff_client, capped):
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=capped, watched=True)
    # 02:30 UTC on July 5 is 10:30 PM on July 4 in New York.
    graded_attempt(
        activity=capped, user=learner, correct=4, at=datetime.datetime(2026, 7, 5, 2, 30, tzinfo=datetime.UTC)
    )
    page = text_of(page_of(staff_client, learner))
    assert "Attempt 1: 100%, passed" in page
    assert "handed in July 4, 2026, 10:30 PM EDT" in page


def test_it_shows_an_attempt_left_open(staff_client, capped):
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=capped, watched=True)
    attempt_open(user=learner, posttest=capped.posttest)
    assert "Attempt 1: open, not handed in" in text_of(page_of(staff_client, learner))


def test_it_shows_the_learners_evaluation_answers(staff_client, capped):
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=capped)
    evaluation = capped.evaluation
    rating = evaluation.questions.get()
    bias = EvaluationQuestionFactory(evaluation=evaluation, text="Free of commercial bias?",
                                     kind=EvaluationQuestion.Kind.YES_NO)
    change = EvaluationQuestionFactory(evaluation=evaluation, text="Will you change your practice?",
                                       kind=EvaluationQuestion.Kind.COMMITMENT)
    topics = EvaluationQuestionFactory(evaluation=evaluation, text="Topics you would like?",
                                       kind=EvaluationQuestion.Kind.TEXT)
    response = EvaluationResponseFactory(user=learner, evaluation=evaluation)
    EvaluationAnswerFactory(response=response, question=rating, value="5")
    EvaluationAnswerFactory(response=response, question=bias, value="no")
    EvaluationAnswerFactory(response=response, question=change, value="yes", comment="Screen with qSOFA.")
    EvaluationAnswerFactory(response=response, question=topics, value="Sepsis in children")

    page = text_of(page_of(staff_client, learner))
    assert f"{rating.text} 5 – Strongly agree" in page
    assert "Free of commercial bias? No" in page
    assert "Will you change your practice? Yes Screen with qSOFA." in page
    assert "Topics you would like? Sepsis in children" in page


def test_it_shows_each_certificate_with_its_history(staff_client, capped, staff):
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=capped)
    certificate = certificate_for(activity=capped, user=learner, credits="0.5")
    CertificateEvent.objects.create(certificate=certificate, action=CertificateEvent.Action.CLAIMED, actor=learner)
    certificate_revoke(certificate=certificate, actor=staff, reason="Credit claimed for the wrong activity.")

    page = text_of(page_of(staff_client, learner))
    assert certificate.number in page
    assert "0.5 AMA PRA Category 1 Credits™" in page
    assert "Revoked Carla Coordinator Credit claimed for the wrong activity." in page
    assert "Claimed Grace" in page


def test_it_says_what_a_learner_has_not_done(staff_client, provider):
    learner = UserFactory()
    assert "This learner has not started any activity." in page_of(staff_client, learner)
    ParticipationFactory(user=learner, activity=complete_activity())
    page = text_of(page_of(staff_client, learner))
    assert "No certificate." in page and "No attempts yet." in page and "Not completed." in page


def test_it_reads_the_record_in_the_same_queries_however_much_it_holds(
    staff_client, provider, django_assert_num_queries
):
    learner = UserFactory()

    def activity_done(attempts):
        activity = complete_activity()
        participation = ParticipationFactory(user=learner, activity=activity, watched=True)
        ViewingAccommodationFactory(participation=participation)
        for correct in range(attempts):
            graded_attempt(activity=activity, user=learner, correct=min(correct, 2))
        response = EvaluationResponseFactory(user=learner, evaluation=activity.evaluation)
        EvaluationAnswerFactory(response=response, question=activity.evaluation.questions.get())
        certificate = certificate_for(activity=activity, user=learner)
        CertificateEvent.objects.create(certificate=certificate, action="claimed", actor=learner)
        AttemptAllowanceFactory(user=learner, posttest=activity.posttest)
        CreditExtensionFactory(user=learner, activity=activity)

    activity_done(attempts=1)
    with CaptureQueriesContext(connection) as few:
        page_of(staff_client, learner)
    for _ in range(3):
        activity_done(attempts=4)
    with django_assert_num_queries(len(few.captured_queries)):
        page = page_of(staff_client, learner)
    assert page.count("Attempt 4:") == 3


def test_it_pages_the_activities_of_a_busy_learner(staff_client, provider):
    learner = UserFactory()
    for _ in range(11):
        ParticipationFactory(user=learner, activity=complete_activity(question_count=1))
    first = staff_client.get(f"/staff/learners/{learner.pk}/")
    assert len(first.context["records"]) == 10
    assert "Page 1 of 2" in first.content.decode()
    assert len(staff_client.get(f"/staff/learners/{learner.pk}/", {"page": 2}).context["records"]) == 1


# --- An extra attempt --------------------------------------------------------------------


def test_it_offers_an_extra_attempt_once_the_learner_has_used_them_all(staff_client, capped, out_of_attempts):
    page = page_of(staff_client, out_of_attempts)
    assert f'action="{attempt_url(out_of_attempts, capped)}"' in page
    assert "Allow extra post-test attempts" in page


def test_it_grants_an_extra_attempt_that_the_learner_can_take(staff_client, staff, capped, out_of_attempts):
    with pytest.raises(AttemptRefused, match="used all 2 attempts"):
        attempt_open(user=out_of_attempts, posttest=capped.posttest)

    response = staff_client.post(attempt_url(out_of_attempts, capped), {"extra_attempts": 1, "reason": REASON})

    assert response.status_code == 302
    assert response.url == f"/staff/learners/{out_of_attempts.pk}/#activity-{capped.pk}"
    allowance = AttemptAllowance.objects.get()
    assert (allowance.user, allowance.posttest, allowance.extra_attempts) == (out_of_attempts, capped.posttest, 1)
    assert (allowance.granted_by, allowance.reason) == (staff, REASON)
    assert attempt_open(user=out_of_attempts, posttest=capped.posttest).submitted_at is None
    graded_attempt(activity=capped, user=out_of_attempts, correct=1)
    with pytest.raises(AttemptRefused, match="used all 3 attempts"):
        attempt_open(user=out_of_attempts, posttest=capped.posttest)


def test_it_lets_the_learner_hand_in_the_extra_attempt_and_pass(client, capped, out_of_attempts):
    AttemptAllowanceFactory(user=out_of_attempts, posttest=capped.posttest, extra_attempts=2)
    client.force_login(out_of_attempts)
    page = client.get(f"/activities/{capped.slug}/posttest/?retake=1").content.decode()
    assert "2 of 4 attempts used" in page
    graded_attempt(activity=capped, user=out_of_attempts, correct=4)
    assert posttest_standing(user=out_of_attempts, posttest=capped.posttest).passed is not None


def test_it_shows_the_grant_on_the_learners_record(staff_client, capped, out_of_attempts):
    with time_machine.travel(datetime.datetime(2026, 10, 5, 14, 0, tzinfo=NEW_YORK), tick=False):
        staff_client.post(attempt_url(out_of_attempts, capped), {"extra_attempts": 2, "reason": REASON})
    page = text_of(page_of(staff_client, out_of_attempts))
    assert f"2 extra attempts allowed by Carla Coordinator on October 5, 2026, 2:00 PM EDT. Reason: {REASON}" in (
        page.replace("&#x27;", "'")
    )
    assert "2 graded attempts of 4 allowed (2 plus 2 extra)" in page


def test_it_says_why_no_extra_attempt_is_needed_while_attempts_are_left(staff_client, capped):
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=capped, watched=True)
    graded_attempt(activity=capped, user=learner, correct=0)

    assert "may still take 1: allow more once they have used them all" in page_of(staff_client, learner)
    response = staff_client.post(attempt_url(learner, capped), {"extra_attempts": 1, "reason": REASON})
    assert response.status_code == 400
    assert "has used 1 of 2 attempts and may still take 1" in response.content.decode()
    assert not AttemptAllowance.objects.exists()


def test_it_says_why_an_uncapped_post_test_needs_no_extra_attempt(staff_client, provider):
    activity = complete_activity()
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=activity, watched=True)
    graded_attempt(activity=activity, user=learner, correct=0)

    response = staff_client.post(attempt_url(learner, activity), {"extra_attempts": 1, "reason": REASON})
    assert response.status_code == 400
    assert "allows unlimited attempts" in response.content.decode()
    assert not AttemptAllowance.objects.exists()


def test_it_says_why_a_learner_who_passed_needs_no_extra_attempt(staff_client, capped):
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=capped, watched=True)
    graded_attempt(activity=capped, user=learner, correct=0)
    graded_attempt(activity=capped, user=learner, correct=4)

    page = staff_client.get(attempt_url(learner, capped)).content.decode()
    assert "The learner has passed this post-test" in page
    assert "<form" not in page.split("<main")[1]
    response = staff_client.post(attempt_url(learner, capped), {"extra_attempts": 1, "reason": REASON})
    assert response.status_code == 400
    assert not AttemptAllowance.objects.exists()


def test_it_answers_404_for_an_activity_without_a_post_test(staff_client, out_of_attempts, provider):
    bare = complete_activity()
    bare.posttest.delete()
    response = staff_client.post(attempt_url(out_of_attempts, bare), {"extra_attempts": 1, "reason": REASON})
    assert response.status_code == 404
    assert not AttemptAllowance.objects.exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"extra_attempts": 1, "reason": "   "}, "Give the reason for the extra attempts."),
        ({"extra_attempts": 1}, "Give the reason for the extra attempts."),
        ({"extra_attempts": 0, "reason": REASON}, "greater than or equal to 1"),
        ({"extra_attempts": 6, "reason": REASON}, "less than or equal to 5"),
        ({"extra_attempts": "two", "reason": REASON}, "Enter a whole number."),
    ],
)
def test_it_grants_nothing_for_a_bad_form_and_says_why(staff_client, capped, out_of_attempts, data, message):
    response = staff_client.post(attempt_url(out_of_attempts, capped), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="error-summary"' in page
    assert message in page
    assert not AttemptAllowance.objects.exists()


def test_a_get_grants_nothing(staff_client, capped, out_of_attempts):
    response = staff_client.get(attempt_url(out_of_attempts, capped), {"extra_attempts": 1, "reason": REASON})
    assert response.status_code == 200
    assert not AttemptAllowance.objects.exists()


def test_it_grants_once_when_the_form_is_posted_twice(staff_client, capped, out_of_attempts):
    data = {"extra_attempts": 1, "reason": REASON}
    assert staff_client.post(attempt_url(out_of_attempts, capped), data).status_code == 302
    again = staff_client.post(attempt_url(out_of_attempts, capped), data)
    assert again.status_code == 400
    assert "may still take 1" in again.content.decode()
    assert AttemptAllowance.objects.count() == 1


def test_it_goes_back_to_the_page_of_activities_the_grant_was_made_from(staff_client, capped, out_of_attempts):
    response = staff_client.post(
        attempt_url(out_of_attempts, capped), {"extra_attempts": 1, "reason": REASON, "page": "2"}
    )
    assert response.url == f"/staff/learners/{out_of_attempts.pk}/?page=2#activity-{capped.pk}"


def test_it_counts_allowances_only_towards_the_learner_they_were_granted_to(capped, out_of_attempts):
    other = UserFactory()
    ParticipationFactory(user=other, activity=capped, watched=True)
    graded_attempt(activity=capped, user=other, correct=0)
    graded_attempt(activity=capped, user=other, correct=0)
    AttemptAllowanceFactory(user=out_of_attempts, posttest=capped.posttest)

    assert attempt_refusal_of(user=out_of_attempts, posttest=capped.posttest) == ""
    assert "used all 2 attempts" in attempt_refusal_of(user=other, posttest=capped.posttest)


def test_the_rules_count_extra_attempts_on_top_of_the_cap(capped):
    posttest = capped.posttest
    assert attempts_used_up(posttest=posttest, graded_count=2)
    assert not attempts_used_up(posttest=posttest, graded_count=2, extra_attempts=1)
    assert attempts_used_up(posttest=posttest, graded_count=3, extra_attempts=1)
    assert attempt_allowance_refusal(posttest=posttest, graded_count=3, passed=False, extra_attempts=1) == ""
    assert "may still take 1" in attempt_allowance_refusal(
        posttest=posttest, graded_count=2, passed=False, extra_attempts=1
    )


def test_it_refuses_an_empty_post_with_the_forms_errors(staff_client, capped, out_of_attempts):
    response = staff_client.post(attempt_url(out_of_attempts, capped), {})
    assert response.status_code == 400
    assert "Give the number of extra attempts." in response.content.decode()
    assert not AttemptAllowance.objects.exists()


def test_it_keeps_the_search_on_the_links_to_other_pages(staff_client):
    UserFactory.create_batch(26, family_name="Okafor")

    page = staff_client.get("/staff/learners/", {"q": "Okafor"}).content.decode()
    second = staff_client.get("/staff/learners/", {"q": "Okafor", "page": 2}).content.decode()

    assert 'href="?q=Okafor&amp;page=2">Next page</a>' in page
    assert 'href="?q=Okafor&amp;page=1">Previous page</a>' in second
    assert "Page 2 of 2" in second
