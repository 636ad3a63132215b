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


admin.site.register(Provider)
admin.site.register(Series)
