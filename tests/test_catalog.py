"""The catalog at / : months, search, filters, pagination, the learner's own status, and
saved activities and searches."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates.services import certificate_claim
from courses.cache import catalog_changed
from courses.models import Activity, SavedActivity, SavedSearch
from courses.rules import CreditWindow, activity_credit_window
from courses.search import activity_search_refresh

from .factories import (
    ActivityFactory,
    FacultyRoleFactory,
    LearningObjectiveFactory,
    ParticipationFactory,
    PersonFactory,
    SavedActivityFactory,
    SavedSearchFactory,
    SeriesFactory,
    UserFactory,
    complete_activity,
    learner_ready_to_claim,
)

pytestmark = pytest.mark.django_db

def expired(**fields):
    return ActivityFactory(release_date=datetime.date(2021, 6, 21),
                           termination_date=datetime.date(2021, 12, 21), **fields)


def catalog(client, **params):
    return client.get("/", params).content.decode()


# --- grouping and cards -----------------------------------------------------------------


def test_it_groups_activities_by_month_of_release_newest_first(client, provider):
    ActivityFactory(title="April talk", release_date=datetime.date(2021, 4, 15),
                    termination_date=datetime.date(2021, 10, 15))
    ActivityFactory(title="June talk", release_date=datetime.date(2021, 6, 21),
                    termination_date=datetime.date(2021, 12, 21))

    page = catalog(client)

    assert page.index("June 2021 recordings") < page.index("June talk") < page.index(
        "April 2021 recordings") < page.index("April talk")


def test_it_shows_credit_time_and_credit_status_with_its_end_date_on_each_card(client, provider, today):
    ActivityFactory(title="Open talk", credits=Decimal("1.5"), estimated_minutes=90,
                    termination_date=datetime.date(today.year + 1, 1, 31))
    expired(title="Old talk")

    page = catalog(client)

    assert "1.5 AMA PRA Category 1 Credits™" in page
    assert "About 90 min" in page
    assert f"Credit available until Jan 31, {today.year + 1}" in page
    assert "Credit ended Dec 21, 2021" in page


def test_it_leaves_drafts_and_archived_activities_out(client, provider):
    ActivityFactory(title="Draft talk", status=Activity.Status.DRAFT)
    ActivityFactory(title="Archived talk", status=Activity.Status.ARCHIVED)
    ActivityFactory(title="Published talk")

    page = catalog(client)

    assert "Published talk" in page
    assert "Draft talk" not in page
    assert "Archived talk" not in page


# --- search -----------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["sepsis", "antibiotics", "lactate", "Okafor"])
def test_it_finds_activities_by_title_description_objective_and_faculty(client, provider, query):
    activity = ActivityFactory(title="Sepsis bundles", description="Early antibiotics save lives.")
    LearningObjectiveFactory(activity=activity, text="Interpret a lactate level.")
    FacultyRoleFactory(activity=activity, person=PersonFactory(name="Maria Okafor"))
    ActivityFactory(title="Asthma in children", description="Inhalers.")

    page = catalog(client, q=query)

    assert "Sepsis bundles" in page
    assert "Asthma in children" not in page


def test_it_lists_an_activity_once_when_several_objectives_match(client, provider):
    activity = ActivityFactory(title="Heart failure")
    LearningObjectiveFactory(activity=activity, text="Start heart failure drugs.")
    LearningObjectiveFactory(activity=activity, text="Titrate heart failure drugs.")

    page = catalog(client, q="heart failure")

    assert page.count(">Heart failure</a>") == 1


def test_it_says_when_nothing_matches(client, provider):
    ActivityFactory(title="Sepsis bundles")

    assert "No activities match this search." in catalog(client, q="zebra")


# --- filters ----------------------------------------------------------------------------


def test_it_filters_credit_available_and_expired(client, provider):
    ActivityFactory(title="Open talk")
    expired(title="Old talk")

    open_page, expired_page = catalog(client, credit="open"), catalog(client, credit="expired")

    assert "Open talk" in open_page and "Old talk" not in open_page
    assert "Old talk" in expired_page and "Open talk" not in expired_page


def test_it_filters_by_series_and_credit_amount(client, provider):
    grand_rounds = SeriesFactory(title="Grand Rounds")
    ActivityFactory(title="Rounds one", series=grand_rounds, credits=Decimal("1"))
    ActivityFactory(title="Rounds two", series=grand_rounds, credits=Decimal("0.5"))
    ActivityFactory(title="Other one", series=SeriesFactory(title="Equity"), credits=Decimal("1"))

    page = catalog(client, series=grand_rounds.pk, credits="1")

    assert "Rounds one" in page
    assert "Rounds two" not in page
    assert "Other one" not in page


def test_it_ignores_a_filter_value_that_is_not_valid_and_says_so(client, provider):
    ActivityFactory(title="Open talk")

    response = client.get("/", {"series": "not-a-series", "credit": "sometimes"})

    assert response.status_code == 200
    assert "Open talk" in response.content.decode()
    assert response.context["form"].errors.keys() == {"series", "credit"}


def test_it_filters_credit_exactly_as_the_credit_window_rule(provider):
    from zoneinfo import ZoneInfo

    provider.time_zone = "Pacific/Auckland"
    provider.save()
    activity = ActivityFactory(release_date=datetime.date(2026, 3, 10),
                               termination_date=datetime.date(2026, 9, 10))
    auckland = ZoneInfo("Pacific/Auckland")
    for moment in (datetime.datetime(2026, 9, 10, 23, 59, tzinfo=auckland),
                   datetime.datetime(2026, 9, 11, 0, 0, tzinfo=auckland)):
        window = activity_credit_window(activity, at=moment)
        listed = Activity.objects.in_window(window, at=moment)
        assert list(listed) == [activity]


def test_it_paginates_keeping_the_filters(client, provider, today):
    for day in range(25):
        ActivityFactory(title=f"Talk {day:02}", release_date=today - datetime.timedelta(days=day))

    first, second = catalog(client, credit="open"), catalog(client, credit="open", page=2)

    assert "Page 1 of 2" in first
    assert "credit=open&amp;page=2" in first
    assert "Talk 00" in first and "Talk 24" not in first
    assert "Talk 24" in second


@pytest.mark.parametrize("logged_in", [False, True])
def test_it_runs_the_same_number_of_queries_for_10_and_1000_activities(
    client, provider, today, django_assert_num_queries, logged_in
):
    series = SeriesFactory()

    def make(count, start):
        created = Activity.objects.bulk_create(
            Activity(slug=f"bulk-{start + n}", title=f"Bulk talk {start + n}", series=series,
                     status=Activity.Status.PUBLISHED, credits=Decimal("1"),
                     release_date=today - datetime.timedelta(days=(start + n) % 700),
                     termination_date=today + datetime.timedelta(days=30))
            for n in range(count)
        )
        # A bulk write sends no signals: it refreshes what they keep current itself.
        activity_search_refresh(activity_ids=[activity.pk for activity in created])
        catalog_changed()

    if logged_in:
        user = UserFactory()
        client.force_login(user)
    make(10, 0)
    client.get("/", {"q": "talk", "credit": "open"})
    catalog_changed()
    with CaptureQueriesContext(connection) as ten:
        client.get("/", {"q": "talk", "credit": "open"})
    make(990, 10)
    if logged_in:
        SavedActivity.objects.bulk_create(
            SavedActivity(user=user, activity=a) for a in Activity.objects.all()[:500])

    with django_assert_num_queries(len(ten)):
        response = client.get("/", {"q": "talk", "credit": "open"})

    assert "1000 activities match your search" in response.content.decode()


# --- the learner's own status -----------------------------------------------------------


def test_it_shows_each_learner_their_own_status(client, provider):
    not_started = ActivityFactory(title="Not started talk")
    in_progress = complete_activity(title="In progress talk")
    completed = complete_activity(title="Completed talk")
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=in_progress)
    learner_ready_to_claim(activity=completed, user=learner)
    certificate_claim(user=learner, activity=completed, credits="1", attested=True)
    ParticipationFactory(activity=not_started)  # someone else's
    client.force_login(learner)

    page = catalog(client)

    def state_of(title):
        card = page[page.index(title):]
        return card[card.index("Your status: ") + len("Your status: "):].split("<", 1)[0]

    assert state_of("Not started talk") == "Not started"
    assert state_of("In progress talk") == "In progress"
    assert state_of("Completed talk") == "Completed"


def test_it_marks_the_participation_completed_when_the_certificate_is_claimed(activity):
    learner = learner_ready_to_claim(activity=activity)

    certificate_claim(user=learner, activity=activity, credits="1", attested=True)

    assert learner.participations.get(activity=activity).completed_at is not None


# --- saved activities -------------------------------------------------------------------


def test_it_saves_and_unsaves_an_activity(client, learner, provider):
    activity = ActivityFactory()
    client.force_login(learner)

    client.post(f"/activities/{activity.slug}/save/", {"saved": "1"})
    client.post(f"/activities/{activity.slug}/save/", {"saved": "1"})
    assert list(learner.saved_activities.values_list("activity", flat=True)) == [activity.pk]

    client.post(f"/activities/{activity.slug}/save/", {"saved": "0"})
    assert not learner.saved_activities.exists()


def test_it_lists_only_the_learners_own_saved_activities(client, learner, provider):
    mine = SavedActivityFactory(user=learner, activity=ActivityFactory(title="My saved talk"))
    SavedActivityFactory(activity=ActivityFactory(title="Someone else's talk"))
    client.force_login(learner)

    page = client.get("/me/saved/").content.decode()

    assert mine.activity.title in page
    assert "Someone else&#x27;s talk" not in page and "Someone else's talk" not in page


def test_it_keeps_an_archived_saved_activity_marked(client, learner, provider):
    SavedActivityFactory(user=learner, activity=ActivityFactory(title="Gone", status=Activity.Status.ARCHIVED))
    client.force_login(learner)

    assert CreditWindow.ARCHIVED.label in client.get("/me/saved/").content.decode()


def test_it_asks_anonymous_visitors_to_log_in_before_saving(client, provider):
    activity = ActivityFactory()

    response = client.post(f"/activities/{activity.slug}/save/", {"saved": "1"})

    assert response.status_code == 302
    assert "/accounts/login/" in response.url
    assert not SavedActivity.objects.exists()


def test_it_does_not_follow_a_next_url_to_another_site(client, learner, provider):
    activity = ActivityFactory()
    client.force_login(learner)

    response = client.post(f"/activities/{activity.slug}/save/", {"saved": "1", "next": "https://evil.example/"})

    assert response.url == activity.get_absolute_url()


# --- saved searches ---------------------------------------------------------------------


def test_it_saves_a_search_keeping_only_the_catalog_filters(client, learner, provider):
    client.force_login(learner)

    client.post("/me/searches/", {"name": "Open sepsis", "query": "q=sepsis&credit=open&evil=1&credit_x=2"})

    search = learner.saved_searches.get()
    assert search.name == "Open sepsis"
    assert search.query == "q=sepsis&credit=open"
    assert search.get_absolute_url() == "/?q=sepsis&credit=open"


def test_it_reruns_a_saved_search(client, learner, provider):
    ActivityFactory(title="Sepsis bundles")
    ActivityFactory(title="Asthma in children")
    search = SavedSearchFactory(user=learner, query="q=sepsis")
    client.force_login(learner)

    assert search.get_absolute_url() in client.get("/me/searches/").content.decode()
    page = client.get(search.get_absolute_url()).content.decode()
    assert "Sepsis bundles" in page and "Asthma in children" not in page


def test_it_refuses_a_saved_search_without_a_name(client, learner, provider):
    client.force_login(learner)

    response = client.post("/me/searches/", {"name": "  ", "query": "q=sepsis"}, follow=True)

    assert "Give the search a name." in response.content.decode()
    assert not SavedSearch.objects.exists()


def test_it_deletes_the_learners_own_saved_search(client, learner, provider):
    search = SavedSearchFactory(user=learner)
    client.force_login(learner)

    client.post(f"/me/searches/{search.pk}/delete/")

    assert not SavedSearch.objects.exists()


def test_it_refuses_to_delete_another_learners_saved_search(client, learner, provider):
    theirs = SavedSearchFactory()
    client.force_login(learner)

    response = client.post(f"/me/searches/{theirs.pk}/delete/")

    assert response.status_code == 404
    assert SavedSearch.objects.filter(pk=theirs.pk).exists()


def test_it_lists_only_the_learners_own_saved_searches(client, learner, provider):
    SavedSearchFactory(user=learner, name="Mine")
    SavedSearchFactory(name="Theirs")
    client.force_login(learner)

    page = client.get("/me/searches/").content.decode()

    assert "Mine" in page and "Theirs" not in page


@pytest.mark.parametrize("path", ["/me/saved/", "/me/searches/"])
def test_it_asks_for_a_login_on_the_saved_pages(client, path):
    assert "/accounts/login/" in client.get(path).url


def test_it_offers_to_save_a_filtered_search_to_logged_in_learners(client, learner, provider):
    client.force_login(learner)

    assert "Save this search as" in catalog(client, q="sepsis")
    assert "Save this search as" not in catalog(client)


def test_it_keeps_search_results_at_the_termination_boundary_in_provider_time(client, provider):
    from zoneinfo import ZoneInfo

    ActivityFactory(title="Boundary talk", release_date=datetime.date(2026, 3, 10),
                    termination_date=datetime.date(2026, 9, 10))
    new_york = ZoneInfo("America/New_York")
    with time_machine.travel(datetime.datetime(2026, 9, 10, 23, 59, tzinfo=new_york), tick=False):
        assert "Boundary talk" in catalog(client, credit="open")
    with time_machine.travel(datetime.datetime(2026, 9, 11, 0, 0, tzinfo=new_york), tick=False):
        assert "Boundary talk" not in catalog(client, credit="open")
        assert "Boundary talk" in catalog(client, credit="expired")


def test_it_marks_participations_completed_that_were_certified_before_the_status_existed(db):
    import importlib

    from django.apps import apps

    from certificates.models import Certificate
    from courses.models import Participation

    from .factories import ParticipationFactory, certificate_for

    backfill = importlib.import_module(
        "certificates.migrations.0006_backfill_participation_completed"
    ).backfill
    certified = ParticipationFactory()
    certificate_for(activity=certified.activity, user=certified.user)
    Participation.objects.update(completed_at=None)
    unfinished = ParticipationFactory()

    backfill(apps, None)

    certified.refresh_from_db()
    unfinished.refresh_from_db()
    assert certified.completed_at == Certificate.objects.get().claimed_at
    assert unfinished.completed_at is None
