from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string

from courses.cache import cache_key, shared_page
from courses.selectors import activity_for_learner, learner_credit_offers
from courses.serving import presigned_redirect

from .cache import verify_version_key
from .forms import ClaimForm
from .models import Certificate, certificate_number_normalise
from .rules import credit_gate
from .selectors import certificate_to_verify
from .services import ClaimRefused, certificate_claim

NOT_FOUND = "No certificate has this number. Check it against the certificate and try again."


@login_required
def claim(request, slug):
    activity = activity_for_learner(slug=slug, user=request.user, page=False)
    gate = credit_gate(user=request.user, activity=activity)
    if gate.certificate is not None:
        return redirect(gate.certificate)
    offers = learner_credit_offers(activity=activity, user=request.user)
    form = ClaimForm(
        request.POST if request.method == "POST" else None,
        activity=activity,
        offers=offers,
        learner=request.user,
    )
    if form.is_valid():
        try:
            certificate = certificate_claim(
                user=request.user,
                activity=activity,
                attested=form.cleaned_data["attest"],
                gate=gate,
                offers=offers,
                **form.claim(),
            )
        except ClaimRefused as refusal:
            for field, reason in refusal.problems:
                form.add_error(field if field in form.fields else None, reason)
        else:
            # The certificate page says whether the PDF is still being prepared: with an
            # eager worker it is issued before that page renders, so this must not say so.
            messages.success(request, "Your claim is recorded.")
            return redirect(certificate)
    return render(
        request,
        "certificates/claim.html",
        {"activity": activity, "gate": gate, "form": form},
    )


def _own_certificate(request, number):
    certificate = get_object_or_404(Certificate.objects.select_related("activity"), number=number)
    if certificate.user_id != request.user.pk and not request.user.is_staff:
        raise Http404("No such certificate.")
    return certificate


@login_required
def detail(request, number):
    certificate = _own_certificate(request, number)
    return render(request, "certificates/detail.html", {"certificate": certificate})


@login_required
def status(request, number):
    certificate = _own_certificate(request, number)
    # The waiting page swaps this in place of its status region: no reload, so the
    # live region announces it and a screen reader is not thrown back to the top.
    html = render_to_string("certificates/_status.html", {"certificate": certificate}, request=request)
    return JsonResponse({"state": certificate.state, "ready": certificate.is_ready, "html": html})


@login_required
def pdf(request, number):
    certificate = _own_certificate(request, number)
    if not certificate.is_ready:
        raise Http404("This certificate is still being prepared.")
    filename = f"certificate-{certificate.number}.pdf"
    redirect_to_storage = presigned_redirect(
        certificate.pdf, content_type="application/pdf", filename=filename
    )
    if redirect_to_storage is not None:
        return redirect_to_storage
    return FileResponse(
        certificate.pdf.open("rb"), content_type="application/pdf", as_attachment=True, filename=filename
    )


def verify_form(request):
    """The public form where a licensing board types the number on a paper certificate."""
    typed = request.GET.get("number")
    if typed is None:
        return _verify_form_page(request)
    if not typed.strip():
        return _verify_form_page(request, error="Type the certificate number printed on the certificate.")
    certificate = certificate_to_verify(number=certificate_number_normalise(typed))
    if certificate is None:
        return _verify_form_page(request, number=typed, error=NOT_FOUND, status=404)
    return redirect("certificates:verify", number=certificate.number)


def verify(request, number):
    canonical = certificate_number_normalise(number)
    if canonical and canonical != number:
        return redirect("certificates:verify", number=canonical)
    # Boards check the same certificates again and again: the page is shared until the
    # certificate changes (certificates.cache).
    return shared_page(
        request,
        key=cache_key("verify-page", number),
        version_key=verify_version_key(number=number),
        render=lambda: _verify_page(request, number),
    )


def _verify_page(request, number):
    certificate = certificate_to_verify(number=number)
    if certificate is None:
        return _verify_form_page(request, number=number, error=NOT_FOUND, status=404)
    return render(request, "certificates/verify.html", {"certificate": certificate})


def _verify_form_page(request, *, number="", error="", status=200):
    return render(
        request, "certificates/verify_form.html", {"number": number, "error": error}, status=status
    )
