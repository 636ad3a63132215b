from django.utils import timezone

from .models import Participation


def participation_start(*, user, activity):
    participation, _ = Participation.objects.get_or_create(user=user, activity=activity)
    return participation


def participation_mark_recording_watched(*, participation, at=None):
    if participation.recording_completed_at is None:
        participation.recording_completed_at = at or timezone.now()
        participation.save(update_fields=["recording_completed_at"])
    return participation
