"""Credit extensions (issue 17, part 5): staff let one learner earn credit for an activity
they started until 23:59:59 of a day after its termination date, provider time. The
credit gate, the post-test and the claim page follow the learner's own window; every
other learner keeps the activity's; the review cycle bounds how far it may run."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates.models import Certificate
from certificates.rules import credit_gate
from certificates.services import ClaimRefused, certificate_claim
from courses.models import Activity, CreditExtension
from courses.rules import (
    ActivityStatus,
    CreditWindow,
    activity_credit_window,
    credit_extension_problems,
    credit_last_day,
    credit_window,
    learner_credit_window,
)
from courses.selectors import participation_of
from quizzes.rules import attempt_outside_window
from quizzes.selectors import posttest_passed_attempt
from quizzes.services import attempt_open

from .conftest import NEW_YORK, NEW_YORK_EVENING
from .factories import (
    CreditExtensionFactory,
    EvaluationResponseFactory,
    ParticipationFactory,
    StaffUserFactory,
    UserFactory,
    complete_activity,
    graded_attempt,
    learner_ready_to_claim,
    staff_login,
)

pytestmark = pytest.mark.django_db

RELEASE = datetime.date(2026, 3, 10)
TERMINATION = datetime.date(2026, 9, 10)
EXTENDED = datetime.date(2026, 9, 20)
REASON = "Admitted to hospital in the week before the termination date."


def at(*moment):
    """Travel to `moment`, a wall-clock time in New York, the provider's zone."""
    return time_machine.travel(datetime.datetime(*moment, tzinfo=NEW_YORK), tick=False)


@pytest.fixture
def activity(provider):
    return complete_activity(release_date=RELEASE, termination_date=TERMINATION)


@pytest.fixture
def extended(activity):
    """A learner who started before the termination date and was given until EXTENDED."""
    with at(2026, 9, 1, 10, 0):
        user = UserFactory()
        ParticipationFactory(user=user, activity=activity, watched=True)
    CreditExtensionFactory(user=user, activity=activity, until=EXTENDED)
    return user


def passed_after_termination(activity, user=None):
    """A learner who met every requirement on September 15, after the termination date:
    `user`, who watched the recording already, or a new learner."""
    with at(2026, 9, 15, 11, 0):
        if user is None:
            return learner_ready_to_claim(activity=activity)
        EvaluationResponseFactory(user=user, evaluation=activity.evaluation)
        graded_attempt(activity=activity, user=user, correct=4)
        return user


def extension_url(user, activity):
    return f"/staff/learners/{user.pk}/activities/{activity.pk}/extension/"


@pytest.fixture
def staff(db):
    return StaffUserFactory(given_name="Carla", family_name="Coordinator")


@pytest.fixture
def staff_client(client, staff):
    staff_login(client, staff)
    return client


# --- The rule ----------------------------------------------------------------------------


def window(day, *, extended_until=None, status=ActivityStatus.PUBLISHED):
    return credit_window(
        status=status, release_date=RELEASE, termination_date=TERMINATION, day=day, extended_until=extended_until
    )


def test_it_keeps_credit_open_through_the_last_day_of_the_extension():
    assert window(datetime.date(2026, 9, 11)) == CreditWindow.EXPIRED
    assert window(datetime.date(2026, 9, 11), extended_until=EXTENDED) == CreditWindow.OPEN
    assert window(EXTENDED, extended_until=EXTENDED) == CreditWindow.OPEN
    assert window(datetime.date(2026, 9, 21), extended_until=EXTENDED) == CreditWindow.EXPIRED


def test_it_never_opens_a_draft_or_an_archived_activity_nor_one_not_yet_released():
    day = datetime.date(2026, 9, 15)
    assert window(day, extended_until=EXTENDED, status=ActivityStatus.ARCHIVED) == CreditWindow.ARCHIVED
    assert window(day, extended_until=EXTENDED, status=ActivityStatus.DRAFT) == CreditWindow.DRAFT
    assert window(datetime.date(2026, 3, 9), extended_until=EXTENDED) == CreditWindow.NOT_YET_RELEASED


