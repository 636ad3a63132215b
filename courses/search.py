"""The catalog's stored search vector, kept current wherever what it reads is written.

On PostgreSQL each activity stores its weighted vector (title A, objectives and faculty
names B, description C) under a GIN index, so a search reads one index instead of
building a vector across four joined tables for every row of every query. The receivers
below cover every save and delete through the ORM; paths that write in bulk
(bulk_create, QuerySet.update) call activity_search_refresh themselves. SQLite, the
embedded demo, has no tsvector: courses.selectors searches the columns there instead.
"""

from django.db import connection
from django.db.models import OuterRef, Subquery, TextField, Value
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Activity, FacultyRole, LearningObjective, Person

SEARCH_CONFIG = "english"


def stores_search_vector():
    return connection.vendor == "postgresql"


def _texts_of(queryset, field):
    """All `field` values of `queryset` rows of the outer activity, space-separated."""
    from django.contrib.postgres.aggregates import StringAgg

    return Coalesce(
        Subquery(
            queryset.filter(activity=OuterRef("pk"))
            .order_by()
            .values("activity")
            .annotate(texts=StringAgg(field, " ", output_field=TextField()))
            .values("texts")
        ),
        Value(""),
        output_field=TextField(),
    )


def activity_search_vector():
    """The vector an activity stores, as an expression over its own row."""
    from django.contrib.postgres.search import SearchVector

    return (
        SearchVector("title", config=SEARCH_CONFIG, weight="A")
        + SearchVector(
            _texts_of(LearningObjective.objects.all(), "text"),
            _texts_of(FacultyRole.objects.all(), "person__name"),
            config=SEARCH_CONFIG,
            weight="B",
        )
        + SearchVector("description", config=SEARCH_CONFIG, weight="C")
    )


def activity_search_refresh(*, activity_ids):
    """Store the search vector of the activities `activity_ids` (ids, or a queryset of
    them) anew, in one UPDATE. A no-op where the database keeps no vector."""
    if not stores_search_vector():
        return
    Activity.objects.filter(pk__in=activity_ids).update(search_vector=activity_search_vector())


@receiver(post_save, sender=Activity, dispatch_uid="activity_search_on_save")
def _activity_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or (update_fields is not None and not {"title", "description"} & set(update_fields)):
        return
    activity_search_refresh(activity_ids=[instance.pk])


@receiver(post_save, sender=LearningObjective, dispatch_uid="objective_search_on_save")
@receiver(post_delete, sender=LearningObjective, dispatch_uid="objective_search_on_delete")
@receiver(post_save, sender=FacultyRole, dispatch_uid="faculty_search_on_save")
@receiver(post_delete, sender=FacultyRole, dispatch_uid="faculty_search_on_delete")
def _part_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        activity_search_refresh(activity_ids=[instance.activity_id])


@receiver(post_save, sender=Person, dispatch_uid="person_search_on_save")
def _person_saved(sender, instance, created=False, raw=False, **kwargs):
    # A new person has no roles yet: the role's own save refreshes its activity.
    if not (raw or created):
        activity_search_refresh(
            activity_ids=FacultyRole.objects.filter(person=instance).values("activity_id")
        )
