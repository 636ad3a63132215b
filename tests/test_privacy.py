"""The site's privacy notice, and the links that lead to it."""

import pytest

from .factories import ProviderFactory, complete_activity

pytestmark = pytest.mark.django_db


def test_it_tells_anyone_what_is_kept_and_whom_to_ask(client):
    ProviderFactory(name="Lakeside Medical School", contact_email="cme@lakeside.test")

    response = client.get("/privacy/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Lakeside Medical School runs this site" in page
    assert 'href="mailto:cme@lakeside.test"' in page
    assert "only if you consent" in page


def test_it_links_the_providers_own_policy_from_the_notice_when_there_is_one(client):
    ProviderFactory(privacy_url="https://lakeside.test/privacy")

    page = client.get("/privacy/").content.decode()

    assert 'href="https://lakeside.test/privacy"' in page


def test_it_links_the_notice_from_every_pages_footer(client, provider):
    page = client.get("/").content.decode()

    assert '<a href="/privacy/">Privacy</a>' in page


def test_it_sends_an_activity_without_a_policy_page_to_the_sites_notice(client, provider):
    activity = complete_activity(privacy_url="")

    page = client.get(activity.get_absolute_url()).content.decode()

    assert '<a href="/privacy/">Privacy policy</a>' in page


def test_it_sends_an_activity_with_its_own_policy_page_there(client, provider):
    activity = complete_activity(privacy_url="https://lakeside.test/equity-privacy")

    page = client.get(activity.get_absolute_url()).content.decode()

    assert '<a href="https://lakeside.test/equity-privacy">Privacy policy</a>' in page
