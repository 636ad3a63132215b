from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal

import redis
from django.conf import settings
from django.db.models import Count, Min, Q

from .models import Certificate


@dataclass
class TranscriptYear:
    year: int
    credits: Decimal = Decimal("0")
    hours: Decimal = Decimal("0")
    certificates: list = field(default_factory=list)


@dataclass
class Transcript:
    years: list
    credits: Decimal
    hours: Decimal
    count: int


def transcript_of(*, user, start=None, end=None):
    """The learner's valid certificates, newest first, with totals per calendar year of
    completion and overall; `start`/`end` (inclusive dates) select a renewal period."""
    certificates = Certificate.objects.standing().filter(user=user)
    if start:
        certificates = certificates.filter(completed_on__gte=start)
    if end:
        certificates = certificates.filter(completed_on__lte=end)
    years = OrderedDict()
    for certificate in certificates.order_by("-completed_on", "-pk"):
        year = years.setdefault(certificate.completed_on.year, TranscriptYear(certificate.completed_on.year))
        year.certificates.append(certificate)
        year.credits += certificate.credits_claimed or 0
        year.hours += certificate.hours or 0
    return Transcript(
        years=list(years.values()),
        credits=sum((y.credits for y in years.values()), Decimal("0")),
        hours=sum((y.hours for y in years.values()), Decimal("0")),
        count=sum(len(y.certificates) for y in years.values()),
    )


def certificate_to_verify(*, number):
    """The certificate the public verification page may show under `number`: one still
    being prepared, or that failed to render, has certified nothing yet."""
    return (
        Certificate.objects.filter(number=number)
        .exclude(state__in=[Certificate.State.PENDING, Certificate.State.FAILED])
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
