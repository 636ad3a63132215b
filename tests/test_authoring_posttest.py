"""The post-test step of the staff workspace: the one-screen editor and the question file
upload with its preview (issue 16, points 2 and 3)."""

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from courses.models import Activity
from lms.authoring_posttest import UPLOADS_SESSION_KEY
from quizzes.models import Choice, PostTest, Question

from .factories import (
    ActivityFactory,
    ChoiceFactory,
    ParticipationFactory,
    PostTestFactory,
    QuestionFactory,
    StaffUserFactory,
    UserFactory,
    complete_activity,
    graded_attempt,
    staff_login,
)

pytestmark = pytest.mark.django_db

DEFAULT_SETTINGS = {
    "pass_percent": "75",
    "max_attempts": "",
    "minutes_between_attempts": "0",
    "review_after_fail": "score",
    "review_after_pass": "correct_answers",
}

GIFT = """// Two questions for the upload tests.
::Staging:: Which stage is it? {
  =Stage 2 # Two readings at or above 140/90.
  ~Stage 1 # Too high for stage 1.
  ~Normal
}

Which drugs are first-line? {
  ~%50%Thiazides
  ~%50%ACE inhibitors
  ~%-100%Beta blockers
}
"""

MOODLE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="multichoice">
    <name><text>Target</text></name>
    <questiontext format="html"><text><![CDATA[<p>What is the usual <b>target</b>?</p>]]></text></questiontext>
    <generalfeedback format="html"><text>See the guideline.</text></generalfeedback>
    <single>true</single>
    <answer fraction="100"><text>Below 130/80</text><feedback><text>Yes.</text></feedback></answer>
    <answer fraction="0"><text>Below 160/100</text><feedback><text>Too lenient.</text></feedback></answer>
  </question>
