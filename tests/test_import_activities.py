"""`manage.py import_activities` / `export_activities`: the activity JSON of SPEC §7."""

import datetime
import io
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from courses.models import (
    Activity,
    CommercialSupport,
    FacultyRole,
    LearningObjective,
    Person,
    Provider,
    Recording,
    Resource,
    Series,
)
from lms.activity_io import activities_export
from lms.demo import demo_activities
from quizzes.models import (
    Attempt,
    AttemptAnswer,
    Choice,
    Evaluation,
    EvaluationQuestion,
    PostTest,
    Question,
)

from .factories import UploadedRecordingFactory, UserFactory

pytestmark = pytest.mark.django_db

COUNTED_MODELS = [
    Activity, Series, Person, FacultyRole, LearningObjective, Resource, Recording,
    PostTest, Question, Choice, Evaluation, EvaluationQuestion, CommercialSupport,
]


def full_activity(**fields):
    """Every field of SPEC §7, with values that differ from the importer's defaults."""
    data = {
        "slug": "structural-equity-lessons",
        "title": "Structural Equity: Lessons from 2020",
        "accme_activity_id": "202112345",
        "accme_provider_id": "",
        "series": "Addressing Health Disparities",
        "status": "published",
        "recorded_on": "2021-06-20",
        "release_date": "2021-06-21",
        "reviewed_on": "2021-09-01",
        "termination_date": "2021-12-21",
        "estimated_minutes": 45,
        "credits": "1.25",
        "credit_offers": [
            {"type": "ancc", "amount": "1.25", "uan": "", "moc_practice_areas": [], "moc_credit_types": []},
            {"type": "acpe", "amount": "1.00", "uan": "0197-0000-21-012-H04-P", "moc_practice_areas": [],
             "moc_credit_types": []},
            {"type": "moc_abim", "amount": "1.25", "uan": "", "moc_practice_areas": ["Internal Medicine"],
             "moc_credit_types": ["MK", "PS"]},
        ],
        "description": "What 2020 taught hospitals about equitable systems.",
        "target_audience": "Hospital physicians, nurses and quality leaders.",
        "accreditation_statement": "Jointly accredited for this activity only.",
        "hardware_requirements": "A computer with speakers.",
        "contact_email": "equity-help@example.org",
        "disclaimer": "Views are the presenter's own.",
        "privacy_url": "https://example.org/equity-privacy",
        "joint_providers": ["City Health Department", "Equity Institute"],
        "joint_providership_statement": "Provided jointly with the City Health Department and the Equity Institute.",
        "outcome_measures": ["learner_knowledge", "learner_competence"],
        "commercial_support": [
            {"supporter": "Acme Pharma", "kind": "monetary", "amount": "5000.00", "description": ""},
            {"supporter": "Beta Devices", "kind": "in_kind", "amount": None,
             "description": "simulation equipment"},
        ],
        "objectives": ["Place disparities in historical context.", "Name structural drivers."],
        "faculty": [
            {"name": "Ada Example", "degrees": "MD, MPH", "affiliation": "General Hospital",
             "role": "presenter",
             "relationships": [{"company": "Acme Pharma", "nature": "consultant"},
                               {"company": "Beta Devices", "nature": "speaker"}],
             "disclosure": "Relationships mitigated by independent content review."},
            {"name": "Ben Sample", "degrees": "", "affiliation": "Community Clinic",
             "role": "moderator", "relationships": [],
             "disclosure": "No relevant financial relationships."},
            {"name": "Cleo Check", "degrees": "RN", "affiliation": "Quality Office",
             "role": "reviewer",
             "relationships": [{"company": "Gamma Labs", "nature": "other: spouse is employed there"}],
             "disclosure": ""},
        ],
        "recording": {"url": "https://video.example.org/equity.mp4",
                      "captions_url": "/media/captions/equity.vtt",
                      "descriptions_url": "/media/descriptions/equity.vtt",
                      "duration_seconds": 3540, "required_viewing_percent": 80,
                      "transcript": "Welcome, everyone."},
        "requires_full_viewing": False,
        "resources": [{"title": "Equity toolkit", "url": "https://example.org/toolkit"},
                      {"title": "Slides", "url": "https://example.org/slides.pdf"}],
        "posttest": {
            "pass_percent": 80,
            "max_attempts": 3,
            "minutes_between_attempts": 30,
            "shuffle_questions": True,
            "shuffle_choices": True,
            "review_after_fail": "wrong_questions",
            "review_after_pass": "score",
            "questions": [
                {"text": "Health equity means:", "explanation": "Fair opportunity.", "multiple": False,
                 "choices": [{"text": "Identical treatment", "correct": False,
                              "feedback": "Equal is not the same as fair."},
                             {"text": "Fair opportunity for health", "correct": True, "feedback": ""}]},
                {"text": "A structural driver is:", "explanation": "", "multiple": True,
                 "choices": [{"text": "Segregation", "correct": True, "feedback": ""},
                             {"text": "Bedside manner", "correct": False, "feedback": ""},
                             {"text": "Pharmacy choice", "correct": False, "feedback": ""}]},
            ],
        },
        "evaluation": {"questions": [
            {"text": "The activity met its objectives.", "kind": "likert", "required": True},
            {"text": "Free of commercial bias?", "kind": "yes_no", "required": True},
            {"text": "Other comments", "kind": "text", "required": False},
            {"text": "What will you change?", "kind": "commitment", "required": True},
        ]},
    }
    data.update(fields)
    return data


