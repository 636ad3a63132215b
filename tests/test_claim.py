import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from certificates.models import Certificate, CertificateEvent
from certificates.rules import GateCode, GateReason, credit_gate
from courses.models import Participation
from courses.rules import CreditWindow
from certificates.services import ClaimRefused, certificate_claim
from lms.models import User

from .conftest import NEW_YORK
from .factories import (
    EvaluationResponseFactory,
    ParticipationFactory,
    UserFactory,
    complete_activity,
    learner_ready_to_claim,
)


def test_it_refuses_a_learner_who_has_not_started(activity, learner):
    assert credit_gate(user=learner, activity=activity).reasons == ["You have not started this activity."]


def test_it_refuses_until_the_evaluation_and_post_test_are_done(activity, learner):
    ParticipationFactory(user=learner, activity=activity, watched=True)
    assert credit_gate(user=learner, activity=activity).reasons == [
        "Complete the activity evaluation.",
        "Pass the post-test.",
    ]
    EvaluationResponseFactory(user=learner, evaluation=activity.evaluation)
    assert credit_gate(user=learner, activity=activity).reasons == ["Pass the post-test."]


def test_it_requires_the_recording_when_the_activity_asks_for_full_viewing(activity):
    assert activity.requires_full_viewing
    learner = learner_ready_to_claim(activity=activity, watched=False)
    assert credit_gate(user=learner, activity=activity).reasons == ["Watch the whole recording first."]


def test_it_refuses_after_the_termination_date(provider):
    activity = complete_activity(
        release_date=datetime.date(2026, 1, 1), termination_date=datetime.date(2026, 6, 30)
    )
    with time_machine.travel(datetime.datetime(2026, 6, 30, 12, tzinfo=NEW_YORK), tick=False):
        learner = learner_ready_to_claim(activity=activity)
        assert credit_gate(user=learner, activity=activity).allowed
    with time_machine.travel(datetime.datetime(2026, 7, 1, 0, 0, tzinfo=NEW_YORK), tick=False):
        gate = credit_gate(user=learner, activity=activity)
        assert gate.reasons == ["Credit is no longer available for this activity."]
        with pytest.raises(ClaimRefused):
            certificate_claim(user=learner, activity=activity, credits="1", attested=True)
    assert not Certificate.objects.exists()


def test_it_dates_completion_on_the_day_the_last_requirement_was_met(provider, activity):
    with time_machine.travel(datetime.datetime(2026, 11, 20, 23, 30, tzinfo=NEW_YORK), tick=False):
        learner = learner_ready_to_claim(activity=activity)
    with time_machine.travel(datetime.datetime(2026, 11, 24, 9, 0, tzinfo=NEW_YORK), tick=False):
        certificate = certificate_claim(user=learner, activity=activity, credits="1", attested=True)
    assert certificate.completed_on == datetime.date(2026, 11, 20)


@pytest.mark.parametrize("credits", ["0", "0.3", "1.25", "-1", "abc", ""])
def test_it_refuses_a_claim_outside_quarter_steps_up_to_the_maximum(activity, credits):
    learner = learner_ready_to_claim(activity=activity)
    with pytest.raises(ClaimRefused):
        certificate_claim(user=learner, activity=activity, credits=credits, attested=True)
    assert not Certificate.objects.exists()


def test_it_accepts_a_quarter_credit_claim(activity):
    learner = learner_ready_to_claim(activity=activity)
    certificate = certificate_claim(user=learner, activity=activity, credits="0.25", attested=True)
    assert certificate.credits_claimed == Decimal("0.25")
    assert certificate.kind == Certificate.Kind.AMA_CREDIT


def test_it_requires_the_attestation(activity):
    learner = learner_ready_to_claim(activity=activity)
    with pytest.raises(ClaimRefused):
        certificate_claim(user=learner, activity=activity, credits="1", attested=False)
    assert not Certificate.objects.exists()


