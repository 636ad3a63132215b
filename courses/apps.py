from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"

    def ready(self):
        from . import guards  # noqa: F401 (connects the live-activity lock's receivers)