def minimal_activity(**fields):
    data = {"slug": "minimal", "title": "Minimal", "release_date": "2024-01-10",
            "termination_date": "2025-01-10", "credits": "0.5"}
    data.update(fields)
    return data


@pytest.fixture
def write_json(tmp_path):
    def write(data, name="activities.json"):
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return str(path)

    return write


def import_file(path):
    out = io.StringIO()
    call_command("import_activities", path, stdout=out)
    return out.getvalue()


def row_counts():
    return {model.__name__: model.objects.count() for model in COUNTED_MODELS}


def database_state():
    return row_counts(), activities_export()


# --- a full activity -------------------------------------------------------------------


def test_it_imports_the_activity_fields(write_json):
    output = import_file(write_json(full_activity()))

    activity = Activity.objects.get(slug="structural-equity-lessons")
    assert "Imported structural-equity-lessons" in output
    assert activity.title == "Structural Equity: Lessons from 2020"
    assert activity.series.title == "Addressing Health Disparities"
    assert activity.status == Activity.Status.PUBLISHED
    assert activity.recorded_on == datetime.date(2021, 6, 20)
    assert activity.release_date == datetime.date(2021, 6, 21)
    assert activity.reviewed_on == datetime.date(2021, 9, 1)
    assert activity.termination_date == datetime.date(2021, 12, 21)
    assert activity.estimated_minutes == 45
    assert activity.credits == Decimal("1.25")
    assert activity.description == "What 2020 taught hospitals about equitable systems."
    assert activity.requires_full_viewing is False
    assert [o.text for o in activity.objectives.all()] == [
        "Place disparities in historical context.", "Name structural drivers."]


def test_it_imports_the_activitys_overrides_of_the_provider_texts(write_json):
    import_file(write_json(full_activity(joint_providers=[], joint_providership_statement="")))

    texts = Activity.objects.get().texts()
    assert (texts.accreditation_statement, texts.hardware_requirements, texts.contact_email,
            texts.disclaimer, texts.privacy_url) == (
        "Jointly accredited for this activity only.", "A computer with speakers.",
        "equity-help@example.org", "Views are the presenter's own.",
        "https://example.org/equity-privacy")


def test_it_imports_the_target_audience_joint_providers_and_commercial_support(write_json):
    import_file(write_json(full_activity()))

    activity = Activity.objects.get()
    assert activity.target_audience == "Hospital physicians, nurses and quality leaders."
    assert activity.joint_providers == ["City Health Department", "Equity Institute"]
    assert activity.outcome_measures == ["learner_knowledge", "learner_competence"]
    assert activity.texts().accreditation_statement == (
        "Provided jointly with the City Health Department and the Equity Institute.")
    assert [(s.supporter, s.kind, s.amount, s.description) for s in activity.commercial_supports.all()] == [
        ("Acme Pharma", "monetary", Decimal("5000.00"), ""),
        ("Beta Devices", "in_kind", None, "simulation equipment"),
    ]


def test_it_imports_choice_feedback(write_json):
    import_file(write_json(full_activity()))

    choices = Activity.objects.get().posttest.questions.first().choices.all()
    assert [c.feedback for c in choices] == ["Equal is not the same as fair.", ""]


def test_it_updates_feedback_in_place_on_a_posttest_learners_answered(write_json):
    import_file(write_json(full_activity()))
    attempt = answer_posttest(Activity.objects.get())
    changed = full_activity()
    changed["posttest"]["questions"][1]["choices"][1]["feedback"] = "Manners matter, structures more."

    import_file(write_json(changed))

    assert Attempt.objects.get() == attempt
    assert Choice.objects.get(text="Bedside manner").feedback == "Manners matter, structures more."


def test_it_imports_a_file_without_choice_feedback_as_none(write_json):
    data = full_activity()
    for question in data["posttest"]["questions"]:
        for choice in question["choices"]:
            del choice["feedback"]

    import_file(write_json(data))

    assert set(Choice.objects.values_list("feedback", flat=True)) == {""}


def test_it_imports_faculty_with_their_relationships(write_json):
    import_file(write_json(full_activity()))

    roles = list(Activity.objects.get().faculty.select_related("person"))
    assert [(r.person.name, r.person.degrees, r.person.affiliation, r.role) for r in roles] == [
        ("Ada Example", "MD, MPH", "General Hospital", "presenter"),
        ("Ben Sample", "", "Community Clinic", "moderator"),
        ("Cleo Check", "RN", "Quality Office", "reviewer"),
    ]
    assert roles[0].relationships == [{"company": "Acme Pharma", "nature": "consultant"},
                                      {"company": "Beta Devices", "nature": "speaker"}]
    assert roles[0].disclosure == "Relationships mitigated by independent content review."
    assert roles[1].relationships == []


