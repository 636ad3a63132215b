from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal

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
