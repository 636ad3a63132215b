import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count, Min, OuterRef, Prefetch, Q, Subquery

from courses.models import CreditType
from courses.prepared import PreparedQuery

from .models import Certificate, CertificateCredit, CertificateEvent, CertificateVersion, certificate_number_normalise


@dataclass
class CreditTotal:
    """The amount of one credit type a transcript adds up, in the type's words."""

    credit_type: CreditType
    amount: Decimal

    @property
    def code(self):
        return self.credit_type.code

    @property
    def amount_display(self):
        return self.credit_type.amount_display(self.amount)


@dataclass
class TranscriptYear:
    year: int
    credits: Decimal = Decimal("0")
    hours: Decimal = Decimal("0")
    count: int = 0
    # Per credit type, in the types' order.
    totals: list = field(default_factory=list)
    # The year's certificates a page or file lists, which may be fewer than `count`.
    certificates: list = field(default_factory=list)


@dataclass
class Transcript:
    years: list
    credits: Decimal
    hours: Decimal
    count: int
    totals: list = field(default_factory=list)


# What a transcript row shows: the date, title, credit and number of a certificate; its
# credit lines come with TRANSCRIPT_LINES.
TRANSCRIPT_ROW_FIELDS = ("number", "completed_on", "activity_title", "kind", "credits_claimed", "hours")
TRANSCRIPT_LINES = Prefetch(
    "credits", queryset=CertificateCredit.objects.only("certificate", "order", "amount_display")
)
# What the totals per credit type word an amount with.
_TOTAL_TYPE_FIELDS = ("code", "name", "unit_singular", "unit_plural", "board", "order")


def _certificates_in_period(certificates, *, start, end):
    if start:
        certificates = certificates.filter(completed_on__gte=start)
    if end:
        certificates = certificates.filter(completed_on__lte=end)
    return certificates


# The credit gate reads it on every claim page and claim: compiled once.
_LEARNER_CERTIFICATE = PreparedQuery(
    Certificate,
    lambda *, user_id, activity_id: Certificate.objects.filter(user_id=user_id, activity_id=activity_id).order_by("pk")[:1],
    user_id=-(2**62) + 73,
    activity_id=-(2**62) + 79,
)


def learner_certificate(*, user, activity):
    """`user`'s certificate of `activity`, or None: there is at most one."""
    return _LEARNER_CERTIFICATE.first(user_id=user.pk, activity_id=activity.pk)


def transcript_certificates(*, user, start=None, end=None):
    """The learner's certificates that stand, newest first; `start`/`end` (inclusive
    dates of completion) select a renewal period."""
    certificates = Certificate.objects.standing().filter(user=user)
    return _certificates_in_period(certificates, start=start, end=end).order_by("-completed_on", "-pk")


@dataclass(frozen=True)
class TranscriptVersion:
    # How many certificates stand in the period.
    count: int
    digest: str


def transcript_version(*, user, start=None, end=None):
    """What the learner's transcript of the period is made of, in one aggregate led by
    the index of their certificates: how many stand, and a digest of the id, state and
    state change time of each of their certificates in the period, revoked ones included.

    A transcript prints only what a certificate froze at its claim (date, title, number,
    credit lines); what changes is which certificates there are and which stand. None is
    ever deleted, and every change of state (issue, failure, re-issue, revocation,
    reinstatement: certificates.services and .issuing) sets state_changed_at, so the
    digest changes with every claim and every change of state, and never comes back to
    an earlier value: what was built from the rows while they changed, and kept under the
    digest read before, is never served again."""
    if connection.vendor != "postgresql":
        return _transcript_version_in_python(user=user, start=start, end=end)
    # Raw SQL: the ORM took ten times as long to compile this as PostgreSQL to run it.
    sql = [
        "SELECT count(*) FILTER (WHERE state <> %s), md5(string_agg("
        "id || ':' || state || ':' || extract(epoch FROM state_changed_at), ',' ORDER BY id))"
        f" FROM {Certificate._meta.db_table} WHERE user_id = %s"
    ]
    params = [Certificate.State.REVOKED, user.pk]
    if start:
        sql.append("AND completed_on >= %s")
        params.append(start)
    if end:
        sql.append("AND completed_on <= %s")
        params.append(end)
    with connection.cursor() as cursor:
        cursor.execute(" ".join(sql), params)
        count, digest = cursor.fetchone()
    return TranscriptVersion(count=count, digest=digest or "")


