from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

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
    ViewingAccommodation,
)
from .rules import faculty_problems, objectives_problems

# The Activity admin itself is registered in lms/admin.py: publishing checks the
# post-test and evaluation too, and courses may not import quizzes.


def _kept_rows(formset):
    return [
        form.cleaned_data
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class PublishedActivityFormSet(BaseInlineFormSet):
    """While the activity is (or is being) published, its rows must keep it publishable."""

    def problems(self, rows):
        raise NotImplementedError

    def clean(self):
        super().clean()
        if any(self.errors) or self.instance.status != Activity.Status.PUBLISHED:
            return
        problems = self.problems(_kept_rows(self))
        if problems:
            raise ValidationError(problems)


class ObjectiveFormSet(PublishedActivityFormSet):
    def problems(self, rows):
        return objectives_problems([row["text"] for row in rows])


class FacultyFormSet(PublishedActivityFormSet):
    def problems(self, rows):
        return faculty_problems([(row["person"].name, row.get("disclosure", "")) for row in rows])


class LearningObjectiveInline(admin.TabularInline):
    model = LearningObjective
    formset = ObjectiveFormSet
    fields = ["order", "text"]
    extra = 1


class FacultyRoleInline(admin.StackedInline):
    model = FacultyRole
    formset = FacultyFormSet
    extra = 0
    autocomplete_fields = ["person"]
    fields = ["person", "role", "order", "relationships", "disclosure"]


class ResourceInline(admin.TabularInline):
    model = Resource
    fields = ["order", "title", "url"]
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
        "descriptions",
        "descriptions_url",
        "transcript",
    ]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    search_fields = ["name", "affiliation"]
    list_display = ["name", "degrees", "affiliation"]


@admin.register(Participation)
class ParticipationAdmin(admin.ModelAdmin):
    list_display = ["user", "activity", "started_at", "recording_completed_at", "completed_at"]
    list_select_related = ["user", "activity"]
    search_fields = ["user__email", "activity__title"]
    raw_id_fields = ["user", "activity"]

    def get_readonly_fields(self, request, obj=None):
        # Viewing progress is evidence for credit: recorded by the player, never typed in.
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ViewingAccommodation)
class ViewingAccommodationAdmin(admin.ModelAdmin):
    """Staff let one learner read the transcript instead of watching, saying why."""

    list_display = ["participation", "granted_by", "granted_at"]
    list_select_related = ["participation__user", "participation__activity", "granted_by"]
    search_fields = ["participation__user__email", "participation__activity__title"]
    raw_id_fields = ["participation"]
    fields = ["participation", "reason", "granted_by", "granted_at"]

    def get_readonly_fields(self, request, obj=None):
        # A grant is a record of who allowed what and why: revoke it by deleting it.
        if obj is not None:
            return self.fields
        return ["granted_by", "granted_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.granted_by = request.user
            obj.granted_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    """The provider settings: one record whose texts every activity prints unless it
    overrides them."""

    fieldsets = [
        (None, {"fields": ["name", "time_zone", "accreditation_statement"]}),
        ("Shown on every activity page", {
            "fields": ["contact_email", "hardware_requirements", "disclaimer", "privacy_url"]
        }),
        ("Certificates", {"fields": ["logo", "signature", "signer_name", "signer_title"]}),
    ]

    def has_add_permission(self, request):
        return not Provider.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    search_fields = ["title"]
