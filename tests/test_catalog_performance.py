"""The public pages' speed without their staleness: the stored search vector kept current
on every write path, the shared pages in the cache outdated by every change of what they
show, the learner's own marks never shared, and a constant, small number of queries."""

import datetime
import re

import pytest
import time_machine
from django.contrib.messages import constants as message_levels
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest, HttpResponse

from certificates.models import Certificate
from certificates.services import certificate_revoke
from courses import cache as cache_module
from courses import selectors
from courses.models import Activity, LearningObjective, provider_today
from courses.selectors import catalog_activities
from lms.activity_io import activities_import
from lms.demo import demo_activities
from lms.publishing import activity_archive, activity_publish
from quizzes.models import PostTest

from .factories import (
    ActivityFactory,
    FacultyRoleFactory,
    LearningObjectiveFactory,
    ParticipationFactory,
    PersonFactory,
    SavedActivityFactory,
    StaffUserFactory,
    UserFactory,
    certificate_for,
    complete_activity,
    publishable_draft,
)

pytestmark = pytest.mark.django_db


def page(client, path="/", **params):
    return client.get(path, params).content.decode()


def found(query):
    return set(catalog_activities(query=query).values_list("slug", flat=True))


# --- the stored search vector ---------------------------------------------------------


def test_it_finds_an_activity_by_words_in_different_objectives_and_its_faculty(provider):
    activity = ActivityFactory(title="Sepsis bundles", description="Early antibiotics.")
    LearningObjectiveFactory(activity=activity, text="Interpret a lactate level.")
    LearningObjectiveFactory(activity=activity, text="Choose fluids for shock.")
    FacultyRoleFactory(activity=activity, person=PersonFactory(name="Maria Okafor"))

    assert found("lactate fluids Okafor") == {activity.slug}


def test_it_keeps_the_vector_current_when_objectives_and_faculty_change(provider):
    activity = ActivityFactory(title="Sepsis bundles")
    objective = LearningObjectiveFactory(activity=activity, text="Interpret a lactate level.")
    person = PersonFactory(name="Maria Okafor")
    role = FacultyRoleFactory(activity=activity, person=person)

    objective.text = "Recognise septic shock."
    objective.save()
    person.name = "Maria Okafor-Reyes"
    person.save()
    assert found("lactate") == set()
    assert found("septic") == found("Reyes") == {activity.slug}

    objective.delete()
    role.delete()
    assert found("septic") == found("Okafor") == set()


def test_it_keeps_the_vector_current_when_the_title_changes(provider):
    activity = ActivityFactory(title="Sepsis bundles")

    activity.title = "Asthma in children"
    activity.save()

    assert found("sepsis") == set()
    assert found("asthma") == {activity.slug}


def test_it_ranks_title_words_above_description_words(provider):
    activity = ActivityFactory(title="Sepsis bundles", description="Inhalers for asthma.")

    vector = Activity.objects.filter(pk=activity.pk).values_list("search_vector", flat=True).get()

    assert re.search(r"'sepsi':\d+A", vector)
    assert re.search(r"'asthma':\d+C", vector)


def test_it_finds_imported_activities_by_their_objectives_and_faculty(provider):
    activities_import(data=demo_activities())

    assert "structural-equity-lessons-from-2020" in found("Betancourt")
    assert "structural-equity-lessons-from-2020" in found("historical context")


@pytest.mark.parametrize(
    "query", ["equity", "pandemic", "Betancourt", "racism", "orthopaedic surgery", "bias", "zebra"]
)
def test_it_finds_the_same_demo_activities_as_the_search_sqlite_uses(provider, monkeypatch, query):
    activities_import(data=demo_activities())
    stored = found(query)

    # The embedded demo's search (SQLite has no tsvector), run here on the same rows.
    monkeypatch.setattr(selectors, "stores_search_vector", lambda: False)

    assert found(query) == stored


def test_it_keeps_the_objectives_a_staff_member_saves_searchable(client, provider):
    from lms.authoring import _objectives_save

    activity = ActivityFactory(title="Sepsis bundles")
    _objectives_save(activity=activity, texts=["Interpret a lactate level.", "Choose fluids."])

    assert found("lactate") == {activity.slug}


