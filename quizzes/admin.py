from django.contrib import admin

from .models import Choice, Evaluation, EvaluationQuestion, PostTest, Question


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0
    show_change_link = True


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 2


@admin.register(PostTest)
class PostTestAdmin(admin.ModelAdmin):
    list_display = ["activity", "pass_percent", "max_attempts"]
    inlines = [QuestionInline]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "posttest"]
    inlines = [ChoiceInline]


class EvaluationQuestionInline(admin.TabularInline):
    model = EvaluationQuestion
    extra = 0


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    inlines = [EvaluationQuestionInline]