def test_it_lets_a_later_termination_date_outrun_an_earlier_extension():
    assert credit_last_day(termination_date=TERMINATION, extended_until=EXTENDED) == EXTENDED
    assert credit_last_day(termination_date=EXTENDED, extended_until=TERMINATION) == EXTENDED
    assert credit_last_day(termination_date=TERMINATION) == TERMINATION


def test_it_ends_the_extension_at_midnight_provider_time(activity, extended):
    participation = participation_of(user=extended, activity=activity)
    with at(2026, 9, 20, 23, 59, 59):
        assert learner_credit_window(activity, participation=participation) == CreditWindow.OPEN
    with at(2026, 9, 21, 0, 0):
        assert learner_credit_window(activity, participation=participation) == CreditWindow.EXPIRED


def test_it_reads_the_extension_in_the_providers_zone_on_a_new_york_evening(provider):
    activity = complete_activity(release_date=RELEASE, termination_date=datetime.date(2026, 11, 20))
    user = UserFactory()
    ParticipationFactory(user=user, activity=activity)
    CreditExtensionFactory(user=user, activity=activity, until=datetime.date(2026, 11, 26))
    participation = participation_of(user=user, activity=activity)
    # 03:30 UTC on the 27th is 22:30 on the 26th in New York: the last day is not over.
    assert learner_credit_window(activity, participation=participation, at=NEW_YORK_EVENING) == CreditWindow.OPEN
    assert activity_credit_window(activity, at=NEW_YORK_EVENING) == CreditWindow.EXPIRED
    with time_machine.travel(NEW_YORK_EVENING, tick=False):
        assert credit_gate(user=user, activity=activity).refusals[0].code != "window"


def test_it_counts_the_latest_running_extension(activity, extended):
    CreditExtensionFactory(user=extended, activity=activity, until=datetime.date(2026, 10, 1))
    assert participation_of(user=extended, activity=activity).credit_extended_until == datetime.date(2026, 10, 1)


def test_it_leaves_every_other_learner_with_the_activitys_window(activity, extended):
    other = UserFactory()
    ParticipationFactory(user=other, activity=activity)
    CreditExtensionFactory(user=other, activity=complete_activity(), until=EXTENDED)
    with at(2026, 9, 15, 12, 0):
        assert learner_credit_window(
            activity, participation=participation_of(user=other, activity=activity)
        ) == CreditWindow.EXPIRED


# --- The credit gate and the claim --------------------------------------------------------


def test_it_lets_the_extended_learner_claim_until_the_last_minute(activity, extended):
    passed_after_termination(activity, user=extended)
    with at(2026, 9, 20, 23, 59):
        assert credit_gate(user=extended, activity=activity).allowed
        certificate = certificate_claim(user=extended, activity=activity, credits="1", attested=True)
    assert certificate.completed_on == datetime.date(2026, 9, 15)


def test_it_refuses_the_claim_the_minute_after_the_extension_ends(activity, extended):
    passed_after_termination(activity, user=extended)
    with at(2026, 9, 21, 0, 0):
        gate = credit_gate(user=extended, activity=activity)
        assert gate.reasons[0] == "Credit is no longer available for this activity."
        with pytest.raises(ClaimRefused):
            certificate_claim(user=extended, activity=activity, credits="1", attested=True)
    assert not Certificate.objects.exists()


def test_it_still_refuses_a_learner_without_an_extension(activity, extended):
    other = passed_after_termination(activity)
    with at(2026, 9, 16, 9, 0):
        reasons = credit_gate(user=other, activity=activity).reasons
    assert reasons[0] == "Credit is no longer available for this activity."
    assert "after credit for this activity ended on September 10, 2026" in reasons[1]


def test_it_counts_an_attempt_handed_in_within_the_extension(activity, extended):
    passed_after_termination(activity, user=extended)
    attempt = posttest_passed_attempt(user=extended, activity=activity)
    assert attempt_outside_window(attempt=attempt, extended_until=EXTENDED) is None
    assert attempt_outside_window(attempt=attempt)["termination_date"] == TERMINATION


