import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from courses.models import Activity
from courses.rules import (
    ActivityStatus,
    CreditWindow,
    activity_credit_window,
    credit_window,
    credit_window_q,
)
from quizzes.rules import attempt_credit_window

from .conftest import NEW_YORK
from .factories import ActivityFactory, ProviderFactory, UserFactory, complete_activity, graded_attempt

RELEASE = datetime.date(2026, 3, 10)
TERMINATION = datetime.date(2026, 9, 10)


@pytest.fixture
def activity(db):
    ProviderFactory(time_zone="America/New_York")
    return ActivityFactory(release_date=RELEASE, termination_date=TERMINATION)


def window_at(activity, *moment):
    with time_machine.travel(datetime.datetime(*moment, tzinfo=NEW_YORK), tick=False):
        return activity_credit_window(activity)


def test_it_is_not_released_the_minute_before_release_day(activity):
    assert window_at(activity, 2026, 3, 9, 23, 59) == CreditWindow.NOT_YET_RELEASED


def test_it_opens_at_midnight_of_release_day_in_provider_time(activity):
    assert window_at(activity, 2026, 3, 10, 0, 0) == CreditWindow.OPEN


def test_it_stays_open_until_the_last_second_of_termination_day(activity):
    assert window_at(activity, 2026, 9, 10, 23, 59, 59) == CreditWindow.OPEN


def test_it_expires_the_minute_after_termination_day(activity):
    assert window_at(activity, 2026, 9, 11, 0, 0) == CreditWindow.EXPIRED


def test_it_uses_the_provider_time_zone_not_utc(activity):
    # 02:30 UTC on Sept 11 is still Sept 10 in New York: credit is open there.
    moment = datetime.datetime(2026, 9, 11, 2, 30, tzinfo=datetime.UTC)
    assert activity_credit_window(activity, at=moment) == CreditWindow.OPEN


def test_it_keeps_drafts_closed(activity):
    activity.status = Activity.Status.DRAFT
    assert window_at(activity, 2026, 5, 1, 12, 0) == CreditWindow.DRAFT


def test_it_keeps_archived_activities_closed(activity):
    activity.status = Activity.Status.ARCHIVED
    assert window_at(activity, 2026, 5, 1, 12, 0) == CreditWindow.ARCHIVED


def test_it_hides_unreleased_activities_from_the_catalog(activity, client):
    with time_machine.travel(datetime.datetime(2026, 3, 9, 23, 59, tzinfo=NEW_YORK), tick=False):
        assert activity.title not in client.get("/").content.decode()
        assert client.get(activity.get_absolute_url()).status_code == 404
    with time_machine.travel(datetime.datetime(2026, 3, 10, 0, 0, tzinfo=NEW_YORK), tick=False):
        assert activity.title in client.get("/").content.decode()


def test_it_marks_an_expired_activity_and_removes_the_start_button(activity, client, learner):
    client.force_login(learner)
    with time_machine.travel(datetime.datetime(2026, 9, 11, 0, 0, tzinfo=NEW_YORK), tick=False):
        page = client.get(activity.get_absolute_url()).content.decode()
        assert "Credit no longer available" in page
        assert "Start activity" not in page
        response = client.post(f"/activities/{activity.slug}/start/")
        assert response.status_code == 302
        assert not learner.participations.exists()


# --- a provider east of UTC: the provider's calendar day, not the server's --------------

AUCKLAND = ZoneInfo("Pacific/Auckland")


@pytest.fixture
def auckland_activity(db):
    ProviderFactory(time_zone="Pacific/Auckland")
    return ActivityFactory(release_date=RELEASE, termination_date=TERMINATION)


@pytest.mark.parametrize("moment, expected", [
    ((2026, 3, 9, 23, 59), CreditWindow.NOT_YET_RELEASED),
    ((2026, 3, 10, 0, 0), CreditWindow.OPEN),
    ((2026, 9, 10, 23, 59), CreditWindow.OPEN),
    ((2026, 9, 11, 0, 0), CreditWindow.EXPIRED),
])
def test_it_follows_the_providers_calendar_east_of_utc(auckland_activity, moment, expected):
    at = datetime.datetime(*moment, tzinfo=AUCKLAND)

    assert activity_credit_window(auckland_activity, at=at) == expected


def test_it_opens_in_auckland_while_it_is_still_the_day_before_in_utc(auckland_activity):
    # 00:00 on March 10 in Auckland is 11:00 on March 9 in UTC.
    at = datetime.datetime(2026, 3, 9, 11, 0, tzinfo=datetime.UTC)

    assert activity_credit_window(auckland_activity, at=at) == CreditWindow.OPEN


