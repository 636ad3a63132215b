"""The staff audit page (/staff/audit/, issue 17): the field-level history of learners'
records, activities with their post-tests, and certificates, newest first, filtered by
learner, activity and who made the change."""

from django.core.paginator import Paginator
from django.shortcuts import render

from .history import audit_entries, audit_rows
from .records_forms import AuditFilterForm
from .roles import reports_required

ENTRIES_PER_PAGE = 30


@reports_required
def audit_log(request):
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "staff/audit/list.html", {"form": form, "page": None}, status=400)
    page = Paginator(audit_entries(**form.cleaned_data), ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "staff/audit/list.html",
        {
            "form": form,
            "page": page,
            "rows": audit_rows(page.object_list),
            "filtered": any(request.GET.get(name) for name in form.fields),
        },
    )