def test_it_gives_other_professionals_a_certificate_of_participation(activity):
    nurse = UserFactory(profession=User.Profession.OTHER, degree="RN")
    learner_ready_to_claim(activity=activity, user=nurse)
    certificate = certificate_claim(user=nurse, activity=activity, attested=True)
    assert certificate.kind == Certificate.Kind.PARTICIPATION
    assert certificate.hours == activity.credits
    assert certificate.credits_claimed is None


def test_it_returns_the_existing_certificate_on_a_second_claim(activity):
    learner = learner_ready_to_claim(activity=activity)
    first = certificate_claim(user=learner, activity=activity, credits="1", attested=True)
    second = certificate_claim(user=learner, activity=activity, credits="0.5", attested=True)
    assert second.pk == first.pk
    assert Certificate.objects.count() == 1


def test_it_enforces_one_certificate_per_learner_and_activity_in_the_database(activity):
    learner = learner_ready_to_claim(activity=activity)
    certificate = certificate_claim(user=learner, activity=activity, credits="1", attested=True)
    certificate.pk = None
    certificate.number = "CME-SECND-NUMBR-00000"
    with pytest.raises(IntegrityError):
        certificate.save()


def test_it_shows_the_learner_what_is_missing_on_the_claim_page(activity, learner, client):
    ParticipationFactory(user=learner, activity=activity)
    client.force_login(learner)
    html = client.get(f"/activities/{activity.slug}/claim/").content.decode()
    assert "Complete the activity evaluation." in html
    assert "Get my certificate" not in html


@pytest.mark.parametrize(
    "credits", ["NaN", "sNaN", "-NaN", "Infinity", "-Infinity", "-0", "1e400", "0.3", "abc", "", " "]
)
def test_it_answers_a_claim_of_a_value_that_is_no_credit_amount_with_the_forms_message(
    activity, client, credits
):
    learner = learner_ready_to_claim(activity=activity)
    client.force_login(learner)

    response = client.post(f"/activities/{activity.slug}/claim/", {"credits": credits, "attest": "on"})

    assert response.status_code == 200
    assert "Claim between 0.25 and 1 credits, in steps of 0.25." in response.content.decode()
    assert not Certificate.objects.exists()
    assert not CertificateEvent.objects.exists()
    assert Participation.objects.get(user=learner, activity=activity).completed_at is None


def test_it_words_a_pass_handed_in_before_release_alike_on_the_post_test_and_claim_pages(
    provider, client
):
    activity = complete_activity(
        release_date=datetime.date(2026, 1, 1), termination_date=datetime.date(2026, 6, 30)
    )
    with time_machine.travel(datetime.datetime(2026, 2, 1, 12, tzinfo=NEW_YORK), tick=False):
        learner = learner_ready_to_claim(activity=activity)
    # Staff moved the release later: the pass now predates it, and is not "late".
    activity.release_date = datetime.date(2026, 3, 1)
    activity.save()
    client.force_login(learner)
    expected = (
        "You passed, but you handed in this attempt before the activity was released, "
        "so it does not earn credit."
    )

    with time_machine.travel(datetime.datetime(2026, 3, 2, 12, tzinfo=NEW_YORK), tick=False):
        posttest_page = client.get(f"/activities/{activity.slug}/posttest/").content.decode()
        claim_page = client.get(f"/activities/{activity.slug}/claim/").content.decode()

    assert expected in posttest_page
    assert expected in claim_page
    assert "termination date" not in claim_page


