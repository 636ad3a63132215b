"""allauth.mfa fitted to this site: the provider's name in the authenticator app, the QR
code drawn by segno, and activating an authenticator app counted as a sign-in with it."""

import base64
import hashlib
import io

import segno
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa import app_settings
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.dispatch import receiver

from courses.models import Provider


def _secret_keys():
    # Fernet keys derived from SECRET_KEY and its fallbacks, newest first: a key rotated
    # the Django way (SECRET_KEY_FALLBACKS) still opens the secrets it sealed.
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        digest = hashlib.sha256(f"lms.mfa:{secret}".encode()).digest()
        yield Fernet(base64.urlsafe_b64encode(digest))


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text):
        """Authenticator apps' secrets are sealed in the database, so a database dump or
        the admin's Authenticators list does not hand out working second factors."""
        return next(_secret_keys()).encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text):
        return MultiFernet(list(_secret_keys())).decrypt(encrypted_text.encode()).decode()

    def get_totp_issuer(self):
        # An unsaved provider's name is a placeholder that would stay in the app for good.
        provider = Provider.current()
        if app_settings.TOTP_ISSUER or provider.pk is None:
            return super().get_totp_issuer()
        return provider.name

    def build_totp_svg(self, url):
        # segno, which the certificates' QR codes already use, instead of allauth's qrcode.
        # A white background and the standard quiet zone, so a phone reads it on any page colour.
        buffer = io.BytesIO()
        segno.make_qr(url, error="m").save(
            buffer, kind="svg", scale=5, border=4, light="#fff", xmldecl=False
        )
        return buffer.getvalue().decode()


@receiver(authenticator_added)
def record_second_factor_on_activation(sender, request, user, authenticator, **kwargs):
    """Activation takes a valid code from the new app, the same proof a sign-in with it
    gives; without this record a staff member who has just set it up would be asked for
    another code on the way to the staff pages."""
    if authenticator.type == Authenticator.Type.TOTP:
        record_authentication(
            request, user, "mfa", id=authenticator.pk, type=authenticator.type, activated=True
        )
