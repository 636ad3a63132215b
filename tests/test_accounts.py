import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user
from django.core import mail

from lms.models import User

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_it_logs_in_with_the_email_address(client):
    user = UserFactory()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/me/profile/").context["user"] == user


def test_it_reads_the_signed_in_learner_with_one_query_each_request(client, django_assert_num_queries):
    user = UserFactory(given_name="Ngozi", family_name="Okafor")
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    with django_assert_num_queries(1):
        signed_in = get_user(client)
        assert signed_in.pk == user.pk and signed_in.certificate_name == user.certificate_name
    assert signed_in.is_authenticated


def test_it_signs_out_a_session_whose_learner_was_deactivated(client):
    user = UserFactory()
    client.force_login(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert not get_user(client).is_authenticated
    assert client.get("/me/transcript/").url.startswith("/accounts/login/")


def test_it_signs_out_a_session_whose_learner_was_deleted(client):
    user = UserFactory()
    client.force_login(user)
    User.objects.filter(pk=user.pk).delete()
    assert not get_user(client).is_authenticated


def test_it_refuses_to_log_in_before_the_email_is_verified(client):
    user = UserFactory()
    EmailAddress.objects.filter(user=user).update(verified=False)
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.url == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session
    assert mail.outbox[0].to == [user.email]
    assert "/accounts/confirm-email/" in mail.outbox[0].body


def test_it_resets_a_forgotten_password_by_email(client):
    user = UserFactory()
    client.post("/accounts/password/reset/", {"email": user.email})
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+/", mail.outbox[0].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    form_page = client.get(path, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else path,
        {"password1": "a-brand-new-password-7", "password2": "a-brand-new-password-7"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-brand-new-password-7")


def test_it_keeps_learners_on_the_profile_page_until_it_is_complete(client):
    user = UserFactory(degree="", profession="")
    client.force_login(user)
    response = client.get("/me/transcript/")
    assert response.url == "/me/profile/?next=%2Fme%2Ftranscript%2F"
    assert client.get("/certificates/verify/CME-AAAAA-BBBBB-CCCCC/").status_code == 404


def test_it_re_renders_the_profile_with_field_errors_and_saves_nothing(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        "/me/profile/",
        {"given_name": "", "family_name": "Hopper", "degree": "MD", "profession": "physician",
         "npi": "12345"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "given_name" in errors and "npi" in errors
    user.refresh_from_db()
    assert user.given_name == "Grace" and user.npi == ""


def test_it_defaults_the_certificate_name_to_given_and_family_name(client):
    user = UserFactory(certificate_name="")
    client.force_login(user)
    client.post(
        "/me/profile/",
        {"given_name": "Mei", "family_name": "Chen", "degree": "DO", "profession": "physician"},
    )
    user.refresh_from_db()
    assert user.certificate_name == "Mei Chen"
    assert User.objects.get(pk=user.pk).profile_is_complete


def test_it_answers_the_browsers_favicon_request_with_the_sites_icon(client, db):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response.url == "/static/favicon.svg"
    assert b"<svg" in b"".join(client.get(response.url).streaming_content)
