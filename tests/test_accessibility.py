"""Server-rendered accessibility of the learner's forms and pages (issue 19): rejected forms
say so in the title and link an error summary to the fields it is about, fields are tied to
their errors and help, and the smaller markup fixes. Focus and computed styles are checked
in the browser (tests/test_browser_a11y.py)."""

import pytest
from django.test.html import Element, parse_html

from quizzes.models import EvaluationResponse

from . import factories
from .factories import complete_activity, learner_ready_to_claim

pytestmark = pytest.mark.django_db


# --- Reading the HTML ------------------------------------------------------------------------


def document(response):
    assert response.status_code == 200
    return parse_html(response.content.decode())


def walk(node):
    for child in node.children:
        if isinstance(child, Element):
            yield child
            yield from walk(child)


def attr(element, name):
    return dict(element.attributes).get(name)


def has_attr(element, name):
    # Boolean attributes such as `required` parse with the value None.
    return name in dict(element.attributes)


def by_id(root, element_id):
    found = [element for element in walk(root) if attr(element, "id") == element_id]
    assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
    return found[0]


def text(node):
    if isinstance(node, str):
        return node
    return " ".join(text(child) for child in node.children)


def title(root):
    return text(next(element for element in walk(root) if element.name == "title"))


def error_summary_links(root):
    """The fragment each link in the error summary points at."""
    summary = by_id(root, "error-summary")
    assert attr(summary, "tabindex") == "-1" and attr(summary, "role") == "alert"
    return [attr(a, "href") for a in walk(summary) if a.name == "a"]


def assert_links_reach_invalid_fields(root, expected_ids):
    links = error_summary_links(root)
    assert links == [f"#{element_id}" for element_id in expected_ids]
    for element_id in expected_ids:
        assert attr(by_id(root, element_id), "aria-invalid") == "true"


def described_by(root, element):
    return [by_id(root, target) for target in attr(element, "aria-describedby").split()]


# --- Rejected forms ------------------------------------------------------------------------


def test_it_titles_and_summarises_a_rejected_evaluation(client, provider):
    activity = complete_activity()
    learner = factories.UserFactory()
    factories.ParticipationFactory(user=learner, activity=activity, watched=True)
    client.force_login(learner)
    question = activity.evaluation.questions.get()

    root = document(client.post(f"/activities/{activity.slug}/evaluation/", {}))

    assert title(root).startswith("Error: Evaluation:")
    assert_links_reach_invalid_fields(root, [f"id_q{question.pk}_0"])
    assert not EvaluationResponse.objects.exists()


@pytest.mark.parametrize("label, expected", [
    ("Was the content free of commercial bias?", "Was the content free of commercial bias? This field is required."),
    ("The activity met its stated learning objectives.",
     "The activity met its stated learning objectives. This field is required."),
    ("Overall rating", "Overall rating: This field is required."),
])
def test_it_words_each_summary_entry_after_the_question_it_is_about(client, provider, label, expected):
    activity = complete_activity()
    activity.evaluation.questions.update(text=label)
    learner = factories.UserFactory()
    factories.ParticipationFactory(user=learner, activity=activity, watched=True)
    client.force_login(learner)

    root = document(client.post(f"/activities/{activity.slug}/evaluation/", {}))

    assert text(by_id(root, "error-summary")).endswith(expected)


def test_it_titles_and_summarises_a_post_test_with_unanswered_questions(client, provider):
    activity = complete_activity(question_count=2)
    learner = factories.UserFactory()
    factories.ParticipationFactory(user=learner, activity=activity, watched=True)
    client.force_login(learner)
    page = client.get(f"/activities/{activity.slug}/posttest/")
    first, second = (item["question"] for item in page.context["questions"])
    right = first.choices.get(is_correct=True)

    root = document(
        client.post(
            f"/activities/{activity.slug}/posttest/",
            {"attempt": page.context["attempt"].pk, f"question-{first.pk}": right.pk},
        )
    )

    assert title(root).startswith("Error: Post-test:")
    assert_links_reach_invalid_fields(root, [f"question-{second.pk}-0"])
    assert "Answer question 2 before you submit." in text(by_id(root, "error-summary"))


def test_it_ties_the_missing_attestation_to_its_checkbox(client, provider):
    activity = complete_activity()
    learner = learner_ready_to_claim(activity=activity)
    client.force_login(learner)

    root = document(client.post(f"/activities/{activity.slug}/claim/", {"credits": "1"}))

    assert title(root).startswith("Error: Claim credit:")
    assert_links_reach_invalid_fields(root, ["attest"])
    (error,) = described_by(root, by_id(root, "attest"))
    assert "Please confirm the attestation." in text(error)


def test_it_does_not_make_the_attestation_required_before_the_learner_has_tried(client, provider):
    activity = complete_activity()
    client.force_login(learner_ready_to_claim(activity=activity))

    root = document(client.get(f"/activities/{activity.slug}/claim/"))

    checkbox = by_id(root, "attest")
    assert not has_attr(checkbox, "required") and not has_attr(checkbox, "aria-invalid")
    assert not title(root).startswith("Error:")


