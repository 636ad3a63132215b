"""The live-activity lock on the post-test (see courses.guards): once learners have started
a published or archived activity, its pass mark, questions and choices cannot be changed,
added or deleted. Explanations, feedback, order, attempts and review settings stay
editable: they change neither what a learner must answer nor how it is graded."""

from django.db.models.signals import pre_delete, pre_save
from django.dispatch import receiver

from courses.guards import deleted_along_with, refuse_locked_delete, refuse_locked_save
from courses.models import Activity

from .models import Choice, PostTest, Question

PART = "post-test"
POSTTEST_LOCKED_FIELDS = ("pass_percent",)
QUESTION_LOCKED_FIELDS = ("text", "multiple")
CHOICE_LOCKED_FIELDS = ("text", "is_correct")


@receiver(pre_save, sender=PostTest, dispatch_uid="posttest_lock")
def posttest_lock(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    refuse_locked_save(
        instance=instance,
        names=POSTTEST_LOCKED_FIELDS,
        activities=Activity.objects.filter(pk=instance.activity_id),
        part=PART,
        update_fields=update_fields,
    )


@receiver(pre_save, sender=Question, dispatch_uid="question_lock")
def question_lock(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    refuse_locked_save(
        instance=instance,
        names=QUESTION_LOCKED_FIELDS,
        activities=Activity.objects.filter(posttest=instance.posttest_id),
        part=PART,
        update_fields=update_fields,
    )


@receiver(pre_save, sender=Choice, dispatch_uid="choice_lock")
def choice_lock(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    refuse_locked_save(
        instance=instance,
        names=CHOICE_LOCKED_FIELDS,
        activities=Activity.objects.filter(posttest__questions=instance.question_id),
        part=PART,
        update_fields=update_fields,
    )


@receiver(pre_delete, sender=PostTest, dispatch_uid="posttest_delete_lock")
def posttest_delete_lock(sender, instance, origin=None, **kwargs):
    if deleted_along_with(origin, {Activity}):
        return
    refuse_locked_delete(activities=Activity.objects.filter(pk=instance.activity_id), part=PART)


@receiver(pre_delete, sender=Question, dispatch_uid="question_delete_lock")
def question_delete_lock(sender, instance, origin=None, **kwargs):
    if deleted_along_with(origin, {Activity, PostTest}):
        return
    refuse_locked_delete(activities=Activity.objects.filter(posttest=instance.posttest_id), part=PART)


@receiver(pre_delete, sender=Choice, dispatch_uid="choice_delete_lock")
def choice_delete_lock(sender, instance, origin=None, **kwargs):
    if deleted_along_with(origin, {Activity, PostTest, Question}):
        return
    refuse_locked_delete(
        activities=Activity.objects.filter(posttest__questions=instance.question_id), part=PART
    )
