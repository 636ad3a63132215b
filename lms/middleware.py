from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from courses.models import provider_in_use

# Pages a staff account may open before its second factor: signing in and setting one up,
# and what is public anyway.
SECOND_FACTOR_NOT_NEEDED = ("/accounts/", "/static/", "/privacy/", "/favicon.ico", "/certificates/verify/")
# Pages a learner may use before the profile is complete.
OPEN_PREFIXES = ("/accounts/", "/me/profile/", "/static/", "/admin/", "/certificates/verify/")


class ProfileRequiredMiddleware:
    """Send a signed-in learner to the profile form until it holds what certificates need."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_staff
            and not user.profile_is_complete
            and not request.path.startswith(OPEN_PREFIXES)
        ):
            target = reverse("lms:profile")
            if request.method == "GET":
                target += "?" + urlencode({"next": request.get_full_path()})
            return redirect(target)
        return self.get_response(request)


class ProviderTimeZoneMiddleware:
    """Run every request, the admin's included, in the provider's time zone: dates are the
    provider's calendar days (SPEC §2), so "today", the admin's date shortcuts and every
    time shown must be read on the provider's clock, not the server's UTC one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with provider_in_use():
            return self.get_response(request)


def staff_second_factor_step(*, user, has_authenticator_app, authentication_records):
    """What a signed-in account must still do before the staff pages and the admin, which
    show every learner's personal data: None (nothing), "activate" (set up an
    authenticator app) or "authenticate" (enter a code in this session). Learners have
    nothing to do; staff and superusers need a session that passed a second factor (a
    code from the app or a recovery code, as allauth records it)."""
    if not (user.is_staff or user.is_superuser):
        return None
    if not has_authenticator_app:
        return "activate"
    if not any(record.get("method") == "mfa" for record in authentication_records):
        return "authenticate"
    return None


class StaffSecondFactorMiddleware:
    """Hold staff at allauth's second-factor pages until staff_second_factor_step is done."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == reverse("admin:login"):
            # The admin's own form signs in with a password alone; allauth's asks for the code.
            next_url = request.GET.get("next") or reverse("admin:index")
            return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")
        user = request.user
        # Everywhere, not only under /staff/ and /admin/: a staff account also opens any
        # learner's certificate, recordings and unpublished activities.
        if (
            (user.is_staff or user.is_superuser)
            and not request.path.startswith(SECOND_FACTOR_NOT_NEEDED)
        ):
            step = staff_second_factor_step(
                user=user,
                has_authenticator_app=is_mfa_enabled(user, [Authenticator.Type.TOTP]),
                authentication_records=get_authentication_records(request, user),
            )
            if step == "activate":
                messages.warning(
                    request,
                    "Staff pages show learners' personal data, so a staff account needs a "
                    "second factor: set up an authenticator app to continue.",
                )
                return redirect("mfa_activate_totp")
            if step == "authenticate":
                messages.info(
                    request,
                    "Staff pages show learners' personal data: enter the code from your "
                    "authenticator app to continue.",
                )
                target = reverse("mfa_reauthenticate")
                return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
