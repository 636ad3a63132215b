import re
import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from courses.models import Activity, CreditType
from courses.statements import format_credits

# No 0/O, 1/I/L: numbers are read aloud and typed in by licensing boards.
NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
NUMBER_PREFIX = "CME"
NUMBER_GROUP, NUMBER_GROUPS = 5, 3


def _number_of(body):
    groups = [body[start : start + NUMBER_GROUP] for start in range(0, len(body), NUMBER_GROUP)]
    return "-".join([NUMBER_PREFIX, *groups])


def certificate_number_generate():
    """About 70 bits of randomness: unguessable, still short enough to read out."""
    length = NUMBER_GROUP * NUMBER_GROUPS
    return _number_of("".join(secrets.choice(NUMBER_ALPHABET) for _ in range(length)))


def certificate_number_normalise(text):
    """A certificate number as someone typed it (any case, spaces, dashes or none, with
    or without the prefix) in the form it is stored in, CME-XXXXX-XXXXX-XXXXX. Text too
    long or short to be one comes back in capitals without separators: it matches none."""
    compact = re.sub(r"[^0-9A-Z]", "", text.upper())
    length = NUMBER_GROUP * NUMBER_GROUPS
    if len(compact) == len(NUMBER_PREFIX) + length and compact.startswith(NUMBER_PREFIX):
        compact = compact.removeprefix(NUMBER_PREFIX)
    return _number_of(compact) if len(compact) == length else compact


class CertificateQuerySet(models.QuerySet):
    def standing(self):
        """Certificates that stand: every one but the revoked, which certify nothing."""
        return self.exclude(state=Certificate.State.REVOKED)


class Certificate(models.Model):
    """A record of fact: it freezes what it certified at issue."""

    class State(models.TextChoices):
        PENDING = "pending", "Being prepared"
        ISSUED = "issued", "Issued"
        FAILED = "failed", "Failed to render"
        REVOKED = "revoked", "Revoked"

    class Kind(models.TextChoices):
        """What the certificate is, by the most a learner earned: AMA credit (perhaps with
        a board's MOC points), another credit type (ANCC, ACPE, AAPA) for a learner not
        eligible for AMA credit, or hours of participation. Its lines list each type."""

        AMA_CREDIT = "ama_credit", "AMA PRA Category 1 Credit™"
        CREDIT = "credit", "Certificate of Credit"
        PARTICIPATION = "participation", "Certificate of Participation"

    number = models.CharField(max_length=30, unique=True, default=certificate_number_generate)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="certificates"
    )
    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="certificates")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    credits_claimed = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    hours = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    completed_on = models.DateField()

    learner_name = models.CharField(max_length=300)
    learner_degree = models.CharField(max_length=100, blank=True)
    activity_title = models.CharField(max_length=300)
    activity_release_date = models.DateField()
    activity_credits = models.DecimalField(max_digits=5, decimal_places=2)
    provider_name = models.CharField(max_length=200)
    accreditation_statement = models.TextField()
    designation_statement = models.TextField()
    # Names in the file storage, not copies: an uploaded logo or signature file is never
    # overwritten (a new upload gets a new name), so these keep pointing at what was printed.
    provider_logo = models.CharField(max_length=300, blank=True)
    provider_signature = models.CharField(max_length=300, blank=True)
    signer_name = models.CharField(max_length=200, blank=True)
    signer_title = models.CharField(max_length=200, blank=True)

    pdf = models.FileField(upload_to="certificates/", blank=True)
    claimed_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    # Set when the rendering could not be handed to the task broker (it was unreachable):
    # the claim is kept, and the sweep queues it again as soon as the broker answers.
    queue_error = models.TextField(blank=True)
    # The "certificate ready" e-mail: sent once. `email_sending_since` is a short lease
    # taken before sending, so two deliveries of the same message never both send.
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_sending_since = models.DateTimeField(null=True, blank=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        ordering = ["-completed_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "activity"], name="one_certificate_per_activity")
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("certificates:detail", kwargs={"number": self.number})

    def get_verification_url(self):
        return settings.SITE_URL + reverse("certificates:verify", kwargs={"number": self.number})

    @property
    def credits_claimed_display(self):
        return format_credits(self.credits_claimed) if self.credits_claimed is not None else ""

    @property
    def credit_display(self):
        """Every credit it awards, as its lines word them: "1 AMA PRA Category 1 Credit™,
        1 ABIM MOC point" (a list of certificates prefetches `credits`)."""
        return ", ".join(line.amount_display for line in self.credits.all())

    @property
    def is_ready(self):
        return self.state == self.State.ISSUED and bool(self.pdf)


class CertificateCredit(models.Model):
    """One credit type a certificate awards, frozen at the claim like the rest of it: the
    type's wording, the amount, the statements, and what the receiving body needs to
    match the learner (the board and board ID, the NABP e-Profile ID, the UAN). A
    certificate has one line per credit type the learner earned from the activity."""

    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="credits")
    credit_type = models.ForeignKey(CreditType, on_delete=models.PROTECT, related_name="+")
    order = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=5, decimal_places=2)
    amount_display = models.CharField(max_length=150)
    accreditation_statement = models.TextField(blank=True)
    designation_statement = models.TextField(blank=True)
    # What reporting needs, as given at the claim: {"board": "ABIM", "board_id": "…",
    # "moc_credit_types": [...], "moc_practice_areas": [...]} for MOC points,
    # {"uan": "…", "nabp_eprofile_id": "…"} for ACPE.
    reporting = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["certificate", "credit_type"], name="one_line_per_credit_type"),
        ]

    def __str__(self):
        return f"{self.certificate}: {self.amount_display}"


class CertificateEvent(models.Model):
    """The audit trail of a certificate: who changed what, and when."""

    class Action(models.TextChoices):
        CLAIMED = "claimed", "Claimed"
        ISSUED = "issued", "Issued"
        RENDER_FAILED = "render_failed", "Rendering failed"
        REQUEUED = "requeued", "Queued again"
        REISSUE_REQUESTED = "reissue_requested", "Re-issue requested"
        REVOKED = "revoked", "Revoked"
        REINSTATED = "reinstated", "Reinstated"

    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=30, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    # Why staff acted (required for a re-issue, a revocation and a reinstatement); `note`
    # says what the system did or what changed, e.g. the name before and after.
    reason = models.TextField(blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.certificate} {self.get_action_display()}"


class CertificateVersion(models.Model):
    """One rendering of a certificate's PDF. The first comes from the learner's claim, each
    re-issue adds the next; none is ever deleted, as certificate records are kept for at
    least six years. Certificate.pdf names the newest version's file."""

    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="versions")
    sequence = models.PositiveIntegerField()
    pdf = models.FileField(upload_to="certificates/")
    reason = models.TextField(blank=True)
    # Null for the first version, which the learner's claim produced.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    name_before = models.CharField(max_length=300, blank=True)
    name_after = models.CharField(max_length=300)
    degree_before = models.CharField(max_length=100, blank=True)
    degree_after = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["certificate", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["certificate", "sequence"], name="one_version_per_sequence")
        ]

    def __str__(self):
        return f"{self.certificate} version {self.sequence}"
