"""The field-level history (django-auditlog) of certificates, written by the services.

Auditlog's own save hook reads the row again before every save to find what changed. The
services already hold the row, locked, as it was: they save with the hook off and record
the difference from that copy, so a change costs one insert here and no extra read. The
actor is passed in, as a worker or a command has no request to take it from. A render
records no entry (certificates.issuing): its version and its event say what it did.
"""

from auditlog.cid import get_cid
from auditlog.context import disable_auditlog
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType


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


def certificate_claim_entry(*, certificate, actor):
    """The entry of a certificate's claim, unsaved and without the certificate's key (it
    is written with the row, certificates.services): what auditlog's own hook records for a
    created row, every tracked field from nothing, with the learner who claimed as actor
    even where no request names one (a command, a benchmark)."""
    return LogEntry(
        content_type=ContentType.objects.get_for_model(certificate),
        object_repr=str(certificate),
        action=LogEntry.Action.CREATE,
        changes=model_instance_diff(None, certificate, use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES),
        actor=actor,
        actor_email=actor.email,
        cid=get_cid(),
    )