def test_it_does_not_count_an_attempt_handed_in_after_the_extension(activity, extended):
    with at(2026, 9, 21, 0, 0):
        graded_attempt(activity=activity, user=extended, correct=4)
    attempt = posttest_passed_attempt(user=extended, activity=activity)
    outside = attempt_outside_window(attempt=attempt, extended_until=EXTENDED)
    assert outside == {
        "window": CreditWindow.EXPIRED,
        "handed_in_on": datetime.date(2026, 9, 21),
        "termination_date": EXTENDED,
    }


def test_it_makes_a_pass_before_the_extension_was_granted_count(activity):
    learner = passed_after_termination(activity)
    CreditExtensionFactory(user=learner, activity=activity, until=EXTENDED)
    with at(2026, 9, 18, 8, 0):
        assert credit_gate(user=learner, activity=activity).allowed


def test_the_claim_page_offers_the_claim_to_the_extended_learner(client, activity, extended):
    passed_after_termination(activity, user=extended)
    client.force_login(extended)
    with at(2026, 9, 20, 23, 59):
        page = client.get(f"/activities/{activity.slug}/claim/").content.decode()
        assert "Get my certificate" in page
        response = client.post(f"/activities/{activity.slug}/claim/", {"credits": "1", "attest": "on"})
    assert response.status_code == 302
    assert Certificate.objects.get(user=extended).completed_on == datetime.date(2026, 9, 15)


def test_the_claim_page_refuses_the_next_minute(client, activity, extended):
    passed_after_termination(activity, user=extended)
    client.force_login(extended)
    with at(2026, 9, 21, 0, 0):
        page = client.get(f"/activities/{activity.slug}/claim/").content.decode()
        client.post(f"/activities/{activity.slug}/claim/", {"credits": "1", "attest": "on"})
    assert "Credit is no longer available for this activity." in page
    assert not Certificate.objects.exists()


# --- The post-test and the activity page ----------------------------------------------------


def test_the_post_test_tells_the_extended_learner_a_pass_earns_credit(client, activity, extended):
    other = UserFactory()
    ParticipationFactory(user=other, activity=activity, watched=True)
    with at(2026, 9, 15, 11, 0):
        client.force_login(extended)
        own = client.get(f"/activities/{activity.slug}/posttest/").content.decode()
        client.force_login(other)
        others = client.get(f"/activities/{activity.slug}/posttest/").content.decode()
    assert "a pass now will not earn credit" not in own
    assert "a pass now will not earn credit" in others


def test_the_post_test_handed_back_unanswered_keeps_the_extended_learners_window(client, activity, extended):
    # Handing in reads no extension; the form shown again for a missing answer reads it.
    other = UserFactory()
    ParticipationFactory(user=other, activity=activity, watched=True)
    pages = []
    with at(2026, 9, 15, 11, 0):
        for user in (extended, other):
            attempt = attempt_open(user=user, posttest=activity.posttest)
            client.force_login(user)
            response = client.post(f"/activities/{activity.slug}/posttest/", {"attempt": attempt.pk})
            assert response.status_code == 200
            pages.append(response.content.decode())
    own, others = pages
    assert "Answer question 1 before you submit." in own
    assert "a pass now will not earn credit" not in own
    assert "a pass now will not earn credit" in others


def test_the_post_test_result_says_a_pass_within_the_extension_earns_credit(client, activity, extended):
    passed_after_termination(activity, user=extended)
    client.force_login(extended)
    with at(2026, 9, 16, 9, 0):
        page = client.get(f"/activities/{activity.slug}/posttest/").content.decode()
    assert "Claim your credit" in page
    assert "does not earn credit" not in page


def test_the_post_test_result_says_a_pass_after_the_extension_earns_none(client, activity, extended):
    with at(2026, 9, 21, 0, 5):
        graded_attempt(activity=activity, user=extended, correct=4)
        client.force_login(extended)
        page = client.get(f"/activities/{activity.slug}/posttest/").content.decode()
    assert "after credit for this activity ended on September 20, 2026" in page


