from django.apps import AppConfig


class QuizzesConfig(AppConfig):
    name = "quizzes"

    def ready(self):
        from courses.hooks import pass_mark_lookup_register

        from .rules import activity_pass_mark

        pass_mark_lookup_register(lookup=activity_pass_mark, select_related=["posttest"])
        from . import guards  # noqa: F401 (connects the live-activity lock's receivers)
        from django.db.models.signals import post_delete, post_save

        from courses.cache import catalog_changed

        from .models import PostTest

        # Activity pages print the post-test's pass mark and review settings.
        post_save.connect(catalog_changed, sender=PostTest, dispatch_uid="catalog_posttest_saved")
        post_delete.connect(catalog_changed, sender=PostTest, dispatch_uid="catalog_posttest_deleted")
