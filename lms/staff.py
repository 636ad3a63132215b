"""Staff reports and exports under /staff/ (SPEC §5): read-only, for staff with the
reports permission (the CME coordinator role)."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from certificates.selectors import certificate_queue
from courses.models import Activity, Provider

from .exports import table_response
from .publishing import activities_failing_checks
from .reports import (
    activities_with_completion_counts,
    activity_completions,
    activity_report,
    evaluation_rows,
)
from .roles import reports_required

ACTIVITIES_PER_PAGE = 25


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
            "queue": certificate_queue(),
            # Until staff save one, learners' claims are refused (certificates.rules).
            "provider_missing": Provider.current().pk is None,
        },
    )


@reports_required
def activity(request, slug):
    return render(request, "staff/activity.html", {"report": activity_report(slug=slug)})


@reports_required
def completions_export(request, slug, table_format):
    activity = get_object_or_404(Activity, slug=slug)
    return table_response(
        table_format=table_format,
        filename_stem=f"{activity.slug}-completions",
        header=["certificate_number", "learner_name", "email", "degree", "profession",
                "completed_on", "credit_type", "amount", "state"],
        rows=activity_completions(activity=activity),
        sheet_title="Completions",
    )


@reports_required
def evaluations_export(request, slug, table_format):
    activity = get_object_or_404(Activity, slug=slug)
    return table_response(
        table_format=table_format,
        filename_stem=f"{activity.slug}-evaluations",
        header=["question_number", "question", "kind", "answer", "count", "comment"],
        rows=evaluation_rows(activity=activity),
        sheet_title="Evaluation summary",
    )

