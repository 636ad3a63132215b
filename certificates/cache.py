"""The public verification page, kept whole in the cache per certificate (see
courses.cache). Its version changes with every save of the certificate and every event
recorded on it after its claim: issuing, re-issuing, revoking and reinstating each record
one (and a new version is only ever made with an event). Writes in bulk send no save
signal: they call verify_page_changed (a render, certificates.issuing)."""

from django.db.models.signals import post_save

from courses.cache import version_bump

from .models import Certificate, CertificateEvent


def verify_version_key(*, number):
    return f"verify:version:{number}"


def verify_page_changed(*, number, now=True):
    version_bump(key=verify_version_key(number=number), now=now)


# A certificate just created, with the event of its claim, has no page to outdate: before
# its number existed, its page was the "no certificate" 404, and only 200s are kept.
def _certificate_saved(sender, instance, created=False, raw=False, **kwargs):
    if not created:
        verify_page_changed(number=instance.number)


def _event_recorded(sender, instance, raw=False, **kwargs):
    if instance.action != CertificateEvent.Action.CLAIMED:
        verify_page_changed(number=instance.certificate.number)


post_save.connect(_certificate_saved, sender=Certificate, dispatch_uid="verify_certificate_saved")
post_save.connect(_event_recorded, sender=CertificateEvent, dispatch_uid="verify_certificate_event")
