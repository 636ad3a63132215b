import contextlib
import copy
import datetime
from decimal import Decimal, InvalidOperation

from auditlog import get_logentry_model
from auditlog.context import disable_auditlog
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.db.models.signals import pre_save
from django.utils import timezone

from courses.credit_types import ACPE, AMA, PARTICIPATION
from courses.models import Participation, Provider
from courses.rules import LEARNER_DETAIL_FIELDS, details_needed
from courses.selectors import learner_credit_offers
from courses.services import participation_mark_completed
from courses.statements import credit_offer_statements

from . import tasks
from .history import certificate_changes_save, certificate_claim_entry
from .issuing import EMAIL_LEASE, certificate_queue_email, certificate_queue_render, certificates_held_by_broker
from .models import Certificate, CertificateCredit, CertificateEvent
from .rules import (
    Award,
    claim_awards,
    claim_details_problems,
    credit_gate,
    record_change_reason,
    reinstated_state,
    reissue_change_note,
    reissue_is_redundant,
)

# A certificate waits in the queue behind the claims before it; past this it is assumed
# lost (a worker killed with its messages in hand, a broker restarted without its data)
# unless the broker still holds its message. Queuing it again is harmless: rendering
# twice issues it once.
STUCK_AFTER = datetime.timedelta(seconds=60)
# An e-mail normally leaves within a second of the certificate being issued.
EMAIL_STUCK_AFTER = datetime.timedelta(seconds=30)
# One sweep queues at most this many of each; the next sweep, seconds later, takes the rest.
SWEEP_BATCH = 1000


class ClaimRefused(Exception):
    """`field` names the claim form's field the reasons are about (None: the claim as a
    whole); `problems` pairs each reason with its field, when they are about several."""

    def __init__(self, reasons, field=None):
        super().__init__("; ".join(reasons))
        self.reasons = reasons
        self.field = field
        self.problems = [(field, reason) for reason in reasons]

    @classmethod
    def of(cls, problems):
        """A refusal of (field, message) `problems`."""
        refusal = cls([message for _, message in problems], field=problems[0][0])
        refusal.problems = list(problems)
        return refusal


def parse_credits(value):
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _enqueue_after_commit(certificate):
    transaction.on_commit(lambda: certificate_queue_render(certificate_id=certificate.pk))


def certificate_awards(*, user, activity, credits=None, amounts=None, moc_board="", offers=None):
    """What a claim by `user` on `activity` awards (certificates.rules.claim_awards): of
    the types they are eligible for (`offers`, read when not given), `credits` of AMA
    credit, `amounts` of any other type claimed in steps (by its claim field), every other
    type whole, and the MOC points of `moc_board` if they chose a board. Amounts come as
    typed; ClaimRefused names the field of anything wrong with them."""
    if offers is None:
        offers = learner_credit_offers(activity=activity, user=user)
    typed = {"credits": credits, **(amounts or {})}
    awards, problems = claim_awards(
        offers=offers,
        amounts={name: None if value is None else parse_credits(value) for name, value in typed.items()},
        moc_board=moc_board or "",
    )
    if problems:
        raise ClaimRefused.of(problems)
    return awards


def claim_profile_changes(*, user, awards, details, moc_board=""):
    """The profile fields a claim of `awards` saves, {field: value}: what their credit
    types need from the learner (`details` as given at the claim, else the profile's own),
    and for MOC points the board chosen and the consent to report to it. ClaimRefused
    names each field missing or not valid, checked by the user model's own fields."""
    offers = [award.offer for award in awards]
    names = [name for detail in details_needed(offers) for name in LEARNER_DETAIL_FIELDS[detail]]
    reports_moc = any(offer.board for offer in offers)
    if reports_moc:
        names.append("share_with_boards")
    values, problems = {}, []
    for name in names:
        try:
            values[name] = user._meta.get_field(name).clean(details.get(name, getattr(user, name)), user)
        except ValidationError as error:
            problems.append((name, error.messages[0]))
    invalid = {name for name, _ in problems}
    problems += [
        (name, message)
        for name, message in claim_details_problems(awards=awards, values=values)
        if name not in invalid
    ]
    if problems:
        raise ClaimRefused.of(problems)
    if reports_moc:
        values["certifying_board"] = moc_board
    return {name: value for name, value in values.items() if getattr(user, name) != value}


