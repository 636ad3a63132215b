"""The provider's clock everywhere: "today" is the provider's calendar date in code, tests
and demo data; every request (the admin's too) and every task runs in the provider's time
zone; times shown carry the zone's abbreviation."""

import datetime
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from certificates import issuing
from certificates.tasks import render_certificate
from courses.models import Activity, provider_today

from .conftest import NEW_YORK_EVENING, pdf_text
from .factories import ActivityFactory, ParticipationFactory, UserFactory, certificate_for, staff_login

pytestmark = pytest.mark.django_db

UTC = datetime.timezone.utc
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def staff_client(client, provider):
    staff_login(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def test_it_takes_today_from_the_provider_not_the_machine(provider):
    with time_machine.travel(NEW_YORK_EVENING, tick=False):
        assert provider_today() == datetime.date(2026, 11, 26)
    with time_machine.travel(datetime.datetime(2026, 11, 27, 5, 0, tzinfo=UTC), tick=False):
        assert provider_today() == datetime.date(2026, 11, 27)


def test_it_never_reads_the_machines_date_where_the_providers_is_meant():
    machine_today = re.compile(r"\b(date|datetime)\.today\(\)|\blocaldate\(\)")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("lms", "courses", "quizzes", "certificates", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path != Path(__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if machine_today.search(line)
    ]
    assert offenders == []


def test_it_shows_an_activity_released_today_in_the_provider_zone_on_a_us_evening(client, provider):
    ActivityFactory(title="Released today", slug="today", release_date=datetime.date(2026, 11, 26))
    ActivityFactory(title="Released tomorrow", slug="tomorrow", release_date=datetime.date(2026, 11, 27))

    with time_machine.travel(NEW_YORK_EVENING, tick=False):
        catalog = client.get("/").content.decode()
        assert client.get("/activities/today/").status_code == 200
        assert client.get("/activities/tomorrow/").status_code == 404

    assert "Released today" in catalog and "Released tomorrow" not in catalog


@pytest.mark.parametrize(
    "zone, offset", [("America/New_York", "-18000"), ("Pacific/Auckland", "46800")]
)
def test_it_runs_the_admin_on_the_providers_clock_so_its_today_is_the_providers(
    staff_client, provider, zone, offset
):
    provider.time_zone = zone
    provider.save()

    with time_machine.travel(NEW_YORK_EVENING, tick=False):
        page = staff_client.get("/admin/courses/activity/add/").content.decode()

    # The admin's "Today" and "Now" shortcuts read the server's offset from this attribute.
    assert f'data-admin-utc-offset="{offset}"' in page


def test_it_shows_times_in_the_admin_in_provider_time_with_the_zone(staff_client, provider):
    activity = ActivityFactory()
    ParticipationFactory(activity=activity, started_at=NEW_YORK_EVENING)

    page = staff_client.get("/admin/courses/participation/").content.decode()

    assert "Nov. 26, 2026, 10:30 p.m. EST" in page


def test_it_shows_summer_times_with_the_summer_abbreviation(staff_client, provider):
    ParticipationFactory(started_at=datetime.datetime(2026, 7, 1, 15, 0, tzinfo=UTC))

    page = staff_client.get("/admin/courses/participation/").content.decode()

    assert "July 1, 2026, 11 a.m. EDT" in page


def test_it_prints_the_transcript_in_provider_time(client, provider, learner):
    certificate_for(activity=ActivityFactory(), user=learner, completed_on=datetime.date(2026, 11, 26))
    client.force_login(learner)

    with time_machine.travel(NEW_YORK_EVENING, tick=False):
        text = pdf_text(client.get("/me/transcript.pdf").content)

    assert "Printed November 26, 2026, 10:30 PM EST" in " ".join(text.split())


def test_it_lists_activities_published_but_not_released_yet_for_staff(staff_client, provider):
    ActivityFactory(title="Next week's talk", release_date=provider_today() + datetime.timedelta(days=7))
    ActivityFactory(title="Last month's talk")
    ActivityFactory(title="Unreleased draft", status=Activity.Status.DRAFT,
                    release_date=provider_today() + datetime.timedelta(days=7))

    page = staff_client.get("/admin/courses/activity/", {"credit": "not_yet_released"}).content.decode()

    assert "Next week&#x27;s talk" in page
    assert "Last month" not in page and "Unreleased draft" not in page


def test_it_renders_certificates_in_the_providers_time_zone(provider, learner, monkeypatch):
    provider.time_zone = "Asia/Tokyo"
    provider.save()
    certificate = certificate_for(activity=ActivityFactory(), user=learner, state="pending")
    seen = []
    monkeypatch.setattr(
        issuing, "certificate_issue",
        lambda **kwargs: seen.append(timezone.get_current_timezone()),
    )

    render_certificate.delay(certificate.pk)

    assert seen == [ZoneInfo("Asia/Tokyo")]
    assert timezone.get_current_timezone_name() == "UTC"
