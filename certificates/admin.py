from django.contrib import admin

from .models import Certificate


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ["number", "learner_name", "activity_title", "kind", "state", "completed_on"]
    list_filter = ["state", "kind"]
    search_fields = ["number", "learner_name", "user__email", "activity_title"]
    readonly_fields = [f.name for f in Certificate._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False