def _kind_of(awards):
    amounts = {award.offer.code: award.amount for award in awards}
    if AMA in amounts:
        return dict(kind=Certificate.Kind.AMA_CREDIT, credits_claimed=amounts[AMA])
    if PARTICIPATION in amounts:
        return dict(kind=Certificate.Kind.PARTICIPATION, hours=amounts[PARTICIPATION])
    return dict(kind=Certificate.Kind.CREDIT)


def certificate_awards_as_given(*, user, activity, credits):
    """The awards of a claim of `credits` AMA credit taken as given, unchecked, with every
    other type the learner is eligible for whole and no MOC points: for records made
    without a claim (tests, benchmarks), never for a learner's claim."""
    return [
        Award(offer=offer, amount=credits if offer.code == AMA else offer.amount)
        for offer in learner_credit_offers(activity=activity, user=user)
        if not offer.board
    ]


def certificate_snapshot(*, user, activity, credits=None, awards=None):
    """What a certificate freezes when it is claimed, so it keeps saying what it certified
    whatever changes later: the learner's name and degree, the activity's facts, the
    provider's statements and signature, and the kind of certificate (AMA credit, with the
    credits claimed; another credit type; or hours of participation) by its `awards`
    (certificate_awards; by default certificate_awards_as_given). Its lines are
    certificate_credit_lines'."""
    provider = Provider.current()
    if provider.pk is None:
        # The credit gate refuses claims first; this keeps any other caller from freezing
        # the placeholder provider into a record that is kept for years.
        raise ImproperlyConfigured("No provider is saved: a certificate cannot say who issued it.")
    if awards is None:
        awards = certificate_awards_as_given(user=user, activity=activity, credits=credits)
    texts = activity.texts()
    return dict(
        learner_name=user.certificate_name,
        learner_degree=user.degree,
        activity_title=activity.title,
        activity_release_date=activity.release_date,
        activity_credits=activity.credits,
        provider_name=provider.name,
        accreditation_statement=texts.accreditation_statement,
        designation_statement=texts.designation_statement,
        provider_logo=provider.logo.name or "",
        provider_signature=provider.signature.name or "",
        signer_name=provider.signer_name,
        signer_title=provider.signer_title,
        **_kind_of(awards),
    )


def _reporting(offer, user):
    """What the receiving body of `offer` matches the learner and the activity on."""
    if offer.board:
        return {
            "board": offer.board,
            "board_id": user.board_id,
            "moc_credit_types": list(offer.moc_credit_types),
            "moc_practice_areas": list(offer.moc_practice_areas),
        }
    if offer.code == ACPE:
        return {"uan": offer.uan, "nabp_eprofile_id": user.nabp_eprofile_id}
    return {}


def certificate_credit_lines(*, user, activity, awards):
    """The lines a certificate freezes, one per award (unsaved, without their
    certificate): the type's name, the amount in its words, its statements, and what
    reporting it needs, from `user`'s profile as the claim leaves it."""
    provider_name, texts = Provider.current().name, activity.texts()
    lines = []
    for order, award in enumerate(awards):
        offer = award.offer
        accreditation, designation = credit_offer_statements(offer=offer, provider_name=provider_name, texts=texts)
        lines.append(CertificateCredit(
            credit_type=offer.credit_type,
            order=order,
            name=offer.credit_type.name,
            amount=award.amount,
            amount_display=offer.credit_type.amount_display(award.amount),
            accreditation_statement=accreditation,
            designation_statement=designation,
            reporting=_reporting(offer, user),
        ))
    return lines


