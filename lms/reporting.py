"""Reads and writes behind the reporting pages (issue 17): the PARS learner file and the
log of what it sent, the PARS activity file, and the queue of MOC points boards expect
within MOC_REPORTING_DAYS.

A credit line stands reported while its latest ReportedRecord added it; a delete, or no
record at all, leaves it to be sent (again).
"""

import datetime
import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from certificates.models import Certificate, CertificateCredit
from courses.credit_types import AMA, MOC_REPORTING_DAYS
from courses.models import Activity, ActivityCredit, Provider

from . import pars, tasks
from .models import ReportedRecord, ReportingBatch
from .reports import count_per_activity

# Rows a server-side cursor fetches at a time, and records written per INSERT: the file
# and its log hold one chunk in memory, not the whole period.
EXPORT_CHUNK_ROWS = 2000
LOG_WRITE_ROWS = 1000
PREVIEW_ROWS = 20
# A batch's task normally starts within seconds; one queued this long ago and not being
# recorded (no worker holds its row) is taken as lost and queued again.
BATCH_STUCK_AFTER = datetime.timedelta(minutes=3)
# One sweep queues at most this many; the next sweep takes the rest.
SWEEP_BATCH = 100

log = logging.getLogger(__name__)

Action = ReportedRecord.Action


def _latest_record(value):
    """`value` of the line's latest record (None when it was never sent)."""
    return Subquery(
        ReportedRecord.objects.filter(credit_line=OuterRef("pk")).order_by("-pk").values(value)[:1]
    )


UNSENT = Q(last_action__isnull=True) | Q(last_action=Action.DELETE)


def _reportable_lines():
    """The credit lines PARS takes: AMA PRA Category 1 Credit™ and boards' MOC points."""
    return CertificateCredit.objects.filter(Q(credit_type__code=AMA) | ~Q(credit_type__board=""))


_LINE_VALUES = [
    "pk", "certificate_id", "credit_type__code", "credit_type__board", "amount", "reporting",
    "certificate__completed_on", "certificate__activity__accme_activity_id",
    "certificate__user__given_name", "certificate__user__family_name",
    "certificate__user__birth_month", "certificate__user__birth_day",
    "certificate__user__licence_state", "certificate__user__licence_number",
    "certificate__user__npi", "certificate__user__certifying_board",
    "certificate__user__board_id", "certificate__user__share_with_boards",
]


def _learner_line(values, *, provider_id):
    (_, _, code, board, amount, reporting, completed_on, activity_id, given_name, family_name,
     birth_month, birth_day, licence_state, licence_number, npi, certifying_board, board_id,
     consented) = values
    # The board ID confirmed at the claim; else the profile's, if it is for the same board.
    frozen_board_id = reporting.get("board_id", "")
    profile_board_id = board_id if certifying_board == board else ""
    return pars.LearnerLine(
        kind=pars.credit_kind(credit_type_code=code, board=board),
        provider_id=provider_id,
        activity_id=activity_id,
        given_name=given_name,
        family_name=family_name,
        birth_month=birth_month,
        birth_day=birth_day,
        completed_on=completed_on,
        amount=amount,
        licence_state=licence_state,
        licence_number=licence_number,
        npi=npi,
        board=board,
        board_id=frozen_board_id or profile_board_id,
        moc_credit_types=reporting.get("moc_credit_types", []),
        consented=consented,
    )


@dataclass(frozen=True)
class Planned:
    """A credit line as the next learner file would treat it: the row it would send, or
    the reason (lms.pars.LeftOut) it stays out."""

    credit_line_id: int
    certificate_id: int
    action: str
    row: list | None
    problem: str | None


def _learner_plan(*, start, end, include_reported, provider_id):
    """Every line the learner file for `start`..`end` (dates of completion, inclusive)
    considers, in file order: standing certificates' lines to add, then the lines of
    certificates revoked since they were sent, to delete whatever their period."""
    to_add = (
        _reportable_lines()
        .filter(certificate__completed_on__range=(start, end))
        .exclude(certificate__state=Certificate.State.REVOKED)
        .annotate(last_action=_latest_record("action"))
        .order_by("certificate__completed_on", "certificate__activity__slug", "certificate_id", "order", "pk")
    )
    if not include_reported:
        to_add = to_add.filter(UNSENT)
    for values in to_add.values_list(*_LINE_VALUES).iterator(chunk_size=EXPORT_CHUNK_ROWS):
        line = _learner_line(values, provider_id=provider_id)
        problem = pars.learner_line_problem(line)
        yield Planned(values[0], values[1], Action.ADD, None if problem else pars.learner_row(line), problem)
    to_delete = (
        _reportable_lines()
        .filter(certificate__state=Certificate.State.REVOKED)
        .annotate(last_action=_latest_record("action"), last_row=_latest_record("row"))
        .filter(last_action=Action.ADD)
        .order_by("certificate__completed_on", "certificate_id", "order", "pk")
        .values_list("pk", "certificate_id", "last_row")
    )
    for pk, certificate_id, row in to_delete.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        yield Planned(pk, certificate_id, Action.DELETE, pars.deleting_row(row), None)


