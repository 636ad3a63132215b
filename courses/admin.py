from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminFileWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models.fields.files import FieldFile
from django.forms.models import BaseInlineFormSet
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone

from .models import (
    Activity,
    CommercialSupport,
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

from .selectors import activity_assessment_locked

# The Activity admin itself is registered in lms/admin.py: publishing checks the
# post-test and evaluation too, and courses may not import quizzes.

LOCK_HELP = (
    "Learners have started this activity, so what decides how they are assessed or what "
    "they must watch is shown read-only and cannot be added or deleted. To change it, "
    "unpublish the activity first (learners' progress is kept), or duplicate it for a new run."
)


def assessment_locked_in_admin(activity):
    """courses.selectors.activity_assessment_locked, asked once per activity and page:
    the admin asks for every field, permission and inline."""
    if activity is None or activity.pk is None:
        return False
    if not hasattr(activity, "_assessment_locked"):
        activity._assessment_locked = activity_assessment_locked(activity=activity)
    return activity._assessment_locked


class LockedSaveMessageMixin:
    """A save or delete the live-activity lock refuses (courses.guards) comes back to the
    page it was made on as a message, not a server error; nothing of it is kept."""

    def _refused(self, request, error):
        self.message_user(request, " ".join(error.messages), messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, *args, **kwargs):
        try:
            return super().changeform_view(request, *args, **kwargs)
        except ValidationError as error:
            return self._refused(request, error)

    def delete_view(self, request, *args, **kwargs):
        try:
            return super().delete_view(request, *args, **kwargs)
        except ValidationError as error:
            return self._refused(request, error)

    def changelist_view(self, request, *args, **kwargs):
        try:
            return super().changelist_view(request, *args, **kwargs)
        except ValidationError as error:
            return self._refused(request, error)


class LockedFieldsMixin:
    """For an admin (or inline) whose `locked_fields` the live-activity lock covers: shown
    read-only, and no deleting, while the activity is locked, with LOCK_HELP saying why.
    `activity_of(obj)` names the activity of the admin's object (an inline's parent)."""

    locked_fields = ()

    def activity_of(self, obj):
        return obj

    def locked(self, obj):
        return obj is not None and assessment_locked_in_admin(self.activity_of(obj))

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if self.locked(obj):
            readonly += [name for name in self.locked_fields if name not in readonly]
        return readonly

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self.locked(obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self.locked(obj):
            return fieldsets
        (name, options), *rest = fieldsets
        return [(name, {**options, "description": LOCK_HELP}), *rest]


class LockedInlineMixin(LockedFieldsMixin):
    """An inline of rows the lock covers: no new ones either while it holds."""

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not self.locked(obj)


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
        return faculty_problems([row["person"].name for row in rows])


class StoredFileLink:
    """A stored file as the admin's upload field shows it: its name, linking to `url`."""

    def __init__(self, name, url):
        self.name = name
        self.url = url

    def __str__(self):
        return self.name


class CheckedFileWidget(AdminFileWidget):
    """The admin's upload field, whose "Currently:" link goes to a view that checks who may
    see the file (`url_of(stored_file)` names it). The storage's own URL will not do: no
    route serves /media/, and on object storage it is a presigned URL, handed to whoever
    opens the form without that check."""

    def __init__(self, *, url_of, attrs=None):
        super().__init__(attrs)
        self.url_of = url_of

    def is_initial(self, value):
        # The stored file rather than a new upload, told apart without asking the storage
        # for a URL (on S3 that would sign one).
        return isinstance(value, FieldFile) and bool(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if context["widget"]["is_initial"]:
            context["widget"]["value"] = StoredFileLink(value.name, self.url_of(value))
        return context


def recording_file_url(stored):
    # video_src, captions_src or descriptions_src: the recording_file view, which lets
    # staff in, with the version that keeps a browser from showing a replaced file.
    return getattr(stored.instance, f"{stored.field.name}_src")


def provider_image_url(stored):
    return reverse("admin:courses_provider_image", args=[stored.instance.pk, stored.field.name])


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


class CommercialSupportInline(admin.TabularInline):
    """No rows: learners are told the activity received no commercial support."""

    model = CommercialSupport
    fields = ["order", "supporter", "kind", "amount", "description"]
    extra = 0


class ResourceInline(admin.TabularInline):
    model = Resource
    fields = ["order", "title", "url"]
    extra = 0


class RecordingInline(LockedInlineMixin, admin.StackedInline):
    model = Recording
    locked_fields = ["video", "url", "duration_seconds", "required_viewing_percent"]
    formfield_overrides = {models.FileField: {"widget": CheckedFileWidget(url_of=recording_file_url)}}
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
        (None, {"fields": ["name", "accme_provider_id", "time_zone", "accreditation_statement"]}),
        ("Shown on every activity page", {
            "fields": ["contact_email", "hardware_requirements", "disclaimer", "privacy_url"]
        }),
        ("Certificates", {"fields": ["logo", "signature", "signer_name", "signer_title"]}),
    ]
    formfield_overrides = {models.ImageField: {"widget": CheckedFileWidget(url_of=provider_image_url)}}
    images = ("logo", "signature")

    def get_urls(self):
        # Ahead of the admin's own, whose "<object_id>/" would take this path too.
        image = path(
            "<path:object_id>/image/<str:field>/",
            self.admin_site.admin_view(self.image_view),
            name="courses_provider_image",
        )
        return [image, *super().get_urls()]

    def image_view(self, request, object_id, field):
        """The stored logo or signature, for staff who may view the provider settings. Sent
        from here rather than by a presigned URL: it is small, and the admin's pages take
        images from this site alone."""
        provider = self.get_object(request, object_id)
        if provider is None or field not in self.images:
            raise Http404("No such image.")
        if not self.has_view_permission(request, provider):
            raise PermissionDenied
        image = getattr(provider, field)
        if not image:
            raise Http404("No image is stored here.")
        try:
            stored = image.open("rb")
        except OSError:
            raise Http404("This image is missing from storage.") from None
        # FileResponse names the type from the file's name (ImageField takes images only).
        response = FileResponse(stored)
        response["Cache-Control"] = "private, no-cache"
        return response

    def has_add_permission(self, request):
        return not Provider.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    search_fields = ["title"]