def test_it_words_a_pass_handed_in_after_termination_alike_on_both_pages(provider, client):
    activity = complete_activity(
        release_date=datetime.date(2026, 1, 1), termination_date=datetime.date(2026, 6, 30)
    )
    with time_machine.travel(datetime.datetime(2026, 6, 30, 23, 50, tzinfo=NEW_YORK), tick=False):
        learner = learner_ready_to_claim(
            activity=activity, at=datetime.datetime(2026, 7, 1, 0, 1, tzinfo=NEW_YORK)
        )
    client.force_login(learner)
    late = (
        "You passed, but you handed in this attempt on July 1, 2026, after credit for this "
        "activity ended on June 30, 2026. An attempt handed in after the termination date "
        "does not earn credit."
    )

    with time_machine.travel(datetime.datetime(2026, 7, 1, 12, tzinfo=NEW_YORK), tick=False):
        posttest_page = client.get(f"/activities/{activity.slug}/posttest/").content.decode()
        claim_page = client.get(f"/activities/{activity.slug}/claim/").content.decode()

    assert late in posttest_page
    assert late in claim_page


def test_it_gives_each_refusal_as_a_code_with_what_its_wording_needs(provider):
    activity = complete_activity(
        release_date=datetime.date(2026, 1, 1), termination_date=datetime.date(2026, 6, 30)
    )
    with time_machine.travel(datetime.datetime(2026, 6, 30, 23, 50, tzinfo=NEW_YORK), tick=False):
        learner = learner_ready_to_claim(
            activity=activity, at=datetime.datetime(2026, 7, 1, 0, 1, tzinfo=NEW_YORK)
        )

    with time_machine.travel(datetime.datetime(2026, 7, 1, 12, tzinfo=NEW_YORK), tick=False):
        refusals = credit_gate(user=learner, activity=activity).refusals

    assert refusals == [
        GateReason(GateCode.WINDOW, {"window": CreditWindow.EXPIRED}),
        GateReason(
            GateCode.ATTEMPT_OUTSIDE_WINDOW,
            {
                "window": CreditWindow.EXPIRED,
                "handed_in_on": datetime.date(2026, 7, 1),
                "termination_date": datetime.date(2026, 6, 30),
            },
        ),
    ]


def test_it_refuses_every_claim_while_no_provider_is_saved(db):
    activity = complete_activity()
    learner = learner_ready_to_claim(activity=activity)

    gate = credit_gate(user=learner, activity=activity)
    with pytest.raises(ClaimRefused) as refused:
        certificate_claim(user=learner, activity=activity, credits="1", attested=True)

    assert gate.refusals == [GateReason(GateCode.NO_PROVIDER)]
    assert refused.value.reasons == [
        "Certificates cannot be issued yet: the CME office has not finished setting up this "
        "site. Please come back later."
    ]
    assert not Certificate.objects.exists()


def test_it_says_on_the_claim_page_why_no_certificate_can_be_issued_without_a_provider(client, db):
    activity = complete_activity()
    learner = learner_ready_to_claim(activity=activity)
    client.force_login(learner)

    page = client.get(f"/activities/{activity.slug}/claim/").content.decode()
    response = client.post(f"/activities/{activity.slug}/claim/", {"credits": "1", "attest": "on"})

    assert "the CME office has not finished setting up this site" in page
    assert "Get my certificate" not in page
    assert response.status_code == 200
    assert "the CME office has not finished setting up this site" in response.content.decode()
    assert not Certificate.objects.exists()


def test_it_claims_on_the_claim_page_reading_the_gate_and_offers_once(activity, client):
    learner = learner_ready_to_claim(activity=activity)
    client.force_login(learner)

    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/activities/{activity.slug}/claim/", {"credits": "1", "attest": "on"})

    certificate = Certificate.objects.get(user=learner, activity=activity)
    assert response.status_code == 302 and response.url == certificate.get_absolute_url()
    reads = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    for table in ("courses_participation", "quizzes_attempt", "quizzes_evaluationresponse", "courses_activitycredit"):
        assert sum(f'FROM "{table}"' in sql for sql in reads) == 1, table
    # Nothing of what only the activity's own page shows.
    for table in ("courses_learningobjective", "courses_resource", "courses_facultyrole"):
        assert not any(f'FROM "{table}"' in sql for sql in reads), table
