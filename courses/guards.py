"""The lock on live activities, enforced where every path meets: the model layer.

Once learners have started an activity that is not a draft, what decides how they are
assessed or what they must watch cannot change or go in place (courses.rules.
assessment_locked). The admin, the staff workspace, the importers and the shell all save
through these receivers, which refuse with a ValidationError for staff to read.
quizzes.guards guards the post-test the same way.

Each save costs at most two small queries: whether the activity is locked, and only then
the stored row to compare with. A refused delete is raised inside Django's deletion
transaction, so, like a database error, it spoils an enclosing atomic block: code that
catches it wraps the delete in an atomic block of its own (quizzes.services.question_delete).
"""

from django.core.exceptions import ValidationError
from django.db.models import FileField, QuerySet
from django.db.models.signals import pre_delete, pre_save
from django.dispatch import receiver

from .models import Activity, Recording
from .rules import assessment_lock_message
from .selectors import locked_activity_title

RECORDING_LOCKED_FIELDS = ("video", "url", "duration_seconds", "required_viewing_percent")
ACTIVITY_LOCKED_FIELDS = ("requires_full_viewing",)


def _comparable(field, value):
    if isinstance(field, FileField):
        return getattr(value, "name", value) or ""
    return field.to_python(value)


def _differs_from_stored(instance, names):
    """Whether `instance` is new or differs from its stored row in the fields `names`."""
    if instance._state.adding or instance.pk is None:
        return True
    fields = [instance._meta.get_field(name) for name in names]
    stored = (
        type(instance)._base_manager.filter(pk=instance.pk)
        .values(*(field.attname for field in fields))
        .first()
    )
    if stored is None:
        return True
    return any(
        _comparable(field, getattr(instance, field.attname)) != _comparable(field, stored[field.attname])
        for field in fields
    )


def refuse_locked_save(*, instance, names, activities, part, update_fields=None):
    """Raise ValidationError when saving `instance` would create it, or change one of the
    fields `names`, while the activity in `activities` is locked."""
    if update_fields is not None and not set(update_fields) & set(names):
        return
    title = locked_activity_title(activities=activities)
    if title is not None and _differs_from_stored(instance, names):
        raise ValidationError(assessment_lock_message(title=title, part=part))


def refuse_locked_delete(*, activities, part):
    title = locked_activity_title(activities=activities)
    if title is not None:
        raise ValidationError(assessment_lock_message(title=title, part=part))


def deleted_along_with(origin, models):
    """Whether a deletion started from an instance or queryset of one of `models`: their
    own receivers (or, for an activity, the PROTECT of its participations) already decide,
    so the rows deleted with them need no query of their own."""
    model = origin.model if isinstance(origin, QuerySet) else type(origin)
    return model in models


@receiver(pre_save, sender=Activity, dispatch_uid="activity_viewing_requirement_lock")
def activity_viewing_requirement_lock(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance._state.adding:
        return
    refuse_locked_save(
        instance=instance,
        names=ACTIVITY_LOCKED_FIELDS,
        activities=Activity.objects.filter(pk=instance.pk),
        part="viewing requirement",
        update_fields=update_fields,
    )


@receiver(pre_save, sender=Recording, dispatch_uid="recording_lock")
def recording_lock(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    refuse_locked_save(
        instance=instance,
        names=RECORDING_LOCKED_FIELDS,
        activities=Activity.objects.filter(pk=instance.activity_id),
        part="recording",
        update_fields=update_fields,
    )


@receiver(pre_delete, sender=Recording, dispatch_uid="recording_delete_lock")
def recording_delete_lock(sender, instance, origin=None, **kwargs):
    if deleted_along_with(origin, {Activity}):
        return
    refuse_locked_delete(activities=Activity.objects.filter(pk=instance.activity_id), part="recording")
