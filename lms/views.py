import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from certificates.pdf import html_to_pdf
from certificates.selectors import transcript_of

from .forms import ProfileForm, TranscriptPeriodForm


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
        {"form": form, "transcript": transcript, "learner": request.user, "today": timezone.localdate()},
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