def test_it_imports_the_recording_and_resources(write_json):
    import_file(write_json(full_activity()))

    activity = Activity.objects.get()
    assert (activity.recording.url, activity.recording.captions_url,
            activity.recording.descriptions_url,
            activity.recording.duration_seconds, activity.recording.required_viewing_percent,
            activity.recording.transcript) == (
        "https://video.example.org/equity.mp4", "/media/captions/equity.vtt",
        "/media/descriptions/equity.vtt", 3540, 80, "Welcome, everyone.")
    assert [(r.title, r.url) for r in activity.resources.all()] == [
        ("Equity toolkit", "https://example.org/toolkit"),
        ("Slides", "https://example.org/slides.pdf")]


def test_it_imports_the_posttest_with_questions_and_choices(write_json):
    import_file(write_json(full_activity()))

    posttest = Activity.objects.get().posttest
    assert posttest.pass_percent == Decimal("80")
    assert posttest.max_attempts == 3
    assert (posttest.minutes_between_attempts, posttest.shuffle_questions, posttest.shuffle_choices,
            posttest.review_after_fail, posttest.review_after_pass) == (
        30, True, True, "wrong_questions", "score")
    assert [
        (q.text, q.explanation, q.multiple, [(c.text, c.is_correct) for c in q.choices.all()])
        for q in posttest.questions.all()
    ] == [
        ("Health equity means:", "Fair opportunity.", False,
         [("Identical treatment", False), ("Fair opportunity for health", True)]),
        ("A structural driver is:", "", True,
         [("Segregation", True), ("Bedside manner", False), ("Pharmacy choice", False)]),
    ]


def posttest_without_review_settings(**posttest_fields):
    data = full_activity()
    del data["posttest"]["review_after_fail"], data["posttest"]["review_after_pass"]
    data["posttest"].update(posttest_fields)
    return data


def test_it_shows_the_score_only_after_a_fail_and_the_answers_after_a_pass_by_default(write_json):
    import_file(write_json(posttest_without_review_settings()))

    posttest = Activity.objects.get().posttest
    assert (posttest.review_after_fail, posttest.review_after_pass) == ("score", "correct_answers")


@pytest.mark.parametrize(("show_answers", "after_fail", "after_pass"), [
    ("after_pass", "score", "correct_answers"),
    ("after_every_attempt", "correct_answers", "correct_answers"),
    ("never", "score", "wrong_questions"),
])
def test_it_reads_the_old_show_answers_setting_of_earlier_files(
    write_json, show_answers, after_fail, after_pass
):
    import_file(write_json(posttest_without_review_settings(show_answers=show_answers)))

    posttest = Activity.objects.get().posttest
    assert (posttest.review_after_fail, posttest.review_after_pass) == (after_fail, after_pass)


def test_it_exports_the_two_review_settings_and_not_the_old_one(write_json):
    import_file(write_json(posttest_without_review_settings(show_answers="never")))

    exported = activities_export()[0]["posttest"]
    assert (exported["review_after_fail"], exported["review_after_pass"]) == ("score", "wrong_questions")
    assert "show_answers" not in exported


def test_it_imports_the_evaluation(write_json):
    import_file(write_json(full_activity()))

    questions = Activity.objects.get().evaluation.questions.all()
    assert [(q.text, q.kind, q.required) for q in questions] == [
        ("The activity met its objectives.", "likert", True),
        ("Free of commercial bias?", "yes_no", True),
        ("Other comments", "text", False),
        ("What will you change?", "commitment", True),
    ]


def test_it_creates_exactly_the_rows_of_the_file(write_json):
    import_file(write_json(full_activity()))

    assert row_counts() == {
        "Activity": 1, "Series": 1, "Person": 3, "FacultyRole": 3, "LearningObjective": 2,
        "Resource": 2, "Recording": 1, "PostTest": 1, "Question": 2, "Choice": 5,
        "Evaluation": 1, "EvaluationQuestion": 4, "CommercialSupport": 2,
    }


def test_it_imports_a_minimal_activity_with_defaults(write_json):
    import_file(write_json(minimal_activity()))

    activity = Activity.objects.get(slug="minimal")
    assert activity.status == Activity.Status.DRAFT
    assert activity.series is None
    assert activity.estimated_minutes == 60
    assert activity.requires_full_viewing is True
    assert not Recording.objects.exists()
    assert not PostTest.objects.exists()
    assert not Evaluation.objects.exists()


def test_it_reads_a_file_that_starts_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "excel.json"
    path.write_text(json.dumps(minimal_activity()), encoding="utf-8-sig")

    import_file(str(path))

    assert Activity.objects.filter(slug="minimal").exists()


# --- updating by slug ------------------------------------------------------------------


def test_it_updates_an_activity_imported_again_with_the_same_slug(write_json):
    import_file(write_json(full_activity()))
    first_pk = Activity.objects.get().pk
    changed = full_activity(title="Structural Equity, revised", credits="1.5",
                            objectives=["Only one objective now."])
    changed["posttest"]["questions"][0]["text"] = "Equity in health means:"
    changed["evaluation"]["questions"] = changed["evaluation"]["questions"][:1]

    import_file(write_json(changed))

    activity = Activity.objects.get()
    assert activity.pk == first_pk
    assert (activity.title, activity.credits) == ("Structural Equity, revised", Decimal("1.5"))
    assert [o.text for o in activity.objectives.all()] == ["Only one objective now."]
    assert activity.posttest.questions.first().text == "Equity in health means:"
    assert row_counts() == {
        "Activity": 1, "Series": 1, "Person": 3, "FacultyRole": 3, "LearningObjective": 1,
        "Resource": 2, "Recording": 1, "PostTest": 1, "Question": 2, "Choice": 5,
        "Evaluation": 1, "EvaluationQuestion": 1, "CommercialSupport": 2,
    }


