"""Text the database cannot store: a NUL character (PostgreSQL refuses it in text) or half
a UTF-16 surrogate pair (no encoding holds it), and JSON nested deeper than Python's stack.
Wherever such input arrives (the player's progress reports, addresses, forms, the admin's
relationships JSON) it is refused with a clear answer and changes nothing; none is a
server error. The activity importer has its own (tests/test_import_activities.py)."""

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.utils import timezone

from courses.models import Participation, Recording, SavedSearch
from lms.models import User

from .factories import (
    FacultyRoleFactory,
    ParticipationFactory,
    certificate_for,
    complete_activity,
    learner_ready_to_claim,
)

NUL = "\x00"
LONE_SURROGATE = "\ud800"


@pytest.fixture
def lecture(provider):
    activity = complete_activity()
    Recording.objects.filter(activity=activity).update(duration_seconds=100)
    return activity


@pytest.fixture
def watching(lecture, learner):
    """The learner's participation in the lecture, started a day ago."""
    return ParticipationFactory(
        user=learner, activity=lecture, started_at=timezone.now() - datetime.timedelta(days=1)
    )


def progress_post(client, activity, body):
    return client.post(f"/activities/{activity.slug}/watch/progress/", body, content_type="application/json")


def progress_of(participation):
    return model_to_dict(Participation.objects.get(pk=participation.pk))


@pytest.mark.parametrize("token", [f"session{NUL}", f"session{LONE_SURROGATE}"], ids=["nul", "lone-surrogate"])
def test_it_refuses_a_progress_report_naming_a_session_no_player_was_given(client, lecture, watching, token):
    client.force_login(watching.user)
    before = progress_of(watching)
    # json.dumps writes both as \u escapes, as a forged report would.
    body = json.dumps({"session": token, "position": 40, "watched": [[0, 40]], "sent_at": 1})

    response = progress_post(client, lecture, body)

    assert response.status_code == 403
    assert response.json()["session"] == "missing"
    assert progress_of(watching) == before


def test_it_refuses_a_progress_report_nested_too_deeply_to_read(client, lecture, watching):
    client.force_login(watching.user)
    before = progress_of(watching)

    response = progress_post(client, lecture, "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert response.json()["error"] == "The progress report is not valid JSON."
    assert progress_of(watching) == before


@pytest.mark.parametrize(
    "path", ["/certificates/{}%00/", "/certificates/{}%00/pdf/", "/certificates/{}%00/status/",
             "/certificates/verify/%00/"],
)
def test_it_answers_a_certificate_address_holding_a_nul_with_not_found(client, provider, path):
    certificate = certificate_for(activity=complete_activity(), rendered=True)
    client.force_login(certificate.user)

    response = client.get(path.format(certificate.number))

    assert response.status_code == 404


def test_it_refuses_a_saved_search_name_holding_a_nul(client, learner, provider):
    client.force_login(learner)

    response = client.post("/me/searches/", {"name": f"Sepsis{NUL}", "query": "q=sepsis"}, follow=True)

    assert "The name must not contain a NUL character" in response.content.decode()
    assert not SavedSearch.objects.exists()


def test_it_refuses_a_profile_holding_a_nul_with_a_field_error(client, learner, provider):
    client.force_login(learner)

    response = client.post(
        "/me/profile/",
        {"given_name": f"Mei{NUL}", "family_name": "Chen", "degree": "DO", "profession": "physician"},
    )

    assert response.status_code == 200
    assert "Null characters are not allowed." in response.context["form"].errors["given_name"]
    assert User.objects.get(pk=learner.pk).given_name == learner.given_name


def test_it_refuses_a_claim_holding_a_nul_with_a_field_error(client, provider):
    activity = complete_activity()
    learner = learner_ready_to_claim(activity=activity)
    client.force_login(learner)

    response = client.post(f"/activities/{activity.slug}/claim/", {"credits": f"1{NUL}", "attest": "on"})

    assert response.status_code == 200
    assert response.context["form"].errors["credits"]
    assert not learner.certificates.exists()


@pytest.mark.parametrize("company", [f"Acme{NUL}", f"Acme{LONE_SURROGATE}"], ids=["nul", "lone-surrogate"])
def test_it_refuses_a_financial_relationship_the_database_cannot_store(provider, company):
    role = FacultyRoleFactory(activity=complete_activity())
    role.relationships = [{"company": company, "nature": "consultant"}]

    with pytest.raises(ValidationError) as refused:
        role.full_clean()

    assert "A relationship's company" in str(refused.value)
