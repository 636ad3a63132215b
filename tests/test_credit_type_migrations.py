"""The data the credit-types migrations carry over: certificates 0008 gives each earlier
certificate the one line it awarded; lms 0004 turns boards typed as text into codes."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from certificates.models import Certificate, CertificateCredit
from lms.models import User

from .factories import UserFactory, certificate_for, complete_activity

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_latest():
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_it_gives_each_earlier_certificate_the_line_of_what_it_froze(provider):
    physician = certificate_for(activity=complete_activity(credits=Decimal("1.50")), credits="0.75")
    other = certificate_for(
        activity=complete_activity(credits=Decimal("1.00")), user=UserFactory(profession=User.Profession.OTHER)
    )
    Certificate.objects.filter(pk=physician.pk).update(accreditation_statement="Accredited as it was then.")
    try:
        migrate([("certificates", "0007_delivery_and_queue_errors")])
    finally:
        migrate_to_latest()

    lines = {
        line.certificate_id: line
        for line in CertificateCredit.objects.select_related("credit_type")
    }
    assert len(lines) == 2
    ama, participation = lines[physician.pk], lines[other.pk]
    assert (ama.credit_type.code, ama.name, ama.amount, ama.amount_display) == (
        "ama", "AMA PRA Category 1 Credit™", Decimal("0.75"), "0.75 AMA PRA Category 1 Credits™"
    )
    assert ama.accreditation_statement == "Accredited as it was then."
    assert ama.designation_statement == physician.designation_statement
    assert (participation.credit_type.code, participation.amount, participation.amount_display) == (
        "participation", Decimal("1.00"), "1 hour of participation"
    )
    assert participation.reporting == {}


BOARDS_TYPED = {
    "American Board of Internal Medicine": "ABIM",
    "abp": "ABP",
    "  american   board of   pathology ": "ABPath",
    "American Board of Otolaryngology - Head and Neck Surgery": "ABOHNS",
    "ABOS": "ABOS",
    "American Board of Family Medicine": "American Board of Family Medicine",
    "": "",
}


def test_it_turns_each_board_typed_by_name_or_abbreviation_into_its_code():
    users = {typed: UserFactory().pk for typed in BOARDS_TYPED}
    try:
        OldUser = migrate([("lms", "0003_coordinator_role")]).get_model("lms", "User")
        for typed, pk in users.items():
            OldUser.objects.filter(pk=pk).update(certifying_board=typed)
    finally:
        migrate_to_latest()

    assert {typed: User.objects.get(pk=pk).certifying_board for typed, pk in users.items()} == BOARDS_TYPED
