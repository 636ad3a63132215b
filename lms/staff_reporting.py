"""Staff reporting under /staff/reporting/ (issue 17): ACCME's PARS learner and activity
files, the log of what was sent, and the MOC reporting queue.

Reading never records anything: the pages and the preview are GETs, a crawler or a
prefetch can follow them freely. Only the "Export and record" buttons (POSTs) log a batch.
The learner file is recorded by a worker (it may hold hundreds of thousands of rows):
the POST leads to the batch's status page, which offers the download once it is ready.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from courses.models import provider_today

from . import pars
from .exports import table_response
from .models import ReportingBatch
from .reporting import (
    learner_batch,
    moc_outcome_record,
    moc_queue,
    moc_queue_counts,
    moc_queue_items,
    moc_record,
    pars_activity_batch_record,
    pars_activity_file,
    learner_batch_summary,
    pars_batch_rows,
    pars_learner_batch_request,
    pars_learner_batch_retry,
    pars_learner_preview,
    reporting_batches,
)
from .reporting_forms import ActivityFileForm, LearnerFileForm, MocOutcomeForm, MocQueueForm, with_defaults
from .roles import reports_required

BATCHES_PER_PAGE = 20
# Why a learner batch that is not ready has no file: its status page says the rest.
NO_DOWNLOAD = {
    ReportingBatch.State.PREPARING: "The file is still being prepared: download it here once it is ready.",
    ReportingBatch.State.EMPTY: "There was nothing to send for this period, so there is no file to download.",
    ReportingBatch.State.FAILED: "The file could not be prepared, so there is no file to download.",
}
QUEUE_PER_PAGE = 25


def _pars_page(request, *, form, activity_form=None, preview=None, status=200):
    page = Paginator(reporting_batches(), BATCHES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "staff/reporting/pars.html",
        {
            "form": form,
            "activity_form": activity_form or ActivityFileForm(),
            "preview": preview,
            "batches": page,
            "learner_columns": pars.LEARNER_COLUMNS,
        },
        status=status,
    )


@reports_required
def pars_files(request):
    """The PARS page: with a period, the preview of the learner file (nothing recorded)."""
    if "start" not in request.GET and "end" not in request.GET:
        return _pars_page(request, form=LearnerFileForm())
    form = LearnerFileForm(with_defaults(request.GET, LearnerFileForm.DEFAULTS))
    if not form.is_valid():
        return _pars_page(request, form=form, status=400)
    return _pars_page(request, form=form, preview=pars_learner_preview(**form.options()))


@reports_required
@require_POST
def pars_learners_export(request):
    """Ask for the learner file: the batch is recorded by a worker, and its status page
    says when the file is ready."""
    form = LearnerFileForm(request.POST)
    if not form.is_valid():
        return _pars_page(request, form=form, status=400)
    batch = pars_learner_batch_request(
        actor=request.user, table_format=form.cleaned_data["table_format"], **form.options()
    )
    return redirect("staff:reporting_pars_batch_status", pk=batch.pk)


@reports_required
def pars_batch_status(request, pk):
    batch = learner_batch(pk=pk)
    return render(request, "staff/reporting/pars_batch.html", _batch_status_context(batch))


@reports_required
def pars_batch_status_json(request, pk):
    batch = learner_batch(pk=pk)
    # The status page swaps this into its live region: no reload, so a screen reader
    # announces it and the reader's place on the page is kept.
    html = render_to_string("staff/reporting/_pars_batch_status.html", _batch_status_context(batch), request=request)
    return JsonResponse({"state": batch.state, "html": html})


def _batch_status_context(batch):
    return {
        "batch": batch,
        "summary": learner_batch_summary(batch=batch),
        "format_label": dict(pars.PARS_FORMATS).get(batch.table_format, batch.table_format),
    }


@reports_required
@require_POST
def pars_batch_retry(request, pk):
    batch = learner_batch(pk=pk)
    if not pars_learner_batch_retry(batch=batch):
        messages.info(request, "This file is not failed: it was not prepared again.")
    return redirect("staff:reporting_pars_batch_status", pk=batch.pk)


@reports_required
def pars_batch_download(request, pk):
    """A recorded learner file again, exactly as it was sent; records nothing."""
    batch = learner_batch(pk=pk)
    if batch.state != ReportingBatch.State.READY:
        messages.info(request, NO_DOWNLOAD[batch.state])
        return redirect("staff:reporting_pars_batch_status", pk=batch.pk)
    return _learner_file(batch)


def _learner_file(batch):
    return table_response(
        table_format=batch.table_format,
        filename_stem=f"pars-learners-{batch.period_start:%Y%m%d}-{batch.period_end:%Y%m%d}-batch{batch.pk}",
        header=pars.learner_header(batch.table_format),
        rows=pars_batch_rows(batch=batch),
        sheet_title="Learners",
    )


@reports_required
@require_POST
def pars_activities_export(request):
    form = ActivityFileForm(request.POST)
    if not form.is_valid():
        return _pars_page(request, form=LearnerFileForm(), activity_form=form, status=400)
    year, table_format = form.cleaned_data["year"], form.cleaned_data["table_format"]
    pars_activity_batch_record(actor=request.user, year=year, table_format=table_format)
    support_groups, rows = pars_activity_file(year=year)
    return table_response(
        table_format=table_format,
        filename_stem=f"pars-activities-{year}",
        header=pars.activity_header(table_format, support_groups=support_groups),
        rows=rows,
        sheet_title="Activities",
    )


@reports_required
def pars_learners_legacy(request):
    """/staff/pars.csv, bookmarked before the learner file was recorded: the PARS page,
    with the period it asked for previewed."""
    query = request.GET.urlencode()
    return redirect(reverse("staff:reporting_pars") + (f"?{query}" if query else ""))


@reports_required
def moc(request):
    form = MocQueueForm(with_defaults(request.GET, MocQueueForm.DEFAULTS))
    if not form.is_valid():
        return render(request, "staff/reporting/moc.html", {"form": form}, status=400)
    view, within = form.cleaned_data["view"], form.cleaned_data["within"]
    today = provider_today()
    page = Paginator(moc_queue(view=view, today=today, within_days=within), QUEUE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "staff/reporting/moc.html",
        {
            "form": form,
            "view": view,
            "within": within,
            "page": page,
            "items": moc_queue_items(page.object_list, today=today),
            "counts": moc_queue_counts(today=today),
            "today": today,
        },
    )


@reports_required
def moc_outcome(request, pk):
    record = moc_record(pk=pk)
    if request.method != "POST":
        initial = {"outcome": record.outcome, "reason": record.outcome_reason}
        return render(request, "staff/reporting/moc_outcome.html", {"record": record, "form": MocOutcomeForm(initial=initial)})
    form = MocOutcomeForm(request.POST)
    if not form.is_valid():
        return render(request, "staff/reporting/moc_outcome.html", {"record": record, "form": form}, status=400)
    outcome = form.cleaned_data["outcome"]
    changed = moc_outcome_record(record=record, outcome=outcome, reason=form.cleaned_data["reason"], actor=request.user)
    learner = record.certificate.learner_name
    messages.success(
        request,
        f"Recorded: the board {outcome} {learner}'s MOC points." if changed else "Nothing changed: that was already recorded.",
    )
    return redirect(reverse("staff:reporting_moc") + f"?view={outcome}")
