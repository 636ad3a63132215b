import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import csrf
from django.views.decorators.http import require_POST

from certificates.pdf import html_to_pdf
from certificates.selectors import transcript_of
from courses.forms import CatalogFilterForm
from courses.models import Activity, Provider
from courses.selectors import learner_marks, saved_activities_of, with_windows
from courses.services import SavedSearchInvalid, saved_search_create, saved_search_delete
from courses.views import logged_out_response

from .forms import ProfileForm, TranscriptPeriodForm


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


def _transcript(request):
    form = TranscriptPeriodForm(request.GET or None)
    period = form.cleaned_data if form.is_valid() else {}
    return form, transcript_of(user=request.user, start=period.get("start"), end=period.get("end"))


@login_required
def transcript(request):
    form, transcript = _transcript(request)
    return render(
        request,
        "lms/transcript.html",
        {"form": form, "transcript": transcript, "query": request.GET.urlencode()},
    )


@login_required
def transcript_pdf(request):
    form, transcript = _transcript(request)
    html = render_to_string(
        "lms/transcript_pdf.html",
        {"form": form, "transcript": transcript, "learner": request.user, "printed_at": timezone.now()},
    )
    response = HttpResponse(html_to_pdf(html, stylesheet="transcript.css"), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="cme-transcript.pdf"'
    return response


@login_required
def transcript_csv(request):
    form, transcript = _transcript(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="cme-transcript.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["completed_on", "activity", "credit_type", "amount", "certificate_number", "verification_url"]
    )
    for year in transcript.years:
        for certificate in year.certificates:
            writer.writerow(
                [
                    certificate.completed_on.isoformat(),
                    certificate.activity_title,
                    certificate.get_kind_display(),
                    certificate.credits_claimed_display or certificate.hours_display,
                    certificate.number,
                    certificate.get_verification_url(),
                ]
            )
    return response


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
