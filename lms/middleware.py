from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from courses.models import provider_in_use

# Pages a learner may use before the profile is complete.
OPEN_PREFIXES = ("/accounts/", "/me/profile/", "/static/", "/media/", "/admin/", "/certificates/verify/")


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
