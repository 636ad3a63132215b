from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import csrf
from django.views.decorators.http import require_POST

from certificates.pdf import html_to_pdf
from certificates.selectors import (
    TRANSCRIPT_LINES,
    TRANSCRIPT_ROW_FIELDS,
    transcript_certificates,
    transcript_lines,
    transcript_listing,
    transcript_of,
    transcript_version,
)
from courses.cache import CREDIT_TYPES_VERSION, cache_key, versioned
from courses.forms import CatalogFilterForm
from courses.models import Activity, Provider
from courses.selectors import learner_marks, saved_activities_of, with_windows
from courses.services import SavedSearchInvalid, saved_search_create, saved_search_delete
from courses.statements import format_credits
from courses.views import logged_out_response

from .exports import csv_stream_response
from .forms import ProfileForm, TranscriptPeriodForm
from .reports import EXPORT_CHUNK_ROWS


def csrf_failure(request, reason=""):
    """Django's refusal of a POST without a valid CSRF token, said in JSON to the
    scripts that post JSON (the watch page's progress reports), so they can tell the
    learner what happened: usually their session ended and took the token with it."""
    if request.content_type != "application/json":
        return csrf.csrf_failure(request, reason=reason)
    if not request.user.is_authenticated:
        return logged_out_response()
    return JsonResponse(
        {
            "error": "This page is out of date; reload it to go on saving your progress.",
            "session": "stale",
        },
        status=403,
    )


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page names; without this every page
    logged a 404."""
    return redirect(static("favicon.svg"), permanent=True)


def privacy(request):
    """The site's privacy notice: what a learner's record holds, who sees it and for how
    long. Linked from every page, and from activities whose provider has no policy page."""
    return render(request, "lms/privacy.html", {"provider": Provider.current()})


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile is saved.")
        if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            return redirect(next_url)
        return redirect("courses:catalog")
    return render(request, "lms/profile.html", {"form": form, "next": next_url})


TRANSCRIPT_PAGE_SIZE = 50
# The transcript PDF lists at most this many certificates, the newest: WeasyPrint takes
# about 8 ms a row (1,006 rows: 8.5 s, longer than a page may keep a worker). Its totals
# still count every certificate, and it says how to print the rest.
TRANSCRIPT_PDF_ROWS = 250


def _transcript_period(request):
    form = TranscriptPeriodForm(request.GET or None)
    period = form.cleaned_data if form.is_valid() else {}
    return form, {"start": period.get("start"), "end": period.get("end")}


def _number_url_prefix(name):
    """The path of `name` up to the certificate number, so a list of certificates builds
    each one's link by appending the number rather than reversing a URL per row."""
    return reverse(name, kwargs={"number": "0"}).removesuffix("0/")


def _transcript_listing(*, user, period, query):
    """The transcript's totals and one page of its certificates, in HTML: rendered without
    the request, as it is kept in the cache and must hold nothing of a session."""
    totals = transcript_of(user=user, **period)
    paginator = Paginator(
        transcript_certificates(user=user, **period)
        .only(*TRANSCRIPT_ROW_FIELDS)
        .prefetch_related(TRANSCRIPT_LINES),
        TRANSCRIPT_PAGE_SIZE,
    )
    # The totals counted them already: no COUNT query for the pages.
    paginator.count = totals.count
    page = paginator.get_page(query.get("page"))
    period_query = query.copy()
    period_query.pop("page", None)
    return render_to_string(
        "lms/transcript_listing.html",
        {
            "transcript": totals,
            "page": page,
            "listed_years": transcript_listing(transcript=totals, certificates=page.object_list),
            "query": period_query.urlencode(),
            "certificate_path": _number_url_prefix("certificates:detail"),
        },
    )


@login_required
def transcript(request):
    form, period = _transcript_period(request)
    version = transcript_version(user=request.user, **period)
    listing = ""
    if version.count:
        # Kept under what the listing is made of: the learner, the digest of their
        # certificates in the period and the query (period and page). A claim or a change
        # of state changes the digest, a change of wording the credit types' version.
        listing = versioned(
            key=cache_key("transcript", request.user.pk, version.digest, request.GET.urlencode()),
            version_key=CREDIT_TYPES_VERSION,
            build=lambda: _transcript_listing(user=request.user, period=period, query=request.GET),
        )
    return render(
        request, "lms/transcript.html", {"form": form, "count": version.count, "listing": listing}
    )


@login_required
def transcript_pdf(request):
    form, period = _transcript_period(request)
    totals = transcript_of(user=request.user, **period)
    listed = (
        transcript_certificates(user=request.user, **period)
        .only(*TRANSCRIPT_ROW_FIELDS)
        .prefetch_related(TRANSCRIPT_LINES)[:TRANSCRIPT_PDF_ROWS]
    )
    transcript_listing(transcript=totals, certificates=listed)
    html = render_to_string(
        "lms/transcript_pdf.html",
        {
            "form": form,
            "transcript": totals,
            "listed": min(totals.count, TRANSCRIPT_PDF_ROWS),
            "learner": request.user,
            "printed_at": timezone.now(),
        },
    )
    response = HttpResponse(html_to_pdf(html, stylesheet="transcript.css"), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="cme-transcript.pdf"'
    return response


def _transcript_rows(lines, *, verify_url):
    for number, completed_on, title, credit_type, amount in lines.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        yield [
            completed_on.isoformat(),
            title,
            credit_type,
            format_credits(amount),
            number,
            f"{verify_url}{number}/",
        ]


@login_required
def transcript_csv(request):
    form, period = _transcript_period(request)
    lines = transcript_lines(user=request.user, **period).values_list(
        "certificate__number", "certificate__completed_on", "certificate__activity_title", "name", "amount"
    )
    return csv_stream_response(
        filename="cme-transcript.csv",
        header=["completed_on", "activity", "credit_type", "amount", "certificate_number", "verification_url"],
        rows=_transcript_rows(
            lines, verify_url=settings.SITE_URL + _number_url_prefix("certificates:verify")
        ),
        cell=None,
    )


@login_required
def saved_activities(request):
    activities = with_windows(saved_activities_of(user=request.user))
    return render(
        request,
        "lms/saved_activities.html",
        {"activities": learner_marks(user=request.user, activities=activities)},
    )


@login_required
def saved_searches(request):
    if request.method == "POST":
        # Only what the catalog's own form accepts is kept, so a saved search can only
        # ever re-run a catalog search.
        form = CatalogFilterForm(
            QueryDict(request.POST.get("query", "")), activities=Activity.objects.visible()
        )
        try:
            saved_search_create(user=request.user, name=request.POST.get("name"), params=form.params())
        except SavedSearchInvalid as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Your search is saved.")
        return redirect("lms:saved_searches")
    return render(
        request, "lms/saved_searches.html", {"searches": request.user.saved_searches.all()}
    )


@login_required
@require_POST
def saved_search_remove(request, pk):
    if not saved_search_delete(user=request.user, pk=pk):
        raise Http404("No such saved search.")
    messages.success(request, "The saved search is deleted.")
    return redirect("lms:saved_searches")