@dataclass
class LearnerFileSummary:
    """What a learner file holds: rows that add and delete, and the lines left out by
    reason; a preview also carries its first rows."""

    added: int = 0
    deleted: int = 0
    left_out: Counter = field(default_factory=Counter)
    sample: list = field(default_factory=list)

    def count(self, planned):
        if planned.problem:
            self.left_out[planned.problem] += 1
        elif planned.action == Action.ADD:
            self.added += 1
        else:
            self.deleted += 1

    @property
    def left_out_by_reason(self):
        """(label, count) for every reason, in the order they are checked."""
        return [(reason.label, self.left_out[reason.value]) for reason in pars.LeftOut]

    @property
    def left_out_total(self):
        return sum(self.left_out.values())

    @property
    def is_empty(self):
        return not (self.added or self.deleted)


def pars_learner_preview(*, start, end, include_reported):
    """The learner file as "Export and record" would build it now, without recording it."""
    summary = LearnerFileSummary()
    provider_id = Provider.current().accme_provider_id
    for planned in _learner_plan(start=start, end=end, include_reported=include_reported, provider_id=provider_id):
        summary.count(planned)
        if planned.row is not None and len(summary.sample) < PREVIEW_ROWS:
            summary.sample.append(planned.row)
    return summary


def pars_learner_batch_request(*, actor, start, end, include_reported, table_format):
    """Ask for the learner file of the period: a batch being prepared, its recording
    queued for a worker once the batch is committed (with no broker, done right then)."""
    with transaction.atomic():
        batch = ReportingBatch.objects.create(
            kind=ReportingBatch.Kind.PARS_LEARNERS, state=ReportingBatch.State.PREPARING,
            period_start=start, period_end=end, include_reported=include_reported,
            table_format=table_format, actor=actor,
        )
        transaction.on_commit(partial(pars_learner_batch_queue, batch_id=batch.pk))
    return batch


def pars_learner_batch_queue(*, batch_id):
    """Hand a batch's recording to a worker. Called after commit: a broker that is down
    leaves the batch being prepared, for the sweep to queue again once it answers."""
    try:
        tasks.prepare_pars_learner_batch.delay(batch_id)
    except BrokerUnreachable as exc:
        log.error("PARS batch %s: could not queue its recording: %s", batch_id, exc)


