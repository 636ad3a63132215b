"""A transcript that stays fast for a learner with hundreds of certificates (issue 18): the
page lists 50 at a time, newest first, under totals per year that count every one; the PDF
lists the newest and says how to print the rest."""

import datetime
import re
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates.models import Certificate
from certificates.selectors import transcript_of
from lms import views as lms_views

from .conftest import pdf_text, pdfinfo
from .factories import UserFactory, certificates_in_bulk

pytestmark = pytest.mark.django_db

NUMBER_LINK = re.compile(r'<a href="/certificates/([^/"]+)/">\1</a>')


def history(user, count, *, latest=datetime.date(2026, 6, 30)):
    """`count` certificates of `user`, one a week back from `latest`, newest first."""
    certificates = certificates_in_bulk(count=count, user=user)
    for weeks, certificate in enumerate(certificates):
        certificate.completed_on = latest - datetime.timedelta(weeks=weeks)
    Certificate.objects.bulk_update(certificates, ["completed_on"])
    return certificates


@pytest.fixture
def busy(provider, client):
    user = UserFactory()
    certificates = history(user, 120)
    client.force_login(user)
    return user, certificates


def listed_numbers(response):
    return NUMBER_LINK.findall(response.content.decode())


def test_it_lists_fifty_certificates_a_page_newest_first(busy, client):
    _, certificates = busy
    numbers = [certificate.number for certificate in certificates]

    assert listed_numbers(client.get("/me/transcript/")) == numbers[:50]
    assert listed_numbers(client.get("/me/transcript/?page=2")) == numbers[50:100]
    last = client.get("/me/transcript/?page=3")
    assert listed_numbers(last) == numbers[100:]
    assert "Page 3 of 3" in last.content.decode()


def test_it_links_each_certificate_to_its_page(busy, client):
    _, certificates = busy
    html = client.get("/me/transcript/").content.decode()
    assert f'href="{certificates[0].get_absolute_url()}"' in html


def test_it_totals_every_year_over_all_certificates_not_only_the_page(busy, client):
    _, certificates = busy
    per_year = Counter(certificate.completed_on.year for certificate in certificates)

    html = client.get("/me/transcript/?page=3").content.decode()

    for year, count in per_year.items():
        credits = f"{count} AMA PRA Category 1 Credit{'s' if count > 1 else ''}™"
        assert f'<td data-label="Year">{year}</td><td data-label="Activities">{count}</td>' in html
        assert f'<td data-label="Credit">{credits}</td>' in html
    assert "<strong>120 activities</strong>" in html


def test_it_keeps_the_period_in_the_links_to_other_pages_and_downloads(busy, client):
    html = client.get("/me/transcript/?start=2024-01-01&page=2").content.decode()
    assert 'href="?start=2024-01-01&amp;page=1"' in html
    assert 'href="?start=2024-01-01&amp;page=3"' in html
    assert 'href="/me/transcript.csv?start=2024-01-01"' in html


def test_it_shows_the_last_page_for_a_page_number_past_the_end(busy, client):
    _, certificates = busy
    assert listed_numbers(client.get("/me/transcript/?page=99")) == [c.number for c in certificates[100:]]


def test_it_renders_any_transcript_page_in_the_same_number_of_queries(provider, client):
    counts = []
    for count in (3, 120):
        user = UserFactory()
        history(user, count)
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/me/transcript/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_it_sums_the_totals_in_the_database(busy):
    user, _ = busy
    with CaptureQueriesContext(connection) as queries:
        transcript = transcript_of(user=user)
    # the totals per year, and per year and credit type
    assert len(queries) == 2
    assert transcript.count == 120
    assert transcript.credits == Decimal("120")
    assert sum(year.count for year in transcript.years) == 120


def test_it_lists_the_newest_in_the_pdf_and_says_how_to_print_the_rest(provider, client, monkeypatch, tmp_path):
    monkeypatch.setattr(lms_views, "TRANSCRIPT_PDF_ROWS", 3)
    user = UserFactory()
    certificates = history(user, 5, latest=datetime.date(2026, 1, 8))
    client.force_login(user)

    content = client.get("/me/transcript.pdf").content

    text = " ".join(pdf_text(content).split())
    assert "This file lists your 3 most recent activities; the totals count all 5." in text
    assert "5 AMA PRA Category 1 Credits™ claimed" in text
    for certificate in certificates[:3]:
        assert certificate.number in text
    for certificate in certificates[3:]:
        assert certificate.number not in text
    assert "1 of 3 activities of 2025 listed." in text
    assert pdfinfo(content, tmp_path)["Tagged"] == "yes"
