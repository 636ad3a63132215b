"""What a claim writes: on PostgreSQL the certificate, its credit lines, its "claimed"
event, its field-history entry and the participation's completion in one statement;
elsewhere (SQLite) the same rows by the ORM."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates import services
from certificates.models import Certificate, CertificateCredit, CertificateEvent
from certificates.rules import credit_gate
from certificates.services import certificate_claim
from courses.models import Participation

from .concurrency import in_threads
from .factories import activity_with_credit_types, learner_ready_to_claim, reporting_physician

pytestmark = pytest.mark.django_db

AT = datetime.datetime(2026, 11, 3, 15, 0, tzinfo=datetime.UTC)

# The writer the `write_path` fixture (conftest) makes write by the ORM.
ORM_WRITER = (services, "_claim_record")


def entry_of(certificate):
    """The certificate's field-history entry of its claim, every column but its own key,
    time and correlation id."""
    entry = LogEntry.objects.get_for_object(certificate).get(action=LogEntry.Action.CREATE)
    return {
        field.name: getattr(entry, field.attname)
        for field in LogEntry._meta.concrete_fields
        if field.name not in ("id", "timestamp", "cid")
    }


def by_auditlogs_own_hook(*, certificate, lines, actor):
    """The reference for the entry: a certificate saved with auditlog's save hook, the
    learner set as actor as AuditlogMiddleware sets a request's user."""
    with set_actor(actor):
        certificate.save()


@pytest.fixture
def offering(provider):
    return activity_with_credit_types()


def test_it_records_a_claim_with_its_lines_its_event_and_the_participations_completion(write_path, offering):
    physician = learner_ready_to_claim(activity=offering, user=reporting_physician())

    with time_machine.travel(AT, tick=False):
        certificate = certificate_claim(
            user=physician, activity=offering, credits="1.25", attested=True, moc_board="ABIM"
        )

    row = Certificate.objects.get(user=physician, activity=offering)
    assert row.pk == certificate.pk and row.number == certificate.number
    assert (row.state, row.kind, row.credits_claimed, row.claimed_at, row.learner_name) == (
        "pending", "ama_credit", Decimal("1.25"), AT, physician.certificate_name
    )
    assert list(row.credits.order_by("order").values_list("credit_type__code", "order", "amount", "reporting")) == [
        ("ama", 0, Decimal("1.25"), {}),
        ("moc_abim", 1, Decimal("1.25"), {
            "board": "ABIM", "board_id": "246810",
            "moc_credit_types": ["MK"], "moc_practice_areas": ["Internal Medicine"],
        }),
    ]
    assert list(row.events.values_list("action", "actor_id", "at")) == [("claimed", physician.pk, AT)]
    assert Participation.objects.get(user=physician, activity=offering).completed_at == AT
    entry = entry_of(row)
    assert (entry["object_pk"], entry["object_id"], entry["object_repr"]) == (str(row.pk), row.pk, row.number)
    assert (entry["actor"], entry["actor_email"]) == (physician.pk, physician.email)
    assert entry["changes"]["credits_claimed"] == ["None", "1.25"]
    assert entry["changes"]["number"] == ["None", row.number]


def test_it_records_the_claim_in_the_field_history_as_auditlogs_own_hook_does(write_path, offering, monkeypatch):
    first, second = (learner_ready_to_claim(activity=offering) for _ in range(2))
    with time_machine.travel(AT, tick=False):
        claimed = certificate_claim(user=first, activity=offering, credits="1", attested=True)
        with monkeypatch.context() as patched:
            patched.setattr(services, "_claim_record", by_auditlogs_own_hook)
            reference = certificate_claim(user=second, activity=offering, credits="1", attested=True)

    entry, expected = entry_of(claimed), entry_of(reference)
    # What differs between the two certificates, and nothing else.
    for name, certificate in (("number", "number"), ("user", "user_id"), ("learner_name", "learner_name")):
        assert entry["changes"].pop(name) == ["None", str(getattr(claimed, certificate))]
        assert expected["changes"].pop(name) == ["None", str(getattr(reference, certificate))]
    for row, certificate, learner in ((entry, claimed, first), (expected, reference, second)):
        assert (row.pop("object_pk"), row.pop("object_id"), row.pop("object_repr")) == (
            str(certificate.pk), certificate.pk, certificate.number
        )
        assert (row.pop("actor"), row.pop("actor_email")) == (learner.pk, learner.email)
    assert entry == expected


@pytest.mark.django_db(transaction=True)
def test_it_writes_a_claim_in_one_statement_on_postgresql(activity, monkeypatch):
    learner = learner_ready_to_claim(activity=activity)
    queued = []
    monkeypatch.setattr(services, "certificate_queue_render", lambda **task: queued.append(task))

    with CaptureQueriesContext(connection) as captured:
        certificate = certificate_claim(user=learner, activity=activity, credits="1", attested=True)

    # Without BEGIN and COMMIT: the statement is atomic by itself.
    writes = [query["sql"] for query in captured.captured_queries if not query["sql"].startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith("WITH claimed AS (INSERT")
    assert queued == [{"certificate_id": certificate.pk}]
    assert Certificate.objects.get(user=learner).credits.count() == 1


def test_it_writes_nothing_more_for_a_replayed_claim_that_passed_the_gate_before_the_first(write_path, activity):
    learner = learner_ready_to_claim(activity=activity)
    # Read before the first claim commits: it lets the second claim through to the write.
    stale = credit_gate(user=learner, activity=activity)
    first = certificate_claim(user=learner, activity=activity, credits="1", attested=True)
    completed_at = Participation.objects.get(user=learner, activity=activity).completed_at

    second = certificate_claim(user=learner, activity=activity, credits="0.5", attested=True, gate=stale)

    assert second.pk == first.pk and second.credits_claimed == Decimal("1")
    assert Certificate.objects.filter(user=learner).count() == 1
    assert CertificateCredit.objects.filter(certificate__user=learner).count() == 1
    assert CertificateEvent.objects.filter(certificate__user=learner).count() == 1
    assert LogEntry.objects.filter(action=LogEntry.Action.CREATE, object_repr__startswith="CME-").count() == 1
    assert Participation.objects.get(user=learner, activity=activity).completed_at == completed_at


@pytest.mark.django_db(transaction=True)
def test_it_makes_one_certificate_with_one_set_of_rows_of_simultaneous_claims(activity):
    learner = learner_ready_to_claim(activity=activity)

    results = in_threads(4, lambda: certificate_claim(user=learner, activity=activity, credits="1", attested=True))

    assert all(isinstance(result, Certificate) for result in results), results
    assert len({result.pk for result in results}) == 1
    certificate = Certificate.objects.get(user=learner, activity=activity)
    assert certificate.credits.count() == 1
    assert certificate.events.filter(action=CertificateEvent.Action.CLAIMED).count() == 1
    assert LogEntry.objects.get_for_object(certificate).count() == 1
