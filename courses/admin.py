from django.contrib import admin

from .models import (
    Activity,
    FacultyRole,
    LearningObjective,
    Participation,
    Person,
    Provider,
    Recording,
    Resource,
    Series,
)


class LearningObjectiveInline(admin.TabularInline):
    model = LearningObjective
    extra = 1


class FacultyRoleInline(admin.StackedInline):
    model = FacultyRole
    extra = 0
    autocomplete_fields = ["person"]


class ResourceInline(admin.TabularInline):
    model = Resource
    extra = 0


class RecordingInline(admin.StackedInline):
    model = Recording
    fields = [
        "video",
        "url",
        "duration_seconds",
        "required_viewing_percent",
        "captions",
        "captions_url",
        "transcript",
    ]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["title", "series", "status", "release_date", "termination_date", "credits"]
    list_filter = ["status", "series"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [LearningObjectiveInline, FacultyRoleInline, RecordingInline, ResourceInline]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    search_fields = ["name", "affiliation"]
    list_display = ["name", "degrees"]


@admin.register(Participation)
class ParticipationAdmin(admin.ModelAdmin):
    list_display = ["user", "activity", "started_at", "recording_completed_at"]
    list_select_related = ["user", "activity"]
    search_fields = ["user__email", "activity__title"]
    raw_id_fields = ["user", "activity"]

    def get_readonly_fields(self, request, obj=None):
        # Viewing progress is evidence for credit: recorded by the player, never typed in.
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


admin.site.register(Provider)
admin.site.register(Series)