def test_it_changes_nothing_when_the_same_file_is_imported_twice(write_json):
    path = write_json(full_activity())
    import_file(path)
    before = database_state()
    question_pks = list(Question.objects.values_list("pk", flat=True))

    import_file(path)

    assert database_state() == before
    assert list(Question.objects.values_list("pk", flat=True)) == question_pks


def test_it_removes_a_posttest_and_evaluation_left_out_of_the_update(write_json):
    import_file(write_json(full_activity()))

    import_file(write_json(full_activity(status="draft", posttest=None, evaluation=None, recording=None)))

    counts = row_counts()
    assert counts["PostTest"] == counts["Question"] == counts["Choice"] == 0
    assert counts["Evaluation"] == counts["EvaluationQuestion"] == counts["Recording"] == 0
    assert activities_export()[0]["posttest"] is None


def answer_posttest(activity):
    """A learner's graded attempt, with an answer row for every question."""
    attempt = Attempt.objects.create(user=UserFactory(), posttest=activity.posttest)
    for question in activity.posttest.questions.all():
        AttemptAnswer.objects.create(attempt=attempt, question=question, is_correct=False)
    return attempt


def test_it_updates_an_activity_whose_unchanged_posttest_learners_answered(write_json):
    import_file(write_json(full_activity()))
    attempt = answer_posttest(Activity.objects.get())

    import_file(write_json(full_activity(title="New title")))

    assert Activity.objects.get().title == "New title"
    assert Attempt.objects.get() == attempt
    assert attempt.answers.count() == 2


def test_it_refuses_to_replace_questions_learners_answered(write_json):
    import_file(write_json(full_activity()))
    answer_posttest(Activity.objects.get())
    before = database_state()
    changed = full_activity(title="New title")
    changed["posttest"]["questions"][0]["text"] = "A reworded question"

    with pytest.raises(CommandError, match=r"posttest\.questions: learners have already answered"):
        import_file(write_json(changed))

    assert database_state() == before


def test_it_keeps_a_faculty_members_earlier_affiliation_on_earlier_activities(write_json):
    earlier = full_activity()
    later = full_activity(slug="later-talk", release_date="2024-01-01", reviewed_on=None, termination_date="2025-01-01")
    later["faculty"][0]["affiliation"] = "University Hospital"

    import_file(write_json([earlier, later]))

    affiliations = {
        role.activity.slug: role.person.affiliation
        for role in FacultyRole.objects.filter(person__name="Ada Example").select_related("person", "activity")
    }
    assert affiliations == {"structural-equity-lessons": "General Hospital",
                            "later-talk": "University Hospital"}


def test_it_stores_a_faculty_member_once_across_activities(write_json):
    other = full_activity(slug="second-talk")

    import_file(write_json([full_activity(), other]))

    assert Person.objects.filter(name="Ada Example").count() == 1
    assert FacultyRole.objects.filter(person__name="Ada Example").count() == 2


# --- lists -----------------------------------------------------------------------------


def test_it_imports_a_list_of_activities(write_json):
    output = import_file(write_json([full_activity(), minimal_activity(), minimal_activity(slug="third")]))

    assert set(Activity.objects.values_list("slug", flat=True)) == {
        "structural-equity-lessons", "minimal", "third"}
    assert "3 activities imported." in output


# --- bad input: a CommandError naming the field, and nothing changed -------------------


def _set(path, value):
    """A change to an activity dict: set the value at a dotted path (None deletes it)."""
    def change(data):
        *parents, last = path.split(".")
        target = data
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is None:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return change


def _three_years_late(data):
    data["reviewed_on"] = None
    data["termination_date"] = "2024-06-22"


def _nested(levels):
    value = "deep"
    for _ in range(levels):
        value = [value]
    return value


def _no_correct_choice(data):
    for choice in data["posttest"]["questions"][1]["choices"]:
        choice["correct"] = False


