"""What learners notice (issue 14): the claim and post-test forms, the completed state, the
certificate page, the printed name, the step list, expired activities watched without
credit, and the demo's links."""

import datetime
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates.forms import ClaimForm
from certificates.models import Certificate
from certificates.services import certificate_claim, certificate_reissue
from courses.models import Activity, Participation
from courses.selectors import learner_credit_offers
from lms.models import User
from quizzes.models import Attempt

from .conftest import NEW_YORK
from .factories import (
    ActivityFactory,
    EvaluationResponseFactory,
    ParticipationFactory,
    StaffUserFactory,
    UploadedRecordingFactory,
    UserFactory,
    complete_activity,
    learner_ready_to_claim,
)

pytestmark = pytest.mark.django_db

RELEASE = datetime.date(2026, 3, 10)
TERMINATION = datetime.date(2026, 9, 10)
LAST_MINUTE = datetime.datetime(2026, 9, 10, 23, 59, tzinfo=NEW_YORK)
FIRST_MINUTE_AFTER = datetime.datetime(2026, 9, 11, 0, 0, tzinfo=NEW_YORK)


def steps_of(html):
    """(label, done, current) of each item of the page's step list."""
    (steps,) = re.findall(r'<ol class="steps".*?</ol>', html, re.S)
    return [
        (
            re.sub(r"<[^>]+>|\s*\(completed\)|\s*\(optional\)", "", item).strip(),
            'class="done"' in attrs,
            'aria-current="step"' in attrs,
        )
        for attrs, item in re.findall(r"<li([^>]*)>(.*?)</li>", steps, re.S)
    ]


def done_steps(html):
    return [label for label, done, _ in steps_of(html) if done]


# --- The claim form ---------------------------------------------------------------------------


def test_it_offers_credit_in_quarter_steps_from_the_maximum_down(provider):
    activity = ActivityFactory(credits=Decimal("1.50"))
    physician = UserFactory()
    form = ClaimForm(
        activity=activity, offers=learner_credit_offers(activity=activity, user=physician), learner=physician
    )
    assert [value for value, _ in form.fields["credits"].widget.choices] == [
        "1.5", "1.25", "1", "0.75", "0.5", "0.25",
    ]


def test_it_keeps_the_claimed_amount_when_the_attestation_is_missing(activity, client):
    client.force_login(learner_ready_to_claim(activity=activity))
    html = client.post(f"/activities/{activity.slug}/claim/", {"credits": "0.5"}).content.decode()
    assert re.search(r'<option value="0.5" selected>', html)
    assert "Please confirm the attestation." in html
    assert not Certificate.objects.exists()


def test_it_asks_other_professionals_only_to_confirm_participation(activity, client):
    nurse = learner_ready_to_claim(activity=activity, user=UserFactory(profession=User.Profession.OTHER))
    client.force_login(nurse)
    page = client.get(f"/activities/{activity.slug}/claim/").content.decode()
    assert 'name="credits"' not in page
    assert "I confirm that I participated in this activity." in page
    client.post(f"/activities/{activity.slug}/claim/", {"credits": "NaN", "attest": "on"})
    assert Certificate.objects.get().kind == Certificate.Kind.PARTICIPATION


def test_it_shows_the_name_and_degree_as_they_will_print_before_the_confirm_button(activity, client):
    learner = learner_ready_to_claim(
        activity=activity, user=UserFactory(certificate_name="Hopper Grace B.", degree="DO")
    )
    client.force_login(learner)
    html = client.get(f"/activities/{activity.slug}/claim/").content.decode()
    printed = html.index("Your certificate will read: <strong>Hopper Grace B., DO</strong>")
    assert printed < html.index("Get my certificate")
    assert 'href="/me/profile/">Change how your name prints</a>' in html


# --- The post-test form -----------------------------------------------------------------------


