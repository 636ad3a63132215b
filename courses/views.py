import json
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from .cache import CATALOG_VERSION, cache_key, shared_page, versioned
from .forms import CatalogFilterForm
from .media import media_origins, media_type
from .models import Activity, Provider, SavedActivity, provider_today
from .rules import (
    CreditWindow,
    credit_last_day,
    learner_credit_window,
    recording_requirement_met,
    viewing_accommodation_of,
)
from .selectors import (
    activity_credit_offers,
    activity_for_learner,
    catalog_activities,
    catalog_cards,
    learner_marks_of,
    learner_step_of,
    participation_of,
)
from .serving import presigned_redirect
from .statements import offered_credit_texts
from .templatetags.card_foot import card_foot_html
from .services import (
    ViewingReportError,
    ViewingSessionRefused,
    participation_mark_recording_watched,
    participation_record_viewing,
    participation_start,
    saved_activity_set,
    viewing_session_open,
)
from .viewing import MAX_PLAYBACK_RATE, PLAYBACK_RATES, recording_viewing

CATALOG_PAGE_SIZE = 20
CARD_FOOT = re.compile(r"<!--card-foot:(\d+)-->")


def catalog(request):
    day = provider_today()
    query = sorted(request.GET.lists())
    return shared_page(
        request,
        key=cache_key("catalog-page", day, query),
        version_key=CATALOG_VERSION,
        render=lambda: _catalog_page(request, day=day, query=query),
    )


def _catalog_page(request, *, day, query):
    listing = versioned(
        key=cache_key("catalog-listing", day, query),
        version_key=CATALOG_VERSION,
        build=lambda: _catalog_listing(request),
    )
    feet = _card_feet(request, listing) if request.user.is_authenticated else {}
    results = CARD_FOOT.sub(lambda match: feet.get(int(match[1]), ""), listing["results"])
    return render(
        request,
        "courses/catalog.html",
        {"listing": listing, "results": mark_safe(results)},
    )