BAD_INPUT = {
    "missing-title": (_set("title", None), "[2].title", "is required"),
    "blank-title": (_set("title", "   "), "[2].title", "is required"),
    "credits-not-in-quarter-steps": (_set("credits", "1.1"), "[2].credits", "steps of 0.25"),
    "credits-zero": (_set("credits", 0), "[2].credits", "greater than 0"),
    "credits-not-a-number": (_set("credits", "one"), "[2].credits", "not a number"),
    "credits-nan": (_set("credits", "NaN"), "[2].credits", "not a number"),
    "credits-too-large": (_set("credits", "1000"), "[2].credits", "less than 1000"),
    "termination-before-release": (
        _set("termination_date", "2021-06-20"), "[2].termination_date", "before the release date"),
    "no-correct-choice": (
        _no_correct_choice, "[2].posttest.questions[1].choices", "Mark at least one choice as correct"),
    "two-correct-in-single-answer-question": (
        _set("posttest.questions.0.choices.0.correct", True), "[2].posttest.questions[0].choices",
        "exactly one correct choice"),
    "every-choice-correct-in-multi-answer-question": (
        _set("posttest.questions.1.choices", [{"text": "A", "correct": True}, {"text": "B", "correct": True}]),
        "[2].posttest.questions[1].choices", "at least one choice that is not correct"),
    "multiple-not-boolean": (
        _set("posttest.questions.1.multiple", "yes"), "[2].posttest.questions[1].multiple", "true or false"),
    "unknown-show-answers": (
        _set("posttest.show_answers", "always"), "[2].posttest.show_answers", "one of"),
    "unknown-review-after-fail": (
        _set("posttest.review_after_fail", "everything"), "[2].posttest.review_after_fail",
        "must be one of score, wrong_questions, correct_answers"),
    "review-after-pass-not-text": (
        _set("posttest.review_after_pass", True), "[2].posttest.review_after_pass", "must be text"),
    "shuffle-not-boolean": (
        _set("posttest.shuffle_choices", 1), "[2].posttest.shuffle_choices", "true or false"),
    "negative-wait": (
        _set("posttest.minutes_between_attempts", -5), "[2].posttest.minutes_between_attempts",
        "whole number"),
    "viewing-percent-over-100": (
        _set("recording.required_viewing_percent", 101), "[2].recording.required_viewing_percent",
        "at most 100"),
    "termination-beyond-three-years-of-release": (
        _three_years_late, "[2].termination_date",
        "reviewed at least every 3 years"),
    "review-before-release": (_set("reviewed_on", "2021-06-01"), "[2].reviewed_on", "before the release"),
    "contact-not-an-email": (_set("contact_email", "help desk"), "[2].contact_email", "e-mail address"),
    "privacy-url-invalid": (_set("privacy_url", "privacy"), "[2].privacy_url", "valid URL"),
    "published-without-objectives": (_set("objectives", []), "[2].status", "learning objective"),
    "published-without-evaluation": (_set("evaluation", None), "[2].status", "no evaluation"),
    "one-choice": (
        _set("posttest.questions.0.choices", [{"text": "Only", "correct": True}]),
        "[2].posttest.questions[0].choices", "at least two choices"),
    "bad-date": (_set("release_date", "21/06/2021"), "[2].release_date", "YYYY-MM-DD"),
    "impossible-date": (_set("release_date", "2021-02-30"), "[2].release_date", "YYYY-MM-DD"),
    "compact-date": (_set("recorded_on", "20210620"), "[2].recorded_on", "YYYY-MM-DD"),
    "number-as-date": (_set("reviewed_on", 20210901), "[2].reviewed_on", "YYYY-MM-DD"),
    "unknown-evaluation-kind": (
        _set("evaluation.questions.2.kind", "essay"), "[2].evaluation.questions[2].kind", "one of"),
    "unknown-faculty-role": (
        _set("faculty.1.role", "speaker"), "[2].faculty[1] (Ben Sample).role",
        "one of presenter, moderator, panelist, planner, reviewer"),
    "relationship-without-company": (
        _set("faculty.0.relationships.1.company", None),
        "[2].faculty[0] (Ada Example).relationships[1].company", "is required"),
    "unknown-relationship-nature": (
        _set("faculty.2.relationships.0.nature", "speakers bureau"),
        "[2].faculty[2] (Cleo Check).relationships[0].nature",
        "'speakers bureau' is not a nature of relationship: use one of consultant, speaker, "),
    "other-nature-without-words": (
        _set("faculty.2.relationships.0.nature", "other: "),
        "[2].faculty[2] (Cleo Check).relationships[0].nature", '"other: …" with a description'),
    "joint-provider-blank": (
        _set("joint_providers", ["City Health Department", " "]), "[2].joint_providers[1]", "must be a name"),
    "joint-provider-not-text": (_set("joint_providers", [7]), "[2].joint_providers[0]", "must be a name"),
    "joint-providers-not-a-list": (_set("joint_providers", "City Health"), "[2].joint_providers", "must be a list"),
    "unknown-outcome-measure": (
        _set("outcome_measures", ["patient satisfaction"]), "[2].outcome_measures", "List outcome measures by their codes"),
    "outcome-measures-not-a-list": (_set("outcome_measures", "learner_knowledge"), "[2].outcome_measures", "must be a list"),
    "joint-provider-twice": (
        _set("joint_providers", ["City Health Department", "city health department"]),
        "[2].joint_providers", "city health department is listed twice as a joint provider"),
    "joint-statement-without-joint-providers": (
        _set("joint_providers", []), "[2].joint_providership_statement", "needs the joint providers"),
    "commercial-support-without-supporter": (
        _set("commercial_support.0.supporter", None), "[2].commercial_support[0].supporter", "is required"),
    "commercial-support-unknown-kind": (
        _set("commercial_support.0.kind", "cash"), "[2].commercial_support[0].kind",
        "must be one of monetary, in_kind"),
    "commercial-support-amount-not-a-number": (
        _set("commercial_support.0.amount", "lots"), "[2].commercial_support[0].amount", "not a number"),
    "commercial-support-amount-negative": (
        _set("commercial_support.0.amount", "-5"), "[2].commercial_support[0].amount", "at least 0.01"),
    "commercial-support-amount-in-kind": (
        _set("commercial_support.1.amount", "250"), "[2].commercial_support[1].amount",
        "An amount is for monetary support"),
    "commercial-support-not-a-list": (
        _set("commercial_support", "none"), "[2].commercial_support", "must be a list"),
    "unknown-status": (_set("status", "live"), "[2].status", "one of"),
    "pass-percent-over-100": (_set("posttest.pass_percent", 101), "[2].posttest.pass_percent", "between"),
    "pass-percent-nan": (_set("posttest.pass_percent", "NaN"), "[2].posttest.pass_percent", "not a number"),
    "estimated-minutes-text": (_set("estimated_minutes", "60"), "[2].estimated_minutes", "whole number"),
    "estimated-minutes-zero": (_set("estimated_minutes", 0), "[2].estimated_minutes", "at least 1"),
    "resource-url-invalid": (_set("resources.1.url", "not a url"), "[2].resources[1].url", "valid URL"),
    "resource-url-too-long": (
        _set("resources.0.url", "https://example.org/" + "a" * 500), "[2].resources[0].url", "at most 500"),
    "duration-too-large": (
        _set("recording.duration_seconds", 2**40), "[2].recording.duration_seconds", "at most"),
    "objective-not-text": (_set("objectives.1", 7), "[2].objectives[1]", "non-empty text"),
    "duplicate-slug": (_set("slug", "minimal"), "[2].slug", "appears twice"),
    "bad-slug": (_set("slug", "no spaces please"), "[2].slug", "letters, numbers"),
    # PostgreSQL refuses a NUL in text (a DataError once it reached the database), and
    # half a surrogate pair cannot be encoded at all (a UnicodeEncodeError).
    "nul-in-slug": (_set("slug", "bad\x00one"), "[2].slug", "must not contain a NUL character"),
    "nul-in-faculty-name": (
        _set("faculty.1.name", "Ben\x00Sample"), "[2].faculty[1].name", "must not contain a NUL character"),
    "nul-in-objective": (_set("objectives.0", "Name\x00"), "[2].objectives[0]", "NUL character"),
    "nul-in-relationship": (
        _set("faculty.0.relationships.1.nature", "speaker\x00"),
        "[2].faculty[0] (Ada Example).relationships[1].nature", "NUL character"),
    "nul-in-choice": (
        _set("posttest.questions.0.choices.1.text", "\x00"), "[2].posttest.questions[0].choices[1].text",
        "NUL character"),
    "lone-surrogate-in-title": (
        _set("title", "Equity \ud800"), "[2].title", "contains '\\ud800', half of a UTF-16 surrogate pair"),
    "lone-surrogate-in-transcript": (
        _set("recording.transcript", "\udfff"), "[2].recording.transcript", "surrogate pair"),
    # The file's list, the activity and "notes" are three levels; [0] 30 times makes 33.
    "nested-too-deep": (
        _set("notes", _nested(31)), "[2].notes" + "[0]" * 30, "is nested more than 32 levels deep"),
}


