"""Post-test questions from GIFT and Moodle XML: quizzes.question_formats, the service that
saves them and `manage.py import_questions` (issue 16)."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from quizzes.models import Choice, PostTest, Question
from quizzes.question_formats import (
    ImportedChoice,
    ImportedQuestion,
    QuestionFileError,
    questions_parse,
)
from quizzes.services import attempt_open, attempt_submit, posttest_questions_import

from .factories import (
    ActivityFactory,
    ParticipationFactory,
    UserFactory,
    complete_activity,
    graded_attempt,
)

FILES = Path(__file__).resolve().parent / "files" / "questions"
C = ImportedChoice

GIFT_QUESTIONS = [
    ImportedQuestion(
        name="Threshold",
        text="In adults, which office blood pressure defines stage 1 hypertension?",
        multiple=False,
        explanation="The 2017 guideline lowered the threshold to 130/80 mm Hg.",
        choices=(
            C("130–139 / 80–89 mm Hg", True, "Right: the 2017 ACC/AHA guideline threshold."),
            C("140–159 / 90–99 mm Hg", False, "That was the older JNC 7 definition."),
            C("120–129 / below 80 mm Hg", False, 'That range is "elevated", not hypertension.'),
        ),
    ),
    ImportedQuestion(
        name="First-line drugs",
        text="Which drug classes are first-line\nfor most adults with hypertension?\nSelect all that apply.",
        multiple=True,
        explanation="",
        choices=(
            C("Thiazide diuretics", True, "Yes."),
            C("ACE inhibitors", True, "Yes."),
            C("Alpha blockers", False, "No: they are not first-line."),
            C("Loop diuretics", False, "No."),
        ),
    ),
    ImportedQuestion(
        name="Home readings",
        text="Home blood pressure monitoring is recommended to confirm the diagnosis.",
        multiple=False,
        explanation="See the section on out-of-office measurement.",
        # {TRUE#first#second}: the first feedback is for a wrong answer, the second for
        # the right one.
        choices=(
            C("True", True, "Correct: out-of-office readings confirm it."),
            C("False", False, 'Home readings are recommended, so "false" is wrong.'),
        ),
    ),
    ImportedQuestion(
        name="Escapes : all of them",
        text="Which line shows every escaped character: ~ = # { } : and a backslash \\?\nSecond line.",
        multiple=False,
        explanation="",
        choices=(C("It shows ~ = # { } : \\", True, "Feedback with # and = kept."), C("None of them", False)),
    ),
    ImportedQuestion(
        name="HTML text",
        text="Which sodium intake is advised?\n\nPick one & only one.",
        multiple=False,
        explanation="",
        choices=(C("Less than 2 300 mg a day", True, "Yes, <2300 mg."), C("No limit", False)),
    ),
    ImportedQuestion(
        name="",
        text="The target for most adults on treatment is below _____ mm Hg.",
        multiple=False,
        explanation="",
        choices=(C("130/80", True), C("140/90", False), C("150/90", False)),
    ),
    ImportedQuestion(
        name="False one",
        text="Lifestyle change has no effect on blood pressure.",
        multiple=False,
        explanation="",
        choices=(
            C("True", False, "It does have an effect."),
            C("False", True, "Right: lifestyle change lowers blood pressure."),
        ),
    ),
]

XML_QUESTIONS = [
    ImportedQuestion(
        name="Threshold",
        text="In adults, which office blood pressure defines stage 1 hypertension?\n\n"
        "Readings > 2 visits.\nChoose one.",
        multiple=False,
        explanation="The 2017 ACC/AHA guideline lowered the threshold to 130/80 mm Hg.",
        choices=(
            C("130–139 / 80–89 mm Hg", True, "Right: the 2017 threshold."),
            C("140–159 / 90–99 mm Hg", False, "That was the JNC 7 definition."),
            C("120–129 / <80 mm Hg", False, ""),
        ),
    ),
    ImportedQuestion(
        name="First-line drugs",
        text="Which drug classes are first-line?\nSelect all that apply.",
        multiple=True,
        explanation="",
        choices=(
            C("Thiazide diuretics", True, "Yes."),
            C("ACE inhibitors", True, "Yes."),
            C("Alpha blockers", False, "No: not first-line."),
        ),
    ),
    ImportedQuestion(
        name="Home readings",
        text="Home blood pressure monitoring is recommended to confirm the diagnosis.",
        multiple=False,
        explanation="See out-of-office measurement.",
        choices=(
            C("True", True, "Correct: out-of-office readings confirm it."),
            C("False", False, "They are recommended."),
        ),
    ),
]


def read(name):
    return (FILES / name).read_bytes()


def refusal(content, filename="questions.gift"):
    with pytest.raises(QuestionFileError) as error:
        questions_parse(content=content, filename=filename)
    return str(error.value)


def xml_quiz(*questions):
    return '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "\n".join(questions) + "\n</quiz>\n"


def xml_question(kind, name="Q", *, single="true", answers=(("100", "Yes"), ("0", "No"))):
    rows = "".join(f'<answer fraction="{fraction}"><text>{text}</text></answer>' for fraction, text in answers)
    return (
        f'<question type="{kind}"><name><text>{name}</text></name>'
        f'<questiontext format="plain_text"><text>Which?</text></questiontext>'
        f"<single>{single}</single>{rows}</question>"
    )


# --- Parsing ---------------------------------------------------------------------------------


def test_it_imports_every_supported_gift_question_exactly():
    assert questions_parse(content=read("hypertension.gift"), filename="hypertension.gift") == GIFT_QUESTIONS


def test_it_imports_a_moodle_xml_export_exactly_skipping_its_category():
    assert questions_parse(content=read("moodle_export.xml"), filename="export.xml") == XML_QUESTIONS


def test_it_reads_gift_saved_on_windows_with_a_byte_order_mark():
    content = read("windows_bom.gift")
    assert content.startswith(b"\xef\xbb\xbf") and b"\r\n" in content
    assert questions_parse(content=content, filename="windows_bom.gift") == [
        ImportedQuestion(
            name="Salt",
            text="Salt raises blood pressure\nin most adults.",
            multiple=False,
            explanation="",
            choices=(C("True", True, "Yes."), C("False", False, "No: it raises it.")),
        ),
        ImportedQuestion(
            name="Dose", text="Which dose?", multiple=False, explanation="", choices=(C("Low", True, "Right."), C("High", False))
        ),
    ]


def test_it_tells_the_format_from_the_content_before_the_name():
    content = read("moodle_export.xml")
    assert questions_parse(content=content, filename="export.txt") == XML_QUESTIONS
    assert questions_parse(content=content.decode(), filename="") == XML_QUESTIONS
    assert questions_parse(content="Salt raises blood pressure.{T}") == [
        ImportedQuestion(
            text="Salt raises blood pressure.", multiple=False, explanation="", choices=(C("True", True), C("False", False))
        )
    ]


@pytest.mark.parametrize(
    ("gift", "kind"),
    [
        ("::Capital::The capital of France is {=Paris =paris}.", "is a short-answer question"),
        ("::Pairs::Match them. {=Lisinopril -> ACE inhibitor =Amlodipine -> CCB}", "is a matching question"),
        ("::Count::How many chambers has the heart? {#4:0}", "is a numerical question"),
        ("::Essay::Describe your approach. {}", "is an essay question"),
        ("::Intro::Read the case below before answering.", "so it is a description (text only)"),
    ],
)
def test_it_refuses_each_unsupported_gift_type_by_name(gift, kind):
    message = refusal(f"::Fine::Salt raises blood pressure.{{T}}\n\n// next\n{gift}\n")
    assert message.startswith(f"Question 2 “{gift[2:gift.index('::', 2)]}” (line 4) ")
    assert kind in message
    assert message.endswith("only multiple-choice, multiple-answer and true/false questions can be imported.")


def test_it_refuses_a_moodle_matching_question_by_its_name():
    assert refusal(read("matching.xml"), "matching.xml") == (
        "Question 2 “Drug classes” (line 12) is a matching question; only multiple-choice, "
        "multiple-answer and true/false questions can be imported."
    )


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("shortanswer", "a short-answer question"),
        ("essay", "an essay question"),
        ("numerical", "a numerical question"),
        ("description", "a description (text only) question"),
        ("cloze", "an embedded answers (Cloze) question"),
        ("ddwtos", "a drag and drop into text question"),
        ("hotspot", "a “hotspot” question"),
    ],
)
def test_it_refuses_each_unsupported_moodle_type_by_name(kind, named):
    content = xml_quiz(xml_question("truefalse", answers=(("100", "true"), ("0", "false"))), xml_question(kind, "Odd one"))
    assert f"Question 2 “Odd one” (line 4) is {named};" in refusal(content, "q.xml")


@pytest.mark.parametrize(
    "content",
    [
        "::Partial::Which?{=Right ~%50%Half right ~Wrong}",
        xml_quiz(xml_question("multichoice", "Partial", answers=(("100", "Right"), ("50", "Half right"), ("0", "Wrong")))),
    ],
)
def test_it_refuses_partial_credit_on_a_single_answer_question_with_the_reason(content):
    message = refusal(content)
    assert "Question 1 “Partial”" in message
    assert "“Half right” gives 50% of the mark" in message
    assert "no partial credit or penalty" in message


def test_it_refuses_a_penalty_on_a_single_answer_question():
    assert "“Wrong” takes away 100% of the mark" in refusal("::Penalty::Which?{=Right ~%-100%Wrong}")


def test_it_takes_only_answers_worth_more_than_nothing_as_correct_in_a_multiple_answer_question():
    [question] = questions_parse(content="Which?{~%100%A ~%0%B ~%-50%C}")
    assert question.multiple
    assert [(choice.text, choice.correct) for choice in question.choices] == [("A", True), ("B", False), ("C", False)]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "unclosed_brace.gift",
            None,
            "Question 2 “Broken” (line 4): the answers opened with “{” on line 4 are not closed with “}” "
            "before the blank line that ends the question.",
        ),
        (
            "no_correct.gift",
            b"::A::Fine?{=Yes ~No}\n\n::B::Which?\n{\n~One\n~Two\n}\n",
            "Question 2 “B” (line 3): Mark at least one choice as correct.",
        ),
        (
            "run_on.gift",
            b"::A::First?{=Yes ~No\n::B::Second?{=Yes ~No}\n",
            "Question 1 “A” (line 1): the answers opened with “{” on line 1 are not closed with “}” "
            "before the next “{” on line 2",
        ),
        (
            "title.gift",
            b"::Unclosed title: Which?{=Yes ~No}\n",
            "Line 1: the title of question 1 opens with “::” but is not closed",
        ),
        ("weight.gift", b"Which?{~%half%A ~%50%B ~C}", "Question 1 (line 1): line 1: the weight %half% is not a percentage"),
        (
            "long.gift",
            b"Which?{=" + b"x" * 501 + b" ~No}",
            "Question 1 (line 1): choice 1’s text: Ensure this value has at most 500 characters (it has 501).",
        ),
        ("broken.xml", None, "The file is not valid XML: mismatched tag at line 5, column 74."),
        ("billion_laughs.xml", None, "Line 2: the file has a DOCTYPE declaration, which is refused for safety"),
        ("empty.gift", b"// only a comment\n\n", "The file holds no questions."),
        ("latin1.gift", "Which?\n{=Caf\u00e9 ~Tea}".encode("latin-1"), "The file is not UTF-8 text: line 2 holds the byte 0xE9"),
        ("utf16.gift", "Which?{=A ~B}".encode("utf-16"), "The file is saved as UTF-16"),
        ("questions.docx", b"PK\x03\x04", "“questions.docx” is neither a GIFT file (.gift or .txt) nor a Moodle XML file (.xml)."),
        ("not_a_quiz.xml", b"<?xml version='1.0'?><html><p>Hi</p></html>", "it starts with <html>, not <quiz>"),
        (
            "bad_fraction.xml",
            xml_quiz(xml_question("multichoice", "F", answers=(("100", "A"), ("abc", "B")))).encode(),
            "Question 1 “F” (line 3): the answer on line 3 has the fraction “abc”, not a percentage",
        ),
        ("nul.gift", b"Which\x00?{=A ~B}", "Question 1 (line 1): the question text must not contain a NUL character"),
    ],
)
def test_it_refuses_a_broken_file_naming_the_line_or_question(name, content, message):
    assert message in refusal(read(name) if content is None else content, name)


def test_it_refuses_a_file_over_two_megabytes():
    content = ("Which?{=A ~B}\n\n" * 200_000).encode()
    assert len(content) > 2 * 1024 * 1024
    assert refusal(content) == "The file is larger than 2 MB; split it into smaller files."


def test_it_refuses_a_question_with_more_choices_than_the_post_test_takes():
    assert len(questions_parse(content="Which?{=a" + " ~b" * 25 + "}")[0].choices) == 26
    assert refusal("Which?{=a" + " ~b" * 26 + "}") == (
        "Question 1 (line 1): A question has at most 26 choices; this one has 27."
    )


def test_it_refuses_more_than_500_questions_but_takes_500():
    assert len(questions_parse(content="Which?{=A ~B}\n\n" * 500)) == 500
    assert refusal("Which?{=A ~B}\n\n" * 501) == "The file holds more than 500 questions; import at most 500 at a time."


# --- Saving ----------------------------------------------------------------------------------

ROW_MODELS = [PostTest, Question, Choice]


def rows():
    return [model.objects.count() for model in ROW_MODELS]


def stored(posttest):
    return [
        (q.order, q.text, q.multiple, q.explanation, [(c.order, c.text, c.is_correct, c.feedback) for c in q.choices.all()])
        for q in posttest.questions.prefetch_related("choices")
    ]


def expected(questions, start=0):
    return [
        (start + i, q.text, q.multiple, q.explanation, [(j, c.text, c.correct, c.feedback) for j, c in enumerate(q.choices)])
        for i, q in enumerate(questions)
    ]


def run(*args):
    out = StringIO()
    call_command("import_questions", *map(str, args), stdout=out)
    return out.getvalue()


def test_it_creates_the_post_test_with_its_defaults_and_the_questions_in_file_order(provider):
    activity = ActivityFactory(status="draft")
    output = run(activity.slug, FILES / "hypertension.gift")
    assert output.strip() == f"Imported 7 questions into the post-test of “{activity.title}”."
    posttest = PostTest.objects.get(activity=activity)
    assert posttest.pass_percent == 75 and posttest.review_after_fail == PostTest.Review.SCORE
    assert stored(posttest) == expected(GIFT_QUESTIONS)


def test_it_adds_imported_questions_after_the_existing_ones(provider):
    activity = complete_activity(question_count=2, status="draft")
    before = stored(activity.posttest)
    run(activity.slug, FILES / "moodle_export.xml")
    after = stored(activity.posttest)
    assert after[:2] == before
    last_order = max(order for order, *_ in before)
    assert after[2:] == expected(XML_QUESTIONS, start=last_order + 1)


def test_it_replaces_the_existing_questions_when_asked(provider):
    activity = complete_activity(question_count=2, status="draft")
    run(activity.slug, FILES / "moodle_export.xml", "--replace")
    assert stored(activity.posttest) == expected(XML_QUESTIONS)
    assert Question.objects.count() == 3


def test_it_imports_one_question_in_the_singular(provider, tmp_path):
    activity = ActivityFactory(status="draft")
    path = tmp_path / "one.gift"
    path.write_text("Salt raises blood pressure.{T}", encoding="utf-8")
    assert run(activity.slug, path).strip() == f"Imported 1 question into the post-test of “{activity.title}”."


@pytest.mark.parametrize(
    "name", ["unclosed_brace.gift", "broken.xml", "billion_laughs.xml", "matching.xml"]
)
def test_it_saves_nothing_from_a_broken_file_and_exits_non_zero(provider, name):
    activity = complete_activity(question_count=2, status="draft")
    before = rows()
    with pytest.raises(CommandError) as error:
        run(activity.slug, FILES / name, "--replace")
    assert error.value.returncode == 1
    assert str(error.value).startswith(f"Nothing was imported from {FILES / name}. ")
    assert rows() == before


def test_it_saves_nothing_when_a_refused_question_comes_last(provider, tmp_path):
    """The first questions parse, the last is broken: none of them is saved."""
    activity = ActivityFactory(status="draft")
    path = tmp_path / "late.gift"
    path.write_text("A?{=Yes ~No}\n\nB?{=Yes ~No}\n\nC?{=Paris}\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Question 3 \\(line 5\\) is a short-answer question"):
        run(activity.slug, path)
    assert rows() == [0, 0, 0]


def test_it_refuses_an_unknown_activity_and_an_unreadable_file(provider, tmp_path):
    activity = ActivityFactory(status="draft")
    with pytest.raises(CommandError, match="There is no activity with the slug “nope”."):
        run("nope", FILES / "hypertension.gift")
    with pytest.raises(CommandError, match="Cannot read .*missing.gift: No such file or directory"):
        run(activity.slug, tmp_path / "missing.gift")
    assert rows() == [0, 0, 0]


def test_it_refuses_to_add_questions_to_a_live_activity_and_saves_nothing(provider):
    activity = complete_activity(question_count=2)
    ParticipationFactory(activity=activity)
    before = stored(activity.posttest)
    with pytest.raises(CommandError, match="Nothing was imported") as error:
        run(activity.slug, FILES / "moodle_export.xml")
    assert activity.title in str(error.value)
    assert stored(activity.posttest) == before


def test_it_refuses_to_replace_questions_learners_have_answered(provider):
    activity = complete_activity(question_count=2, status="draft")
    graded_attempt(activity=activity, user=UserFactory(), correct=2)
    before = rows()
    with pytest.raises(CommandError, match="Learners have already answered"):
        run(activity.slug, FILES / "moodle_export.xml", "--replace")
    assert rows() == before


def test_it_numbers_questions_after_the_last_even_when_orders_have_gaps(provider):
    activity = complete_activity(question_count=0, status="draft")
    posttest_questions_import(activity=activity, questions=XML_QUESTIONS[:1])
    Question.objects.filter(posttest=activity.posttest).update(order=7)
    posttest_questions_import(activity=activity, questions=XML_QUESTIONS[1:])
    assert [q.order for q in activity.posttest.questions.all()] == [7, 8, 9]


# --- Feedback on the result page --------------------------------------------------------------


def test_it_shows_the_chosen_answers_feedback_only_when_the_review_reveals_answers(provider, client):
    activity = complete_activity(question_count=0)
    posttest_questions_import(activity=activity, questions=GIFT_QUESTIONS[:1] + GIFT_QUESTIONS[2:3])
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=activity, watched=True)
    client.force_login(learner)
    page = client.get(f"/activities/{activity.slug}/posttest/").content.decode()
    assert "Threshold" not in page and "130–139 / 80–89 mm Hg" in page
    for choice in Choice.objects.all():
        assert choice.feedback not in page

    threshold, home = activity.posttest.questions.all()
    wrong = threshold.choices.get(text__startswith="140")
    attempt = attempt_open(user=learner, posttest=activity.posttest)
    attempt_submit(
        attempt=attempt,
        user=learner,
        answers={threshold.pk: [wrong.pk], home.pk: [home.choices.get(is_correct=True).pk]},
    )
    # Failed (1 of 2): the default shows the score only.
    for level, shown in [
        (PostTest.Review.SCORE, False),
        (PostTest.Review.WRONG_QUESTIONS, False),
        (PostTest.Review.CORRECT_ANSWERS, True),
    ]:
        PostTest.objects.filter(pk=activity.posttest.pk).update(review_after_fail=level)
        page = client.get(f"/activities/{activity.slug}/posttest/").content.decode()
        assert ("That was the older JNC 7 definition." in page) is shown
        assert ("Correct: out-of-office readings confirm it." in page) is shown
        # Never the feedback of an answer the learner did not choose.
        assert "Right: the 2017 ACC/AHA guideline threshold." not in page
        assert "That range is" not in page
        assert "Home readings are recommended" not in page