def test_it_rejects_a_choice_of_another_question_with_400_and_grades_nothing(activity, learner, client):
    ParticipationFactory(user=learner, activity=activity, watched=True)
    client.force_login(learner)
    page = client.get(f"/activities/{activity.slug}/posttest/")
    first, second, *rest = (item["question"] for item in page.context["questions"])
    answers = {f"question-{q.pk}": q.choices.get(is_correct=True).pk for q in [second, *rest]}
    answers[f"question-{first.pk}"] = second.choices.get(is_correct=True).pk

    response = client.post(
        f"/activities/{activity.slug}/posttest/", {"attempt": page.context["attempt"].pk, **answers}
    )

    assert response.status_code == 400
    assert not Attempt.objects.filter(submitted_at__isnull=False).exists()


# --- A finished activity says so --------------------------------------------------------------


@pytest.fixture
def claimed(activity, learner, client):
    learner_ready_to_claim(activity=activity, user=learner)
    client.force_login(learner)
    return certificate_claim(user=learner, activity=activity, credits="1", attested=True)


def test_it_says_completed_with_a_link_to_the_certificate_on_the_activity_page(activity, claimed, client):
    html = client.get(activity.get_absolute_url()).content.decode()
    assert "Completed" in html
    assert f'<a href="/certificates/{claimed.number}/">View your certificate</a>' in html
    assert "Continue where you left off" not in html


def test_it_says_completed_instead_of_offering_the_claim_on_the_post_test_page(activity, claimed, client):
    html = client.get(f"/activities/{activity.slug}/posttest/").content.decode()
    assert f'<a href="/certificates/{claimed.number}/">View your certificate</a>' in html
    assert "Claim your credit" not in html


# --- The certificate page ---------------------------------------------------------------------


def test_it_offers_no_download_while_a_reissue_is_being_prepared(issued_certificate, client):
    certificate = certificate_reissue(certificate=issued_certificate, actor=StaffUserFactory(), reason="New PDF.")
    client.force_login(certificate.user)
    html = client.get(f"/certificates/{certificate.number}/").content.decode()
    assert "being prepared" in html
    assert "/pdf/" not in html
    assert client.get(f"/certificates/{certificate.number}/pdf/").status_code == 404


# --- The step list ----------------------------------------------------------------------------


def test_it_marks_the_watch_step_done_on_the_evaluation_page_once_watched(activity, learner, client):
    ParticipationFactory(user=learner, activity=activity, watched=True)
    client.force_login(learner)
    html = client.get(f"/activities/{activity.slug}/evaluation/").content.decode()
    assert done_steps(html) == ["Watch the recording"]


def test_it_marks_the_steps_done_before_the_post_test_on_its_page(activity, learner, client):
    ParticipationFactory(user=learner, activity=activity, watched=True)
    EvaluationResponseFactory(user=learner, evaluation=activity.evaluation)
    client.force_login(learner)
    html = client.get(f"/activities/{activity.slug}/posttest/").content.decode()
    assert steps_of(html) == [
        ("Watch the recording", True, False),
        ("Complete the evaluation", True, False),
        ("Pass the post-test", False, True),
        ("Claim credit", False, False),
    ]


def test_it_marks_optional_watching_done_once_the_learner_did_a_later_step(provider, learner, client):
    activity = complete_activity(requires_full_viewing=False)
    ParticipationFactory(user=learner, activity=activity)
    EvaluationResponseFactory(user=learner, evaluation=activity.evaluation)
    client.force_login(learner)
    html = client.get(f"/activities/{activity.slug}/watch/").content.decode()
    assert done_steps(html) == ["Watch the recording", "Complete the evaluation"]


def test_it_marks_every_step_done_on_the_certificate_page(activity, claimed, client):
    html = client.get(f"/certificates/{claimed.number}/").content.decode()
    assert done_steps(html) == [
        "Watch the recording", "Complete the evaluation", "Pass the post-test", "Claim credit",
    ]


