"""courses.prepared: a queryset compiled once per process gives what the queryset gives."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from courses.models import Participation, Provider, provider_in_use
from courses.prepared import PreparedQuery
from courses.selectors import credit_extended_until_subquery, learner_step_of

from .factories import (
    ActivityFactory,
    CreditExtensionFactory,
    ParticipationFactory,
    ProviderFactory,
    RecordingFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PARTICIPATION = PreparedQuery(
    Participation,
    lambda *, user_id, slug: Participation.objects.select_related("activity", "activity__recording")
    .annotate(credit_extended_until=credit_extended_until_subquery())
    .filter(user_id=user_id, activity__slug=slug)
    .order_by("pk"),
    user_id=-1_000_000_007,
    slug="\x1fstand-in\x1f",
)


def watched_participation(**fields):
    activity = ActivityFactory(credits=Decimal("1.25"))
    RecordingFactory(activity=activity)
    return ParticipationFactory(activity=activity, watched_intervals_ms=[[0, 5000], [9000, 12000]], **fields)


def test_it_gives_the_rows_and_values_the_queryset_gives(django_assert_num_queries):
    participation = watched_participation()
    with django_assert_num_queries(1):
        [found] = PARTICIPATION.list(user_id=participation.user_id, slug=participation.activity.slug)
        assert found.pk == participation.pk
        assert found.watched_intervals_ms == [[0, 5000], [9000, 12000]]
        assert found.activity.credits == Decimal("1.25")
        assert found.activity.recording.duration_seconds == participation.activity.recording.duration_seconds
        assert found.started_at == participation.started_at
        assert found.credit_extended_until is None
    assert found._state.adding is False and found._state.db == "default"


def test_it_runs_each_call_with_that_calls_values(django_assert_num_queries):
    first, second = watched_participation(), watched_participation()
    ParticipationFactory(user=first.user, activity=second.activity)
    with django_assert_num_queries(3):
        assert PARTICIPATION.first(user_id=first.user_id, slug=first.activity.slug).pk == first.pk
        assert PARTICIPATION.first(user_id=second.user_id, slug=second.activity.slug).pk == second.pk
        assert PARTICIPATION.first(user_id=second.user_id, slug=first.activity.slug) is None


def test_it_sets_the_annotations():
    participation = watched_participation()
    CreditExtensionFactory(user=participation.user, activity=participation.activity, until=datetime.date(2031, 5, 4))
    found = PARTICIPATION.first(user_id=participation.user_id, slug=participation.activity.slug)
    assert found.credit_extended_until == datetime.date(2031, 5, 4)


def test_it_leaves_deferred_fields_to_be_read_when_asked(django_assert_num_queries):
    participation = watched_participation()
    participation.activity.description = "Read only when asked."
    participation.activity.save()
    with provider_in_use(), django_assert_num_queries(1):
        activity, found = learner_step_of(slug=participation.activity.slug, user=participation.user)
    assert "description" in activity.get_deferred_fields()
    with django_assert_num_queries(1):
        assert activity.description == "Read only when asked."


def test_it_reads_the_provider_as_stored_on_every_call():
    assert Provider.current().pk is None
    ProviderFactory(name="First Name Medical School")
    assert Provider.current().name == "First Name Medical School"
    Provider.objects.update(name="Renamed Medical School")
    assert Provider.current().name == "Renamed Medical School"


def test_it_refuses_a_call_without_every_value():
    with pytest.raises(TypeError, match="slug"):
        PARTICIPATION.list(user_id=UserFactory().pk)


def test_it_refuses_a_stand_in_the_lookup_changes():
    # contains wraps the value in wildcards: the stand-in never reaches the parameters as it is.
    query = PreparedQuery(
        Participation, lambda *, slug: Participation.objects.filter(activity__slug__contains=slug), slug="\x1fx\x1f"
    )
    with pytest.raises(ImproperlyConfigured, match="slug"):
        query.list(slug="anything")


def test_it_refuses_a_queryset_of_another_model():
    query = PreparedQuery(Provider, lambda: Participation.objects.all())
    with pytest.raises(ImproperlyConfigured, match="Participation"):
        query.list()


def test_it_gives_the_rows_of_a_values_list_queryset_in_the_order_it_names_them():
    first, second = watched_participation(), watched_participation()
    query = PreparedQuery(
        Participation,
        lambda *, user_id: Participation.objects.filter(user_id=user_id).values_list("activity__slug", "watched_intervals_ms"),
        user_id=-1_000_000_009,
    )
    assert query.rows(user_id=first.user_id) == [(first.activity.slug, [[0, 5000], [9000, 12000]])]
    assert query.rows(user_id=second.user_id) == [(second.activity.slug, [[0, 5000], [9000, 12000]])]
    with pytest.raises(ImproperlyConfigured, match="rows"):
        query.list(user_id=first.user_id)
