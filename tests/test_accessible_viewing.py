"""Viewing without the picture or without the player: audio descriptions, the transcript
page, staff's accommodation (the transcript instead of playback), and progress reports
that fail saying why."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from certificates.models import Certificate
from certificates.rules import credit_gate
from courses.models import Activity, Provider, Recording, ViewingAccommodation
from courses.rules import recording_requirement_met, recording_requirement_met_at
from quizzes.models import EvaluationResponse

from .factories import (
    ParticipationFactory,
    StaffUserFactory,
    UploadedRecordingFactory,
    UserFactory,
    ViewingAccommodationFactory,
    complete_activity,
    learner_ready_to_claim,
    staff_login,
)

TRANSCRIPT = "Welcome to this recording.\n\nHypertension is common and often silent."
DESCRIPTIONS = b"WEBVTT\n\n00:00:00.000 --> 00:00:03.000\nA speaker stands at a lectern.\n"


@pytest.fixture
def talk(provider):
    """An activity that requires watching, with a transcript."""
    activity = complete_activity(requires_full_viewing=True)
    Recording.objects.filter(activity=activity).update(transcript=TRANSCRIPT)
    return Activity.objects.get(pk=activity.pk)


@pytest.fixture
def viewer(talk, learner, client):
    ParticipationFactory(user=learner, activity=talk)
    client.force_login(learner)
    return learner


def participation_of(user, activity):
    return user.participations.select_related("activity").get(activity=activity)


# --- Audio descriptions ---------------------------------------------------------------------


def test_it_plays_audio_descriptions_given_by_url_in_the_player(client, talk, viewer):
    Recording.objects.filter(activity=talk).update(descriptions_url="/static/demo/described.vtt")
    page = client.get(f"/activities/{talk.slug}/watch/").content.decode()
    assert (
        '<track kind="descriptions" src="/static/demo/described.vtt" srclang="en" '
        'label="English audio description">' in page
    )
    assert '<p id="audio-description" class="visually-hidden" aria-live="polite"></p>' in page


def test_it_serves_uploaded_audio_descriptions_only_to_learners_who_started(client, provider, learner):
    activity = complete_activity()
    Recording.objects.filter(activity=activity).delete()
    UploadedRecordingFactory(
        activity=activity, descriptions=SimpleUploadedFile("described.vtt", DESCRIPTIONS)
    )
    url = Recording.objects.get(activity=activity).descriptions_src
    assert url.startswith(f"/activities/{activity.slug}/watch/descriptions/?v=")

    client.force_login(learner)
    assert client.get(url).status_code == 403
    ParticipationFactory(user=learner, activity=activity)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vtt"
    assert b"".join(response.streaming_content) == DESCRIPTIONS
    assert f'<track kind="descriptions" src="{url}"' in client.get(
        f"/activities/{activity.slug}/watch/"
    ).content.decode()


def test_it_refuses_audio_descriptions_that_are_not_webvtt(talk):
    recording = talk.recording
    recording.descriptions = SimpleUploadedFile("described.vtt", b"1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    with pytest.raises(ValidationError) as error:
        recording.full_clean()
    assert error.value.message_dict["descriptions"] == [
        "Audio descriptions must be a WebVTT file: its first line must start with WEBVTT."
    ]


def test_it_refuses_both_an_upload_and_a_url_for_audio_descriptions(talk):
    recording = talk.recording
    recording.descriptions = SimpleUploadedFile("described.vtt", DESCRIPTIONS)
    recording.descriptions_url = "/static/demo/described.vtt"
    with pytest.raises(ValidationError) as error:
        recording.full_clean()
    assert error.value.message_dict["descriptions_url"] == [
        "Give either uploaded audio descriptions or their URL, not both."
    ]


# --- The transcript page --------------------------------------------------------------------


def test_it_links_the_transcript_from_the_activity_page_for_anyone(client, talk):
    page = client.get(talk.get_absolute_url()).content.decode()
    assert f'<a href="/activities/{talk.slug}/transcript/">Read the transcript of the recording</a>' in page

    transcript = client.get(f"/activities/{talk.slug}/transcript/")
    assert transcript.status_code == 200
    html = transcript.content.decode()
    assert f"<h1>Transcript: {talk.title}</h1>" in html
    assert "<p>Welcome to this recording.</p>\n\n<p>Hypertension is common and often silent.</p>" in html


def test_it_offers_no_transcript_link_or_page_where_there_is_none(client, activity):
    assert "/transcript/" not in client.get(activity.get_absolute_url()).content.decode()
    assert client.get(f"/activities/{activity.slug}/transcript/").status_code == 404


def test_it_keeps_the_transcript_of_a_draft_from_learners(client, talk, learner):
    Activity.objects.filter(pk=talk.pk).update(status=Activity.Status.DRAFT)
    client.force_login(learner)
    assert client.get(f"/activities/{talk.slug}/transcript/").status_code == 404
    staff_login(client, StaffUserFactory())
    assert client.get(f"/activities/{talk.slug}/transcript/").status_code == 200


# --- Progress reports that fail say why ------------------------------------------------------


def test_it_tells_the_player_the_learner_was_logged_out(client, talk):
    response = client.post(
        f"/activities/{talk.slug}/watch/progress/", "{}", content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": "You have been logged out; log in again to save your progress.",
        "session": "logged_out",
    }


def test_it_says_logged_out_in_json_when_the_session_and_its_csrf_cookie_are_gone(talk):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"/activities/{talk.slug}/watch/progress/", "{}", content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["session"] == "logged_out"


def test_it_asks_a_logged_in_player_with_a_stale_csrf_token_to_reload(talk, viewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = client.post(
        f"/activities/{talk.slug}/watch/progress/",
        "{}",
        content_type="application/json",
        headers={"X-CSRFToken": "stale"},
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": "This page is out of date; reload it to go on saving your progress.",
        "session": "stale",
    }


def test_it_keeps_the_usual_csrf_page_for_forms(talk, viewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = client.post(f"/activities/{talk.slug}/watch/")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


# --- The accommodation: the transcript instead of playback ---------------------------------


def test_it_meets_the_viewing_requirement_from_when_staff_grant_the_accommodation(talk, viewer):
    participation = participation_of(viewer, talk)
    assert not recording_requirement_met(participation=participation)
    granted = ViewingAccommodationFactory(participation=participation)

    participation = participation_of(viewer, talk)
    assert recording_requirement_met(participation=participation)
    assert recording_requirement_met_at(participation=participation) == granted.granted_at


def test_it_dates_the_requirement_by_whichever_came_first_watching_or_the_accommodation(talk, viewer):
    watched_at = timezone.now() - datetime.timedelta(days=2)
    participation = participation_of(viewer, talk)
    participation.watched_intervals_ms = [[0, 8000]]
    participation.recording_completed_at = watched_at
    participation.save()
    ViewingAccommodationFactory(participation=participation)

    assert recording_requirement_met_at(participation=participation_of(viewer, talk)) == watched_at


def test_it_tells_an_accommodated_learner_to_read_the_transcript_and_shows_continue(client, talk, viewer):
    ViewingAccommodationFactory(participation=participation_of(viewer, talk))
    page = client.get(f"/activities/{talk.slug}/watch/").content.decode()
    assert (
        "You may read the transcript instead of watching the recording, as arranged with the "
        f'activity\'s staff. <a href="/activities/{talk.slug}/transcript/">Read the transcript</a>'
    ) in page
    assert "asks you to watch at least" not in page
    assert '<button type="submit" class="button" id="continue-button">' in page

    response = client.post(f"/activities/{talk.slug}/watch/")
    assert response.url == f"/activities/{talk.slug}/evaluation/"


def test_it_marks_the_watch_step_done_for_an_accommodated_learner(client, talk, viewer):
    before = client.get(f"/activities/{talk.slug}/watch/").content.decode()
    ViewingAccommodationFactory(participation=participation_of(viewer, talk))

    after = client.get(f"/activities/{talk.slug}/watch/").content.decode()

    done = '<li class="done" aria-current="step">Watch the recording<span class="visually-hidden"> (completed)</span>'
    assert done not in before
    assert done in after


def test_it_lets_an_accommodated_learner_through_evaluation_post_test_and_claim(client, talk, viewer):
    ViewingAccommodationFactory(participation=participation_of(viewer, talk))
    question = talk.evaluation.questions.get()
    assert client.get(f"/activities/{talk.slug}/evaluation/").status_code == 200
    client.post(f"/activities/{talk.slug}/evaluation/", {f"q{question.pk}": "4"})
    assert EvaluationResponse.objects.filter(user=viewer).exists()

    page = client.get(f"/activities/{talk.slug}/posttest/")
    assert page.status_code == 200
    answers = {
        f"question-{row['question'].pk}": row["question"].choices.get(is_correct=True).pk
        for row in page.context["questions"]
    }
    client.post(f"/activities/{talk.slug}/posttest/", {"attempt": page.context["attempt"].pk, **answers})

    assert credit_gate(user=viewer, activity=talk).allowed
    response = client.post(f"/activities/{talk.slug}/claim/", {"credits": "1", "attest": "on"})
    certificate = Certificate.objects.get(user=viewer, activity=talk)
    assert response.url == certificate.get_absolute_url()


def test_it_completes_an_accommodated_learner_no_earlier_than_the_grant(talk, learner):
    learner_ready_to_claim(activity=talk, user=learner, watched=False)
    later = timezone.now() + datetime.timedelta(days=3)
    ViewingAccommodationFactory(participation=participation_of(learner, talk), granted_at=later)

    gate = credit_gate(user=learner, activity=talk)
    assert not gate.reasons
    assert gate.completed_on == timezone.localtime(later, Provider.current().tzinfo).date()


def test_it_accommodates_only_activities_that_require_viewing_and_have_a_transcript(provider, learner):
    optional = complete_activity(requires_full_viewing=False)
    Recording.objects.filter(activity=optional).update(transcript=TRANSCRIPT)
    without_transcript = complete_activity(requires_full_viewing=True)
    for activity, message in [
        (optional, "This activity does not require viewing, so there is nothing to accommodate."),
        (without_transcript, "This activity's recording has no transcript to read instead; add one first."),
    ]:
        accommodation = ViewingAccommodation(
            participation=ParticipationFactory(user=learner, activity=activity),
            reason="Screen reader user.",
            granted_by=StaffUserFactory(),
            granted_at=timezone.now(),
        )
        with pytest.raises(ValidationError) as error:
            accommodation.full_clean()
        assert error.value.message_dict["participation"] == [message]


# --- Granting it in the admin -----------------------------------------------------------------


@pytest.fixture
def admin_client_of(db, client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    staff_login(client, admin)
    return client, admin


ADD_URL = "/admin/courses/viewingaccommodation/add/"


def test_it_grants_an_accommodation_in_the_admin_recording_who_and_when(admin_client_of, talk, learner):
    client, admin = admin_client_of
    participation = ParticipationFactory(user=learner, activity=talk)
    before = timezone.now()
    response = client.post(
        ADD_URL, {"participation": participation.pk, "reason": "Blind; uses a screen reader."}
    )
    assert response.status_code == 302
    accommodation = ViewingAccommodation.objects.get()
    assert (accommodation.participation, accommodation.reason, accommodation.granted_by) == (
        participation, "Blind; uses a screen reader.", admin
    )
    assert before <= accommodation.granted_at <= timezone.now()


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_refuses_an_accommodation_without_a_reason_in_the_admin(admin_client_of, talk, learner, reason):
    client, _ = admin_client_of
    participation = ParticipationFactory(user=learner, activity=talk)
    response = client.post(ADD_URL, {"participation": participation.pk, "reason": reason})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"reason": ["This field is required."]}
    assert "This field is required." in response.content.decode()
    assert not ViewingAccommodation.objects.exists()


def test_it_keeps_a_granted_accommodation_as_it_was_granted(admin_client_of, talk, learner):
    client, _ = admin_client_of
    accommodation = ViewingAccommodationFactory(participation=ParticipationFactory(user=learner, activity=talk))
    page = client.get(f"/admin/courses/viewingaccommodation/{accommodation.pk}/change/")
    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields) == set()