def test_the_post_test_page_takes_no_more_queries_with_an_extension(client, activity, extended):
    other = UserFactory()
    ParticipationFactory(user=other, activity=activity, watched=True)
    counts = []
    for user in (other, extended):
        client.force_login(user)
        with at(2026, 9, 5, 9, 0), CaptureQueriesContext(connection) as queries:
            assert client.get(f"/activities/{activity.slug}/posttest/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_activity_page_shows_the_learner_their_own_last_day(client, activity, extended):
    other = UserFactory()
    ParticipationFactory(user=other, activity=activity)
    with at(2026, 9, 15, 11, 0):
        client.force_login(extended)
        own = client.get(f"/activities/{activity.slug}/").content.decode()
        client.force_login(other)
        others = client.get(f"/activities/{activity.slug}/").content.decode()
    assert "Credit available until September 20, 2026" in own
    assert "extended your time to earn credit" in own
    assert "Credit no longer available" in others


# --- Granting an extension ---------------------------------------------------------------


def test_it_grants_an_extension_from_the_learners_page(staff_client, staff, activity):
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=activity)
    with at(2026, 9, 12, 14, 30):
        page = staff_client.get(f"/staff/learners/{learner.pk}/").content.decode()
        assert f'action="{extension_url(learner, activity)}"' in page
        response = staff_client.post(extension_url(learner, activity), {"until": "2026-09-20", "reason": REASON})
    assert response.status_code == 302
    extension = CreditExtension.objects.get()
    assert (extension.user, extension.activity, extension.until) == (learner, activity, EXTENDED)
    assert (extension.granted_by, extension.reason) == (staff, REASON)
    page = staff_client.get(f"/staff/learners/{learner.pk}/").content.decode()
    assert "Credit extended until <strong>September 20, 2026</strong> by Carla Coordinator on " in page
    assert "September 12, 2026, 2:30 PM EDT. Reason: " + REASON in page


def test_it_may_extend_before_the_termination_date_has_passed(staff_client, activity):
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=activity)
    with at(2026, 9, 1, 9, 0):
        response = staff_client.post(extension_url(learner, activity), {"until": "2026-09-20", "reason": REASON})
    assert response.status_code == 302


def test_it_may_extend_an_extension(staff_client, activity, extended):
    with at(2026, 9, 19, 9, 0):
        response = staff_client.post(extension_url(extended, activity), {"until": "2026-10-01", "reason": REASON})
    assert response.status_code == 302
    assert participation_of(user=extended, activity=activity).credit_extended_until == datetime.date(2026, 10, 1)


@pytest.mark.parametrize(
    "until, message",
    [
        ("2026-09-10", "must end after the termination date, September 10, 2026"),
        ("2026-09-01", "must end after the termination date"),
        ("2026-09-11", "must not end before today, September 12, 2026"),
        ("2029-03-11", "cannot run past March 10, 2029, 3 years after its release"),
        ("", "Give the last day on which the learner may earn credit."),
        ("next week", "Give the day as a date"),
    ],
)
def test_it_refuses_a_wrong_last_day_and_says_why(staff_client, activity, until, message):
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=activity)
    with at(2026, 9, 12, 9, 0):
        response = staff_client.post(extension_url(learner, activity), {"until": until, "reason": REASON})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="error-summary"' in page
    assert message in page
    assert not CreditExtension.objects.exists()


def test_it_bounds_the_extension_by_the_most_recent_review(client, staff, provider):
    activity = complete_activity(
        release_date=RELEASE, reviewed_on=datetime.date(2027, 1, 5), termination_date=datetime.date(2027, 6, 30)
    )
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=activity)
    with at(2027, 7, 2, 9, 0):
        staff_client = client
        staff_login(staff_client, staff)
        refused = staff_client.post(extension_url(learner, activity), {"until": "2030-01-06", "reason": REASON})
        granted = staff_client.post(extension_url(learner, activity), {"until": "2030-01-05", "reason": REASON})
    assert refused.status_code == 400
    assert "cannot run past January 5, 2030, 3 years after its most recent review" in refused.content.decode()
    assert granted.status_code == 302
    assert CreditExtension.objects.get().until == datetime.date(2030, 1, 5)


