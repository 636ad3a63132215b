"""Activity JSON import from the staff workspace: upload, see what will be created or
changed, confirm (issue 16, point 9)."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from courses.models import Activity
from lms.activity_io import activities_export
from quizzes.models import PostTest

from .factories import StaffUserFactory, UserFactory, complete_activity, graded_attempt, staff_login

pytestmark = pytest.mark.django_db

IMPORT_URL = "/staff/authoring/import/"


def new_activity(**fields):
    return {
        "slug": "sepsis-recognition",
        "title": "Sepsis Recognition",
        "status": "draft",
        "release_date": "2025-01-10",
        "termination_date": "2026-01-10",
        "credits": "1.00",
        "objectives": ["Recognise sepsis early."],
        "posttest": {
            "pass_percent": 75,
            "questions": [
                {"text": "qSOFA counts:", "choices": [{"text": "Three signs", "correct": True},
                                                      {"text": "Five signs", "correct": False}]},
            ],
        },
        **fields,
    }


@pytest.fixture
def client_staff(client, provider):
    staff_login(client, StaffUserFactory())
    return client


def upload(client, data, *, name="activities.json"):
    content = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post(IMPORT_URL, {"file": SimpleUploadedFile(name, content, content_type="application/json")})


def confirm(client, token):
    return client.post(reverse("staff:authoring_import_confirm"), {"token": token})


def token_of(response):
    return re.search(r'name="token" value="([^"]+)"', response.content.decode())[1]


def test_it_is_linked_as_the_import_page(client_staff):
    response = client_staff.get(reverse("staff:authoring_import"))
    assert response.status_code == 200
    assert 'type="file"' in response.content.decode()


def test_it_previews_a_new_activity_and_creates_it_on_confirmation(client_staff):
    response = upload(client_staff, [new_activity()])
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 activity will be created and 0 updated." in html
    assert "Will create" in html and "Will update" not in html
    assert "Sepsis Recognition" in html and "(sepsis-recognition)" in html
    assert "1 post-test question" in html
    assert not Activity.objects.filter(slug="sepsis-recognition").exists()

    response = confirm(client_staff, token_of(response))
    assert response.status_code == 302
    assert response.url == reverse("staff:authoring_list")
    activity = Activity.objects.get(slug="sepsis-recognition")
    assert activity.title == "Sepsis Recognition"
    assert PostTest.objects.get(activity=activity).questions.count() == 1
    messages = [str(message) for message in response.wsgi_request._messages]
    assert messages == ["Imported 1 activity from activities.json: sepsis-recognition."]


def test_it_previews_what_an_update_changes_and_changes_nothing_until_confirmed(client_staff):
    activity = complete_activity(title="Old Title")
    data = activities_export(activities=[activity])[0]
    before = activities_export()
    data["title"] = "New Title"
    data["posttest"]["pass_percent"] = 80
    data["objectives"].append("A second objective.")
    response = upload(client_staff, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "0 activities will be created and 1 updated." in html
    assert "Will update" in html
    assert "<strong>Title</strong>: “Old Title” → “New Title”" in html
    assert "<strong>Post-test</strong>: changes its pass mark" in html
    assert "<strong>Objectives</strong>: changes (1 → 2 items)" in html
    assert "Description" not in html
    assert activities_export() == before

    confirm(client_staff, token_of(response))
    activity.refresh_from_db()
    assert activity.title == "New Title"
    assert activity.objectives.count() == 2


def test_it_says_when_an_update_changes_nothing(client_staff):
    activity = complete_activity()
    response = upload(client_staff, activities_export(activities=[activity]))
    assert "No changes: the activity is already as the file describes it." in response.content.decode()


def test_it_refuses_a_file_with_an_error_naming_the_field_and_creates_nothing(client_staff):
    bad = new_activity(slug="second", credits="0.3")
    response = upload(client_staff, [new_activity(), bad])
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was imported. [1].credits:" in html
    assert 'href="#id_file"' in html
    assert not Activity.objects.exists()
    assert not client_staff.session.get("authoring_uploads")


def test_it_refuses_a_question_without_a_correct_choice(client_staff):
    data = new_activity()
    data["posttest"]["questions"][0]["choices"][0]["correct"] = False
    response = upload(client_staff, data)
    assert response.status_code == 400
    assert "posttest.questions[0].choices: Mark at least one choice as correct." in response.content.decode()


def test_it_refuses_a_file_that_is_not_json(client_staff):
    response = upload(client_staff, b'{"slug": "x",', name="broken.json")
    assert response.status_code == 400
    assert "broken.json is not valid JSON: Expecting property name enclosed in double quotes: line 1" in (
        response.content.decode()
    )
    response = upload(client_staff, b"\xff\xfe{}", name="utf16.json")
    assert "utf16.json is not UTF-8 text" in response.content.decode()
    response = upload(client_staff, b"{}", name="activities.csv")
    assert "is not a .json file" in response.content.decode()
    assert not Activity.objects.exists()


def test_it_refuses_a_made_up_or_used_token(client_staff):
    token = token_of(upload(client_staff, new_activity()))
    response = confirm(client_staff, "not-" + token)
    assert response.status_code == 400
    assert "Upload the file again" in response.content.decode()
    assert not Activity.objects.exists()
    assert confirm(client_staff, token).status_code == 302
    assert confirm(client_staff, token).status_code == 400


def test_it_refuses_a_token_of_a_question_upload(client_staff):
    activity = complete_activity(status=Activity.Status.DRAFT)
    response = client_staff.post(
        reverse("staff:authoring_posttest_import", kwargs={"slug": activity.slug}),
        {"file": SimpleUploadedFile("q.gift", b"Which? {=Yes ~No}"), "mode": "append"},
    )
    assert confirm(client_staff, token_of(response)).status_code == 400
    assert activity.posttest.questions.count() == 4


def test_it_reports_an_error_that_appears_between_preview_and_confirmation(client_staff):
    token = token_of(upload(client_staff, new_activity()))
    # The preview passed; then an activity of that slug appeared, and learners answered
    # its post-test, which the file would replace.
    activity = complete_activity(slug="sepsis-recognition", status=Activity.Status.DRAFT)
    graded_attempt(activity=activity, user=UserFactory(), correct=4)
    before = activities_export()
    response = confirm(client_staff, token)
    assert response.status_code == 400
    assert "Nothing was imported. posttest.questions: learners have already answered" in response.content.decode()
    assert activities_export() == before


def test_it_hides_the_import_from_learners_and_sends_anonymous_visitors_to_log_in(client, provider):
    response = client.get(IMPORT_URL)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    client.force_login(UserFactory())
    assert client.get(IMPORT_URL).status_code == 404
    assert upload(client, new_activity()).status_code == 404
    assert not Activity.objects.exists()
