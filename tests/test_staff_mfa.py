"""Staff need a second factor (issue 15): the staff pages and the admin show every learner's
personal data, so a password alone must not open them. allauth's own MFA (an authenticator
app and recovery codes) provides the factor; lms.middleware.StaffSecondFactorMiddleware
holds staff at its pages until the session has passed it."""

from urllib.parse import urlencode

import pytest
import time_machine
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.core.cache import cache
from django.utils import timezone

from .factories import (
    PASSWORD,
    StaffUserFactory,
    UserFactory,
    authenticator_app_activate,
    authenticator_app_code,
    certificate_for,
    complete_activity,
    totp_code,
)

pytestmark = pytest.mark.django_db

ACTIVATE = "/accounts/2fa/totp/activate/"
CODE_STEP = "/accounts/2fa/reauthenticate/"
LOGIN_CODE = "/accounts/2fa/authenticate/"
STAFF_PAGES = ["/staff/", "/admin/"]


@pytest.fixture(autouse=True)
def still_clock():
    """One moment for the whole test: a code computed at the end of its 30 seconds would
    otherwise be checked in the next ones. The cache goes too, so that no earlier test's
    failed attempts count against this one's rate limits."""
    cache.clear()
    with time_machine.travel(timezone.now(), tick=False):
        yield


@pytest.fixture
def staff_with_app(db):
    return StaffUserFactory(authenticator_app=True)


def sign_in_with_password(client, user):
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_it_sends_staff_without_an_authenticator_app_to_set_one_up(client, path):
    client.force_login(StaffUserFactory())

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == ACTIVATE
    page = client.get(ACTIVATE, follow=True)
    assert (
        "Staff pages show learners' personal data, so a staff account needs a second factor: "
        "set up an authenticator app to continue." in messages_of(page)
    )


# Committed for real: allauth announces the activation once its transaction commits, and the
# record must reach the session before the response saves it.
@pytest.mark.django_db(transaction=True)
def test_it_opens_the_staff_pages_once_the_app_is_activated(client):
    staff = StaffUserFactory()
    sign_in_with_password(client, staff)
    # allauth asks for the password again before a second factor is added.
    client.post("/accounts/reauthenticate/", {"password": PASSWORD, "next": ACTIVATE})
    page = client.get(ACTIVATE)
    assert "Set up your authenticator app" in page.content.decode()
    code = totp_code(client.session[SECRET_SESSION_KEY])

    response = client.post(ACTIVATE, {"code": code})

    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    assert client.get("/staff/").status_code == 200
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()


def test_it_lists_the_account_under_the_providers_name_in_the_app(client, provider):
    staff = StaffUserFactory(email="coordinator@example.org")
    client.force_login(staff)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})

    page = client.get(ACTIVATE)

    secret = client.session[SECRET_SESSION_KEY]
    assert page.context["totp_url"] == (
        f"otpauth://totp/coordinator%40example.org?secret={secret}&issuer=Test%20Medical%20School"
    )
    assert page.context["totp_svg_data_uri"].startswith("data:image/svg+xml;base64,")


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_it_lets_staff_in_with_password_and_a_code_from_the_app(client, staff_with_app, path):
    response = sign_in_with_password(client, staff_with_app)
    assert response["Location"] == LOGIN_CODE

    response = client.post(LOGIN_CODE, {"code": authenticator_app_code(staff_with_app)})

    assert response.status_code == 302
    assert client.get(path).status_code == 200


