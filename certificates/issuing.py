"""Rendering, storing and announcing certificates: what the Celery tasks call, and how
work is handed to them.

Every function here is safe to run any number of times, in any order, on any worker:
deliveries are repeated on purpose (a dead worker's messages, the sweep), so each step
checks the certificate's recorded state before it acts.
"""

import base64
import datetime
import json
import logging
import time

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import connection, connections, router, transaction
from django.db.models import Q
from django.db.utils import Error as DatabaseError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable
from redis.exceptions import RedisError

from courses.prepared import PreparedQuery

from . import tasks
from .cache import verify_page_changed
from .models import Certificate, CertificateEvent, CertificateVersion
from .pdf import certificate_pdf

log = logging.getLogger(__name__)

# Longer than one attempt at sending can take (EMAIL_TIMEOUT per SMTP step): while it
# runs, a second delivery of the same message leaves the e-mail to the first.
EMAIL_LEASE = datetime.timedelta(seconds=30)


def certificate_queue_render(*, certificate_id):
    """Hand the rendering to a worker. Called after the claim has committed, so a broker
    that is down cannot undo it: the reason is recorded on the certificate instead, where
    staff see it, and the sweep queues it again once the broker answers."""
    try:
        tasks.render_certificate.delay(certificate_id)
    except BrokerUnreachable as exc:
        log.error("certificate %s: could not queue its rendering: %s", certificate_id, exc)
        Certificate.objects.filter(pk=certificate_id, state=Certificate.State.PENDING).update(
            queue_error=f"The task broker was unreachable at {timezone.now():%Y-%m-%d %H:%M:%S %Z}: {exc}"[:2000]
        )


def certificates_held_by_broker():
    """{task name: ids of the certificates it is queued for} for every message the broker
    still holds: waiting in a queue, or delivered to a worker within the visibility
    timeout (a worker is rendering it, or holds it prefetched). Such work is not lost,
    however long it has waited: during a burst the queue is simply long. A message
    delivered longer ago than the timeout counts as lost (its worker died; Redis hands
    it out again). None when there is no way to tell: tasks run in-process, the broker
    is not Redis, or it does not answer."""
    app = tasks.render_certificate.app
    if app.conf.task_always_eager:
        return None
    try:
        with app.connection_for_read() as broker:
            channel = broker.default_channel
            if not hasattr(channel, "unacked_index_key"):
                return None
            client = channel.client
            with client.pipeline(transaction=False) as pipe:
                for queue in app.conf.task_queues:
                    for priority in channel.priority_steps:
                        pipe.lrange(channel._q_for_pri(queue.name, priority), 0, -1)
                waiting = [json.loads(raw) for found in pipe.execute() for raw in found]
            delivered = client.zrange(
                channel.unacked_index_key, time.time() - channel.visibility_timeout, "+inf", byscore=True
            )
            in_hand = []
            if delivered:
                in_hand = [json.loads(raw)[0] for raw in client.hmget(channel.unacked_key, delivered) if raw]
    except (BrokerUnreachable, RedisError, OSError) as exc:
        log.warning("could not read the task queues: %s", exc)
        return None
    held = {}
    for message in waiting + in_hand:
        try:
            body = message["body"]
            if message["properties"].get("body_encoding") == "base64":
                body = base64.b64decode(body)
            args = json.loads(body)[0]
            task = message["headers"]["task"]
        except (KeyError, TypeError, IndexError, ValueError):
            continue  # not a task message of this project: nothing of ours to find in it
        if args:
            held.setdefault(task, set()).add(args[0])
    return held


def certificate_queue_email(*, certificate_id):
    try:
        tasks.email_certificate_ready.delay(certificate_id)
    except BrokerUnreachable as exc:
        # Nothing to record: an issued certificate without `emailed_at` is the sweep's to send.
        log.error("certificate %s: could not queue its e-mail: %s", certificate_id, exc)


