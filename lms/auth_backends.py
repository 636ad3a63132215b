"""The authentication backends of settings.AUTHENTICATION_BACKENDS: Django's and allauth's
as they are, except that the signed-in user every request reads comes from SQL compiled
once per process (courses.prepared), not compiled again on every page."""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from courses.prepared import PreparedQuery

_USER = PreparedQuery(
    get_user_model(), lambda *, pk: get_user_model()._default_manager.filter(pk=pk), pk=-(2**62) + 43
)


class _SignedInUserRead:
    def get_user(self, user_id):
        user = _USER.first(pk=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(_SignedInUserRead, DjangoModelBackend):
    pass


class AuthenticationBackend(_SignedInUserRead, AllauthBackend):
    pass