def certificate_claim(
    *,
    user,
    activity,
    credits=None,
    attested=False,
    at=None,
    amounts=None,
    moc_board="",
    details=None,
    gate=None,
    offers=None,
):
    """Claim credit, or confirm participation, then issue: every credit type the learner
    is eligible for (certificate_awards: `credits` of AMA credit, `amounts` of any other
    type claimed in steps, the MOC points of `moc_board` if they chose a board), with
    what those types need from them (`details`, saved to their profile with the claim:
    claim_profile_changes). A learner eligible for no credit type confirms participation.

    The claim page has just read the credit gate and the learner's offers for this very
    user and activity, in this request, to show its form: it passes them as `gate` and
    `offers` rather than have them read twice (read here when not given). Two claims at
    once still make one certificate: the table allows one per learner and activity.

    The certificate row is committed as pending and the rendering task is enqueued only
    after the commit, so the worker always finds the row.
    """
    if gate is None:
        gate = credit_gate(user=user, activity=activity, at=at)
    if gate.certificate is not None:
        return gate.certificate
    if gate.reasons:
        raise ClaimRefused(gate.reasons)
    if not attested:
        raise ClaimRefused(["Please confirm the attestation."], field="attest")
    awards = certificate_awards(
        user=user, activity=activity, credits=credits, amounts=amounts, moc_board=moc_board, offers=offers
    )
    changes = claim_profile_changes(user=user, awards=awards, details=details or {}, moc_board=moc_board)
    for name, value in changes.items():
        setattr(user, name, value)
    frozen = certificate_snapshot(user=user, activity=activity, awards=awards)
    lines = certificate_credit_lines(user=user, activity=activity, awards=awards)
    certificate = Certificate(user=user, activity=activity, completed_on=gate.completed_on, **frozen)
    try:
        # The claim's record is written atomically by itself (on PostgreSQL one statement,
        # without BEGIN and COMMIT, two of a claim's round trips). A transaction is needed
        # to save the learner's profile with it, and within a caller's transaction a
        # savepoint, so that a second claim's conflict leaves that transaction usable.
        in_transaction = transaction.get_connection(router.db_for_write(Certificate)).in_atomic_block
        with transaction.atomic() if changes or in_transaction else contextlib.nullcontext():
            if changes:
                user.save(update_fields=list(changes))
            _claim_record(certificate=certificate, lines=lines, actor=user)
            _enqueue_after_commit(certificate)
    except IntegrityError:
        return Certificate.objects.get(user=user, activity=activity)
    return certificate


def _claim_record(*, certificate, lines, actor):
    """Write a claim's certificate (unsaved) with its credit `lines`, its "claimed" event
    and its field-history entry (certificates.history), the learner `actor` making it, and
    mark their participation completed (courses.services.participation_mark_completed) at
    the moment of the claim. Without save signals: the entry is written here, and a
    certificate just claimed has no verification page to outdate (certificates.cache)."""
    alias = router.db_for_write(Certificate)
    connection = connections[alias]
    event = CertificateEvent(certificate=certificate, action=CertificateEvent.Action.CLAIMED, actor=actor)
    if connection.vendor != "postgresql":
        with transaction.atomic(using=alias), disable_auditlog():
            certificate.save(force_insert=True, using=alias)
            entry = certificate_claim_entry(certificate=certificate, actor=actor)
            entry.object_pk, entry.object_id = str(certificate.pk), certificate.pk
            entry.save(using=alias)
            for line in lines:
                line.certificate = certificate
            CertificateCredit.objects.using(alias).bulk_create(lines)
            CertificateEvent.objects.using(alias).bulk_create([event])
            participation_mark_completed(user=actor, activity=certificate.activity, at=certificate.claimed_at)
        return
    # On PostgreSQL the five are one statement whose SQL is built once per number of
    # lines: compiled by the ORM, with auditlog's hook, they were about a third of a
    # claim's CPU and six round trips (bench/burst.py).
    sql, fields = _claim_sql(connection, len(lines))
    params = [field.get_db_prep_save(field.pre_save(certificate, True), connection) for field in fields[Certificate]]
    entry = certificate_claim_entry(certificate=certificate, actor=actor)
    # What entry.save() would send: auditlog's request context (set_actor) fills the
    # entry's remaining fields from it.
    pre_save.send(sender=type(entry), instance=entry, raw=False, using=alias, update_fields=None)
    for row in (entry, *lines, event):
        params += [field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields[type(row)]]
    params += [_CLAIMED_AT.get_db_prep_save(certificate.claimed_at, connection), actor.pk, certificate.activity_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        certificate.pk = cursor.fetchone()[0]
    certificate._state.adding, certificate._state.db = False, alias
    entry.object_pk, entry.object_id = str(certificate.pk), certificate.pk
    for row in (*lines, event):
        row.certificate = certificate


_CLAIM_SQL = {}
_CLAIMED_AT = Certificate._meta.get_field("claimed_at")


def _claim_sql(connection, line_count):
    """The one PostgreSQL statement of _claim_record for `line_count` credit lines, and
    the fields of each model it writes from parameters, in their order; built from the
    models' _meta once per process. The rows that belong to the certificate take its key
    from the insert that makes it."""
    key = (connection.vendor, line_count)
    if key in _CLAIM_SQL:
        return _CLAIM_SQL[key]
    quote = connection.ops.quote_name
    entry_model = get_logentry_model()
    claimed_key = f"(SELECT {quote(Certificate._meta.pk.column)} FROM claimed)"
    # Each model's columns taken from the claimed certificate, by the SQL that gives them.
    derived = {
        Certificate: {},
        entry_model: {"object_pk": f"CAST({claimed_key} AS text)", "object_id": claimed_key},
        CertificateCredit: {"certificate": claimed_key},
        CertificateEvent: {"certificate": claimed_key},
    }
    fields = {
        model: [
            field for field in model._meta.concrete_fields
            if not field.primary_key and field.name not in derived[model]
        ]
        for model in derived
    }

    def insert(model, rows=1):
        taken = [model._meta.get_field(name) for name in derived[model]]
        columns = ", ".join(quote(field.column) for field in [*taken, *fields[model]])
        row = "(" + ", ".join([*derived[model].values(), *["%s"] * len(fields[model])]) + ")"
        return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)}"

    participation = Participation._meta

    def column(name):
        return quote(participation.get_field(name).column)

    sql = (
        f"WITH claimed AS ({insert(Certificate)} RETURNING {quote(Certificate._meta.pk.column)}), "
        f"entry AS ({insert(entry_model)}), "
        + (f"lines AS ({insert(CertificateCredit, line_count)}), " if line_count else "")
        + f"event AS ({insert(CertificateEvent)}), "
        f"completed AS (UPDATE {quote(participation.db_table)} SET {column('completed_at')} = %s "
        f"WHERE {column('user')} = %s AND {column('activity')} = %s AND {column('completed_at')} IS NULL) "
        f"SELECT {quote(Certificate._meta.pk.column)} FROM claimed"
    )
    _CLAIM_SQL[key] = (sql, fields)
    return _CLAIM_SQL[key]


