"""Which records keep a field-level history (django-auditlog), and of which fields:
registered when the project starts (lms.apps). The staff audit page reads it
(lms.history)."""

from auditlog.registry import auditlog
from django.apps import apps

# Each model with the fields left out: those that change by themselves (timestamps, the
# search index, the certificate's delivery bookkeeping) and the password hash. The
# certificate services write their entries themselves (certificates.history), one insert
# and no read per change; a render writes none, as its version and event record it.
AUDITED = [
    ("lms.User", ["password", "last_login"]),
    ("courses.Provider", []),
    ("courses.Activity", ["search_vector", "created_at", "updated_at"]),
    ("courses.ActivityCredit", []),
    ("quizzes.PostTest", []),
    ("quizzes.Question", []),
    ("quizzes.Choice", []),
    (
        "certificates.Certificate",
        ["pdf", "state_changed_at", "last_error", "queue_error", "emailed_at", "email_sending_since"],
    ),
]


def audited_models_register():
    for label, left_out in AUDITED:
        model = apps.get_model(label)
        # The model's own columns, named: by default auditlog also reads every reverse
        # relation of a row it sees created, and reading a missing one-to-one (an
        # activity's evaluation) leaves the instance believing it has none.
        fields = [
            field.name
            for field in model._meta.concrete_fields
            if not field.primary_key and field.name not in left_out
        ]
        auditlog.register(model, include_fields=fields)