def test_it_refuses_an_extension_that_ends_no_later_than_the_one_granted(staff_client, activity, extended):
    with at(2026, 9, 15, 9, 0):
        response = staff_client.post(extension_url(extended, activity), {"until": "2026-09-20", "reason": REASON})
    assert response.status_code == 400
    assert "already extended until September 20, 2026" in response.content.decode()
    assert CreditExtension.objects.count() == 1


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_grants_nothing_without_a_reason(staff_client, activity, extended, reason):
    with at(2026, 9, 15, 9, 0):
        response = staff_client.post(extension_url(extended, activity), {"until": "2026-10-01", "reason": reason})
    assert response.status_code == 400
    assert "Give the reason for the extension." in response.content.decode()
    assert CreditExtension.objects.count() == 1


def test_it_says_why_a_learner_who_has_not_started_cannot_be_extended(staff_client, activity):
    learner = UserFactory()
    with at(2026, 9, 12, 9, 0):
        page = staff_client.get(extension_url(learner, activity)).content.decode()
        response = staff_client.post(extension_url(learner, activity), {"until": "2026-09-20", "reason": REASON})
    assert "The learner has not started this activity" in page
    assert response.status_code == 400
    assert not CreditExtension.objects.exists()


def test_it_says_why_a_completed_activity_needs_no_extension(staff_client, activity):
    learner = learner_ready_to_claim(activity=activity, at=datetime.datetime(2026, 9, 1, 9, tzinfo=NEW_YORK))
    with at(2026, 9, 2, 9, 0):
        certificate_claim(user=learner, activity=activity, credits="1", attested=True)
        assert "claimed its certificate: there is nothing to extend" in staff_client.get(
            f"/staff/learners/{learner.pk}/"
        ).content.decode()
        response = staff_client.post(extension_url(learner, activity), {"until": "2026-09-20", "reason": REASON})
    assert response.status_code == 400
    assert not CreditExtension.objects.exists()


def test_it_says_why_an_archived_activity_cannot_be_extended(staff_client, activity, extended):
    Activity.objects.filter(pk=activity.pk).update(status=ActivityStatus.ARCHIVED)
    with at(2026, 9, 15, 9, 0):
        response = staff_client.post(extension_url(extended, activity), {"until": "2026-10-01", "reason": REASON})
    assert response.status_code == 400
    assert "This activity has been archived" in response.content.decode()
    assert CreditExtension.objects.count() == 1


def test_a_get_grants_nothing(staff_client, activity, extended):
    with at(2026, 9, 15, 9, 0):
        response = staff_client.get(extension_url(extended, activity), {"until": "2026-10-01", "reason": REASON})
    assert response.status_code == 200
    assert CreditExtension.objects.count() == 1


def test_it_lets_no_learner_extend_their_own_credit(client, activity, extended):
    client.force_login(extended)
    with at(2026, 9, 15, 9, 0):
        response = client.post(extension_url(extended, activity), {"until": "2026-10-01", "reason": REASON})
    assert response.status_code == 404
    assert CreditExtension.objects.count() == 1


def test_it_lets_no_staff_without_the_coordinator_role_extend_credit(client, activity, extended):
    staff_login(client, StaffUserFactory(coordinator=False))
    with at(2026, 9, 15, 9, 0):
        response = client.post(extension_url(extended, activity), {"until": "2026-10-01", "reason": REASON})
    assert response.status_code == 403
    assert CreditExtension.objects.count() == 1


def test_the_rule_explains_every_problem_at_once(activity):
    problems = credit_extension_problems(
        until=datetime.date(2026, 9, 1), activity=activity, day=datetime.date(2026, 9, 5),
        extended_until=datetime.date(2026, 9, 20),
    )
    assert len(problems) == 3