@pytest.fixture
def earlier_activity(write_json):
    """An activity already in the database before the bad file is imported."""
    import_file(write_json(full_activity(), name="earlier.json"))
    return Activity.objects.get()


@pytest.mark.parametrize("change, field, message", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_it_rejects_bad_input_naming_the_field_and_changes_nothing(
    write_json, earlier_activity, change, field, message
):
    before = database_state()
    bad = full_activity(slug="bad-one")
    change(bad)
    update_of_earlier = full_activity(title="Changed by a file that fails later")
    valid_new = minimal_activity()

    with pytest.raises(CommandError) as raised:
        import_file(write_json([update_of_earlier, valid_new, bad]))

    assert f"{field}: " in str(raised.value)
    assert message in str(raised.value)
    assert str(raised.value).startswith("Nothing was imported.")
    assert database_state() == before
    assert not Activity.objects.filter(slug="minimal").exists()
    assert Activity.objects.get().title == earlier_activity.title


@pytest.mark.parametrize(("model", "field", "path", "named"), [
    (Activity, "title", "title", "title"),
    (Person, "degrees", "faculty[0].degrees", "faculty[0] (Ada Example).degrees"),
    (Choice, "text", "posttest.questions[0].choices[1].text", "posttest.questions[0].choices[1].text"),
    (CommercialSupport, "supporter", "commercial_support[0].supporter", "commercial_support[0].supporter"),
])
def test_it_takes_each_length_limit_from_the_model(write_json, model, field, path, named):
    limit = model._meta.get_field(field).max_length
    data = full_activity()
    _set(path.replace("[", ".").replace("]", ""), "x" * (limit + 1))(data)

    with pytest.raises(CommandError) as raised:
        import_file(write_json(data))

    assert f"{named}: Ensure this value has at most {limit} characters" in str(raised.value)
    assert not Activity.objects.exists()


def test_it_names_the_field_of_a_single_activity_without_a_list_index(write_json, earlier_activity):
    before = database_state()

    with pytest.raises(CommandError, match=r"Nothing was imported\. title: is required"):
        import_file(write_json(minimal_activity(title=None)))

    assert database_state() == before


def test_it_rejects_a_file_that_is_not_json(tmp_path, earlier_activity):
    before = database_state()
    path = tmp_path / "broken.json"
    path.write_text('[{"slug": "x",}', encoding="utf-8")

    with pytest.raises(CommandError, match=r"broken\.json is not valid JSON"):
        import_file(str(path))

    assert database_state() == before


def test_it_rejects_a_file_that_is_not_utf8(tmp_path, earlier_activity):
    before = database_state()
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps(minimal_activity(title="Café"), ensure_ascii=False).encode("latin-1"))

    with pytest.raises(CommandError, match=r"latin1\.json is not UTF-8"):
        import_file(str(path))

    assert database_state() == before