# --- shared pages outdated by every change ----------------------------------------------


def test_it_shows_a_published_activity_to_anonymous_visitors_at_once(client, provider):
    ActivityFactory(title="Old talk")
    assert "Old talk" in page(client)
    draft = publishable_draft(title="Brand new talk")
    assert "Brand new talk" not in page(client)

    assert activity_publish(activity=draft) == []

    assert "Brand new talk" in page(client)
    assert "Brand new talk" in page(client, draft.get_absolute_url())


def test_it_takes_an_archived_activity_out_of_the_cached_catalog(client, provider):
    activity = ActivityFactory(title="Going away")
    assert "Going away" in page(client)

    activity_archive(activity=activity)

    assert "Going away" not in page(client)
    assert "This activity has been archived" in page(client, activity.get_absolute_url())


def test_it_serves_no_page_that_an_earlier_release_of_the_code_rendered(client, provider, monkeypatch):
    activity = ActivityFactory(title="Before the deploy")
    assert "Before the deploy" in page(client)
    # A row changed behind the signals stays hidden by the cache until the code changes.
    Activity.objects.filter(pk=activity.pk).update(title="After the deploy")
    assert "Before the deploy" in page(client)

    monkeypatch.setattr(cache_module, "code_release", lambda: "next-release")

    assert "After the deploy" in page(client)


@pytest.mark.parametrize("change", ["title", "objective", "faculty", "pass mark"])
def test_it_shows_every_edit_on_the_cached_activity_page(client, provider, change):
    activity = complete_activity(title="Sepsis bundles")
    url = activity.get_absolute_url()
    assert "Sepsis bundles" in page(client, url)

    if change == "title":
        activity.title = "Sepsis bundles, revised"
        activity.save()
        expected = "Sepsis bundles, revised"
    elif change == "objective":
        LearningObjective.objects.create(activity=activity, order=9, text="Weigh vasopressors.")
        expected = "Weigh vasopressors."
    elif change == "faculty":
        person = activity.faculty.first().person
        person.name = "Dr Renamed Presenter"
        person.save()
        expected = "Dr Renamed Presenter"
    else:
        posttest = PostTest.objects.get(activity=activity)
        posttest.pass_percent = 80
        posttest.save()
        expected = "pass mark 80%"

    assert expected in page(client, url)


def test_it_moves_the_credit_windows_at_the_providers_midnight(client, provider):
    today = provider_today()
    ActivityFactory(title="Tomorrow's talk", release_date=today + datetime.timedelta(days=1),
                    termination_date=today + datetime.timedelta(days=200))
    assert "Tomorrow's talk" not in page(client)

    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)):
        assert "Tomorrow&#x27;s talk" in page(client)


def test_it_shows_a_revoked_certificate_as_revoked_though_its_page_was_cached(client, activity):
    certificate = certificate_for(activity=activity, state=Certificate.State.ISSUED)
    url = f"/certificates/verify/{certificate.number}/"
    assert "Valid certificate" in page(client, url)
    assert "Valid certificate" in page(client, url)

    certificate_revoke(certificate=certificate, actor=StaffUserFactory(), reason="Issued in error.")

    assert "has been revoked" in page(client, url)


# --- nothing of one visitor reaches another ----------------------------------------------


def test_it_marks_each_card_not_started_in_progress_completed_and_saved_in_one_query(django_assert_num_queries):
    learner, other = UserFactory(), UserFactory()
    untouched, started, completed, saved_only = (ActivityFactory() for _ in range(4))
    ParticipationFactory(user=learner, activity=started)
    ParticipationFactory(user=learner, activity=completed, completed_at=datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC))
    SavedActivityFactory(user=learner, activity=completed)
    SavedActivityFactory(user=learner, activity=saved_only)
    ParticipationFactory(user=other, activity=untouched, completed_at=datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC))
    ids = [untouched.pk, started.pk, completed.pk, saved_only.pk]
    with django_assert_num_queries(1):
        marks = selectors.learner_marks_of(user=learner, activity_ids=ids)
    assert marks == {
        untouched.pk: ("not_started", False),
        started.pk: ("in_progress", False),
        completed.pk: ("completed", True),
        saved_only.pk: ("not_started", True),
    }