def certificate_reissue(*, certificate, actor, reason):
    """Render the certificate again under the same number, with the learner's current
    name and degree (e.g. after a legal-name change); everything else stays as certified.
    The next version is made when it renders, and the earlier PDFs are kept. Asking again
    while a re-issue with the same name waits records nothing. A revoked certificate must
    be reinstated first (ValueError)."""
    reason = record_change_reason(reason)
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().select_related("user").get(pk=certificate.pk)
        if certificate.state == Certificate.State.REVOKED:
            raise ValueError(
                f"Certificate {certificate.number} is revoked: reinstate it before re-issuing it."
            )
        name, degree = certificate.user.certificate_name, certificate.user.degree
        if reissue_is_redundant(certificate=certificate, name=name, degree=degree):
            return certificate
        before = copy.copy(certificate)
        certificate.learner_name, certificate.learner_degree = name, degree
        certificate.state = Certificate.State.PENDING
        certificate.state_changed_at = timezone.now()
        certificate_changes_save(
            certificate=certificate,
            before=before,
            update_fields=["learner_name", "learner_degree", "state", "state_changed_at"],
            actor=actor,
        )
        CertificateEvent.objects.create(
            certificate=certificate,
            action=CertificateEvent.Action.REISSUE_REQUESTED,
            actor=actor,
            reason=reason,
            note=reissue_change_note(
                name_before=before.learner_name,
                name_after=name,
                degree_before=before.learner_degree,
                degree_after=degree,
            ),
        )
        _enqueue_after_commit(certificate)
    return certificate


def _state_change(*, certificate, actor, reason, action, state, note):
    """Set the locked `certificate` to `state` and record it: its field history and the
    event staff read, with the reason they gave and `note`."""
    before = copy.copy(certificate)
    certificate.state = state
    certificate.state_changed_at = timezone.now()
    certificate_changes_save(
        certificate=certificate, before=before, update_fields=["state", "state_changed_at"], actor=actor
    )
    CertificateEvent.objects.create(certificate=certificate, action=action, actor=actor, reason=reason, note=note)


def certificate_revoke(*, certificate, actor, reason):
    """Revoke the certificate: it no longer stands, and the verification page says so.
    Revoking a revoked certificate records nothing."""
    reason = record_change_reason(reason)
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if certificate.state == Certificate.State.REVOKED:
            return certificate
        _state_change(
            certificate=certificate, actor=actor, reason=reason, action=CertificateEvent.Action.REVOKED,
            state=Certificate.State.REVOKED, note=f"Was {certificate.get_state_display().lower()}.",
        )
    return certificate


