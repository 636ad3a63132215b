from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from courses.admin import (
    CommercialSupportInline,
    FacultyRoleInline,
    LearningObjectiveInline,
    LockedFieldsMixin,
    LockedInlineMixin,
    LockedSaveMessageMixin,
    RecordingInline,
    ResourceInline,
)
from courses.models import Activity, Provider, provider_today
from courses.rules import CreditWindow, activity_credit_window, credit_window_q
from quizzes.admin import POSTTEST_SETTINGS
from quizzes.guards import POSTTEST_LOCKED_FIELDS
from quizzes.models import Evaluation, PostTest
from quizzes.rules import assessment_problems

from .models import User
from .publishing import (
    activities_failing_checks,
    activity_archive,
    activity_duplicate,
    activity_duplicate_defaults,
    activity_publish,
    activity_publish_problems,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "certificate_name", "degree", "profession", "is_staff"]
    search_fields = ["email", "given_name", "family_name", "certificate_name", "npi"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Learner profile",
            {"fields": ["given_name", "family_name", "certificate_name", "degree",
                        "profession", "npi", "specialty"]},
        ),
        (
            "Board reporting",
            {"fields": ["share_with_boards", "birth_month", "birth_day", "licence_state",
                        "licence_number", "certifying_board", "board_id"]},
        ),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                                    "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


# The Activity admin lives here, not in courses/admin.py: publishing an activity checks
# its post-test and evaluation (quizzes), and courses may not import quizzes.


class CreditWindowFilter(admin.SimpleListFilter):
    title = "credit"
    parameter_name = "credit"

    def lookups(self, request, model_admin):
        return [
            (CreditWindow.NOT_YET_RELEASED, "Published, not released yet"),
            (CreditWindow.OPEN, "Credit open"),
            (CreditWindow.EXPIRED, "Credit expired"),
        ]

    def queryset(self, request, queryset):
        if self.value() in (CreditWindow.OPEN, CreditWindow.EXPIRED):
            return queryset.in_window(self.value())
        if self.value() == CreditWindow.NOT_YET_RELEASED:
            return queryset.filter(credit_window_q(self.value(), day=provider_today()))
        return queryset


def not_yet_visible_warning(activity):
    """What staff must know when a published activity is still hidden from learners
    because its release date has not come in the provider's time zone, or ""."""
    if activity_credit_window(activity) != CreditWindow.NOT_YET_RELEASED:
        return ""
    provider = Provider.current()
    return (
        f"“{activity.title}” is published, but learners will not see it until its release "
        f"date, {date_format(activity.release_date, 'F j, Y')}: today is "
        f"{date_format(provider_today(), 'F j, Y')} in the provider's time "
        f"zone ({provider.time_zone})."
    )


class PostTestInlineForm(forms.ModelForm):
    def has_changed(self):
        # Django skips an extra inline left at its defaults, and the defaults (75%, unlimited
        # retakes) are what most activities want: the post-test staff saw would be lost.
        return self.instance.pk is None or super().has_changed()


class PostTestInline(LockedInlineMixin, admin.StackedInline):
    model = PostTest
    form = PostTestInlineForm
    locked_fields = POSTTEST_LOCKED_FIELDS
    fields = [*POSTTEST_SETTINGS, "questions_link"]
    readonly_fields = ["questions_link"]
    verbose_name = "post-test"

    @admin.display(description="Questions")
    def questions_link(self, posttest):
        # Questions hold choices, and the admin cannot nest inlines: they are edited on
        # the post-test's own page.
        if posttest.pk is None:
            return "Save, then add the questions and their choices on the post-test page."
        return format_html(
            '{} question(s). <a href="{}">Edit the questions and choices</a>',
            posttest.questions.count(),
            reverse("admin:quizzes_posttest_change", args=[posttest.pk]),
        )


class ActivityAdminForm(forms.ModelForm):
    class Meta:
        model = Activity
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") == Activity.Status.PUBLISHED:
            # Objectives and faculty are checked by their inlines (courses/admin.py); the
            # post-test and evaluation, edited on their own pages, are checked here.
            if self.instance.pk is None:
                self.add_error(
                    "status", "Save the activity as a draft first, then add its post-test and evaluation."
                )
            else:
                for problem in assessment_problems(activity=self.instance):
                    self.add_error("status", problem)
        return cleaned


class FlaggedChangeList(ChangeList):
    """The activity list, its page's published activities that no longer pass the
    publishing checks found in one go (lms.publishing.activities_failing_checks)."""

    def get_results(self, request):
        super().get_results(request)
        failing = activities_failing_checks(activities=self.result_list)
        for activity in self.result_list:
            activity.failing_checks = failing.get(activity.pk, [])


