from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "certificates"

    def ready(self):
        from . import cache  # noqa: F401 (connects the verification page's receivers)
