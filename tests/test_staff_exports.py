"""The staff exports page (issue 17, exports): completions across activities and raw
evaluation responses for a period, each activity's completions and evaluation summary, in
CSV, tab-delimited text and XLSX; memory bounded however many rows."""

import csv
import datetime
import io
import re
import tempfile
import tracemalloc
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from certificates.models import Certificate
from lms import reports
from quizzes.models import EvaluationQuestion

from .factories import (
    ActivityFactory,
    EvaluationAnswerFactory,
    EvaluationQuestionFactory,
    EvaluationResponseFactory,
    StaffUserFactory,
    UserFactory,
    certificate_for,
    certificates_in_bulk,
    complete_activity,
    credit_line_for,
    staff_login,
)

pytestmark = pytest.mark.django_db

FORMATS = ["csv", "txt", "xlsx"]
MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


@pytest.fixture
def staff_client(client, provider):
    staff_login(client, StaffUserFactory())
    return client


def download(client, **query):
    return client.get("/staff/exports/download", {"export": "completions", "table_format": "csv", **MARCH, **query})


def cell_text(value):
    """A cell as text, the same whichever format it came in: numbers without trailing
    zeros, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    text = str(value)
    if isinstance(value, (int, float)) or re.fullmatch(r"\d+\.\d+", text):
        return format(Decimal(text).normalize(), "f")
    return text


def table_of(response):
    """The rows of a downloaded table, read back as a spreadsheet program would."""
    body = b"".join(response.streaming_content)
    if response["Content-Disposition"].endswith('.xlsx"'):
        sheet = load_workbook(io.BytesIO(body)).worksheets[0]
        return [[cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    assert body.startswith(b"\xef\xbb\xbf")
    delimiter = "\t" if response["Content-Disposition"].endswith('.txt"') else ","
    return [[cell_text(value) for value in row] for row in csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter)]


# --- Access -----------------------------------------------------------------------------

PATHS = ["/staff/exports/", "/staff/exports/download?export=completions&table_format=csv&start=2025-03-01&end=2025-03-31"]


def test_it_sends_anonymous_visitors_to_the_login_page(client, provider):
    for path in PATHS:
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/"), path


def test_it_answers_404_to_learners(client, learner):
    client.force_login(learner)
    for path in PATHS:
        assert client.get(path).status_code == 404, path


def test_it_refuses_staff_without_the_reports_role(client, provider):
    staff_login(client, StaffUserFactory(coordinator=False))
    for path in PATHS:
        assert client.get(path).status_code == 403, path


# --- The page ---------------------------------------------------------------------------


def test_it_links_the_exports_page_from_the_staff_index(staff_client):
    assert 'href="/staff/exports/"' in staff_client.get("/staff/").content.decode()


def test_it_offers_this_year_to_date_as_csv_by_default(staff_client, today):
    page = staff_client.get("/staff/exports/").content.decode()

    assert f'value="{today.year}-01-01"' in page
    assert f'value="{today.isoformat()}"' in page
    assert re.search(r'value="csv"[^>]* checked', page)
    assert re.search(r'value="completions"[^>]* checked', page)
    assert "Include learners&#x27; names and e-mails" in page


def test_it_lists_the_activities_to_choose_in_a_constant_number_of_queries(staff_client):
    ActivityFactory(title="Asthma in Children")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get("/staff/exports/").status_code == 200
        return len(captured)

    few = queries()
    ActivityFactory.create_batch(20)
    assert queries() == few
    assert "Asthma in Children" in staff_client.get("/staff/exports/").content.decode()


# --- Bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, message",
    [
        ({"start": "2025-03-31", "end": "2025-03-01"}, "The end of the period must not be before its start."),
        ({"start": "2025-02-30"}, "The start date is not a date; use YYYY-MM-DD."),
        ({"end": "next week"}, "The end date is not a date; use YYYY-MM-DD."),
        ({"start": ""}, "Give the start date of the period as YYYY-MM-DD."),
        ({"table_format": "pdf"}, "Select a valid choice."),
        ({"export": "everything"}, "Select a valid choice."),
        ({"export": ""}, "Choose what to export."),
        ({"activity": "no-such-activity"}, "That activity no longer exists; choose another."),
    ],
)
def test_it_re_renders_bad_input_with_its_error_and_400(staff_client, query, message):
    response = download(staff_client, **query)

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="error-summary"' in page
    assert message in page
    assert "<h1>Exports</h1>" in page


def test_it_keeps_what_staff_chose_when_it_re_renders(staff_client):
    activity = ActivityFactory()

    page = download(staff_client, activity=activity.slug, table_format="xlsx", end="2025-02-01").content.decode()

    assert re.search(r'value="xlsx"[^>]* checked', page)
    assert re.search(rf'value="{activity.slug}"[^>]* selected', page)
    assert 'value="2025-02-01"' in page


# --- Completions across activities ------------------------------------------------------

COMPLETIONS_HEADER = [
    "certificate_number", "activity", "accme_activity_id", "learner_name", "email", "profession",
    "degree", "completed_on", "credit_type", "amount", "state",
]


def completion(activity, *, on="2025-03-10", user=None, credits="1", **fields):
    certificate = certificate_for(
        activity=activity, user=user, credits=credits, completed_on=datetime.date.fromisoformat(on), **fields
    )
    credit_line_for(certificate, code="participation" if certificate.hours else "ama")
    return certificate


@pytest.mark.parametrize("table_format", FORMATS)
def test_it_exports_a_row_per_credit_line_of_every_activitys_certificates(staff_client, table_format):
    sepsis = complete_activity(title="Sepsis Update", accme_activity_id="201234567")
    asthma = complete_activity(title="Asthma in Children")
    physician = UserFactory(certificate_name="Zoë Ångström", email="zoe@example.org", degree="MD")
    nurse = UserFactory(certificate_name="Ana Ruiz", email="ana@example.org", degree="RN", profession="nurse")
    moc = completion(sepsis, user=physician, credits="0.75", on="2025-03-02")
    credit_line_for(moc, code="moc_abim", amount="0.75")
    participation = completion(asthma, user=nurse, on="2025-03-05")

    response = download(staff_client, table_format=table_format)

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="completions-20250301-20250331.{table_format}"'
    assert table_of(response) == [
        COMPLETIONS_HEADER,
        [moc.number, "Sepsis Update", "201234567", "Zoë Ångström", "zoe@example.org", "Physician (MD, DO)", "MD",
         "2025-03-02", "AMA PRA Category 1 Credit™", "0.75", "Being prepared"],
        [moc.number, "Sepsis Update", "201234567", "Zoë Ångström", "zoe@example.org", "Physician (MD, DO)", "MD",
         "2025-03-02", "ABIM MOC points", "0.75", "Being prepared"],
        [participation.number, "Asthma in Children", "", "Ana Ruiz", "ana@example.org", "Nurse (RN, LPN)", "RN",
         "2025-03-05", "Hours of participation", "1", "Being prepared"],
    ]


def test_it_includes_revoked_certificates_with_their_state(staff_client, activity):
    completion(activity, state=Certificate.State.REVOKED)
    completion(activity, state=Certificate.State.ISSUED)

    states = [row[-1] for row in table_of(download(staff_client))[1:]]

    assert states == ["Revoked", "Issued"]


def test_it_includes_both_ends_of_the_period_and_nothing_outside(staff_client, activity):
    for day in ["2025-02-28", "2025-03-01", "2025-03-31", "2025-04-01"]:
        completion(activity, on=day)

    dates = [row[7] for row in table_of(download(staff_client))[1:]]

    assert dates == ["2025-03-01", "2025-03-31"]


def test_it_exports_one_activitys_completions_when_staff_choose_it(staff_client, activity):
    other = complete_activity()
    mine = completion(activity)
    completion(other)

    response = download(staff_client, activity=activity.slug)

    assert response["Content-Disposition"].endswith(f'"completions-{activity.slug}-20250301-20250331.csv"')
    assert [row[0] for row in table_of(response)[1:]] == [mine.number]


def test_it_writes_only_the_header_when_nothing_was_completed(staff_client):
    assert table_of(download(staff_client, table_format="xlsx")) == [COMPLETIONS_HEADER]


# --- Raw evaluation responses -----------------------------------------------------------


@pytest.fixture
def evaluated(provider):
    """Two learners' responses to an activity's evaluation of a rating, a comment and a
    commitment to change, submitted in March 2025."""
    activity = complete_activity(title="Sepsis Update", accme_activity_id="201234567")
    evaluation = activity.evaluation
    rating = evaluation.questions.get()
    rating.text = "The activity met its objectives."
    rating.save()
    comments = EvaluationQuestionFactory(evaluation=evaluation, text="What would you change?",
                                         kind=EvaluationQuestion.Kind.TEXT, order=2)
    commitment = EvaluationQuestionFactory(evaluation=evaluation, text="Will you change your practice?",
                                           kind=EvaluationQuestion.Kind.COMMITMENT, order=3)
    answers = [
        ("Ruth Okafor", "ruth@example.org", datetime.datetime(2025, 3, 3, 15, tzinfo=datetime.UTC), "5",
         "More cases.", ("yes", "Screen with qSOFA.")),
        ("Li Wei", "li@example.org", datetime.datetime(2025, 3, 20, 15, tzinfo=datetime.UTC), "2", "", ("unsure", "")),
    ]
    for name, email, at, score, comment, (commit, plan) in answers:
        response = EvaluationResponseFactory(
            evaluation=evaluation, submitted_at=at, user=UserFactory(certificate_name=name, email=email)
        )
        EvaluationAnswerFactory(response=response, question=rating, value=score)
        EvaluationAnswerFactory(response=response, question=comments, value=comment)
        EvaluationAnswerFactory(response=response, question=commitment, value=commit, comment=plan)
    return activity


RESPONSES_HEADER = [
    "response", "activity", "accme_activity_id", "submitted_on", "question_number", "question", "kind",
    "answer", "rating", "comment",
]


def responses(client, **query):
    return download(client, export="evaluation_responses", **query)


@pytest.mark.parametrize("table_format", FORMATS)
def test_it_exports_a_row_per_answer_without_who_answered(staff_client, evaluated, table_format):
    response = responses(staff_client, table_format=table_format)

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'"evaluation-responses-20250301-20250331.{table_format}"')
    first = ["Sepsis Update", "201234567", "2025-03-03"]
    second = ["Sepsis Update", "201234567", "2025-03-20"]
    assert table_of(response) == [
        RESPONSES_HEADER,
        ["1", *first, "1", "The activity met its objectives.", "likert", "5 – Strongly agree", "5", ""],
        ["1", *first, "2", "What would you change?", "text", "More cases.", "", ""],
        ["1", *first, "3", "Will you change your practice?", "commitment", "Yes", "", "Screen with qSOFA."],
        ["2", *second, "1", "The activity met its objectives.", "likert", "2", "2", ""],
        ["2", *second, "2", "What would you change?", "text", "", "", ""],
        ["2", *second, "3", "Will you change your practice?", "commitment", "Not sure yet", "", ""],
    ]


def test_it_leaves_no_trace_of_who_answered_by_default(staff_client, evaluated):
    response = responses(staff_client)
    body = b"".join(response.streaming_content).decode("utf-8-sig")

    for identity in ["Ruth", "Okafor", "ruth@example.org", "Li Wei", "li@example.org"]:
        assert identity not in body


@pytest.mark.parametrize("table_format", FORMATS)
def test_it_names_the_learners_when_staff_ask(staff_client, evaluated, table_format):
    table = table_of(responses(staff_client, with_learners="on", table_format=table_format))

    assert table[0] == ["response", "learner_name", "email", *RESPONSES_HEADER[1:]]
    assert [row[:3] for row in table[1:]] == [["1", "Ruth Okafor", "ruth@example.org"]] * 3 + [
        ["2", "Li Wei", "li@example.org"]
    ] * 3


def test_it_counts_responses_in_the_file_rather_than_giving_their_ids(staff_client, evaluated):
    later = EvaluationResponseFactory(evaluation=evaluated.evaluation,
                                      submitted_at=datetime.datetime(2025, 3, 25, 15, tzinfo=datetime.UTC))
    EvaluationAnswerFactory(response=later, question=evaluated.evaluation.questions.first(), value="4")

    table = table_of(responses(staff_client, start="2025-03-10"))

    # Li Wei's was not the first response to the form, yet it is number 1 here.
    assert [row[0] for row in table[1:]] == ["1", "1", "1", "2"]


def test_it_takes_the_period_in_the_providers_days(staff_client, evaluated):
    """03:30 UTC on 1 April is still 31 March in New York."""
    evening = EvaluationResponseFactory(evaluation=evaluated.evaluation,
                                        submitted_at=datetime.datetime(2025, 4, 1, 3, 30, tzinfo=datetime.UTC))
    EvaluationAnswerFactory(response=evening, question=evaluated.evaluation.questions.first(), value="3")

    march = table_of(responses(staff_client, start="2025-03-31"))
    april = table_of(responses(staff_client, start="2025-04-01", end="2025-04-30"))

    assert [row[3] for row in march[1:]] == ["2025-03-31"]
    assert april == [RESPONSES_HEADER]


def test_it_exports_one_activitys_responses_when_staff_choose_it(staff_client, evaluated):
    other = complete_activity(title="Asthma in Children")
    response = EvaluationResponseFactory(evaluation=other.evaluation,
                                         submitted_at=datetime.datetime(2025, 3, 5, 15, tzinfo=datetime.UTC))
    EvaluationAnswerFactory(response=response, question=other.evaluation.questions.get(), value="4")

    everything = table_of(responses(staff_client))
    asthma = table_of(responses(staff_client, activity=other.slug))

    assert {row[1] for row in everything[1:]} == {"Asthma in Children", "Sepsis Update"}
    assert asthma[1:] == [["1", "Asthma in Children", "", "2025-03-05", "1", "The activity met its objectives.",
                           "likert", "4", "4", ""]]


# --- One activity's exports, in every format --------------------------------------------


def test_it_links_each_activitys_exports_in_three_formats(staff_client, activity):
    page = staff_client.get(f"/staff/activities/{activity.slug}/").content.decode()

    for name in ["completions", "evaluations"]:
        for table_format in FORMATS:
            assert f'href="/staff/activities/{activity.slug}/{name}.{table_format}"' in page


@pytest.mark.parametrize("table_format", FORMATS)
def test_it_exports_one_activitys_completions_in_every_format(staff_client, activity, table_format):
    certificate = completion(activity, user=UserFactory(certificate_name="Ruth Okafor", email="ruth@example.org"))

    response = staff_client.get(f"/staff/activities/{activity.slug}/completions.{table_format}")

    assert response["Content-Disposition"] == f'attachment; filename="{activity.slug}-completions.{table_format}"'
    assert table_of(response) == [
        ["certificate_number", "learner_name", "email", "degree", "profession", "completed_on", "credit_type",
         "amount", "state"],
        [certificate.number, "Ruth Okafor", "ruth@example.org", "MD", "Physician (MD, DO)", "2025-03-10",
         "AMA PRA Category 1 Credit™", "1", "Being prepared"],
    ]


@pytest.mark.parametrize("table_format", FORMATS)
def test_it_exports_one_activitys_evaluation_summary_in_every_format(staff_client, evaluated, table_format):
    response = staff_client.get(f"/staff/activities/{evaluated.slug}/evaluations.{table_format}")

    table = table_of(response)
    assert response["Content-Disposition"] == f'attachment; filename="{evaluated.slug}-evaluations.{table_format}"'
    assert table[0] == ["question_number", "question", "kind", "answer", "count", "comment"]
    assert ["1", "The activity met its objectives.", "likert", "5 – Strongly agree", "1", ""] in table
    assert ["3", "Will you change your practice?", "commitment", "", "", "Screen with qSOFA."] in table


def test_it_answers_404_for_a_format_it_does_not_write(staff_client, activity):
    assert staff_client.get(f"/staff/activities/{activity.slug}/completions.pdf").status_code == 404


# --- Memory -----------------------------------------------------------------------------

# Small chunks, so that both sizes fill several and only the number of chunks differs.
CHUNK_ROWS = 100
FEW, MANY = 1_000, 5_000


def measured(get):
    """(data rows, peak bytes allocated, queries) of answering and reading through the
    export `get()` asks for. Tracing starts before the request, since a workbook is
    written before its response goes out; the body goes to a file, as a browser saves it,
    and is read back only once the measure is taken."""
    with tempfile.TemporaryFile() as saved:
        tracemalloc.start()
        try:
            with CaptureQueriesContext(connection) as queries:
                response = get()
                for piece in response.streaming_content:
                    saved.write(piece)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        saved.seek(0)
        if response["Content-Disposition"].endswith('.xlsx"'):
            rows = sum(1 for _ in load_workbook(saved, read_only=True).worksheets[0].iter_rows())
        else:
            rows = saved.read().count(b"\n")
    return rows - 1, peak, len(queries)


def completions_in_march(count, day):
    certificates_in_bulk(count=count, activity=complete_activity(), completed_on=datetime.date(2025, 3, day))


@pytest.mark.parametrize("table_format", ["csv", "xlsx"])
def test_it_exports_completions_in_memory_that_does_not_grow_with_rows(staff_client, monkeypatch, table_format):
    monkeypatch.setattr(reports, "EXPORT_CHUNK_ROWS", CHUNK_ROWS)
    completions_in_march(FEW, 1)
    completions_in_march(MANY, 2)

    def few_rows():
        return download(staff_client, table_format=table_format, end="2025-03-01")

    # The first request also loads templates and modules once for good: not part of the measure.
    measured(few_rows)
    few = measured(few_rows)
    many = measured(lambda: download(staff_client, table_format=table_format, start="2025-03-02"))

    (few_rows, few_peak, few_queries), (many_rows, many_peak, many_queries) = few, many
    assert (few_rows, many_rows) == (FEW, MANY)
    assert many_queries == few_queries
    # Five times the rows: built in memory, the peak would be five times as high.
    assert many_peak < few_peak * 1.5, (few_peak, many_peak)


def test_it_drops_control_characters_a_workbook_cannot_hold(staff_client, activity):
    completion(activity, user=UserFactory(certificate_name="Ruth\x0bOkafor"))

    table = table_of(download(staff_client, table_format="xlsx"))

    assert table[1][3] == "RuthOkafor"
