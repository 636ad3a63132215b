from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from .models import Certificate, CertificateEvent
from .services import certificates_requeue


class CertificateEventInline(admin.TabularInline):
    model = CertificateEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "action", "actor", "note"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ["number", "learner_name", "activity_title", "kind", "state", "completed_on", "problem"]
    list_filter = ["state", "kind", "activity"]
    list_select_related = ["activity"]
    search_fields = ["number", "learner_name", "user__email", "activity_title"]
    readonly_fields = ["records", *("pdf_file" if f.name == "pdf" else f.name for f in Certificate._meta.fields)]
    # Shown as pdf_file: the form must not offer the field itself, with its storage URL.
    exclude = ["pdf"]
    inlines = [CertificateEventInline]
    # Re-issuing, revoking and reinstating ask for a confirmation and a reason, on the
    # staff workspace's certificate page (/staff/certificates/<number>/), not here.
    actions = ["rerun"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Problem")
    def problem(self, certificate):
        """Why a certificate is not issued yet: the rendering error, or the broker's."""
        return certificate.last_error or certificate.queue_error

    @admin.display(description="Versions and changes")
    def records(self, certificate):
        return format_html(
            '<a href="{}">Versions, re-issue, revoke or reinstate</a>',
            reverse("staff:certificate_detail", args=[certificate.number]),
        )

    @admin.display(description="PDF")
    def pdf_file(self, certificate):
        """The stored PDF, linking to the certificate's download view (which lets staff in),
        not to the storage's URL: no route serves /media/, and on object storage that is a
        presigned URL handed out without the view's check."""
        if not certificate.pdf:
            return self.get_empty_value_display()
        if not certificate.is_ready:
            # The view serves an issued certificate's PDF only.
            return certificate.pdf.name
        return format_html(
            '<a href="{}">{}</a>', reverse("certificates:pdf", args=[certificate.number]), certificate.pdf.name
        )

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Run rendering again for failed or stuck certificates")
    def rerun(self, request, queryset):
        count = certificates_requeue(certificates=queryset, actor=request.user, note="Re-run from the admin.")
        self.message_user(request, f"{count} certificate(s) queued again.")
