"""Credit wording, which the AMA regulates: "Credit" is singular for exactly 1 and only
then, on every page and PDF (courses.models.ama_credits and hours_of_participation)."""

import datetime
from decimal import Decimal

import pytest

from courses.statements import ama_credits, hours_of_participation

from .conftest import pdf_text
from .factories import ActivityFactory, UserFactory, certificate_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("amount, wording", [
    (Decimal("1"), "1 AMA PRA Category 1 Credit™"),
    (Decimal("1.00"), "1 AMA PRA Category 1 Credit™"),
    (Decimal("0.75"), "0.75 AMA PRA Category 1 Credits™"),
    (Decimal("1.25"), "1.25 AMA PRA Category 1 Credits™"),
    (Decimal("2.00"), "2 AMA PRA Category 1 Credits™"),
])
def test_it_words_an_amount_of_credit_as_the_ama_does(amount, wording):
    assert ama_credits(amount) == wording


@pytest.mark.parametrize("hours, wording", [
    (Decimal("1.00"), "1 hour of participation"),
    (Decimal("1.5"), "1.5 hours of participation"),
])
def test_it_words_hours_of_participation(hours, wording):
    assert hours_of_participation(hours) == wording


def test_it_says_one_activity_and_one_credit_on_the_transcript_and_its_pdf(client, learner, provider):
    certificate_for(activity=ActivityFactory(), user=learner, credits="1",
                    completed_on=datetime.date(2026, 3, 1))
    client.force_login(learner)

    page = " ".join(client.get("/me/transcript/").content.decode().split())
    pdf = " ".join(pdf_text(client.get("/me/transcript.pdf").content).split())

    assert "1 activity</strong>: 1 AMA PRA Category 1 Credit™ claimed." in page
    assert "2026 — 1 AMA PRA Category 1 Credit™" in page
    assert "1 activity · 1 AMA PRA Category 1 Credit™ claimed" in pdf
    assert "Credits™" not in page + pdf


def test_it_says_one_hour_of_participation_for_a_one_credit_activity(client, provider):
    nurse = UserFactory(degree="RN", profession="other")
    certificate_for(activity=ActivityFactory(credits=Decimal("1")), user=nurse)
    client.force_login(nurse)

    page = client.get("/me/transcript/").content.decode()

    assert "1 hour of participation" in page and "1 hours" not in page


@pytest.mark.parametrize("count, wording", [(1, "1 activity matches your search."),
                                            (2, "2 activities match your search.")])
def test_it_agrees_the_catalog_count_with_its_verb(client, provider, count, wording):
    for number in range(count):
        ActivityFactory(title=f"Sepsis update {number}")

    page = client.get("/", {"q": "sepsis"}).content.decode()

    assert wording in page