def _catalog_listing(request):
    """The part of a catalog page every visitor shares, as HTML kept in the cache: the
    filters as given, the count and the page of cards."""
    form = CatalogFilterForm(request.GET or None, activities=Activity.objects.visible())
    filters = form.filters()
    activities = catalog_activities(
        query=filters.get("q", ""),
        credit=filters.get("credit", ""),
        series=filters.get("series"),
        credits=filters.get("credits", ""),
    )
    page = Paginator(activities, CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
    params = urlencode(form.params())
    context = {"form": form, "filtered": bool(params), "params": params, "page": page}
    groups = catalog_cards(activities=list(page))
    return {
        "filters": render_to_string("courses/_catalog_filters.html", context),
        "results": render_to_string(
            "courses/_catalog_results.html",
            {**context, "count": page.paginator.count, "groups": groups},
        ),
        "errors": bool(form.errors),
        "params": params,
        # What the learner's own part of each card names: its title and save URL.
        "cards": {
            card["pk"]: (card["title"], reverse("courses:save", kwargs={"slug": card["slug"]}))
            for group in groups
            for card in group["cards"]
        },
    }


def _card_feet(request, listing):
    """The signed-in learner's status and save button of each card, by activity id."""
    marks = learner_marks_of(user=request.user, activity_ids=list(listing["cards"]))
    csrf_token, next_url = get_token(request), request.get_full_path()
    return {
        pk: card_foot_html(
            state=marks[pk][0],
            saved=marks[pk][1],
            title=title,
            save_url=save_url,
            csrf_token=csrf_token,
            next_url=next_url,
        )
        for pk, (title, save_url) in listing["cards"].items()
    }


def activity_page_context(*, request, activity, preview=False):
    """What the activity page shows. A staff `preview` shows it as a learner who has not
    started sees it, with nothing that starts or saves the activity."""
    saved = (
        not preview
        and request.user.is_authenticated
        and SavedActivity.objects.filter(user=request.user, activity=activity).exists()
    )
    participation = None if preview else participation_of(user=request.user, activity=activity)
    extended_until = participation.credit_extended_until if participation else None
    if extended_until is not None:
        # Staff extended this learner's credit: the page shows their own window.
        activity.window = learner_credit_window(activity, participation=participation)
    texts = activity.texts()
    offers = activity_credit_offers(activity=activity)
    return {
        "activity": activity,
        "texts": texts,
        "credits_offered": [offer for offer in offers if not offer.for_participation],
        "offered_credit": offered_credit_texts(
            offers=offers, provider_name=Provider.current().name, texts=texts
        ),
        "participation_offer": next(offer for offer in offers if offer.for_participation),
        "disclosure": activity.disclosure_statement(),
        "participation": participation,
        "credit_ends_on": credit_last_day(
            termination_date=activity.termination_date, extended_until=extended_until
        ),
        "saved": saved,
        "preview": preview,
    }


def activity_detail(request, slug):
    # Anonymous visitors share the page of the day; learners see their own progress on it.
    return shared_page(
        request,
        key=cache_key("activity-page", provider_today(), slug),
        version_key=CATALOG_VERSION,
        render=lambda: _activity_page(request, slug),
    )


def _activity_page(request, slug):
    activity = activity_for_learner(slug=slug, user=request.user)
    return render(
        request, "courses/activity_detail.html", activity_page_context(request=request, activity=activity)
    )


@login_required
@require_POST
def activity_save(request, slug):
    """Save or unsave the activity for the learner, then go back where they were."""
    activity = activity_for_learner(slug=slug, user=request.user)
    saved = request.POST.get("saved") == "1"
    saved_activity_set(user=request.user, activity=activity, saved=saved)
    messages.success(
        request, f"Saved “{activity.title}”." if saved else f"Removed “{activity.title}” from your saved activities."
    )
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect(activity)


@login_required
@require_POST
def activity_start(request, slug):
    activity = activity_for_learner(slug=slug, user=request.user)
    if activity.window != CreditWindow.OPEN:
        messages.error(request, activity.window.label)
        return redirect(activity)
    participation_start(user=request.user, activity=activity)
    return redirect("courses:watch", slug=activity.slug)


def transcript(request, slug):
    """The recording's transcript as a page of its own, readable before starting or
    instead of playing, for whoever may see the activity page."""
    activity = activity_for_learner(slug=slug, user=request.user)
    recording = getattr(activity, "recording", None)
    if recording is None or not recording.transcript.strip():
        raise Http404("This recording has no transcript.")
    return render(
        request, "courses/transcript.html", {"activity": activity, "recording": recording}
    )


@login_required
def watch(request, slug):
    # Watching decides nothing by the learner's own credit window: no credit extension.
    activity, participation = learner_step_of(slug=slug, user=request.user, extension=False)
    if participation is None and activity.window == CreditWindow.EXPIRED:
        return _watch_without_credit(request, activity)
    if participation is None:
        messages.info(request, "Start the activity first.")
        return redirect(activity)
    viewing = recording_viewing(participation=participation, activity=activity)
    if request.method == "POST":
        if participation_mark_recording_watched(participation=participation):
            return redirect("quizzes:evaluation", slug=activity.slug)
        messages.error(request, viewing.status)
        return redirect("courses:watch", slug=activity.slug)
    recording = getattr(activity, "recording", None)
    track_progress = (
        recording is not None and recording.trackable and activity.status != Activity.Status.ARCHIVED
    )
    response = render(
        request,
        "courses/watch.html",
        {
            "activity": activity,
            "recording": recording,
            "participation": participation,
            "viewing": viewing,
            "may_continue": recording_requirement_met(participation=participation),
            "accommodation": activity.requires_full_viewing
            and viewing_accommodation_of(participation=participation),
            "track_progress": track_progress,
            "watched_seconds": json.dumps(_seconds(participation.watched_intervals_ms)),
            "playback_rates": PLAYBACK_RATE_TEXTS,
            "max_playback_rate": MAX_PLAYBACK_RATE_TEXT,
        },
    )
    return _allow_recording_media(response, recording)


# Written out once: a number in a template goes through Django's localized formatting,
# which cost the watch page about 0.3 ms for its seven numbers.
PLAYBACK_RATE_TEXTS = tuple(f"{rate:g}" for rate in PLAYBACK_RATES)
MAX_PLAYBACK_RATE_TEXT = f"{MAX_PLAYBACK_RATE:g}"


def _allow_recording_media(response, recording):
    if recording is not None:
        origins = media_origins(recording.video_src, recording.captions_src, recording.descriptions_src)
        if origins:
            # django-csp reads this attribute, as its csp_update decorator sets it.
            response._csp_update = {"media-src": origins}
    return response


def _watch_without_credit(request, activity):
    """The recording of an activity whose credit has ended, for a learner who never
    started it: no participation, no progress kept, no way on to the evaluation, so
    nothing here leads towards credit."""
    recording = getattr(activity, "recording", None)
    response = render(
        request,
        "courses/watch.html",
        {"activity": activity, "recording": recording, "without_credit": True},
    )
    return _allow_recording_media(response, recording)


def _seconds(intervals_ms):
    return [[start / 1000, end / 1000] for start, end in intervals_ms]


def logged_out_response():
    # "session" tells the player that logging in again, not a new page, is what helps.
    return JsonResponse(
        {
            "error": "You have been logged out; log in again to save your progress.",
            "session": "logged_out",
        },
        status=403,
    )


@require_POST
def watch_progress(request, slug):
    """A progress report from the player (static/js/watch.js), answered with the new totals."""
    if not request.user.is_authenticated:
        return logged_out_response()
    activity = activity_for_learner(slug=slug, user=request.user)
    try:
        report = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: arrays nested deeper than Python's stack, which no player sends.
        return JsonResponse({"error": "The progress report is not valid JSON."}, status=400)
    try:
        participation = participation_record_viewing(
            user=request.user, activity=activity, report=report
        )
    except ViewingSessionRefused as refused:
        return JsonResponse({"error": str(refused), "session": refused.code}, status=403)
    except ViewingReportError as error:
        return JsonResponse({"error": str(error)}, status=400)
    progress = recording_viewing(participation=participation, activity=activity).as_json()
    return JsonResponse(
        {
            **progress,
            "requirement_met": recording_requirement_met(participation=participation),
            "watched": _seconds(participation.watched_intervals_ms),
        }
    )


@require_POST
def watch_session(request, slug):
    """A viewing session for a watch page's player: asked for when the learner first
    plays, and again when a long pause ended the one it had. Loading the page opens
    none, so a page opened and left (or fetched by a link preview) writes nothing."""
    if not request.user.is_authenticated:
        return logged_out_response()
    activity, participation = learner_step_of(slug=slug, user=request.user, extension=False)
    if activity.status == Activity.Status.ARCHIVED:
        return JsonResponse({"error": "This activity has been archived."}, status=400)
    if participation is None:
        return JsonResponse({"error": "Start the activity before watching the recording."}, status=400)
    return JsonResponse({"session": viewing_session_open(participation=participation).token})


class RangeNotSatisfiable(Exception):
    pass


BYTE_RANGE = re.compile(r"\s*(\d*)\s*-\s*(\d*)\s*")
STREAM_CHUNK_BYTES = 64 * 1024


def byte_range(header, size):
    """The inclusive (first, last) bytes a Range header asks of a `size`-byte file.

    None means send the whole file: no header, a unit other than bytes, or several
    ranges (RFC 9110 lets a server ignore those). Raises RangeNotSatisfiable for a
    malformed bytes range or one that starts past the end.
    """
    unit, _, spec = (header or "").partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = BYTE_RANGE.fullmatch(spec)
    if not match or match.groups() == ("", ""):
        raise RangeNotSatisfiable
    first, last = match.groups()
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size - 1
    first = int(first)
    last = int(last) if last else size - 1
    if first > last or first >= size:
        raise RangeNotSatisfiable
    return first, min(last, size - 1)


def _stream(field, first, length):
    # Opened only once the server starts sending, and closed even if the viewer leaves
    # halfway (the server then closes this generator).
    with field.storage.open(field.name, "rb") as file:
        file.seek(first)
        remaining = length
        while remaining > 0:
            chunk = file.read(min(STREAM_CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


@login_required
@require_http_methods(["GET", "HEAD"])
def recording_file(request, slug, kind):
    """An uploaded video or captions file, through the storage API, with byte ranges so
    the player can seek; on object storage the video goes by a presigned URL instead,
    which serves the ranges itself. Only for learners who started the activity, and
    staff; once credit has ended, for anyone signed in, as watching then earns nothing."""
    activity = activity_for_learner(slug=slug, user=request.user)
    if (
        not request.user.is_staff
        and activity.window != CreditWindow.EXPIRED
        and participation_of(user=request.user, activity=activity) is None
    ):
        raise PermissionDenied("Start the activity to watch its recording.")
    recording = getattr(activity, "recording", None)
    field = getattr(recording, kind, None)
    if not field:
        raise Http404("This recording has no such file.")
    content_type = media_type(field.name) or "application/octet-stream"
    # Only the video leaves by a presigned URL: a <track> refuses captions from another
    # origin (without CORS), and they are small enough to send from here.
    if kind == "video":
        redirect_to_storage = presigned_redirect(field, content_type=content_type)
        if redirect_to_storage is not None:
            return redirect_to_storage
    try:
        size = field.storage.size(field.name)
    except OSError:
        raise Http404("This recording's file is missing from storage.") from None
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Type": content_type,
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    try:
        wanted = byte_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        return HttpResponse(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    status = 200
    first, last = 0, size - 1
    if wanted is not None:
        status = 206
        first, last = wanted
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    length = last - first + 1
    headers["Content-Length"] = str(length)
    if request.method == "HEAD" or length == 0:
        return HttpResponse(status=status, headers=headers)
    return StreamingHttpResponse(_stream(field, first, length), status=status, headers=headers)