def test_it_titles_and_summarises_a_rejected_profile(client, provider):
    client.force_login(factories.UserFactory())

    root = document(
        client.post("/me/profile/", {"given_name": "", "family_name": "Hopper", "degree": "MD"})
    )

    assert title(root).startswith("Error: Your profile")
    assert_links_reach_invalid_fields(root, ["id_given_name", "id_profession_0"])


def test_it_titles_and_summarises_a_wrong_password_and_marks_both_fields(client, provider):
    user = factories.UserFactory()

    root = document(client.post("/accounts/login/", {"login": user.email, "password": "wrong"}))

    assert title(root).startswith("Error: ")
    assert_links_reach_invalid_fields(root, ["id_login"])
    password = by_id(root, "id_password")
    assert attr(password, "aria-invalid") == "true"
    assert by_id(root, "error-summary") in described_by(root, password)
    assert "not correct" in text(by_id(root, "error-summary"))


def test_it_titles_and_summarises_a_rejected_sign_up(client, provider):
    root = document(
        client.post(
            "/accounts/signup/",
            {"email": "not-an-address", "password1": "a-long-password-7", "password2": "other-7"},
        )
    )

    assert title(root).startswith("Error: ")
    assert_links_reach_invalid_fields(root, ["id_email", "id_password2"])


def test_it_leaves_the_title_alone_without_errors(client, provider):
    assert not title(document(client.get("/accounts/login/"))).startswith("Error:")


# --- Help, labels and structure -----------------------------------------------------------


def test_it_describes_the_sign_up_password_by_its_rules(client, provider):
    root = document(client.get("/accounts/signup/"))

    (rules,) = described_by(root, by_id(root, "id_password1"))
    assert "at least 8 characters" in text(rules)


def test_it_ties_a_catalog_filter_error_to_its_field(client, provider):
    root = document(client.get("/", {"series": "999999"}))

    select = by_id(root, "id_series")
    assert attr(select, "aria-invalid") == "true"
    (error,) = described_by(root, select)
    assert "valid choice" in text(error)


def test_it_names_the_save_buttons_by_their_visible_words(client, provider):
    saved = factories.SavedActivityFactory(activity=factories.ActivityFactory(title="Sepsis update"))
    factories.ActivityFactory(title="Asthma in adults")
    client.force_login(saved.user)

    root = document(client.get("/"))

    names = {
        " ".join(text(button).split())
        for button in walk(root)
        if button.name == "button" and attr(button, "aria-label") is None
    }
    assert {"Unsave Sepsis update", "Save Asthma in adults"} <= names


def test_it_marks_required_profile_fields_before_the_first_submit(client, provider):
    client.force_login(factories.UserFactory(degree="", profession=""))

    root = document(client.get("/me/profile/"))

    for field_id in ("id_given_name", "id_family_name", "id_degree"):
        assert has_attr(by_id(root, field_id), "required")
        (label,) = [e for e in walk(root) if e.name == "label" and attr(e, "for") == field_id]
        assert "required" in attr(label, "class").split()
    assert not has_attr(by_id(root, "id_npi"), "required")
    assert "(required)" in text(root)


def test_it_does_not_skip_heading_levels_on_saved_activities(client, provider):
    saved = factories.SavedActivityFactory()
    client.force_login(saved.user)

    root = document(client.get("/me/saved/"))

    levels = [int(e.name[1]) for e in walk(root) if e.name in {"h1", "h2", "h3", "h4"}]
    assert levels[0] == 1 and 2 in levels
    assert all(later - earlier <= 1 for earlier, later in zip(levels, levels[1:]))


def test_it_marks_finished_steps_in_words_and_the_current_step(client, provider):
    activity = complete_activity()
    learner = learner_ready_to_claim(activity=activity)
    client.force_login(learner)

    root = document(client.get(f"/activities/{activity.slug}/claim/"))

    (steps,) = [e for e in walk(root) if e.name == "ol" and "steps" in (attr(e, "class") or "")]
    items = [e for e in steps.children if isinstance(e, Element)]
    assert [" ".join(text(item).split()) for item in items] == [
        "Watch the recording (completed)",
        "Complete the evaluation (completed)",
        "Pass the post-test (completed)",
        "Claim credit",
    ]
    assert [attr(item, "aria-current") for item in items] == [None, None, None, "step"]


def test_it_marks_the_evaluation_as_the_current_step_on_its_page(client, provider):
    activity = complete_activity()
    learner = factories.UserFactory()
    factories.ParticipationFactory(user=learner, activity=activity, watched=True)
    client.force_login(learner)

    root = document(client.get(f"/activities/{activity.slug}/evaluation/"))

    (current,) = [e for e in walk(root) if attr(e, "aria-current") == "step"]
    assert text(current).strip() == "Complete the evaluation"
