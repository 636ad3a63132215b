"""Reads of the field-level history (django-auditlog, registered in settings) for the staff
audit page: the entries about a learner, an activity or by an actor, and each change in
words, in the provider's time zone."""

import datetime
from dataclasses import dataclass, field

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone

from certificates.models import Certificate
from quizzes.models import Choice, PostTest, Question

ACTION_LABELS = {
    LogEntry.Action.CREATE: "Created",
    LogEntry.Action.UPDATE: "Changed",
    LogEntry.Action.DELETE: "Deleted",
    LogEntry.Action.ACCESS: "Opened",
}


@dataclass
class FieldChange:
    """A field's value before and after; None where the entry has no such side (a
    creation has no before, a deletion no after)."""

    label: str
    before: str | None
    after: str | None


@dataclass
class AuditRow:
    entry: LogEntry
    kind: str
    action: str
    url: str = ""
    changes: list = field(default_factory=list)


def audit_entries(*, learner=None, activity=None, actor=None):
    """Log entries newest first, with their actor: about `learner` (their own record and
    their certificates), about `activity` (with its post-test, questions and choices), by
    `actor`; any of them may be None. A few queries, whatever the history's length."""
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")
    if learner is not None:
        entries = entries.filter(_about_learner(learner))
    if activity is not None:
        entries = entries.filter(_about_activity(activity))
    if actor is not None:
        entries = entries.filter(actor=actor)
    return entries


def _of(model, ids):
    return Q(content_type=ContentType.objects.get_for_model(model), object_id__in=ids)


def _about_learner(user):
    return _of(get_user_model(), [user.pk]) | _of(Certificate, Certificate.objects.filter(user=user).values("pk"))


def _about_activity(activity):
    posttests = _children(PostTest, "activity", [activity.pk])
    questions = _children(Question, "posttest", posttests)
    choices = _children(Choice, "question", questions)
    return (
        _of(type(activity), [activity.pk])
        | _of(PostTest, posttests)
        | _of(Question, questions)
        | _of(Choice, choices)
    )


def _children(model, parent_field, parent_ids):
    """The ids of `model` rows under `parent_ids`: those there now, and those deleted
    since, found by the parent their creation recorded (["None", "<id>"])."""
    parent_ids = list(parent_ids)
    current = model.objects.filter(**{f"{parent_field}_id__in": parent_ids}).values_list("pk", flat=True)
    created = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model),
        action=LogEntry.Action.CREATE,
        **{f"changes__{parent_field}__1__in": [str(pk) for pk in parent_ids]},
    ).values_list("object_id", flat=True)
    return set(current) | set(created)


def audit_rows(entries):
    """Each entry with what it is about and each field's change, worded for staff."""
    return [_row(entry) for entry in entries]


def _row(entry):
    model = entry.content_type.model_class()
    row = AuditRow(
        entry=entry,
        kind=(model._meta.verbose_name if model else entry.content_type.model).capitalize(),
        action=ACTION_LABELS.get(entry.action, ""),
    )
    if model is Certificate:
        row.url = reverse("staff:certificate_detail", args=[entry.object_repr])
    for name, (old, new) in entry.changes_dict.items():
        model_field = _field(model, name)
        change = FieldChange(
            str(getattr(model_field, "verbose_name", name)).capitalize(),
            before=None if entry.action == LogEntry.Action.CREATE else _shown(model_field, old),
            after=None if entry.action == LogEntry.Action.DELETE else _shown(model_field, new),
        )
        # A creation or deletion lists the values the row held, not the empty ones.
        if change.before or change.after:
            row.changes.append(change)
    return row


def _field(model, name):
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _shown(model_field, value):
    """A recorded value (auditlog keeps strings; "None" for none) as staff read it."""
    if value in (None, "None", ""):
        return ""
    if model_field is None:
        return str(value)
    if model_field.choices:
        return str(dict((str(key), label) for key, label in model_field.flatchoices).get(value, value))
    if model_field.is_relation:
        return f"#{value}"
    internal = model_field.get_internal_type()
    if internal == "BooleanField":
        return "yes" if value == "True" else "no"
    if internal == "DateField":
        try:
            return formats.date_format(datetime.date.fromisoformat(value), "DATE_FORMAT")
        except ValueError:
            return value
    if internal == "DateTimeField":
        # Recorded in UTC without its zone; shown in the provider's.
        try:
            moment = datetime.datetime.fromisoformat(value).replace(tzinfo=datetime.UTC)
        except ValueError:
            return value
        return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")
    return str(value)
