"""The frame of every page (templates/base.html): its links, reversed once per process."""

import re

import pytest

from lms.context_processors import SITE_URL_NAMES

from .factories import StaffUserFactory, UserFactory, staff_login

pytestmark = pytest.mark.django_db


def frame_links(response):
    page = response.content.decode()
    header = page[page.index("<header") : page.index("</header>")]
    footer = page[page.index("<footer") : page.index("</footer>")]
    return set(re.findall(r'(?:href|action)="([^"]+)"', header + footer))


def test_it_links_an_anonymous_visitor_to_the_catalog_log_in_sign_up_verify_and_privacy(client, provider):
    assert frame_links(client.get("/")) == {
        "/", "/accounts/login/", "/accounts/signup/", "/certificates/verify/", "/privacy/",
    }


def test_it_links_a_learner_to_their_pages_and_to_log_out(client, provider):
    client.force_login(UserFactory())
    assert frame_links(client.get("/me/transcript/")) == {
        "/", "/me/saved/", "/me/transcript/", "/me/profile/", "/accounts/logout/",
        "/certificates/verify/", "/privacy/",
    }


def test_it_links_staff_with_every_role_to_every_page_of_the_frame(client, provider):
    staff = StaffUserFactory(is_superuser=True)
    staff_login(client, staff)
    links = frame_links(client.get("/me/transcript/"))
    assert len(links) == len(SITE_URL_NAMES) - 2  # not log in or sign up
    assert {"/staff/", "/admin/"} <= links
