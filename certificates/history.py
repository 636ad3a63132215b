"""The field-level history (django-auditlog) of certificates, written by the services.

Auditlog's own save hook reads the row again before every save to find what changed. The
services already hold the row, locked, as it was: they save with the hook off and record
the difference from that copy, so a change costs one insert here and no extra read. The
actor is passed in, as a worker or a command has no request to take it from. A render
records no entry (certificates.issuing): its version and its event say what it did.
"""

from auditlog.context import disable_auditlog
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry


def certificate_changes_save(*, certificate, before, update_fields, actor=None):
    """Save `update_fields` of `certificate` and record each tracked field that differs
    from `before` (the same row as read before the change)."""
    with disable_auditlog():
        certificate.save(update_fields=update_fields)
    changes = model_instance_diff(before, certificate, fields_to_check=update_fields)
    if changes:
        LogEntry.objects.log_create(
            certificate,
            action=LogEntry.Action.UPDATE,
            changes=changes,
            actor=actor,
            actor_email=actor.email if actor else None,
        )