</quiz>
"""


@pytest.fixture
def staff(db):
    return StaffUserFactory()


@pytest.fixture
def client_staff(client, staff):
    staff_login(client, staff)
    return client


@pytest.fixture
def draft(provider):
    """A draft activity with a post-test of two questions, "First?" and "Second?"."""
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    posttest = PostTestFactory(activity=activity)
    for text in ("First?", "Second?"):
        question = QuestionFactory(posttest=posttest, text=text, explanation="")
        ChoiceFactory(question=question, text=f"{text} right", is_correct=True)
        ChoiceFactory(question=question, text=f"{text} wrong", is_correct=False)
    return activity


def editor_url(activity):
    return reverse("staff:authoring_posttest", kwargs={"slug": activity.slug})


def editor_data(questions, *, action="save", **settings):
    """The editor's form as a browser posts it: `questions` as dicts of text, multiple,
    explanation, id and choices, each choice a dict of text, is_correct, feedback, id and
    delete."""
    data = {"action": action, "questions": str(len(questions))}
    data.update({f"settings-{name}": value for name, value in {**DEFAULT_SETTINGS, **settings}.items()})
    for index, question in enumerate(questions):
        prefix = f"q{index}"
        data[f"{prefix}-choices"] = str(len(question["choices"]))
        data[f"{prefix}-id"] = question.get("id", "")
        data[f"{prefix}-text"] = question.get("text", "")
        data[f"{prefix}-explanation"] = question.get("explanation", "")
        if question.get("multiple"):
            data[f"{prefix}-multiple"] = "on"
        for position, choice in enumerate(question["choices"]):
            choice_prefix = f"{prefix}c{position}"
            data[f"{choice_prefix}-id"] = choice.get("id", "")
            data[f"{choice_prefix}-text"] = choice.get("text", "")
            data[f"{choice_prefix}-feedback"] = choice.get("feedback", "")
            for flag in ("is_correct", "delete"):
                if choice.get(flag):
                    data[f"{choice_prefix}-{flag}"] = "on"
    return data


def saved_questions(activity):
    """The saved post-test as it would print: ids, texts and answer key, in order."""
    posttest = PostTest.objects.get(activity=activity)
    return [
        (question.pk, question.text, [(choice.pk, choice.text, choice.is_correct) for choice in question.choices.all()])
        for question in posttest.questions.prefetch_related("choices")
    ]


def as_page(activity):
    """The saved questions as the editor posts them back unchanged."""
    return [
        {
            "id": question.pk,
            "text": question.text,
            "multiple": question.multiple,
            "explanation": question.explanation,
            "choices": [
                {"id": choice.pk, "text": choice.text, "is_correct": choice.is_correct, "feedback": choice.feedback}
                for choice in question.choices.all()
            ],
        }
        for question in PostTest.objects.get(activity=activity).questions.prefetch_related("choices")
    ]


def two_choices(right="Right", wrong="Wrong"):
    return [{"text": right, "is_correct": True}, {"text": wrong}]


# --- Building a post-test on one screen ------------------------------------------------


def test_it_offers_a_new_post_test_with_the_75_percent_pass_mark(client_staff, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    response = client_staff.get(editor_url(activity))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="settings-pass_percent" value="75"' in page
    assert "saving this page creates it" in page
    assert not PostTest.objects.filter(activity=activity).exists()


def test_it_creates_the_post_test_with_its_questions_and_choices(client_staff, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    questions = [
        {"text": "Which stage?", "explanation": "Two readings.", "choices": [
            {"text": "Stage 2", "is_correct": True, "feedback": "Yes: both readings are high."},
            {"text": "Stage 1", "feedback": "Too high for stage 1."},
            {},  # an "Add choice" row left empty
        ]},
        {"text": "Which are first-line?", "multiple": True, "choices": [
            {"text": "Thiazides", "is_correct": True},
            {"text": "ACE inhibitors", "is_correct": True},
            {"text": "Beta blockers"},
        ]},
        {"choices": [{}, {}, {}, {}]},  # an "Add question" left empty
    ]
    response = client_staff.post(editor_url(activity), editor_data(questions, pass_percent="80", max_attempts="3"))
    assert response.status_code == 302
    assert response.url == editor_url(activity)
    posttest = PostTest.objects.get(activity=activity)
    assert (posttest.pass_percent, posttest.max_attempts) == (Decimal("80"), 3)
    saved = list(posttest.questions.prefetch_related("choices"))
    assert [(q.text, q.multiple, q.explanation) for q in saved] == [
        ("Which stage?", False, "Two readings."),
        ("Which are first-line?", True, ""),
    ]
    assert [(c.text, c.is_correct, c.feedback) for c in saved[0].choices.all()] == [
        ("Stage 2", True, "Yes: both readings are high."),
        ("Stage 1", False, "Too high for stage 1."),
    ]
    assert [(c.text, c.is_correct) for c in saved[1].choices.all()] == [
        ("Thiazides", True), ("ACE inhibitors", True), ("Beta blockers", False),
    ]


def test_it_saves_a_post_test_of_a_hundred_questions_in_one_page(client_staff, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    questions = [
        {"text": f"Question {n}?", "choices": [{"text": "Right", "is_correct": True}] + [{"text": f"Wrong {c}"} for c in range(3)]}
        for n in range(100)
    ]
    response = client_staff.post(editor_url(activity), editor_data(questions))
    assert response.status_code == 302
    assert PostTest.objects.get(activity=activity).questions.count() == 100


def test_it_saves_and_continues_to_the_evaluation_step(client_staff, draft):
    response = client_staff.post(editor_url(draft), editor_data(as_page(draft), action="continue"))
    assert response.status_code == 302
    assert response.url == reverse("staff:authoring_evaluation", kwargs={"slug": draft.slug})


def test_it_shows_the_saved_pass_mark_as_staff_typed_it(client_staff, draft):
    PostTest.objects.filter(activity=draft).update(pass_percent=Decimal("80"))
    assert 'name="settings-pass_percent" value="80"' in client_staff.get(editor_url(draft)).content.decode()


def test_it_keeps_the_rows_of_an_unchanged_save(client_staff, draft):
    before = saved_questions(draft)
    response = client_staff.post(editor_url(draft), editor_data(as_page(draft)))
    assert response.status_code == 302
    assert saved_questions(draft) == before


def test_it_adds_a_question_keeping_what_was_typed_and_saving_nothing(client_staff, draft):
    before = saved_questions(draft)
    page = as_page(draft)
    page[0]["text"] = "First, edited but not saved?"
    response = client_staff.post(editor_url(draft), editor_data(page, action="add-question"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "First, edited but not saved?" in html
    assert 'name="questions" value="3"' in html
    assert 'name="q2-text"' in html and 'name="q2c3-text"' in html
    assert "Question 3 added at the end." in html
    assert saved_questions(draft) == before


def test_it_adds_a_choice_row_to_one_question(client_staff, draft):
    response = client_staff.post(editor_url(draft), editor_data(as_page(draft), action="add-choice-1"))
    html = response.content.decode()
    assert 'name="q1-choices" value="3"' in html
    assert 'name="q0-choices" value="2"' in html
    assert 'data-focus="id_q1c2-text"' in html


def test_it_moves_a_question_down_and_saves_the_new_order(client_staff, draft):
    before = saved_questions(draft)
    response = client_staff.post(editor_url(draft), editor_data(as_page(draft), action="down-0"))
    html = response.content.decode()
    assert html.index("Second?</textarea>") < html.index("First?</textarea>")
    assert "Question 1 moved down to position 2." in html
    # The rearranged page, posted back as the browser would: the hidden ids moved along.
    moved = list(reversed(as_page(draft)))
    response = client_staff.post(editor_url(draft), editor_data(moved))
    assert response.status_code == 302
    assert saved_questions(draft) == [before[1], before[0]]


def test_it_renders_the_ids_of_the_moved_questions_with_them(client_staff, draft):
    first, second = saved_questions(draft)
    response = client_staff.post(editor_url(draft), editor_data(as_page(draft), action="up-1"))
    html = response.content.decode()
    assert re.search(rf'name="q0-id" value="{second[0]}"', html)
    assert re.search(rf'name="q1-id" value="{first[0]}"', html)
    assert re.search(rf'name="q0c0-id" value="{second[2][0][0]}"', html)


def test_it_deletes_a_question_and_a_choice_when_saved(client_staff, draft):
    first, second = saved_questions(draft)
    response = client_staff.post(editor_url(draft), editor_data(as_page(draft), action="delete-0"))
    assert "Question 1 removed." in response.content.decode()
    assert Question.objects.filter(pk=first[0]).exists()
    page = as_page(draft)[1:]
    page[0]["choices"].append({"text": "Another wrong"})
    page[0]["choices"][1]["delete"] = True
    response = client_staff.post(editor_url(draft), editor_data(page))
    assert response.status_code == 302
    assert [(text, [(t, c) for _, t, c in choices]) for _, text, choices in saved_questions(draft)] == [
        ("Second?", [("Second? right", True), ("Another wrong", False)]),
    ]
    assert not Question.objects.filter(pk=first[0]).exists()
    assert not Choice.objects.filter(pk=second[2][1][0]).exists()


def test_it_moves_the_correct_mark_to_another_choice(client_staff, draft):
    page = as_page(draft)
    page[0]["choices"][0]["is_correct"] = False
    page[0]["choices"][1]["is_correct"] = True
    client_staff.post(editor_url(draft), editor_data(page))
    assert [c for _, _, c in saved_questions(draft)[0][2]] == [False, True]


def test_it_refuses_a_question_without_a_correct_choice_and_saves_nothing(client_staff, draft):
    before = saved_questions(draft)
    page = as_page(draft)
    page[0]["text"] = "First, renamed?"
    page[1]["choices"][0]["is_correct"] = False
    response = client_staff.post(editor_url(draft), editor_data(page, pass_percent="60"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Question 2: Mark at least one choice as correct." in html
    assert 'href="#question-2"' in html
    assert "First, renamed?" in html
    assert saved_questions(draft) == before
    assert PostTest.objects.get(activity=draft).pass_percent == Decimal("75")


def test_it_refuses_two_correct_choices_on_a_single_answer_question(client_staff, draft):
    page = as_page(draft)
    page[0]["choices"][1]["is_correct"] = True
    response = client_staff.post(editor_url(draft), editor_data(page))
    assert response.status_code == 400
    assert "Question 1: A single-answer question needs exactly one correct choice" in response.content.decode()


def test_it_names_each_field_that_is_wrong(client_staff, draft):
    page = as_page(draft)
    page[1]["text"] = ""
    page[0]["choices"][1]["text"] = ""
    response = client_staff.post(editor_url(draft), editor_data(page, pass_percent="150"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "The pass mark must be between 1 and 100 percent." in html
    assert "Text of question 2: Write the question" in html and 'href="#id_q1-text"' in html
    assert "Question 1, choice B: Write the choice" in html and 'href="#id_q0c1-text"' in html
    assert PostTest.objects.get(activity=draft).pass_percent == Decimal("75")


def test_it_refuses_a_page_naming_a_question_of_another_post_test(client_staff, draft, activity):
    before = saved_questions(draft)
    page = as_page(draft)
    page[0]["id"] = activity.posttest.questions.first().pk
    response = client_staff.post(editor_url(draft), editor_data(page))
    assert response.status_code == 400
    assert "no longer matches the saved post-test" in response.content.decode()
    assert saved_questions(draft) == before
    assert activity.posttest.questions.count() == 4


def test_it_refuses_a_page_with_more_questions_than_it_reads(client_staff, draft):
    before = saved_questions(draft)
    data = editor_data(as_page(draft))
    data["questions"] = "101"
    response = client_staff.post(editor_url(draft), data)
    assert response.status_code == 400
    assert "holds at most 100 questions" in response.content.decode()
    assert saved_questions(draft) == before


def test_it_refuses_to_delete_a_question_learners_answered_and_saves_nothing(client_staff, provider):
    activity = complete_activity(question_count=2, status=Activity.Status.DRAFT)
    graded_attempt(activity=activity, user=UserFactory(), correct=2)
    before = saved_questions(activity)
    page = as_page(activity)
    page[1]["text"] = "Renamed?"
    response = client_staff.post(editor_url(activity), editor_data(page[1:]))
    assert response.status_code == 400
    assert "cannot be deleted" in response.content.decode()
    assert saved_questions(activity) == before


# --- A live activity -------------------------------------------------------------------


@pytest.fixture
def live(provider):
    activity = complete_activity(question_count=2)
    ParticipationFactory(activity=activity)
    return activity


def test_it_shows_a_live_post_test_read_only_with_the_way_to_unpublish(client_staff, live):
    response = client_staff.get(editor_url(live))
    html = response.content.decode()
    assert response.status_code == 200
    assert "This post-test is locked." in html
    assert reverse("staff:authoring_unpublish", kwargs={"slug": live.slug}) in html
    assert "Right answer" in html and "correct" in html
    assert 'name="action"' not in html and 'type="file"' not in html


def test_it_refuses_to_save_a_live_post_test(client_staff, live):
    before = saved_questions(live)
    page = as_page(live)
    page[0]["text"] = "Changed while learners take it?"
    response = client_staff.post(editor_url(live), editor_data(page))
    assert response.status_code == 409
    assert "post-test is locked" in response.content.decode()
    assert saved_questions(live) == before


def test_it_refuses_an_upload_to_a_live_post_test(client_staff, live):
    response = upload(client_staff, live, GIFT)
    assert response.status_code == 409
    assert live.posttest.questions.count() == 2


# --- Who may open it -------------------------------------------------------------------


def test_it_hides_the_editor_from_learners(client, draft):
    client.force_login(UserFactory())
    assert client.get(editor_url(draft)).status_code == 404
    assert client.post(editor_url(draft), editor_data(as_page(draft))).status_code == 404


def test_it_sends_anonymous_visitors_to_log_in(client, draft):
    response = client.get(editor_url(draft))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_it_refuses_staff_without_the_coordinator_role(client, draft):
    staff_login(client, StaffUserFactory(coordinator=False))
    assert client.get(editor_url(draft)).status_code == 403


def test_it_answers_404_for_an_unknown_activity(client_staff, provider):
    assert client_staff.get(reverse("staff:authoring_posttest", kwargs={"slug": "no-such"})).status_code == 404


# --- Importing questions from a file ---------------------------------------------------


def upload(client, activity, content, *, name="questions.gift", mode="append"):
    return client.post(
        reverse("staff:authoring_posttest_import", kwargs={"slug": activity.slug}),
        {"file": SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content), "mode": mode},
    )


def confirm(client, activity, token):
    return client.post(
        reverse("staff:authoring_posttest_import_confirm", kwargs={"slug": activity.slug}), {"token": token}
    )


def token_of(response):
    return re.search(r'name="token" value="([^"]+)"', response.content.decode())[1]


def test_it_previews_a_gift_file_without_saving_and_imports_it_on_confirmation(client_staff, draft):
    before = saved_questions(draft)
    response = upload(client_staff, draft, GIFT)
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 questions will be added after the 2 questions now in the post-test." in html
    assert "Which stage is it?" in html and "(Staging)" in html
    assert "Stage 2 <span class=\"tag tag-right\">correct</span>" in html
    assert "Feedback: Two readings at or above 140/90." in html
    assert "several correct answers" in html
    assert saved_questions(draft) == before

    response = confirm(client_staff, draft, token_of(response))
    assert response.status_code == 302
    assert response.url == editor_url(draft)
    questions = list(draft.posttest.questions.prefetch_related("choices"))
    assert [q.text for q in questions] == ["First?", "Second?", "Which stage is it?", "Which drugs are first-line?"]
    assert [(c.text, c.is_correct, c.feedback) for c in questions[2].choices.all()] == [
        ("Stage 2", True, "Two readings at or above 140/90."),
        ("Stage 1", False, "Too high for stage 1."),
        ("Normal", False, ""),
    ]
    assert questions[3].multiple
    page = client_staff.get(response.url).content.decode()
    assert "Imported 2 questions from questions.gift." in page


def test_it_goes_on_to_the_evaluation_when_staff_import_and_continue(client_staff, draft):
    token = token_of(upload(client_staff, draft, GIFT))
    response = client_staff.post(
        reverse("staff:authoring_posttest_import_confirm", kwargs={"slug": draft.slug}),
        {"token": token, "continue": "1"},
    )
    assert response.url == reverse("staff:authoring_evaluation", kwargs={"slug": draft.slug})
    assert draft.posttest.questions.count() == 4


def test_it_replaces_the_questions_with_a_moodle_xml_file(client_staff, draft):
    response = upload(client_staff, draft, MOODLE_XML, name="export.xml", mode="replace")
    html = response.content.decode()
    assert "1 question will replace the 2 questions now in the post-test." in html
    assert "What is the usual target?" in html
    assert "Explanation: See the guideline." in html
    confirm(client_staff, draft, token_of(response))
    [question] = draft.posttest.questions.prefetch_related("choices")
    assert (question.text, question.explanation) == ("What is the usual target?", "See the guideline.")
    assert [(c.text, c.is_correct, c.feedback) for c in question.choices.all()] == [
        ("Below 130/80", True, "Yes."), ("Below 160/100", False, "Too lenient."),
    ]


def test_it_creates_the_post_test_an_import_needs(client_staff, provider):
    activity = ActivityFactory(status=Activity.Status.DRAFT)
    response = upload(client_staff, activity, GIFT)
    assert "2 questions will be added to the post-test, which has none yet." in response.content.decode()
    assert not PostTest.objects.filter(activity=activity).exists()
    confirm(client_staff, activity, token_of(response))
    assert PostTest.objects.get(activity=activity).questions.count() == 2


def test_it_refuses_a_broken_file_naming_the_line_and_saves_nothing(client_staff, draft):
    before = saved_questions(draft)
    broken = GIFT + "\nWhat is missing? {\n  =An answer\n  ~A closing brace\n"
    response = upload(client_staff, draft, broken)
    assert response.status_code == 400
    html = response.content.decode()
    assert "questions.gift:" in html and re.search(r"line \d+", html)
    assert 'href="#id_file"' in html
    assert saved_questions(draft) == before
    assert not client_staff.session.get(UPLOADS_SESSION_KEY)


def test_it_refuses_a_file_that_is_not_utf8(client_staff, draft):
    response = upload(client_staff, draft, "Which? {=Café ~Tea}".encode("latin-1"))
    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()


def test_it_refuses_a_file_of_another_kind_or_too_large(client_staff, draft):
    response = upload(client_staff, draft, GIFT, name="questions.docx")
    assert response.status_code == 400
    assert "is not a .gift, .txt or .xml file" in response.content.decode()
    response = upload(client_staff, draft, "x" * (512 * 1024 + 1))
    assert response.status_code == 400
    assert "the limit is 512" in response.content.decode()
    assert len(saved_questions(draft)) == 2


def test_it_refuses_a_token_that_is_not_one_of_this_sessions_uploads(client_staff, draft):
    upload(client_staff, draft, GIFT)
    response = confirm(client_staff, draft, "made-up-token")
    assert response.status_code == 400
    assert "Upload the file again" in response.content.decode()
    assert len(saved_questions(draft)) == 2


def test_it_refuses_a_token_of_another_activitys_upload(client_staff, draft, provider):
    other = ActivityFactory(status=Activity.Status.DRAFT)
    token = token_of(upload(client_staff, other, GIFT))
    assert confirm(client_staff, draft, token).status_code == 400
    assert len(saved_questions(draft)) == 2
    assert not PostTest.objects.filter(activity=other).exists()


def test_it_imports_an_upload_once(client_staff, draft):
    token = token_of(upload(client_staff, draft, GIFT))
    assert confirm(client_staff, draft, token).status_code == 302
    assert confirm(client_staff, draft, token).status_code == 400
    assert len(saved_questions(draft)) == 4


def test_it_refuses_another_sessions_token(client_staff, draft):
    token = token_of(upload(client_staff, draft, GIFT))
    other = Client()
    staff_login(other, StaffUserFactory())
    assert confirm(other, draft, token).status_code == 400
    assert len(saved_questions(draft)) == 2
