from django.apps import AppConfig


class LmsConfig(AppConfig):
    name = "lms"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .audited import audited_models_register

        audited_models_register()