def test_it_takes_the_claim_pages_steps_from_the_credit_gate(activity, client):
    client.force_login(learner_ready_to_claim(activity=activity))
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/activities/{activity.slug}/claim/")
    # The gate's own look-ups, and none more for the step list.
    assert sum('FROM "quizzes_evaluationresponse"' in q["sql"] for q in queries.captured_queries) == 1
    assert sum('FROM "quizzes_attempt"' in q["sql"] for q in queries.captured_queries) == 1


# --- Watching an expired activity without credit ----------------------------------------------


@pytest.fixture
def ending(provider):
    return complete_activity(release_date=RELEASE, termination_date=TERMINATION)


def test_it_sends_a_newcomer_to_the_start_while_credit_is_available(ending, learner, client):
    client.force_login(learner)
    with time_machine.travel(LAST_MINUTE, tick=False):
        response = client.get(f"/activities/{ending.slug}/watch/")
    assert response.status_code == 302
    assert response.url == ending.get_absolute_url()


def test_it_lets_a_newcomer_watch_once_credit_has_ended_and_says_it_earns_none(ending, learner, client):
    client.force_login(learner)
    with time_machine.travel(FIRST_MINUTE_AFTER, tick=False):
        html = client.get(f"/activities/{ending.slug}/watch/").content.decode()
    assert "<video" in html
    assert "Credit is no longer available." in html
    assert "watching it earns no credit or certificate" in html
    assert "Continue to the evaluation" not in html
    assert not Participation.objects.exists()


def test_it_offers_a_newcomer_the_recording_on_an_expired_activity_page(ending, learner, client):
    client.force_login(learner)
    with time_machine.travel(FIRST_MINUTE_AFTER, tick=False):
        html = client.get(ending.get_absolute_url()).content.decode()
    assert f'href="/activities/{ending.slug}/watch/">Watch the recording (no credit)</a>' in html
    assert "Start activity" not in html


def test_it_serves_an_uploaded_recording_to_a_newcomer_only_once_credit_has_ended(ending, learner, client):
    ending.recording.delete()
    UploadedRecordingFactory(activity=ending)
    client.force_login(learner)
    url = f"/activities/{ending.slug}/watch/video/"
    with time_machine.travel(LAST_MINUTE, tick=False):
        assert client.get(url).status_code == 403
    with time_machine.travel(FIRST_MINUTE_AFTER, tick=False):
        assert client.get(url).status_code == 200


def test_it_opens_no_way_to_credit_for_a_newcomer_who_watched_after_termination(ending, learner, client):
    client.force_login(learner)
    with time_machine.travel(FIRST_MINUTE_AFTER, tick=False):
        client.get(f"/activities/{ending.slug}/watch/")
        client.post(f"/activities/{ending.slug}/watch/")
        evaluation = client.get(f"/activities/{ending.slug}/evaluation/")
        claim = client.post(f"/activities/{ending.slug}/claim/", {"credits": "1", "attest": "on"})
    assert evaluation.status_code == 302 and evaluation.url == ending.get_absolute_url()
    assert "Credit is no longer available for this activity." in claim.content.decode()
    assert "Get my certificate" not in claim.content.decode()
    assert not Participation.objects.exists()
    assert not Certificate.objects.exists()


def test_it_keeps_archived_recordings_to_those_who_started(provider, learner, client):
    activity = complete_activity(status=Activity.Status.ARCHIVED)
    client.force_login(learner)
    response = client.get(f"/activities/{activity.slug}/watch/")
    assert response.status_code == 302


# --- The demo's links -------------------------------------------------------------------------


def test_it_sends_no_learner_from_a_demo_page_to_example_org(client):
    call_command("load_demo", stdout=io.StringIO())
    client.force_login(User.objects.get(email="learner@example.org"))
    paths = ["/"] + [activity.get_absolute_url() for activity in Activity.objects.all()]
    for path in paths:
        html = client.get(path).content.decode()
        assert not re.search(r'href="https?://([\w-]+\.)*example\.(org|com|net)', html), path
    assert 'href="/privacy/">Privacy policy</a>' in html
