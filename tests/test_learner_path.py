import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from certificates.models import Certificate
from lms.models import User
from quizzes.models import EvaluationQuestion

from .conftest import pdf_text
from .factories import PASSWORD


def answers_for(form_page):
    return {
        f"question-{item['question'].pk}": item["question"].choices.get(is_correct=True).pk
        for item in form_page.context["questions"]
    }


@pytest.mark.django_db
def test_it_takes_a_new_learner_from_signup_to_a_certificate_pdf(
    client, activity, settings, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    response = client.post(
        "/accounts/signup/",
        {"email": "new.doctor@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", mail.outbox[0].body).group(0)
    confirm_path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.post("/" + confirm_path)
    assert response.status_code == 302

    # A new learner is asked for the profile before anything else.
    response = client.get(activity.get_absolute_url())
    assert response.status_code == 302
    assert response.url.startswith("/me/profile/")
    response = client.post(
        "/me/profile/",
        {
            "given_name": "Nguyễn",
            "family_name": "Thị Minh",
            "certificate_name": "",
            "degree": "MD",
            "profession": "physician",
            "next": activity.get_absolute_url(),
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.doctor@example.org")
    assert user.certificate_name == "Nguyễn Thị Minh"

    assert client.post(f"/activities/{activity.slug}/start/").status_code == 302
    # The evaluation waits for the recording, which the player reports as it plays.
    assert client.get(f"/activities/{activity.slug}/evaluation/").url == f"/activities/{activity.slug}/watch/"
    opened = timezone.now()
    with time_machine.travel(opened, tick=False):
        assert client.get(f"/activities/{activity.slug}/watch/").status_code == 200
        # The player asks for its viewing session as the learner presses play.
        session = client.post(f"/activities/{activity.slug}/watch/session/").json()["session"]
    with time_machine.travel(opened + datetime.timedelta(seconds=8), tick=False):
        response = client.post(
            f"/activities/{activity.slug}/watch/progress/",
            {"session": session, "position": 8, "watched": [[0, 8]], "sent_at": 1},
            content_type="application/json",
        )
    assert response.json()["requirement_met"]
    assert client.post(f"/activities/{activity.slug}/watch/").url == f"/activities/{activity.slug}/evaluation/"
    question = activity.evaluation.questions.get()
    assert question.kind == EvaluationQuestion.Kind.LIKERT
    response = client.post(f"/activities/{activity.slug}/evaluation/", {f"q{question.pk}": "4"})
    assert response.status_code == 302

    page = client.get(f"/activities/{activity.slug}/posttest/")
    response = client.post(
        f"/activities/{activity.slug}/posttest/",
        {"attempt": page.context["attempt"].pk, **answers_for(page)},
    )
    assert response.status_code == 302
    assert b"passed" in client.get(f"/activities/{activity.slug}/posttest/").content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/activities/{activity.slug}/claim/", {"credits": "0.75", "attest": "on"}
        )
    certificate = Certificate.objects.get(user=user, activity=activity)
    assert response.url == f"/certificates/{certificate.number}/"
    assert b"Download certificate" in client.get(response.url).content

    download = client.get(f"/certificates/{certificate.number}/pdf/")
    assert download["Content-Type"] == "application/pdf"
    text = pdf_text(b"".join(download.streaming_content))
    assert "Nguyễn Thị Minh" in text
    assert activity.title in text
    assert "0.75 AMA PRA Category 1 Credits™" in text
    assert (
        "designates this enduring material for a maximum of 1 AMA PRA Category 1 Credit™"
        in " ".join(text.split())
    )