@admin.register(Activity)
class ActivityAdmin(LockedSaveMessageMixin, LockedFieldsMixin, admin.ModelAdmin):
    form = ActivityAdminForm
    list_display = [
        "title", "series", "status", "release_date", "termination_date", "credits", "preview",
        "checks",
    ]
    locked_fields = ["requires_full_viewing"]
    list_select_related = ["series"]
    list_filter = ["status", CreditWindowFilter, "series"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "release_date"
    actions = ["publish", "archive", "duplicate"]
    readonly_fields = ["preview", "evaluation_link", "publish_problems", "visibility"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "accme_activity_id", "series", "status", "visibility",
                           "preview", "publish_problems"]}),
        ("Dates", {
            "fields": ["recorded_on", "release_date", "reviewed_on", "termination_date"],
            "description": "Calendar dates in the provider's time zone. Credit ends at the end "
            "of the termination date, at most 3 years after the most recent review (or the release).",
        }),
        ("Credit and content", {
            "fields": ["credits", "estimated_minutes", "description", "target_audience",
                       "requires_full_viewing", "evaluation_link"],
        }),
        ("Joint providership", {
            "fields": ["joint_providers", "joint_providership_statement"],
        }),
        ("Reporting to PARS", {"fields": ["outcome_measures"]}),
        ("Overrides of the provider's texts (blank = the provider's)", {
            "classes": ["collapse"],
            "fields": ["accreditation_statement", "hardware_requirements", "contact_email",
                       "disclaimer", "privacy_url"],
        }),
    ]
    inlines = [LearningObjectiveInline, FacultyRoleInline, CommercialSupportInline, ResourceInline,
               RecordingInline, PostTestInline]

    def get_changelist(self, request, **kwargs):
        return FlaggedChangeList

    @admin.display(description="Publishing checks")
    def checks(self, activity):
        problems = getattr(activity, "failing_checks", [])
        if not problems:
            return ""
        return format_html("Fails publishing checks: {}", " ".join(problems))

    @admin.display(description="Learner page")
    def preview(self, activity):
        if activity.pk is None:
            return "Save to preview."
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">Preview the learner page</a>',
            activity.get_absolute_url(),
        )

    @admin.display(description="Visible to learners")
    def visibility(self, activity):
        if activity.pk is None or activity.status != Activity.Status.PUBLISHED:
            return "No: only published activities are shown to learners."
        return not_yet_visible_warning(activity) or "Yes, in the catalog and at its address."

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        warning = not_yet_visible_warning(obj)
        if warning:
            self.message_user(request, warning, messages.WARNING)

    @admin.display(description="Evaluation")
    def evaluation_link(self, activity):
        if activity.pk is None:
            return "Save, then add the evaluation."
        evaluation = Evaluation.objects.filter(activity=activity).first()
        if evaluation is None:
            return format_html(
                '<a href="{}?activity={}">Add the evaluation</a> (it starts from the default form).',
                reverse("admin:quizzes_evaluation_add"),
                activity.pk,
            )
        return format_html(
            '{} item(s). <a href="{}">Edit the evaluation items</a>',
            evaluation.questions.count(),
            reverse("admin:quizzes_evaluation_change", args=[evaluation.pk]),
        )

    @admin.display(description="Before publishing")
    def publish_problems(self, activity):
        if activity.pk is None:
            return "Save as a draft, then add the post-test and evaluation."
        problems = activity_publish_problems(activity=activity)
        if not problems:
            return "Ready to publish."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((p,) for p in problems)))

    @admin.action(description="Publish the selected activities")
    def publish(self, request, queryset):
        for activity in queryset:
            problems = activity_publish(activity=activity)
            if problems:
                self.message_user(
                    request,
                    format_html(
                        "“{}” was not published: {}",
                        activity.title,
                        format_html_join(" ", "{}", ((p,) for p in problems)),
                    ),
                    messages.ERROR,
                )
            else:
                self.message_user(request, f"Published “{activity.title}”.", messages.SUCCESS)
                warning = not_yet_visible_warning(activity)
                if warning:
                    self.message_user(request, warning, messages.WARNING)

    @admin.action(description="Archive the selected activities (certificates stay valid)")
    def archive(self, request, queryset):
        for activity in queryset:
            activity_archive(activity=activity)
        self.message_user(request, f"Archived {queryset.count()} activities.", messages.SUCCESS)

    @admin.action(description="Duplicate for a new run (as a draft)")
    def duplicate(self, request, queryset):
        for activity in queryset:
            copy = activity_duplicate(activity=activity, **activity_duplicate_defaults(activity=activity))
            self.message_user(
                request,
                format_html(
                    'Copied “{}” as <a href="{}">{}</a>, a draft released {}: check its title '
                    "and dates, and give it the new run's ACCME activity ID.",
                    activity.title,
                    reverse("admin:courses_activity_change", args=[copy.pk]),
                    copy.slug,
                    copy.release_date.isoformat(),
                ),
                messages.SUCCESS,
            )
