from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .models import Activity, CreditWindow, Provider, activity_credit_window
from .selectors import activity_for_page, catalog_activities, catalog_groups, participation_of
from .services import participation_mark_recording_watched, participation_start

CATALOG_PAGE_SIZE = 20


def page_activity(request, slug):
    """The activity as a learner may see it: drafts and unreleased ones only for staff."""
    try:
        activity = activity_for_page(slug=slug)
    except Activity.DoesNotExist:
        raise Http404("No such activity.") from None
    window = activity_credit_window(activity)
    if window in (CreditWindow.DRAFT, CreditWindow.NOT_YET_RELEASED) and not request.user.is_staff:
        raise Http404("No such activity.")
    activity.window = window
    return activity


def catalog(request):
    query = request.GET.get("q", "").strip()[:200]
    page = Paginator(catalog_activities(query=query), CATALOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "courses/catalog.html",
        {"query": query, "page": page, "groups": catalog_groups(activities=list(page))},
    )


def activity_detail(request, slug):
    activity = page_activity(request, slug)
    return render(
        request,
        "courses/activity_detail.html",
        {
            "activity": activity,
            "provider": Provider.current(),
            "participation": participation_of(user=request.user, activity=activity),
        },
    )


@login_required
@require_POST
def activity_start(request, slug):
    activity = page_activity(request, slug)
    if activity.window != CreditWindow.OPEN:
        messages.error(request, activity.window.label)
        return redirect(activity)
    participation_start(user=request.user, activity=activity)
    return redirect("courses:watch", slug=activity.slug)


@login_required
def watch(request, slug):
    activity = page_activity(request, slug)
    participation = participation_of(user=request.user, activity=activity)
    if participation is None:
        messages.info(request, "Start the activity first.")
        return redirect(activity)
    if request.method == "POST":
        participation_mark_recording_watched(participation=participation)
        return redirect("quizzes:evaluation", slug=activity.slug)
    return render(
        request, "courses/watch.html", {"activity": activity, "participation": participation}
    )
