from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from courses.views import page_activity

from .models import Certificate, credit_gate
from .services import ClaimRefused, certificate_claim


@login_required
def claim(request, slug):
    activity = page_activity(request, slug)
    gate = credit_gate(user=request.user, activity=activity)
    if gate.certificate is not None:
        return redirect(gate.certificate)
    errors = []
    if request.method == "POST":
        try:
            certificate = certificate_claim(
                user=request.user,
                activity=activity,
                credits=request.POST.get("credits"),
                attested=request.POST.get("attest") == "on",
            )
        except ClaimRefused as refusal:
            errors = refusal.reasons
        else:
            messages.success(request, "Your claim is recorded. Your certificate is being prepared.")
            return redirect(certificate)
    return render(
        request,
        "certificates/claim.html",
        {
            "activity": activity,
            "gate": gate,
            "errors": errors,
            "credits": request.POST.get("credits", activity.credits_display),
            "credit_options": _credit_options(activity),
        },
    )


def _credit_options(activity):
    steps = int(activity.credits * 4)
    return [f"{step / 4:g}" for step in range(steps, 0, -1)]


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
    return JsonResponse({"state": certificate.state, "ready": certificate.is_ready})


@login_required
def pdf(request, number):
    certificate = _own_certificate(request, number)
    if not certificate.is_ready:
        raise Http404("This certificate is still being prepared.")
    return FileResponse(
        certificate.pdf.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"certificate-{certificate.number}.pdf",
    )


def verify(request, number):
    certificate = (
        Certificate.objects.filter(number=number.upper())
        .exclude(state=Certificate.State.PENDING)
        .exclude(state=Certificate.State.FAILED)
        .first()
    )
    return render(
        request,
        "certificates/verify.html",
        {"certificate": certificate, "number": number},
        status=200 if certificate else 404,
    )