def test_it_keeps_each_learners_marks_their_own_on_the_cached_catalog(client, provider):
    saved = ActivityFactory(title="Saved talk")
    started = ActivityFactory(title="Started talk")
    first, second = UserFactory(), UserFactory()
    page(client)  # cached for everyone, before anyone's marks
    SavedActivityFactory(user=first, activity=saved)
    ParticipationFactory(user=first, activity=started)

    client.force_login(first)
    mine = page(client)
    client.force_login(second)
    theirs = page(client)
    client.logout()
    anonymous = page(client)

    assert mine.count("Unsave<span") == 1 and "Your status: In progress" in mine
    assert "Unsave<span" not in theirs and "In progress" not in theirs
    assert theirs.count("Your status: Not started") == 2
    assert "Your status" not in anonymous and "csrfmiddlewaretoken" not in anonymous


def test_it_shows_the_learners_mark_right_after_they_save_an_activity(client, learner, provider):
    activity = ActivityFactory(title="Saved talk")
    client.force_login(learner)
    assert "Unsave<span" not in page(client)

    response = client.post(f"/activities/{activity.slug}/save/", {"saved": "1", "next": "/"}, follow=True)

    assert "Unsave<span" in response.content.decode()
    assert "Saved “Saved talk”." in response.content.decode()
    assert "Saved “Saved talk”." not in page(client)


def test_it_never_serves_a_page_carrying_messages_to_anyone_else(client, provider):
    ActivityFactory(title="Open talk")
    request = HttpRequest()
    storage = CookieStorage(request)
    storage.add(message_levels.INFO, "You have signed out.")
    response = HttpResponse()
    storage.update(response)
    client.cookies["messages"] = response.cookies["messages"].value

    assert "You have signed out." in page(client)
    del client.cookies["messages"]
    assert "You have signed out." not in page(client)


def test_it_keeps_no_session_cookie_or_csrf_token_in_shared_pages(client, activity):
    for path in ("/", activity.get_absolute_url(), "/?q=sepsis"):
        first = client.get(path)
        second = client.get(path)
        assert "csrfmiddlewaretoken" not in second.content.decode()
        assert not second.cookies
        assert second["Vary"] == first["Vary"] == "Cookie"
        assert second.content == first.content


# --- queries ------------------------------------------------------------------------------


def test_it_serves_the_cached_catalog_with_only_the_providers_query(
    client, provider, django_assert_num_queries
):
    for n in range(25):
        ActivityFactory(title=f"Talk {n}")
    activity = complete_activity(title="Sepsis bundles")
    page(client, q="talk")
    page(client, activity.get_absolute_url())

    # The provider's day is part of every key, read once per request by the middleware.
    with django_assert_num_queries(1):
        assert "Talk 1" in page(client, q="talk")
    with django_assert_num_queries(1):
        assert "Sepsis bundles" in page(client, activity.get_absolute_url())


def test_it_builds_a_catalog_page_in_five_queries_however_many_activities(
    client, provider, django_assert_num_queries
):
    for n in range(30):
        ActivityFactory(title=f"Talk {n}")

    # provider; the form's credit amounts and series; the count; the page of cards.
    with django_assert_num_queries(5):
        assert "30 activities match your search" in page(client, q="talk")


def test_it_marks_a_learners_catalog_in_one_query_on_top_of_the_shared_part(
    client, learner, provider, django_assert_num_queries
):
    activities = [ActivityFactory(title=f"Talk {n}") for n in range(20)]
    for activity in activities[:10]:
        SavedActivityFactory(user=learner, activity=activity)
        ParticipationFactory(user=learner, activity=activity)
    client.force_login(learner)
    page(client)

    # provider, the user, the marks (the session is read from the cache)
    with django_assert_num_queries(3):
        html = page(client)

    assert html.count("Unsave<span") == 10
    assert html.count("Your status: In progress") == 10