def test_it_rejects_a_missing_file(tmp_path, earlier_activity):
    before = database_state()

    with pytest.raises(CommandError, match=r"Cannot read .*nowhere\.json: No such file"):
        import_file(str(tmp_path / "nowhere.json"))

    assert database_state() == before


def test_it_rejects_a_file_nested_too_deeply_to_read(tmp_path, earlier_activity):
    before = database_state()
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")

    with pytest.raises(CommandError, match=r"deep\.json is not valid JSON: it is nested too deeply to read"):
        import_file(str(path))

    assert database_state() == before


def test_it_rejects_json_that_is_not_an_activity(write_json):
    with pytest.raises(CommandError, match=r"\[1\]: must be a JSON object"):
        import_file(write_json([minimal_activity(), "minimal"]))

    assert not Activity.objects.exists()


# --- as a real process -----------------------------------------------------------------


def subprocess_database_url():
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("the command runs in its own process, which needs the test database on PostgreSQL")
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def import_command(path):
    """`manage.py import_activities PATH` in a process of its own, on the test database."""
    return subprocess.run(
        [sys.executable, "manage.py", "import_activities", str(path)],
        cwd=settings.BASE_DIR,
        env=dict(os.environ, DATABASE_URL=subprocess_database_url()),
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.django_db(transaction=True)
def test_it_exits_non_zero_naming_the_field_when_run_as_a_command(write_json):
    import_file(write_json(full_activity(), name="earlier.json"))
    before = database_state()
    bad = write_json([minimal_activity(), full_activity(slug="bad-one", credits="1.1")], name="bad.json")

    result = import_command(bad)

    assert result.returncode != 0
    assert "[1].credits: Credits must be in steps of 0.25" in result.stderr
    assert "Traceback" not in result.stderr
    assert database_state() == before
    assert not Activity.objects.filter(slug="minimal").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (json.dumps([minimal_activity(faculty=[{"name": "A"}, {"name": "B\x00"}])]),
         "[0].faculty[1].name: must not contain a NUL character"),
        (json.dumps({"slug": "surrogate", "title": "T\ud800"}),
         "title: contains '\\ud800', half of a UTF-16 surrogate pair"),
        ("[" * 100_000 + "]" * 100_000, "bad.json is not valid JSON: it is nested too deeply to read"),
    ],
    ids=["nul", "lone-surrogate", "nested-too-deep"],
)
@pytest.mark.django_db(transaction=True)
def test_it_exits_non_zero_naming_the_field_of_text_the_database_cannot_store(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")

    result = import_command(path)

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not Activity.objects.exists()


# --- round trip ------------------------------------------------------------------------


def export_text(**options):
    out = io.StringIO()
    call_command("export_activities", stdout=out, **options)
    return out.getvalue()


def test_it_round_trips_import_export_import_export_exactly(tmp_path, write_json):
    later = full_activity(slug="later-talk", release_date="2024-01-01", reviewed_on=None, termination_date="2025-01-01")
    later["faculty"][0]["affiliation"] = "University Hospital"
    later["posttest"]["pass_percent"] = "66.67"
    later["posttest"]["max_attempts"] = None
    draft = {**minimal_activity(), "series": None, "status": "draft", "recorded_on": None,
             "reviewed_on": None, "estimated_minutes": 60, "credits": "0.50", "description": "",
             "objectives": [], "faculty": [], "recording": None, "requires_full_viewing": False,
             "resources": [], "posttest": None, "evaluation": None,
             "accreditation_statement": "", "hardware_requirements": "", "contact_email": "",
             "disclaimer": "", "privacy_url": "", "accme_activity_id": "", "accme_provider_id": "",
             "target_audience": "", "joint_providers": [], "joint_providership_statement": "",
             "commercial_support": [], "credit_offers": [], "outcome_measures": []}
    original = [full_activity(), later, draft] + demo_activities(today=datetime.date(2025, 3, 1))
    import_file(write_json(original))
    first_export = tmp_path / "export.json"
    call_command("export_activities", output=str(first_export))

    for model in (Activity, Person, Series):
        model.objects.all().delete()
    assert set(row_counts().values()) == {0}
    import_file(str(first_export))

    assert export_text() == first_export.read_text(encoding="utf-8")
    # Every field was given in its exported form, so the export is the file itself.
    expected = sorted(original, key=lambda a: (a["release_date"], a["slug"]))
    assert json.loads(first_export.read_text(encoding="utf-8")) == expected


def test_it_round_trips_every_field_other_developers_added(tmp_path, write_json):
    import_file(write_json(full_activity()))
    call_command("export_activities", output=str(tmp_path / "export.json"))
    for model in (Activity, Person, Series):
        model.objects.all().delete()

    import_file(str(tmp_path / "export.json"))

    activity = Activity.objects.get()
    posttest = activity.posttest
    assert [q.multiple for q in posttest.questions.all()] == [False, True]
    assert (posttest.shuffle_questions, posttest.shuffle_choices, posttest.minutes_between_attempts,
            posttest.review_after_fail, posttest.review_after_pass, posttest.max_attempts) == (
        True, True, 30, "wrong_questions", "score", 3)
    assert activity.recording.required_viewing_percent == 80
    assert activity.reviewed_on == datetime.date(2021, 9, 1)
    assert (activity.contact_email, activity.privacy_url) == (
        "equity-help@example.org", "https://example.org/equity-privacy")


def test_it_round_trips_the_accreditation_fields(tmp_path, write_json, provider):
    Provider.objects.filter(pk=provider.pk).update(accme_provider_id="1234567")
    import_file(write_json(full_activity(accme_provider_id="1234567")))
    call_command("export_activities", output=str(tmp_path / "export.json"))
    for model in (Activity, Person, Series):
        model.objects.all().delete()

    import_file(str(tmp_path / "export.json"))

    exported = json.loads((tmp_path / "export.json").read_text(encoding="utf-8"))[0]
    assert activities_export()[0] == exported
    assert {key: exported[key] for key in (
        "accme_provider_id", "target_audience", "joint_providers", "joint_providership_statement",
        "commercial_support")} == {key: full_activity()[key] for key in (
            "target_audience", "joint_providers", "joint_providership_statement",
            "commercial_support")} | {"accme_provider_id": "1234567"}
    assert [f["role"] for f in exported["faculty"]] == ["presenter", "moderator", "reviewer"]
    assert exported["posttest"]["questions"][0]["choices"][0]["feedback"] == "Equal is not the same as fair."


# --- the provider's ACCME ID -----------------------------------------------------------


def test_it_refuses_a_file_another_provider_exported(write_json, provider, earlier_activity):
    Provider.objects.filter(pk=provider.pk).update(accme_provider_id="1234567")
    before = database_state()

    with pytest.raises(CommandError) as raised:
        import_file(write_json([minimal_activity(), minimal_activity(slug="other", accme_provider_id="7654321")]))

    assert ("[1].accme_provider_id: This file was exported by provider ACCME ID 7654321; "
            "this site is 1234567.") in str(raised.value)
    assert database_state() == before


def test_it_imports_a_file_of_its_own_provider(write_json, provider):
    Provider.objects.filter(pk=provider.pk).update(accme_provider_id="1234567")

    import_file(write_json(minimal_activity(accme_provider_id="1234567")))

    assert Activity.objects.filter(slug="minimal").exists()


def test_it_leaves_a_provider_without_an_id_as_it_is(write_json, provider):
    import_file(write_json(minimal_activity(accme_provider_id="7654321")))

    assert Activity.objects.filter(slug="minimal").exists()
    assert Provider.objects.get().accme_provider_id == ""


# --- disclosures -----------------------------------------------------------------------


def test_it_publishes_faculty_without_a_disclosure_note(write_json):
    data = full_activity()
    for person in data["faculty"]:
        person["disclosure"] = ""
        person.pop("relationships")

    import_file(write_json(data))

    activity = Activity.objects.get()
    assert activity.status == Activity.Status.PUBLISHED
    assert activity.disclosure_statement().lines == [
        "Ada Example, MD, MPH has no relevant financial relationships with ineligible companies.",
        "Ben Sample has no relevant financial relationships with ineligible companies.",
        "Cleo Check, RN has no relevant financial relationships with ineligible companies.",
    ]


def test_it_keeps_an_uploaded_video_when_an_update_names_no_url(write_json):
    import_file(write_json(full_activity()))
    activity = Activity.objects.get()
    uploaded = UploadedRecordingFactory.build(activity=activity)
    Recording.objects.filter(activity=activity).delete()
    uploaded.save()
    exported = activities_export()[0]
    assert exported["recording"]["url"] == ""
    exported["recording"]["transcript"] = "A corrected transcript."

    import_file(write_json(exported))

    recording = Recording.objects.get()
    assert recording.video.name == uploaded.video.name
    assert recording.captions.name == uploaded.captions.name
    assert recording.transcript == "A corrected transcript."


def test_it_replaces_an_uploaded_video_only_when_the_json_names_a_url(write_json):
    import_file(write_json(full_activity()))
    activity = Activity.objects.get()
    Recording.objects.filter(activity=activity).delete()
    UploadedRecordingFactory(activity=activity)

    import_file(write_json(full_activity()))

    recording = Recording.objects.get()
    assert not recording.video
    assert recording.url == "https://video.example.org/equity.mp4"


def test_it_refuses_a_recording_without_url_or_upload(write_json):
    data = full_activity()
    data["recording"]["url"] = ""

    with pytest.raises(CommandError, match=r"recording\.url: is required"):
        import_file(write_json(data))

    assert not Activity.objects.exists()


def test_it_exports_to_standard_output_as_a_json_list(write_json):
    import_file(write_json(minimal_activity()))

    exported = json.loads(export_text())

    assert [a["slug"] for a in exported] == ["minimal"]
    assert exported[0]["credits"] == "0.50"