def _transcript_version_in_python(*, user, start, end):
    """transcript_version for databases without md5() and an ordered string_agg()."""
    certificates = _certificates_in_period(Certificate.objects.filter(user=user), start=start, end=end)
    digest, count = hashlib.md5(), 0
    for pk, state, changed_at in certificates.order_by("pk").values_list("pk", "state", "state_changed_at"):
        digest.update(f"{pk}:{state}:{changed_at.timestamp()},".encode())
        count += state != Certificate.State.REVOKED
    return TranscriptVersion(count=count, digest=digest.hexdigest())


def transcript_lines(*, user, start=None, end=None):
    """The credit lines of transcript_certificates, in its order, each certificate's in
    their own: a transcript file has a row per credit type of each certificate."""
    certificates = transcript_certificates(user=user, start=start, end=end).order_by().values("pk")
    return CertificateCredit.objects.filter(certificate__in=certificates).order_by(
        "-certificate__completed_on", "-certificate__pk", "order", "pk"
    )


def transcript_of(*, user, start=None, end=None):
    """The totals of the learner's transcript per calendar year of completion, newest
    first, and overall, over every certificate that stands in the period (see
    transcript_certificates), however many. The years list none of them:
    transcript_listing places the ones a page shows.

    Two queries, each led by an index (the learner's certificates, then their credit lines
    by certificate), summed here: a learner has at most a few thousand certificates, and a
    single query joining the lines to the certificates had PostgreSQL scan every credit line
    of the site for each transcript."""
    years = {}
    year_of = {}
    for pk, completed_on, credits, hours in (
        transcript_certificates(user=user, start=start, end=end)
        .order_by()
        .values_list("pk", "completed_on", "credits_claimed", "hours")
    ):
        year = years.setdefault(completed_on.year, TranscriptYear(year=completed_on.year))
        year.credits += credits or 0
        year.hours += hours or 0
        year.count += 1
        year_of[pk] = year.year
    amounts, types = {}, {}
    lines = CertificateCredit.objects.filter(certificate_id__in=list(year_of)).values_list(
        "certificate_id", "amount", *(f"credit_type__{name}" for name in _TOTAL_TYPE_FIELDS)
    )
    for certificate_id, amount, *credit_type in lines if year_of else ():
        code = credit_type[0]
        if code not in types:
            types[code] = CreditType(**dict(zip(_TOTAL_TYPE_FIELDS, credit_type)))
        key = (year_of[certificate_id], code)
        amounts[key] = amounts.get(key, Decimal("0")) + amount
    overall = {}
    for (year, code), amount in amounts.items():
        years[year].totals.append(CreditTotal(credit_type=types[code], amount=amount))
        overall[code] = overall.get(code, Decimal("0")) + amount
    ordered = sorted(years.values(), key=lambda year: year.year, reverse=True)
    for year in ordered:
        year.totals.sort(key=lambda total: total.credit_type.order)
    return Transcript(
        years=ordered,
        credits=sum((year.credits for year in ordered), Decimal("0")),
        hours=sum((year.hours for year in ordered), Decimal("0")),
        count=sum(year.count for year in ordered),
        totals=sorted(
            (CreditTotal(credit_type=types[code], amount=amount) for code, amount in overall.items()),
            key=lambda total: total.credit_type.order,
        ),
    )


