"""What a render writes: on PostgreSQL the certificate's issued fields, its new version
and the "issued" event in one statement; elsewhere (SQLite) the same rows by the ORM."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates import issuing
from certificates.issuing import certificate_issue
from certificates.models import Certificate
from certificates.services import certificate_reissue

from .factories import StaffUserFactory

pytestmark = pytest.mark.django_db

AT = datetime.datetime(2026, 11, 3, 15, 0, tzinfo=datetime.UTC)


# The writer the `write_path` fixture (conftest) makes write by the ORM.
ORM_WRITER = (issuing, "_issue_record")


def written(certificate):
    """The certificate's issued fields, its versions and its events after the claim's."""
    row = Certificate.objects.get(pk=certificate.pk)
    return (
        (row.state, row.pdf.name, row.issued_at, row.state_changed_at, row.last_error, row.queue_error),
        list(
            row.versions.order_by("sequence").values_list(
                "sequence", "pdf", "reason", "actor_id", "created_at",
                "name_before", "name_after", "degree_before", "degree_after",
            )
        ),
        list(row.events.exclude(action="claimed").order_by("pk").values_list("action", "actor_id", "at", "reason", "note")),
    )


def test_it_records_a_first_issue(write_path, pending):
    Certificate.objects.filter(pk=pending.pk).update(last_error="Storage timed out.", queue_error="Broker down.")

    with time_machine.travel(AT, tick=False):
        certificate_issue(certificate_id=pending.pk)

    pdf = f"certificates/{pending.number}-v1.pdf"
    assert written(pending) == (
        ("issued", pdf, AT, AT, "", ""),
        [(1, pdf, "", None, AT, "", pending.learner_name, "", pending.learner_degree)],
        [("issued", None, AT, "", "")],
    )


def test_it_records_a_reissue_with_its_reason_and_the_names_before_and_after(write_path, issued_certificate):
    coordinator = StaffUserFactory()
    first = written(issued_certificate)
    issued_certificate.user.certificate_name = "Grace Murray"
    issued_certificate.user.save()
    certificate_reissue(certificate=issued_certificate, actor=coordinator, reason="Legal name change.")

    with time_machine.travel(AT, tick=False):
        certificate_issue(certificate_id=issued_certificate.pk)

    state, versions, events = written(issued_certificate)
    pdf = f"certificates/{issued_certificate.number}-v2.pdf"
    # Issued when it was first issued; its state changed now.
    assert state == ("issued", pdf, first[0][2], AT, "", "")
    assert versions[1] == (
        2, pdf, "Legal name change.", coordinator.pk, AT,
        issued_certificate.learner_name, "Grace Murray", issued_certificate.learner_degree,
        issued_certificate.learner_degree,
    )
    assert events[-1] == ("issued", None, AT, "", "")


def test_it_writes_a_render_in_one_statement_on_postgresql(pending):
    with CaptureQueriesContext(connection) as captured:
        certificate_issue(certificate_id=pending.pk)

    writes = [query["sql"] for query in captured.captured_queries if not query["sql"].startswith(("SELECT", "SAVEPOINT", "RELEASE"))]
    assert len(writes) == 1 and writes[0].startswith("WITH issued AS (UPDATE")
    assert Certificate.objects.get(pk=pending.pk).state == "issued"
