import calendar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from certificates.models import Certificate, CertificateCredit
from courses.credit_types import Board, Profession
from courses.rules import birth_month_day_problems

MONTH_CHOICES = [(number, calendar.month_name[number]) for number in range(1, 13)]


def licence_problems(*, state, number):
    """A licence is reported as its state and number together, or not at all."""
    if bool(state) == bool(number):
        return {}
    if not state:
        return {"licence_state": "Give the state that issued the licence, or leave both empty."}
    return {"licence_number": "Give the licence number, or leave both empty."}


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in with an e-mail address, with the learner's profile."""

    Profession = Profession

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("e-mail address", unique=True)

    given_name = models.CharField(max_length=150, blank=True)
    family_name = models.CharField(max_length=150, blank=True)
    certificate_name = models.CharField(
        "name on certificates",
        max_length=300,
        blank=True,
        help_text="Your legal name as it should print on certificates.",
    )
    degree = models.CharField(
        max_length=100, blank=True, help_text="For example MD, DO, NP, PA-C, RN, PharmD."
    )
    profession = models.CharField(max_length=20, choices=Profession.choices, blank=True)
    npi = models.CharField(
        "NPI",
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^\d{10}$", "An NPI is exactly 10 digits.")],
    )
    specialty = models.CharField(max_length=150, blank=True)

    # Board reporting (ACCME PARS); all optional, and shared only with consent.
    birth_month = models.PositiveSmallIntegerField(
        "month of birth", null=True, blank=True, choices=MONTH_CHOICES
    )
    birth_day = models.PositiveSmallIntegerField(
        "day of birth",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
    )
    licence_state = models.CharField(
        "licence state",
        max_length=2,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]{2}$", "Use the two-letter state code, e.g. NY.")],
    )
    licence_number = models.CharField("licence number", max_length=50, blank=True)
    # Free text before codes: a value no board matches is kept as typed, for staff to read.
    certifying_board = models.CharField(max_length=150, blank=True, choices=Board.choices)
    board_id = models.CharField("board ID", max_length=50, blank=True)
    nabp_eprofile_id = models.CharField(
        "NABP e-Profile ID",
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^\d{6,7}$", "An NABP e-Profile ID is 6 or 7 digits.")],
        help_text="Pharmacists and technicians: CPE Monitor records ACPE credit under it.",
    )
    share_with_boards = models.BooleanField(
        "share my completions with boards",
        default=False,
        help_text="Lets us report the activities you complete to the ACCME and to your "
        "licensing or certifying board.",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        problems = {
            **birth_month_day_problems(month=self.birth_month, day=self.birth_day),
            **licence_problems(state=self.licence_state, number=self.licence_number),
        }
        if problems:
            raise ValidationError(problems)

    def get_full_name(self):
        return self.certificate_name or " ".join(
            part for part in (self.given_name, self.family_name) if part
        )

    def get_short_name(self):
        return self.given_name or self.email

    @property
    def profile_is_complete(self):
        return bool(
            self.given_name and self.family_name and self.certificate_name
            and self.degree and self.profession
        )

    @property
    def is_physician(self):
        return self.profession == self.Profession.PHYSICIAN


class StaffPermissions(models.Model):
    """Holds the staff workspace's own permissions, which belong to no table.

    Django attaches every permission to a model's content type, so the permissions of
    pages (rather than of rows) need a model to hang on: an unmanaged one has no table,
    and default_permissions=() keeps Django from adding add/change/delete/view rows that
    would mean nothing here. lms.roles gives them to the "CME coordinator" group.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("author_activities", "Can build and publish activities in the staff workspace"),
            ("view_staff_reports", "Can view staff reports and exports"),
        ]


class ReportingBatch(models.Model):
    """One file staff exported to a receiving body and recorded as sent: what, for which
    period, by whom, when, in which format, and how many records it added, deleted and
    left out (by lms.pars.LeftOut reason).

    A learner file is asked for first and recorded by a worker (lms.tasks): it is being
    prepared until the worker records it (ready), finds no row to send (nothing to send,
    no record), or fails (nothing recorded; staff may try again)."""

    class Kind(models.TextChoices):
        PARS_LEARNERS = "pars_learners", "PARS learner completions"
        PARS_ACTIVITIES = "pars_activities", "PARS activities"

    class State(models.TextChoices):
        PREPARING = "preparing", "Being prepared"
        READY = "ready", "Ready"
        EMPTY = "empty", "Nothing to send"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    include_reported = models.BooleanField(
        default=False, help_text="Records already reported were sent again."
    )
    table_format = models.CharField(max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    added = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    left_out = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.READY)
    # When its preparation was last handed to a worker: the sweep queues it again when
    # that was long ago and no worker holds it.
    queued_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True, help_text="Why the last preparation failed.")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.period_start}–{self.period_end}"

    @property
    def left_out_total(self):
        return sum(self.left_out.values())


class ReportedRecord(models.Model):
    """A certificate's credit line as a batch sent it: added or deleted, with the row
    exactly as it went out, and, for MOC points, what the board answered."""

    class Action(models.TextChoices):
        ADD = "add", "Added"
        DELETE = "delete", "Deleted"

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    batch = models.ForeignKey(ReportingBatch, on_delete=models.PROTECT, related_name="records")
    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="+")
    credit_line = models.ForeignKey(
        CertificateCredit, on_delete=models.PROTECT, related_name="reported_records"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    row = models.JSONField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    outcome_reason = models.TextField(blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["pk"]
        indexes = [
            # A line's latest record says whether it stands reported: the newest first.
            models.Index(fields=["credit_line", "-id"], name="record_latest_of_line_idx"),
        ]

    def __str__(self):
        return f"{self.certificate} {self.get_action_display()}"
