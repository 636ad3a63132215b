import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from courses.models import Activity, CreditWindow, activity_credit_window

from .factories import ActivityFactory, ProviderFactory

NEW_YORK = ZoneInfo("America/New_York")
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
