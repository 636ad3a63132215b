import csv
import datetime
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader
from pypdf.generic import BooleanObject

from certificates.models import Certificate
from certificates.selectors import transcript_of
from lms.forms import TranscriptPeriodForm
from lms.models import User

from .conftest import pdf_structure, pdf_text, pdfinfo
from .factories import ActivityFactory, UserFactory, certificate_for


def certificate(user, completed_on, *, credits="1", state=Certificate.State.ISSUED):
    return certificate_for(
        activity=ActivityFactory(), user=user, credits=credits, completed_on=completed_on, state=state
    )


@pytest.fixture
def history(learner):
    return [
        certificate(learner, datetime.date(2025, 3, 1), credits=Decimal("1")),
        certificate(learner, datetime.date(2025, 12, 31), credits=Decimal("0.75")),
        certificate(learner, datetime.date(2026, 1, 1), credits=Decimal("1.5")),
        certificate(learner, datetime.date(2026, 2, 1), credits=Decimal("2"), state=Certificate.State.REVOKED),
    ]


def test_it_totals_credits_per_calendar_year_and_overall(history, learner):
    transcript = transcript_of(user=learner)
    assert [(y.year, y.credits) for y in transcript.years] == [(2026, Decimal("1.5")), (2025, Decimal("1.75"))]
    assert transcript.credits == Decimal("3.25")
    assert transcript.count == 3


def test_it_limits_the_transcript_to_a_renewal_period(history, learner):
    transcript = transcript_of(
        user=learner, start=datetime.date(2025, 12, 31), end=datetime.date(2026, 1, 1)
    )
    assert transcript.credits == Decimal("2.25")


def test_it_counts_participation_hours_apart_from_credit(db):
    nurse = UserFactory(profession=User.Profession.OTHER)
    certificate(nurse, datetime.date(2026, 5, 1))
    transcript = transcript_of(user=nurse)
    assert (transcript.credits, transcript.hours) == (Decimal("0"), Decimal("1"))


def test_it_shows_only_the_learners_own_certificates(history, client):
    other = UserFactory()
    client.force_login(other)
    html = client.get("/me/transcript/").content.decode()
    assert "No certificates yet" in html
    assert history[0].number not in html


def test_it_filters_the_page_and_reports_a_backwards_period(history, learner, client):
    client.force_login(learner)
    html = client.get("/me/transcript/?start=2026-01-01").content.decode()
    assert history[2].number in html and history[0].number not in html
    html = client.get("/me/transcript/?start=2026-01-02&end=2026-01-01").content.decode()
    assert "must not be before its start" in html


@pytest.mark.parametrize(
    "query",
    [{}, {"start": "2025-01-01"}, {"start": "", "end": "2026-01-01"}, {"start": "2025-13-01", "end": 'x<"'},
     {"start": "2026-01-02", "end": "2026-01-01"}],
)
def test_it_writes_the_period_fields_as_django_does(history, client, query):
    client.force_login(history[0].user)
    form = TranscriptPeriodForm(query or None)
    html = client.get("/me/transcript/", query).content.decode()
    for field in form:
        assert f'<div class="field">{field.label_tag()}{field}{field.errors}</div>' in html


def test_it_exports_the_transcript_as_csv(history, learner, client):
    client.force_login(learner)
    response = client.get("/me/transcript.csv?end=2025-12-31")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row["completed_on"] for row in rows] == ["2025-12-31", "2025-03-01"]
    assert rows[0]["amount"] == "0.75"


def test_it_exports_the_transcript_as_pdf(history, learner, client):
    client.force_login(learner)
    response = client.get("/me/transcript.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(response.content).split())
    assert learner.certificate_name in text
    assert history[2].activity_title in text
    assert "3.25 AMA PRA Category 1 Credits™ claimed" in text
    assert history[3].activity_title not in text


def test_it_keeps_each_certificate_number_on_one_line_of_the_pdf(history, learner, client):
    client.force_login(learner)

    lines = pdf_text(client.get("/me/transcript.pdf").content).splitlines()

    for certificate in history[:3]:
        assert any(certificate.number in line for line in lines), certificate.number


def test_it_tags_the_transcript_pdf_for_screen_readers(history, learner, client, tmp_path):
    client.force_login(learner)
    content = client.get("/me/transcript.pdf?start=2025-01-01&end=2025-12-31").content
    info = pdfinfo(content, tmp_path)
    assert info["Tagged"] == "yes"
    assert info["Title"] == f"CME transcript — {learner.certificate_name} — January 1, 2025 to December 31, 2025"
    assert pdfinfo(client.get("/me/transcript.pdf").content, tmp_path)["Title"] == (
        f"CME transcript — {learner.certificate_name}"
    )
    catalog = PdfReader(io.BytesIO(content)).trailer["/Root"]
    assert catalog["/Lang"] == "en"
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"] == BooleanObject(True)
    elements = pdf_structure(content)
    headers = [element["/ID"] for element in elements if element["/S"] == "/TH"]
    cells = [element for element in elements if element["/S"] == "/TD"]
    assert {"/H1", "/H2", "/Table"} <= {element["/S"] for element in elements}
    assert len(headers) == 4
    # Two certificates in 2025, four columns: each cell names its column's header.
    assert [list(cell["/A"]["/Headers"]) for cell in cells] == [[header] for header in headers] * 2


def test_it_runs_a_constant_number_of_queries(learner, client, django_assert_num_queries):
    client.force_login(learner)
    for day in range(1, 4):
        certificate(learner, datetime.date(2026, 1, day), credits=Decimal("1"))
    # session, user, what the transcript is made of, then what the cache does not hold
    # yet: totals per year, totals per year and credit type, certificates, credit lines
    with django_assert_num_queries(7):
        client.get("/me/transcript/")
    for day in range(4, 30):
        certificate(learner, datetime.date(2026, 1, day), credits=Decimal("1"))
    with django_assert_num_queries(7):
        client.get("/me/transcript/")
    # Unchanged since: the totals and the page come from the cache.
    with django_assert_num_queries(3):
        client.get("/me/transcript/")