def pars_learner_batch_prepare(*, batch_id):
    """Record the learner file of a batch being prepared as sent: a record per row, and
    the counts. Safe to run any number of times, at once too: a batch no longer being
    prepared is left as it is, and its row lock makes a second delivery wait for the
    first. Returns the batch.

    When no row would go out the batch ends as nothing to send, with no record. Anything
    failing rolls back every record, and the batch is marked failed with the reason."""
    try:
        with transaction.atomic():
            batch = ReportingBatch.objects.select_for_update().get(pk=batch_id)
            if batch.state != ReportingBatch.State.PREPARING:
                return batch
            summary = _learner_batch_record(batch)
            batch.added, batch.deleted, batch.left_out = summary.added, summary.deleted, dict(summary.left_out)
            batch.state = ReportingBatch.State.EMPTY if summary.is_empty else ReportingBatch.State.READY
            batch.error = ""
            batch.save(update_fields=["added", "deleted", "left_out", "state", "error"])
    except Exception as exc:
        # Raised again for the worker to log; staff read the reason on the batch's page.
        ReportingBatch.objects.filter(pk=batch_id, state=ReportingBatch.State.PREPARING).update(
            state=ReportingBatch.State.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    return batch


def _learner_batch_record(batch):
    """Write `batch`'s records, in chunks; the summary of what it holds.

    The provider's row is locked for the length of the transaction, so two exports at
    once do not both send the same lines: the second waits, then sees the first one's
    records."""
    provider = Provider.objects.select_for_update().get(pk=Provider.current().pk)
    summary = LearnerFileSummary()
    pending = []
    for planned in _learner_plan(
        start=batch.period_start, end=batch.period_end, include_reported=batch.include_reported,
        provider_id=provider.accme_provider_id,
    ):
        summary.count(planned)
        if planned.problem:
            continue
        pending.append(ReportedRecord(
            batch=batch, certificate_id=planned.certificate_id,
            credit_line_id=planned.credit_line_id, action=planned.action, row=planned.row,
        ))
        if len(pending) >= LOG_WRITE_ROWS:
            ReportedRecord.objects.bulk_create(pending)
            pending = []
    ReportedRecord.objects.bulk_create(pending)
    return summary


def pars_learner_batch_retry(*, batch):
    """Prepare a failed batch again, as it was asked for. False (nothing done) when it is
    not failed, e.g. a second click already queued it."""
    with transaction.atomic():
        retried = ReportingBatch.objects.filter(pk=batch.pk, state=ReportingBatch.State.FAILED).update(
            state=ReportingBatch.State.PREPARING, error="", queued_at=timezone.now()
        )
        if retried:
            transaction.on_commit(partial(pars_learner_batch_queue, batch_id=batch.pk))
    return bool(retried)


def pars_learner_batches_sweep(*, now=None):
    """Queue again the batches being prepared whose task was queued more than
    BATCH_STUCK_AFTER ago and that no worker is recording now (a worker holds the row
    lock while it records). A lost message (broker down at the enqueue, a worker killed
    outright) leaves one such; a second delivery of one still queued does nothing.
    Returns how many were queued."""
    now = now or timezone.now()
    with transaction.atomic():
        stuck = list(
            ReportingBatch.objects.select_for_update(skip_locked=True)
            .filter(kind=ReportingBatch.Kind.PARS_LEARNERS, state=ReportingBatch.State.PREPARING,
                    queued_at__lt=now - BATCH_STUCK_AFTER)
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        ReportingBatch.objects.filter(pk__in=stuck).update(queued_at=now)
        for batch_id in stuck:
            transaction.on_commit(partial(pars_learner_batch_queue, batch_id=batch_id))
    return len(stuck)


def learner_batch_summary(*, batch):
    """What a recorded batch holds, as the preview counts it."""
    return LearnerFileSummary(added=batch.added, deleted=batch.deleted, left_out=Counter(batch.left_out))


def pars_batch_rows(*, batch):
    """The rows of a learner batch exactly as they were sent, in file order."""
    return batch.records.order_by("pk").values_list("row", flat=True).iterator(chunk_size=EXPORT_CHUNK_ROWS)


def reporting_batches():
    """The batch history: every file exported or being made; not the learner files that
    found nothing to send."""
    return (
        ReportingBatch.objects.exclude(state=ReportingBatch.State.EMPTY)
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )


def learner_batch(*, pk):
    """A learner batch, whatever its state, or Http404."""
    return get_object_or_404(ReportingBatch.objects.select_related("actor"), pk=pk, kind=ReportingBatch.Kind.PARS_LEARNERS)


# --- The activity file -------------------------------------------------------------------


def _activities_of_year(year):
    """The activities that ran in `year`: published or archived, released by its end and
    not terminated before its start."""
    return Activity.objects.exclude(status=Activity.Status.DRAFT).filter(
        release_date__lte=datetime.date(year, 12, 31), termination_date__gte=datetime.date(year, 1, 1)
    )


def pars_activity_file(*, year):
    """(support groups, rows) of the activity file for reporting `year`: one row per
    activity (lms.pars.activity_row), learners counted from the certificates that stand
    and were completed in the year, physicians being those awarded AMA credit."""
    activities = _activities_of_year(year)
    support_groups = (
        activities.annotate(supports=Count("commercial_supports"))
        .order_by("-supports")
        .values_list("supports", flat=True)
        .first()
    ) or 0
    completed = Certificate.objects.standing().filter(completed_on__year=year)
    with_ama = Exists(CertificateCredit.objects.filter(certificate=OuterRef("pk"), credit_type__code=AMA))
    rows = (
        activities.annotate(
            completions=count_per_activity(completed, activity_path="activity"),
            physicians=count_per_activity(completed.filter(with_ama), activity_path="activity"),
        )
        .prefetch_related(
            "commercial_supports",
            Prefetch(
                "credit_offers",
                queryset=ActivityCredit.objects.exclude(credit_type__board="").select_related("credit_type"),
                to_attr="moc_offers",
            ),
        )
        .order_by("release_date", "title", "pk")
    )

    def build():
        for activity in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
            yield pars.activity_row(
                activity=activity,
                year=year,
                url=settings.SITE_URL + activity.get_absolute_url(),
                physicians=activity.physicians,
                others=activity.completions - activity.physicians,
                registrations=[
                    pars.MocRegistration(
                        board=offer.credit_type.board, practice_areas=offer.moc_practice_areas,
                        credit_types=offer.moc_credit_types, points=offer.amount,
                    )
                    for offer in activity.moc_offers
                ],
                supports=[
                    pars.Support(supporter=support.supporter, kind=support.kind, amount=support.amount)
                    for support in activity.commercial_supports.all()
                ],
                support_groups=support_groups,
            )

    return support_groups, build()


def pars_activity_batch_record(*, actor, year, table_format):
    """Record that the activity file for `year` went out, with its number of activities."""
    return ReportingBatch.objects.create(
        kind=ReportingBatch.Kind.PARS_ACTIVITIES,
        period_start=datetime.date(year, 1, 1), period_end=datetime.date(year, 12, 31),
        table_format=table_format, actor=actor, added=_activities_of_year(year).count(),
    )


# --- The MOC reporting queue -------------------------------------------------------------


def _moc_lines():
    """MOC lines of standing certificates whose learners consented, with their latest record."""
    return (
        CertificateCredit.objects.exclude(credit_type__board="")
        .filter(certificate__user__share_with_boards=True)
        .exclude(certificate__state=Certificate.State.REVOKED)
        .annotate(
            record_id=_latest_record("pk"),
            last_action=_latest_record("action"),
            last_outcome=_latest_record("outcome"),
            sent_at=_latest_record("batch__created_at"),
        )
    )


SENT = Q(last_action=Action.ADD)
QUEUE_VIEWS = {
    "due": UNSENT,
    "sent": SENT & Q(last_outcome=""),
    "accepted": SENT & Q(last_outcome=ReportedRecord.Outcome.ACCEPTED),
    "rejected": SENT & Q(last_outcome=ReportedRecord.Outcome.REJECTED),
}


def _last_completion_due_within(*, today, days):
    """The latest completion date whose board deadline falls within `days` of `today`."""
    return today + datetime.timedelta(days=days - MOC_REPORTING_DAYS)


def moc_queue_counts(*, today):
    """How many MOC lines each view of the queue holds, the overdue ones among those not
    sent, and the earliest completion not sent (None when all were)."""
    overdue_by = _last_completion_due_within(today=today, days=-1)
    return _moc_lines().aggregate(
        **{name: Count("pk", filter=condition) for name, condition in QUEUE_VIEWS.items()},
        overdue=Count("pk", filter=UNSENT & Q(certificate__completed_on__lte=overdue_by)),
        earliest_unsent=Min("certificate__completed_on", filter=UNSENT),
    )


def moc_queue(*, view, today, within_days):
    """The MOC lines of one view of the queue: "due" (not sent yet, their deadline within
    `within_days` of `today`, soonest first), "sent" (awaiting the board), "accepted" or
    "rejected" (latest first)."""
    lines = (
        _moc_lines()
        .filter(QUEUE_VIEWS[view])
        .select_related("certificate__user", "certificate__activity", "credit_type")
    )
    if view == "due":
        latest = _last_completion_due_within(today=today, days=within_days)
        return lines.filter(certificate__completed_on__lte=latest).order_by("certificate__completed_on", "pk")
    return lines.order_by("-record_id")


@dataclass(frozen=True)
class QueueItem:
    line: CertificateCredit
    due_on: datetime.date
    days_left: int

    @property
    def overdue(self):
        return self.days_left < 0

    @property
    def days_overdue(self):
        return -self.days_left


def moc_queue_items(lines, *, today):
    """The lines of a page of the queue with their deadline and the days left to it."""
    items = []
    for line in lines:
        due_on = pars.moc_due_date(line.certificate.completed_on)
        items.append(QueueItem(line=line, due_on=due_on, days_left=(due_on - today).days))
    return items


def moc_record(*, pk):
    """A record that added MOC points, with what its page shows, or Http404."""
    return get_object_or_404(
        ReportedRecord.objects.select_related(
            "batch", "outcome_by", "certificate__user", "certificate__activity", "credit_line__credit_type"
        )
        .filter(action=Action.ADD)
        .exclude(credit_line__credit_type__board=""),
        pk=pk,
    )


def moc_outcome_record(*, record, outcome, reason, actor):
    """Record what the board answered about `record`. Idempotent: the same outcome with
    the same reason again changes nothing (and returns False)."""
    reason = reason.strip()
    with transaction.atomic():
        record = ReportedRecord.objects.select_for_update().get(pk=record.pk)
        if (record.outcome, record.outcome_reason) == (outcome, reason):
            return False
        record.outcome, record.outcome_reason = outcome, reason
        record.outcome_at, record.outcome_by = timezone.now(), actor
        record.save(update_fields=["outcome", "outcome_reason", "outcome_at", "outcome_by"])
    return True