def test_it_refuses_a_wrong_code_and_opens_nothing(client, staff_with_app):
    sign_in_with_password(client, staff_with_app)
    wrong = f"{(int(authenticator_app_code(staff_with_app)) + 1) % 1_000_000:06d}"

    response = client.post(LOGIN_CODE, {"code": wrong})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert client.get("/staff/")["Location"].startswith("/accounts/login/")
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_it_accepts_a_recovery_code_once(client, staff_with_app):
    recovery_code = RecoveryCodes.activate(staff_with_app).generate_codes()[0]
    sign_in_with_password(client, staff_with_app)
    assert client.post(LOGIN_CODE, {"code": recovery_code}).status_code == 302
    assert client.get("/staff/").status_code == 200
    client.post("/accounts/logout/")

    sign_in_with_password(client, staff_with_app)
    response = client.post(LOGIN_CODE, {"code": recovery_code})

    assert "Incorrect code." in response.content.decode()
    assert client.get("/staff/")["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", ["/staff/?page=2", "/admin/courses/activity/"])
def test_it_sends_a_password_only_session_to_the_code_step(client, path):
    # Signed in with the password alone, then the app was set up elsewhere.
    staff = StaffUserFactory()
    sign_in_with_password(client, staff)
    authenticator_app_activate(staff)

    response = client.get(path)

    assert response["Location"] == f"{CODE_STEP}?{urlencode({'next': path})}"
    page = client.get(response["Location"])
    assert "Enter your code" in page.content.decode()
    assert (
        "Staff pages show learners' personal data: enter the code from your authenticator "
        "app to continue." in messages_of(page)
    )


def test_it_opens_the_page_asked_for_once_the_code_is_entered(client, staff_with_app):
    client.force_login(staff_with_app)

    response = client.post(
        CODE_STEP, {"code": authenticator_app_code(staff_with_app), "next": "/staff/?page=2"}
    )

    assert response["Location"] == "/staff/?page=2"
    assert client.get("/staff/").status_code == 200


def test_it_keeps_a_password_only_session_out_after_a_wrong_code(client, staff_with_app):
    client.force_login(staff_with_app)

    response = client.post(CODE_STEP, {"code": "000000", "next": "/staff/"})

    assert "Incorrect code." in response.content.decode()
    assert client.get("/staff/")["Location"].startswith(CODE_STEP)


def test_it_sends_the_admin_login_to_the_site_login(client):
    response = client.get("/admin/login/", {"next": "/admin/courses/activity/"})

    assert response["Location"] == "/accounts/login/?" + urlencode({"next": "/admin/courses/activity/"})


def test_it_does_not_sign_staff_in_through_the_admin_login_form(client, staff_with_app):
    response = client.post(
        "/admin/login/", {"username": staff_with_app.email, "password": PASSWORD, "next": "/admin/"}
    )

    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_it_leaves_learners_alone(client, activity):
    learner = UserFactory()
    client.force_login(learner)

    assert client.get("/").status_code == 200
    assert client.get("/me/transcript/").status_code == 200
    assert client.get(activity.get_absolute_url()).status_code == 200
    # Not staff: the staff pages do not exist for them, and nothing asks for a second factor.
    assert client.get("/staff/").status_code == 404
    assert not Authenticator.objects.filter(user=learner).exists()


@pytest.mark.parametrize("page", ["/", "/me/transcript/", "/certificates/{number}/", "/certificates/{number}/pdf/"])
def test_it_holds_staff_without_a_second_factor_away_from_learners_records_everywhere(client, provider, page):
    certificate = certificate_for(activity=complete_activity(), rendered=True)
    client.force_login(StaffUserFactory())
    response = client.get(page.format(number=certificate.number))
    assert response.status_code == 302
    assert response["Location"].startswith(ACTIVATE)


def test_it_lets_staff_without_a_second_factor_verify_a_certificate_like_anyone(client, provider):
    certificate = certificate_for(activity=complete_activity(), rendered=True)
    client.force_login(StaffUserFactory())
    assert client.get(f"/certificates/verify/{certificate.number}/").status_code == 200


def test_it_keeps_authenticator_app_secrets_sealed_in_the_database(db):
    staff = StaffUserFactory(authenticator_app=True)
    authenticator = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP)
    stored = authenticator.data["secret"]
    secret = get_adapter().decrypt(stored)
    assert len(secret) >= 16
    assert secret not in stored
    assert authenticator_app_code(staff) == totp_code(secret)
