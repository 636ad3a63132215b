from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"

    def ready(self):
        from . import guards  # noqa: F401 (connects the live-activity lock's receivers)
        from . import cache, search  # noqa: F401 (connect the cache's and the search vector's receivers)
