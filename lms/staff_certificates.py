"""The staff workspace's certificate pages (SPEC §4 and §5, issue 17): find a certificate,
read its record (what it certifies, its versions, its history), download any version's
PDF, and re-issue, revoke or reinstate it. Each change has a confirmation page whose GET
only shows what will happen; the POST needs a reason, kept with the record."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from certificates.models import Certificate
from certificates.selectors import certificate_record, certificate_version_of, certificates_for_staff
from certificates.services import certificate_reinstate, certificate_reissue, certificate_revoke
from courses.serving import presigned_redirect

from .records_forms import CertificateSearchForm, ReasonForm
from .roles import certificates_change_required, certificates_view_required

CERTIFICATES_PER_PAGE = 25


@certificates_view_required
def certificate_list(request):
    form = CertificateSearchForm(request.GET)
    if not form.is_valid():
        return render(request, "staff/certificates/list.html", {"form": form, "page": None}, status=400)
    search = form.cleaned_data
    paginator = Paginator(certificates_for_staff(query=search["q"], state=search["state"]), CERTIFICATES_PER_PAGE)
    return render(
        request,
        "staff/certificates/list.html",
        {
            "form": form,
            "page": paginator.get_page(request.GET.get("page")),
            "searched": any(search.values()),
        },
    )


@certificates_view_required
def certificate_detail(request, number):
    certificate = certificate_record(number=number)
    if certificate is None:
        raise Http404("No certificate has this number.")
    return render(request, "staff/certificates/detail.html", {"certificate": certificate})


@certificates_view_required
def certificate_version_pdf(request, number, sequence):
    version = certificate_version_of(number=number, sequence=sequence)
    if version is None:
        raise Http404("This certificate has no such version.")
    filename = f"certificate-{number}-version-{sequence}.pdf"
    redirect_to_storage = presigned_redirect(version.pdf, content_type="application/pdf", filename=filename)
    if redirect_to_storage is not None:
        return redirect_to_storage
    return FileResponse(
        version.pdf.open("rb"), content_type="application/pdf", as_attachment=True, filename=filename
    )


@dataclass(frozen=True)
class Change:
    template: str
    service: object
    done: str  # the message after it, formatted with the certificate


REISSUE = Change(
    template="staff/certificates/reissue.html",
    service=certificate_reissue,
    done="Certificate {certificate.number} is being re-issued for {certificate.learner_name}; "
    "its earlier PDFs are kept.",
)
REVOKE = Change(
    template="staff/certificates/revoke.html",
    service=certificate_revoke,
    done="Certificate {certificate.number} is revoked.",
)
REINSTATE = Change(
    template="staff/certificates/reinstate.html",
    service=certificate_reinstate,
    done="Certificate {certificate.number} is reinstated: {state}.",
)


def _confirm(request, number, change):
    certificate = get_object_or_404(Certificate.objects.select_related("user"), number=number)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            certificate = change.service(
                certificate=certificate, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValueError as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(
                request,
                change.done.format(certificate=certificate, state=certificate.get_state_display().lower()),
            )
            return redirect("staff:certificate_detail", number=certificate.number)
    return render(
        request,
        change.template,
        {"certificate": certificate, "form": form},
        status=400 if form.errors else 200,
    )


@certificates_change_required
@require_http_methods(["GET", "POST"])
def certificate_reissue_confirm(request, number):
    return _confirm(request, number, REISSUE)


@certificates_change_required
@require_http_methods(["GET", "POST"])
def certificate_revoke_confirm(request, number):
    return _confirm(request, number, REVOKE)


@certificates_change_required
@require_http_methods(["GET", "POST"])
def certificate_reinstate_confirm(request, number):
    return _confirm(request, number, REINSTATE)
