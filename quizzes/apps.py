from django.apps import AppConfig


class QuizzesConfig(AppConfig):
    name = "quizzes"

    def ready(self):
        from courses.hooks import pass_mark_lookup_register

        from .rules import activity_pass_mark

        pass_mark_lookup_register(lookup=activity_pass_mark, select_related=["posttest"])
        from . import guards  # noqa: F401 (connects the live-activity lock's receivers)