def transcript_listing(*, transcript, certificates):
    """`certificates` (newest first, as transcript_certificates gives them) placed in
    their years of `transcript`; returns the years that list any."""
    years = {year.year: year for year in transcript.years}
    for certificate in certificates:
        years[certificate.completed_on.year].certificates.append(certificate)
    return [year for year in transcript.years if year.certificates]


def certificate_to_verify(*, number):
    """The certificate the public verification page may show under `number`, with when it
    was last re-issued (`reissued_at`, its newest version after the first) and revoked
    (`revoked_at`), in one query. One still being prepared, or that failed to render, has
    certified nothing yet, unless it was issued before: a re-issue in progress stands."""
    reissued = CertificateVersion.objects.filter(certificate=OuterRef("pk"), sequence__gt=1).order_by("-sequence")
    revoked = CertificateEvent.objects.filter(
        certificate=OuterRef("pk"), action=CertificateEvent.Action.REVOKED
    ).order_by("-at", "-pk")
    return (
        Certificate.objects.filter(number=number)
        .filter(Q(state__in=[Certificate.State.ISSUED, Certificate.State.REVOKED]) | Q(issued_at__isnull=False))
        .annotate(
            reissued_at=Subquery(reissued.values("created_at")[:1]),
            revoked_at=Subquery(revoked.values("at")[:1]),
        )
        .first()
    )


def certificates_for_staff(*, query="", state=""):
    """Certificates whose number, learner's name or e-mail address holds `query` (a
    number may be typed as on the verification form), newest first, with their learner."""
    certificates = Certificate.objects.select_related("user")
    query = query.strip()
    if query:
        certificates = certificates.filter(
            Q(number=certificate_number_normalise(query))
            | Q(number__icontains=query)
            | Q(learner_name__icontains=query)
            | Q(user__email__icontains=query)
        )
    if state:
        certificates = certificates.filter(state=state)
    return certificates.order_by("-pk")


def certificate_record(*, number):
    """The certificate under `number` with its versions and events (and who made each),
    for the staff page: three queries however long its history. None when no certificate
    has this number."""
    return (
        Certificate.objects.filter(number=number)
        .select_related("user", "activity")
        .prefetch_related(
            Prefetch("versions", queryset=CertificateVersion.objects.select_related("actor").order_by("-sequence")),
            Prefetch("events", queryset=CertificateEvent.objects.select_related("actor").order_by("-at", "-pk")),
        )
        .first()
    )


def certificate_version_of(*, number, sequence):
    return (
        CertificateVersion.objects.filter(certificate__number=number, sequence=sequence)
        .select_related("certificate")
        .first()
    )


@dataclass
class CertificateQueue:
    """What staff need to see of the certificate path: is the broker answering, and is
    anything waiting longer than it should."""

    broker: str  # "in-process", "ok" or "unreachable"
    broker_error: str
    pending: int
    waiting_for_broker: int
    oldest_pending: object
    failed: int
    unsent_emails: int

    @property
    def has_problem(self):
        return self.broker == "unreachable" or bool(self.waiting_for_broker or self.failed)


def broker_status():
    """("in-process" | "ok" | "unreachable", error). Asks Redis itself, with a short
    timeout, so a staff page never hangs on a broker that is down."""
    if not settings.REDIS_URL:
        return "in-process", ""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return "unreachable", str(exc)
    finally:
        client.close()
    return "ok", ""


def certificate_queue():
    pending = Q(state=Certificate.State.PENDING)
    counts = Certificate.objects.aggregate(
        pending=Count("pk", filter=pending),
        waiting_for_broker=Count("pk", filter=pending & ~Q(queue_error="")),
        oldest_pending=Min("state_changed_at", filter=pending),
        failed=Count("pk", filter=Q(state=Certificate.State.FAILED)),
        unsent_emails=Count("pk", filter=Q(state=Certificate.State.ISSUED, emailed_at__isnull=True)),
    )
    broker, broker_error = broker_status()
    return CertificateQueue(broker=broker, broker_error=broker_error, **counts)