# Every render reads it: compiled once (each run is inside the render's transaction).
_CERTIFICATE_LOCKED = PreparedQuery(
    Certificate, lambda *, pk: Certificate.objects.select_for_update().filter(pk=pk), pk=-(2**62) + 83
)


def certificate_issue(*, certificate_id):
    """Render and store the PDF of a pending certificate, once, as its next version.

    The row lock serialises duplicate deliveries, and a certificate that is not pending
    is left as it is. A re-issue sets it pending again; its earlier PDFs stay stored.
    """
    with transaction.atomic():
        certificate = _CERTIFICATE_LOCKED.first(pk=certificate_id)
        if certificate is None:
            raise Certificate.DoesNotExist(f"No certificate {certificate_id}.")
        if certificate.state != Certificate.State.PENDING:
            return certificate
        version = _next_version(certificate)
        content = certificate_pdf(certificate)
        certificate.pdf.save(f"{certificate.number}-v{version.sequence}.pdf", ContentFile(content), save=False)
        now = timezone.now()
        certificate.state = Certificate.State.ISSUED
        certificate.issued_at = certificate.issued_at or now
        certificate.state_changed_at = now
        certificate.last_error = certificate.queue_error = ""
        version.pdf, version.created_at = certificate.pdf.name, now
        _issue_record(
            certificate=certificate,
            version=version,
            event=CertificateEvent(certificate=certificate, action=CertificateEvent.Action.ISSUED, at=now),
        )
        # Once, on commit: nothing reads the page within the render's transaction.
        verify_page_changed(number=certificate.number, now=False)
        # A task of its own: a slow or failing mail server never holds up or repeats a render.
        transaction.on_commit(lambda: certificate_queue_email(certificate_id=certificate.pk))
    log.info("certificate %s issued", certificate.number)
    return certificate


# What a render changes on the certificate row.
_ISSUED_FIELDS = [
    Certificate._meta.get_field(name)
    for name in ("pdf", "state", "issued_at", "state_changed_at", "last_error", "queue_error")
]
_ISSUE_SQL = {}