def certificate_reinstate(*, certificate, actor, reason):
    """Undo a revocation: the certificate stands again, issued as before, or rendered
    again when it was revoked before its PDF was ready. Reinstating a certificate that
    stands records nothing."""
    reason = record_change_reason(reason)
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if certificate.state != Certificate.State.REVOKED:
            return certificate
        reissue_requested = (
            certificate.events.filter(action=CertificateEvent.Action.REISSUE_REQUESTED)
            .order_by("-at", "-pk")
            .values_list("at", flat=True)
            .first()
        )
        state = reinstated_state(
            certificate=certificate,
            latest_version=certificate.versions.order_by("-sequence").first(),
            reissue_requested_at=reissue_requested,
        )
        _state_change(
            certificate=certificate, actor=actor, reason=reason, action=CertificateEvent.Action.REINSTATED,
            state=state, note=f"Now {Certificate.State(state).label.lower()}.",
        )
        if certificate.state == Certificate.State.PENDING:
            _enqueue_after_commit(certificate)
    return certificate


def certificates_requeue(*, certificates, actor=None, note=""):
    """Queue rendering again for pending or failed certificates (the sweep and staff's
    "re-run"). Idempotent: rendering a certificate twice issues it once."""
    count = 0
    with transaction.atomic():
        for certificate in certificates.select_for_update().filter(
            state__in=[Certificate.State.PENDING, Certificate.State.FAILED]
        ):
            before = copy.copy(certificate)
            certificate.state = Certificate.State.PENDING
            certificate.state_changed_at = timezone.now()
            # Queued anew: a broker that refuses again records its error again after commit.
            certificate.queue_error = ""
            certificate_changes_save(
                certificate=certificate,
                before=before,
                update_fields=["state", "state_changed_at", "queue_error"],
                actor=actor,
            )
            CertificateEvent.objects.create(
                certificate=certificate, action=CertificateEvent.Action.REQUEUED, actor=actor, note=note
            )
            _enqueue_after_commit(certificate)
            count += 1
    return count


def certificates_sweep(*, now=None, recovering=False):
    """Queue again whatever a lost message left undone; run every few seconds by Celery
    beat, and at once when a worker starts (it may be replacing one that died).

    - pending certificates whose rendering could not be queued (the broker was down), or
      that have waited longer than STUCK_AFTER (or any time at all, when `recovering`)
      and whose message the broker no longer holds: a long queue during a burst is work
      in progress, and queuing it again would only add a second delivery behind it;
    - issued certificates whose e-mail has not gone out after EMAIL_STUCK_AFTER, is not
      being sent right now and is not waiting in the mail queue.

    Returns (renders queued, e-mails queued). Repeating it is harmless: rendering and
    mailing each happen once however often they are queued.
    """
    now = now or timezone.now()
    pending = Certificate.objects.filter(state=Certificate.State.PENDING)
    unsent = Certificate.objects.filter(
        Q(email_sending_since__isnull=True) | Q(email_sending_since__lt=now - EMAIL_LEASE),
        state=Certificate.State.ISSUED,
        emailed_at__isnull=True,
    )
    if not recovering:
        pending = pending.filter(~Q(queue_error="") | Q(state_changed_at__lt=now - STUCK_AFTER))
        unsent = unsent.filter(state_changed_at__lt=now - EMAIL_STUCK_AFTER)
    pending = list(pending.order_by("pk").values_list("pk", "queue_error"))
    unsent = list(unsent.order_by("pk").values_list("pk", flat=True))
    # The queues are read only when something looks stuck (reading them scans them), and
    # not when recovering: a worker that starts may replace one that died with messages
    # in hand, which Redis holds until the visibility timeout.
    held = {} if recovering or not (pending or unsent) else certificates_held_by_broker() or {}
    renders_held = held.get(tasks.render_certificate.name, set())
    stuck = [pk for pk, queue_error in pending if queue_error or pk not in renders_held][:SWEEP_BATCH]
    renders = certificates_requeue(
        certificates=Certificate.objects.filter(pk__in=stuck), note="Swept: queued again."
    )
    emails_held = held.get(tasks.email_certificate_ready.name, set())
    emails = [pk for pk in unsent if pk not in emails_held][:SWEEP_BATCH]
    for certificate_id in emails:
        certificate_queue_email(certificate_id=certificate_id)
    return renders, len(emails)
