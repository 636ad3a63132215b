"""The staff exports page (/staff/exports/): completions across activities and raw
evaluation responses for a period, as CSV, tab-delimited text or an Excel workbook."""

from django.shortcuts import render

from courses.models import Provider

from .exports import table_response
from .reports import (
    COMPLETIONS_HEADER,
    completions_between,
    evaluation_responses_between,
    evaluation_responses_header,
)
from .roles import reports_required
from .staff_exports_forms import ExportForm


def _page(request, form, *, status=200):
    return render(
        request, "staff/exports/index.html", {"form": form, "zone": Provider.current().time_zone}, status=status
    )


@reports_required
def exports(request):
    return _page(request, ExportForm())


@reports_required
def export_download(request):
    form = ExportForm(request.GET)
    if not form.is_valid():
        return _page(request, form, status=400)
    choice = form.cleaned_data
    period = dict(start=choice["start"], end=choice["end"], activity=choice["activity"])
    if choice["export"] == ExportForm.COMPLETIONS:
        name, sheet_title = "completions", "Completions"
        header, rows = COMPLETIONS_HEADER, completions_between(**period)
    else:
        name, sheet_title = "evaluation-responses", "Evaluation responses"
        header = evaluation_responses_header(with_learners=choice["with_learners"])
        rows = evaluation_responses_between(**period, with_learners=choice["with_learners"])
    scope = f"-{choice['activity'].slug}" if choice["activity"] else ""
    return table_response(
        table_format=choice["table_format"],
        filename_stem=f"{name}{scope}-{choice['start']:%Y%m%d}-{choice['end']:%Y%m%d}",
        header=header,
        rows=rows,
        sheet_title=sheet_title,
    )