def _issue_record(*, certificate, version, event):
    """Write what a render did: the certificate's issued fields, its new version and the
    "issued" event. Without save signals: no field-history entry (the field history is of
    what people change: a claim, a re-issue, a revocation; a render is the worker's
    bookkeeping, recorded in full by its version and its event), and the caller outdates
    the verification page once, not once per row."""
    alias = router.db_for_write(Certificate)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        Certificate.objects.using(alias).filter(pk=certificate.pk).update(
            **{field.name: getattr(certificate, field.attname) for field in _ISSUED_FIELDS}
        )
        CertificateVersion.objects.using(alias).bulk_create([version])
        CertificateEvent.objects.using(alias).bulk_create([event])
        return
    # On PostgreSQL the three are one statement whose SQL is built once: compiled by the
    # ORM each time, they took about 0.7 ms of a render's CPU, and three round trips.
    sql, inserted = _issue_sql(connection)
    params = [field.get_db_prep_save(getattr(certificate, field.attname), connection) for field in _ISSUED_FIELDS]
    params.append(certificate.pk)
    for row, fields in zip((version, event), inserted):
        params += [field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _issue_sql(connection):
    """The one PostgreSQL statement of _issue_record, and the fields each of its inserts
    writes, in the order of its parameters; built from the models' _meta once per process."""
    if connection.vendor in _ISSUE_SQL:
        return _ISSUE_SQL[connection.vendor]
    quote = connection.ops.quote_name
    inserted = [
        [field for field in model._meta.concrete_fields if not field.primary_key]
        for model in (CertificateVersion, CertificateEvent)
    ]

    def insert(model, fields):
        columns = ", ".join(quote(field.column) for field in fields)
        return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"

    assignments = ", ".join(f"{quote(field.column)} = %s" for field in _ISSUED_FIELDS)
    sql = (
        f"WITH issued AS (UPDATE {quote(Certificate._meta.db_table)} SET {assignments} "
        f"WHERE {quote(Certificate._meta.pk.column)} = %s), "
        f"version AS ({insert(CertificateVersion, inserted[0])}) "
        f"{insert(CertificateEvent, inserted[1])}"
    )
    _ISSUE_SQL[connection.vendor] = (sql, inserted)
    return _ISSUE_SQL[connection.vendor]


def _next_version(certificate):
    """The version this rendering makes. A certificate without a PDF has none yet: its
    first comes from the learner's claim, and costs no read. A re-issue's takes its reason
    and actor from the request made since the newest version, and its name and degree
    before from that version (none for a PDF stored without versions, as bulk-built data
    sets store them)."""
    after = dict(name_after=certificate.learner_name, degree_after=certificate.learner_degree)
    if not certificate.pdf:
        return CertificateVersion(certificate=certificate, sequence=1, **after)
    latest = certificate.versions.order_by("-sequence").first()
    requests = certificate.events.filter(action=CertificateEvent.Action.REISSUE_REQUESTED)
    if latest is not None:
        requests = requests.filter(at__gt=latest.created_at)
    request = requests.order_by("-at", "-pk").first()
    return CertificateVersion(
        certificate=certificate,
        sequence=latest.sequence + 1 if latest else 1,
        name_before=latest.name_after if latest else "",
        degree_before=latest.degree_after if latest else "",
        reason=request.reason if request else "",
        actor_id=request.actor_id if request else None,
        **after,
    )


def certificate_email_ready(*, certificate_id, now=None):
    """Send the "certificate ready" e-mail, once.

    Taking the lease is one UPDATE that only one delivery can win; the e-mail is sent
    outside any transaction, so a database connection lost while sending cannot roll back
    the record of a message that did go out.
    """
    now = now or timezone.now()
    won = Certificate.objects.filter(
        Q(email_sending_since__isnull=True) | Q(email_sending_since__lt=now - EMAIL_LEASE),
        pk=certificate_id,
        state=Certificate.State.ISSUED,
        emailed_at__isnull=True,
    ).update(email_sending_since=now)
    if not won:
        return False
    certificate = Certificate.objects.select_related("user").get(pk=certificate_id)
    try:
        send_mail(
            subject=f"Your certificate for {certificate.activity_title} is ready",
            message=(
                f"Hello {certificate.learner_name},\n\n"
                f"Your certificate for “{certificate.activity_title}” is ready to download:\n"
                f"{settings.SITE_URL}{certificate.get_absolute_url()}\n\n"
                f"Certificate number: {certificate.number}\n"
                f"Anyone can verify it at {certificate.get_verification_url()}\n"
            ),
            from_email=None,
            recipient_list=[certificate.user.email],
        )
    except Exception:
        Certificate.objects.filter(pk=certificate_id).update(email_sending_since=None)
        raise
    _record_emailed(certificate_id, timezone.now())
    return True


def _record_emailed(certificate_id, at):
    # The e-mail has gone: losing this write would send it again, so a connection that
    # died while the message was on its way gets one fresh connection to record it.
    try:
        Certificate.objects.filter(pk=certificate_id).update(emailed_at=at)
    except DatabaseError:
        connection.close()
        Certificate.objects.filter(pk=certificate_id).update(emailed_at=at)


def certificate_mark_failed(*, certificate_id, error):
    with transaction.atomic():
        updated = Certificate.objects.filter(
            pk=certificate_id, state=Certificate.State.PENDING
        ).update(state=Certificate.State.FAILED, last_error=str(error)[:2000], state_changed_at=timezone.now())
        if updated:
            CertificateEvent.objects.create(
                certificate_id=certificate_id,
                action=CertificateEvent.Action.RENDER_FAILED,
                note=str(error)[:2000],
            )
