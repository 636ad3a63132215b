from itertools import groupby

from django.db.models import Prefetch, Q

from .models import Activity, FacultyRole, Participation, Provider, activity_credit_window


def catalog_activities(*, query="", at=None):
    activities = Activity.objects.visible(at=at).select_related("series")
    if query:
        activities = activities.filter(
            Q(title__icontains=query)
            | Q(description__icontains=query)
            | Q(objectives__text__icontains=query)
            | Q(faculty__person__name__icontains=query)
        ).distinct()
    return activities.order_by("-release_date", "title")


def catalog_groups(*, activities, at=None):
    """Group a page of activities by month of release, newest first, with credit status."""
    provider = Provider.current()
    for activity in activities:
        activity.window = activity_credit_window(activity, at=at, provider=provider)
    return [
        {"month": month, "activities": list(items)}
        for month, items in groupby(activities, key=lambda a: a.release_date.replace(day=1))
    ]


def activity_for_page(*, slug):
    return (
        Activity.objects.select_related("series", "recording")
        .prefetch_related(
            "objectives",
            "resources",
            Prefetch("faculty", queryset=FacultyRole.objects.select_related("person")),
        )
        .get(slug=slug)
    )


def participation_of(*, user, activity):
    if not user.is_authenticated:
        return None
    return Participation.objects.filter(user=user, activity=activity).first()
