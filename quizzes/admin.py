from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from courses.admin import LockedFieldsMixin, LockedInlineMixin, LockedSaveMessageMixin

from .guards import CHOICE_LOCKED_FIELDS, POSTTEST_LOCKED_FIELDS, QUESTION_LOCKED_FIELDS
from .models import (
    Choice,
    Evaluation,
    EvaluationQuestion,
    PostTest,
    Question,
)
from .rules import choices_problem, posttest_problems
from .services import evaluation_default, evaluation_questions_copy


def _html_list(items):
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((item,) for item in items)))


# The settings staff edit, here and inline on the activity (lms/admin.py).
POSTTEST_SETTINGS = [
    "pass_percent",
    "max_attempts",
    "minutes_between_attempts",
    "shuffle_questions",
    "shuffle_choices",
    "review_after_fail",
    "review_after_pass",
]


class QuestionInline(LockedInlineMixin, admin.StackedInline):
    model = Question
    locked_fields = QUESTION_LOCKED_FIELDS
    extra = 0
    show_change_link = True
    fields = ["order", "text", "multiple", "explanation", "choices_summary"]
    readonly_fields = ["choices_summary"]

    def activity_of(self, posttest):
        return posttest.activity

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                choice_count=Count("choices"),
                correct_count=Count("choices", filter=Q(choices__is_correct=True)),
            )
        )

    @admin.display(description="Choices")
    def choices_summary(self, question):
        if question.pk is None:
            return "Save, then open the question to add its choices."
        return f"{question.choice_count} choices, {question.correct_count} marked correct."


@admin.register(PostTest)
class PostTestAdmin(LockedSaveMessageMixin, LockedFieldsMixin, admin.ModelAdmin):
    list_display = [
        "activity",
        "pass_percent",
        "max_attempts",
        "review_after_fail",
        "review_after_pass",
        "question_count",
    ]
    list_select_related = ["activity"]
    search_fields = ["activity__title", "activity__slug"]
    autocomplete_fields = ["activity"]
    fields = ["activity", *POSTTEST_SETTINGS, "problems"]
    readonly_fields = ["problems"]
    inlines = [QuestionInline]
    locked_fields = ["activity", *POSTTEST_LOCKED_FIELDS]

    def activity_of(self, posttest):
        return posttest.activity

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(questions_total=Count("questions"))

    @admin.display(description="Questions", ordering="questions_total")
    def question_count(self, posttest):
        return posttest.questions_total

    @admin.display(description="Before publishing")
    def problems(self, posttest):
        if posttest.pk is None:
            return "Save the post-test, then add its questions."
        problems = posttest_problems(activity=posttest.activity)
        return _html_list(problems) if problems else "Ready: every question has its choices and answer key."


class ChoiceFormSet(BaseInlineFormSet):
    """Checks the choices as a whole: the answer key must make a fair question."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        # A locked choice's text and answer key are read-only, so not in the form.
        rows = [
            (
                form.cleaned_data.get("text", form.instance.text),
                form.cleaned_data.get("is_correct", form.instance.is_correct),
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        problem = choices_problem(rows, multiple=self.instance.multiple)
        if problem:
            raise ValidationError(problem)


class ChoiceInline(LockedInlineMixin, admin.TabularInline):
    model = Choice
    locked_fields = CHOICE_LOCKED_FIELDS
    formset = ChoiceFormSet
    fields = ["order", "text", "is_correct"]
    extra = 2

    def activity_of(self, question):
        return question.posttest.activity


@admin.register(Question)
class QuestionAdmin(LockedSaveMessageMixin, LockedFieldsMixin, admin.ModelAdmin):
    list_display = ["text", "posttest", "multiple"]
    list_select_related = ["posttest__activity"]
    list_filter = ["multiple"]
    search_fields = ["text", "posttest__activity__title"]
    autocomplete_fields = ["posttest"]
    fields = ["posttest", "order", "text", "multiple", "explanation"]
    inlines = [ChoiceInline]
    locked_fields = ["posttest", *QUESTION_LOCKED_FIELDS]

    def activity_of(self, question):
        return question.posttest.activity

    def _back_to_posttest(self, request, question, response):
        # A post-test is written question after question: after a plain save, staff go back
        # to their post-test, not to the list of every activity's questions.
        if any(key in request.POST for key in ("_continue", "_addanother", "_saveasnew")):
            return response
        return HttpResponseRedirect(reverse("admin:quizzes_posttest_change", args=[question.posttest_id]))

    def response_add(self, request, obj, post_url_continue=None):
        return self._back_to_posttest(request, obj, super().response_add(request, obj, post_url_continue))

    def response_change(self, request, obj):
        return self._back_to_posttest(request, obj, super().response_change(request, obj))


class EvaluationQuestionInline(admin.TabularInline):
    model = EvaluationQuestion
    fields = ["order", "text", "kind", "required"]
    extra = 0


class EvaluationAdminForm(forms.ModelForm):
    start_from_default = forms.BooleanField(
        required=False,
        initial=True,
        label="Start from the default form",
        help_text="Copy the default form's questions when you add none below.",
    )

    class Meta:
        model = Evaluation
        fields = ["activity", "is_default"]


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    form = EvaluationAdminForm
    list_display = ["__str__", "is_default", "question_count"]
    list_select_related = ["activity"]
    search_fields = ["activity__title", "activity__slug"]
    autocomplete_fields = ["activity"]
    inlines = [EvaluationQuestionInline]

    def get_fields(self, request, obj=None):
        return ["activity", "is_default"] + ([] if obj else ["start_from_default"])

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(questions_total=Count("questions"))

    @admin.display(description="Questions", ordering="questions_total")
    def question_count(self, evaluation):
        return evaluation.questions_total

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        evaluation = form.instance
        if (
            not change
            and form.cleaned_data.get("start_from_default")
            and not evaluation.is_default
            and not evaluation.questions.exists()
        ):
            evaluation_questions_copy(source=evaluation_default(), target=evaluation)
