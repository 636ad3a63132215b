from django.apps import AppConfig


class LmsConfig(AppConfig):
    name = "lms"

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import checks  # noqa: F401  (registers the system checks)
        from .audited import audited_models_register
        from .database import cursor_class_set

        audited_models_register()
        connection_created.connect(cursor_class_set, dispatch_uid="lms.database.cursor_class_set")
