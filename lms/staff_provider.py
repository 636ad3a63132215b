"""The provider settings in the staff workspace (/staff/provider/): the name, ACCME
provider ID, statements, time zone and certificate signature that every activity and
certificate prints. Coordinators keep them current without the Django admin, which stays
for superusers. Certificates already issued froze what they printed and do not change."""

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from courses.models import Provider

from .roles import authoring_required

IMAGES = ("logo", "signature")

GROUPS = [
    ("The provider", ["name", "accme_provider_id", "time_zone", "accreditation_statement"]),
    ("Shown on every activity page", ["contact_email", "hardware_requirements", "disclaimer", "privacy_url"]),
    ("Printed on certificates", ["logo", "signature", "signer_name", "signer_title"]),
]


class ProviderForm(forms.ModelForm):
    required_css_class = "required"

    class Meta:
        model = Provider
        fields = [name for _, names in GROUPS for name in names]
        help_texts = {
            "accreditation_statement": "Leave blank for the standard ACCME statement with the provider's name.",
            "time_zone": "An IANA time zone such as America/New_York: every date and time on the site, "
            "the PDFs and the e-mails is in it, and termination dates end at its midnight.",
        }
        widgets = {
            "logo": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
            "signature": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
        }

    def groups(self):
        return [(legend, [self[name] for name in names]) for legend, names in GROUPS]


@authoring_required
@require_http_methods(["GET", "POST"])
def provider_settings(request):
    provider = Provider.current()
    form = ProviderForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        instance=provider,
    )
    if form.is_valid():
        form.save()
        messages.success(request, "The provider settings are saved. Certificates issued before keep what they printed.")
        return redirect("staff:provider")
    status = 400 if request.method == "POST" else 200
    return render(request, "staff/provider/settings.html", {"form": form, "provider": provider}, status=status)


@authoring_required
def provider_image(request, field):
    """The stored logo or signature, for coordinators looking at the settings."""
    provider = Provider.current()
    if field not in IMAGES or provider.pk is None or not getattr(provider, field):
        raise Http404("No image is stored here.")
    try:
        stored = getattr(provider, field).open("rb")
    except OSError:
        raise Http404("This image is missing from storage.") from None
    response = FileResponse(stored)
    response["Cache-Control"] = "private, no-cache"
    return response