def page_at(client, activity, *moment, tz=AUCKLAND):
    with time_machine.travel(datetime.datetime(*moment, tzinfo=tz), tick=False):
        return client.get(activity.get_absolute_url())


def test_it_shows_the_start_button_until_23_59_of_termination_day(auckland_activity, client, learner):
    client.force_login(learner)

    assert "Start activity" in page_at(client, auckland_activity, 2026, 9, 10, 23, 59).content.decode()
    expired = page_at(client, auckland_activity, 2026, 9, 11, 0, 0).content.decode()
    assert "Start activity" not in expired
    assert "Credit no longer available" in expired


def test_it_shows_the_page_from_00_00_of_release_day(auckland_activity, client):
    assert page_at(client, auckland_activity, 2026, 3, 9, 23, 59).status_code == 404
    assert page_at(client, auckland_activity, 2026, 3, 10, 0, 0).status_code == 200


def test_it_refuses_a_claim_the_minute_after_termination_day(auckland_activity, client):
    from .factories import complete_activity, learner_ready_to_claim

    activity = complete_activity(release_date=RELEASE, termination_date=TERMINATION)
    with time_machine.travel(datetime.datetime(2026, 9, 10, 23, 0, tzinfo=AUCKLAND), tick=False):
        user = learner_ready_to_claim(activity=activity)
    client.force_login(user)
    with time_machine.travel(datetime.datetime(2026, 9, 11, 0, 0, tzinfo=AUCKLAND), tick=False):
        page = client.post(f"/activities/{activity.slug}/claim/", {"credits": "1", "attest": "on"})

    assert CreditWindow.EXPIRED.label in page.content.decode()
    assert not user.certificates.exists()


# --- the one rule, its reason codes and its database form ------------------------------

BEFORE_RELEASE = datetime.date(2026, 3, 9)
AFTER_TERMINATION = datetime.date(2026, 9, 11)


@pytest.mark.parametrize("day, expected", [
    (BEFORE_RELEASE, CreditWindow.NOT_YET_RELEASED),
    (RELEASE, CreditWindow.OPEN),
    (TERMINATION, CreditWindow.OPEN),
    (AFTER_TERMINATION, CreditWindow.EXPIRED),
])
def test_it_gives_the_reason_code_on_each_side_of_release_and_termination_day(day, expected):
    window = credit_window(
        status=ActivityStatus.PUBLISHED, release_date=RELEASE, termination_date=TERMINATION, day=day
    )

    assert window == expected


@pytest.mark.parametrize("status", list(ActivityStatus))
@pytest.mark.parametrize("day", [BEFORE_RELEASE, RELEASE, TERMINATION, AFTER_TERMINATION])
def test_it_filters_the_database_exactly_as_the_rule(activity, status, day):
    activity.status = status
    activity.save()
    expected = credit_window(
        status=status, release_date=RELEASE, termination_date=TERMINATION, day=day
    )

    matching = [
        window for window in CreditWindow
        if Activity.objects.filter(credit_window_q(window, day=day)).exists()
    ]

    assert matching == [expected]


def attempt_handed_in_at(*moment, tz=NEW_YORK):
    activity = complete_activity(release_date=RELEASE, termination_date=TERMINATION)
    at = datetime.datetime(*moment, tzinfo=tz)
    return graded_attempt(activity=activity, user=UserFactory(), correct=4, at=at)


@pytest.mark.parametrize("moment, expected", [
    ((2026, 3, 9, 23, 59), CreditWindow.NOT_YET_RELEASED),
    ((2026, 3, 10, 0, 0), CreditWindow.OPEN),
    ((2026, 9, 10, 23, 59), CreditWindow.OPEN),
    ((2026, 9, 11, 0, 0), CreditWindow.EXPIRED),
])
def test_it_judges_an_attempt_by_the_window_on_the_provider_day_it_was_handed_in(
    provider, moment, expected
):
    assert attempt_credit_window(attempt=attempt_handed_in_at(*moment)) == expected


def test_it_judges_an_attempt_by_the_providers_day_not_the_utc_one(provider):
    # 03:30 UTC on Sept 11 is still Sept 10 in New York.
    attempt = attempt_handed_in_at(2026, 9, 11, 3, 30, tz=datetime.UTC)

    assert attempt_credit_window(attempt=attempt) == CreditWindow.OPEN
