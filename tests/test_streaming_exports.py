"""Exports go out as they are read (issue 18): each CSV is a streaming response over a
server-side cursor, so its memory and its queries do not grow with the number of rows."""

import csv
import datetime
import io
import tracemalloc

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from lms import reports
from lms import views as lms_views

from .factories import (
    EvaluationAnswerFactory,
    EvaluationQuestionFactory,
    EvaluationResponseFactory,
    StaffUserFactory,
    UserFactory,
    certificates_in_bulk,
    complete_activity,
    staff_login,
)

pytestmark = pytest.mark.django_db

# Small chunks, so that both sizes below fill several and only the number of chunks differs.
CHUNK_ROWS = 100
FEW, MANY = 1_000, 5_000


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(reports, "EXPORT_CHUNK_ROWS", CHUNK_ROWS)
    monkeypatch.setattr(lms_views, "EXPORT_CHUNK_ROWS", CHUNK_ROWS)


@pytest.fixture
def staff_client(client):
    staff_login(client, StaffUserFactory())
    return client


def read_through(response):
    """(rows, peak bytes allocated while the body was produced), keeping no more of the
    body than one piece at a time, as a server sending it does."""
    assert isinstance(response, StreamingHttpResponse)
    rows = 0
    tracemalloc.start()
    try:
        for piece in response.streaming_content:
            rows += piece.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, peak


def measured(get):
    """(rows, peak memory, queries) of reading the response `get()` returns."""
    with CaptureQueriesContext(connection) as queries:
        rows, peak = read_through(get())
    return rows, peak, len(queries)


def assert_bounded(few, many):
    (few_rows, few_peak, few_queries), (many_rows, many_peak, many_queries) = few, many
    assert many_rows - few_rows == MANY - FEW
    assert many_queries == few_queries
    # Five times the rows: built in memory the peak would be five times as high.
    assert many_peak < few_peak * 1.5, (few_peak, many_peak)


def test_it_streams_the_completions_export_in_bounded_memory(staff_client, provider):
    few, many = complete_activity(), complete_activity()
    certificates_in_bulk(count=FEW, activity=few)
    certificates_in_bulk(count=MANY, activity=many)

    assert_bounded(
        measured(lambda: staff_client.get(f"/staff/activities/{few.slug}/completions.csv")),
        measured(lambda: staff_client.get(f"/staff/activities/{many.slug}/completions.csv")),
    )


def test_it_streams_the_transcript_csv_in_bounded_memory(client, provider):
    few, many = UserFactory(), UserFactory()
    certificates_in_bulk(count=FEW, user=few)
    certificates_in_bulk(count=MANY, user=many)

    client.force_login(few)
    few_measured = measured(lambda: client.get("/me/transcript.csv"))
    client.force_login(many)
    assert_bounded(few_measured, measured(lambda: client.get("/me/transcript.csv")))


def test_it_writes_the_transcript_csv_rows_as_before(client, provider):
    user = UserFactory()
    [certificate] = certificates_in_bulk(count=1, user=user, completed_on=datetime.date(2025, 6, 30))
    client.force_login(user)

    response = client.get("/me/transcript.csv")

    assert response["Content-Disposition"] == 'attachment; filename="cme-transcript.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows == [
        ["completed_on", "activity", "credit_type", "amount", "certificate_number", "verification_url"],
        ["2025-06-30", certificate.activity_title, "AMA PRA Category 1 Credit™", "1",
         certificate.number, certificate.get_verification_url()],
    ]


def test_it_streams_evaluation_comments_in_alphabetical_order_under_their_question(staff_client, provider):
    activity = complete_activity()
    evaluation = activity.evaluation
    rating = evaluation.questions.get()
    comments = EvaluationQuestionFactory(evaluation=evaluation, text="What else?", kind="text", order=5)
    for text in ["  zebra crossing", "Apples", "", "banana"]:
        response = EvaluationResponseFactory(evaluation=evaluation)
        EvaluationAnswerFactory(response=response, question=rating, value="5")
        EvaluationAnswerFactory(response=response, question=comments, value=text)

    response = staff_client.get(f"/staff/activities/{activity.slug}/evaluations.csv")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[-3:] == [
        ["2", "What else?", "text", "", "", "Apples"],
        ["2", "What else?", "text", "", "", "banana"],
        ["2", "What else?", "text", "", "", "zebra crossing"],
    ]
    assert ["1", rating.text, rating.kind, "5 – Strongly agree", "4", ""] in rows


def test_it_keeps_a_formula_out_of_a_streamed_export(staff_client, provider):
    activity = complete_activity()
    [certificate] = certificates_in_bulk(count=1, activity=activity)
    certificate.learner_name = "=HYPERLINK(\"http://evil\")"
    certificate.save()

    response = staff_client.get(f"/staff/activities/{activity.slug}/completions.csv")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1][1] == "'=HYPERLINK(\"http://evil\")"
