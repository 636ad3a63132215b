"""Staff reports and exports under /staff/ (SPEC §5): read-only, for staff with the
reports permission (the CME coordinator role)."""

import csv

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from certificates.selectors import certificate_queue
from courses.models import Activity, Provider

from .forms import ReportPeriodForm
from .publishing import activities_failing_checks
from .reports import (
    accme_activity_id,
    activities_with_completion_counts,
    activity_completions,
    activity_report,
    certificate_amount,
    evaluation_report,
    pars_completions,
)
from .roles import reports_required

ACTIVITIES_PER_PAGE = 25
# A spreadsheet runs a cell starting with one of these as a formula; learners type names
# and comments, so their text must never reach staff as one.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_response(filename, header, rows):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return response


@reports_required
def index(request):
    paginator = Paginator(activities_with_completion_counts(), ACTIVITIES_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    failing = activities_failing_checks(activities=page.object_list)
    for row in page.object_list:
        row.failing_checks = failing.get(row.pk, [])
    return render(
        request,
        "staff/index.html",
        {
            "page": page,
            "pars_form": ReportPeriodForm(),
            "queue": certificate_queue(),
            # Until staff save one, learners' claims are refused (certificates.rules).
            "provider_missing": Provider.current().pk is None,
        },
    )


@reports_required
def activity(request, slug):
    return render(request, "staff/activity.html", {"report": activity_report(slug=slug)})


@reports_required
def completions_csv(request, slug):
    activity = get_object_or_404(Activity, slug=slug)
    rows = (
        [
            certificate.number,
            certificate.learner_name,
            certificate.user.email,
            certificate.learner_degree,
            certificate.user.get_profession_display(),
            certificate.completed_on.isoformat(),
            certificate.get_kind_display(),
            certificate_amount(certificate),
            certificate.get_state_display(),
        ]
        for certificate in activity_completions(activity=activity)
    )
    return _csv_response(
        f"{activity.slug}-completions.csv",
        ["certificate_number", "learner_name", "email", "degree", "profession",
         "completed_on", "credit_type", "amount", "state"],
        rows,
    )


@reports_required
def evaluations_csv(request, slug):
    activity = get_object_or_404(Activity, slug=slug)
    rows = []
    for number, item in enumerate(evaluation_report(activity=activity), start=1):
        question = item["question"]
        for count in item["counts"]:
            rows.append([number, question.text, question.kind, count["label"], count["count"], ""])
        for text in item["texts"]:
            rows.append([number, question.text, question.kind, "", "", text])
    return _csv_response(
        f"{activity.slug}-evaluations.csv",
        ["question_number", "question", "kind", "answer", "count", "comment"],
        rows,
    )


@reports_required
def pars_csv(request):
    form = ReportPeriodForm(request.GET)
    if not form.is_valid():
        return render(request, "staff/pars_invalid.html", {"pars_form": form}, status=400)
    period = form.cleaned_data
    rows = (
        [
            accme_activity_id(certificate.activity),
            certificate.completed_on.isoformat(),
            certificate.user.given_name,
            certificate.user.family_name,
            certificate.user.birth_month,
            certificate.user.birth_day,
            certificate.user.licence_state,
            certificate.user.licence_number,
            certificate.user.npi,
            certificate.user.certifying_board,
            certificate.user.board_id,
            certificate.credits_claimed,
        ]
        for certificate in pars_completions(start=period["start"], end=period["end"])
    )
    return _csv_response(
        f"pars-completions-{period['start']:%Y%m%d}-{period['end']:%Y%m%d}.csv",
        ["activity_id", "completion_date", "first_name", "last_name", "birth_month",
         "birth_day", "licence_state", "licence_number", "npi", "certifying_board",
         "board_id", "credits"],
        rows,
    )
