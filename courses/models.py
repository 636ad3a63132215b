import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

CREDIT_STEP = Decimal("0.25")


def validate_credit_amount(value):
    if value is None or value <= 0:
        raise ValidationError("Credits must be greater than 0.")
    if value % CREDIT_STEP:
        raise ValidationError("Credits must be in steps of 0.25 (for example 0.25, 1, 1.5).")


def validate_time_zone(value):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a known time zone.") from None


def credit_designation_statement(*, provider_name, credits):
    amount = format_credits(credits)
    noun = "Credit" if Decimal(credits) == 1 else "Credits"
    return (
        f"{provider_name} designates this enduring material for a maximum of "
        f"{amount} AMA PRA Category 1 {noun}™. Physicians should claim only the credit "
        "commensurate with the extent of their participation in the activity."
    )


def format_credits(credits):
    """1.00 → "1", 1.50 → "1.5", 0.25 → "0.25"."""
    text = f"{Decimal(credits):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


class Provider(models.Model):
    """The accredited provider: texts set once and printed on every activity."""

    name = models.CharField(max_length=200, default="Example Medical School")
    accreditation_statement = models.TextField(blank=True)
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    contact_email = models.EmailField(default="cme@example.org")
    disclaimer = models.TextField(blank=True)
    privacy_url = models.URLField(blank=True)
    hardware_requirements = models.TextField(
        blank=True,
        default="A current version of Chrome, Edge, Firefox or Safari on a computer, "
        "tablet or phone, with sound.",
    )
    signer_name = models.CharField(max_length=200, blank=True)
    signer_title = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return self.name

    @classmethod
    def current(cls):
        return cls.objects.order_by("pk").first() or cls()

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.time_zone)

    def get_accreditation_statement(self):
        return self.accreditation_statement or (
            f"{self.name} is accredited by the Accreditation Council for Continuing "
            "Medical Education (ACCME) to provide continuing medical education for physicians."
        )


class Series(models.Model):
    title = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "series"
        ordering = ["title"]

    def __str__(self):
        return self.title


class CreditWindow(models.TextChoices):
    """Where an activity stands, for credit, at a given moment."""

    DRAFT = "draft", "This activity is not published."
    NOT_YET_RELEASED = "not_yet_released", "This activity is not released yet."
    OPEN = "open", "Credit is available."
    EXPIRED = "expired", "Credit is no longer available for this activity."
    ARCHIVED = "archived", "This activity has been archived."


class ActivityQuerySet(models.QuerySet):
    def visible(self, *, at=None):
        """Published activities released by `at` (provider time), for the catalog."""
        today = provider_today(at=at)
        return self.filter(status=Activity.Status.PUBLISHED, release_date__lte=today)


class Activity(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=300)
    series = models.ForeignKey(
        Series, null=True, blank=True, on_delete=models.PROTECT, related_name="activities"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    recorded_on = models.DateField(null=True, blank=True)
    release_date = models.DateField()
    reviewed_on = models.DateField(null=True, blank=True)
    termination_date = models.DateField()
    estimated_minutes = models.PositiveIntegerField(default=60)
    credits = models.DecimalField(
        max_digits=5, decimal_places=2, validators=[validate_credit_amount]
    )
    description = models.TextField(blank=True)
    requires_full_viewing = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-release_date", "title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(termination_date__gte=models.F("release_date")),
                name="activity_terminates_after_release",
            ),
            models.CheckConstraint(condition=models.Q(credits__gt=0), name="activity_credits_positive"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("courses:activity", kwargs={"slug": self.slug})

    def clean(self):
        if self.release_date and self.termination_date and self.termination_date < self.release_date:
            raise ValidationError(
                {"termination_date": "The termination date must not be before the release date."}
            )

    def credit_window(self, *, at=None):
        return activity_credit_window(self, at=at)

    def designation_statement(self, provider=None):
        provider = provider or Provider.current()
        return credit_designation_statement(provider_name=provider.name, credits=self.credits)

    @property
    def credits_display(self):
        return format_credits(self.credits)


def provider_today(*, at=None, provider=None):
    provider = provider or Provider.current()
    return timezone.localtime(at or timezone.now(), provider.tzinfo).date()


def activity_credit_window(activity, *, at=None, provider=None):
    """Whether credit can be earned for `activity` at `at`.

    Dates are calendar days in the provider's time zone and the termination date is
    inclusive: credit is open until 23:59:59 that day, provider time.
    """
    if activity.status == Activity.Status.DRAFT:
        return CreditWindow.DRAFT
    if activity.status == Activity.Status.ARCHIVED:
        return CreditWindow.ARCHIVED
    today = provider_today(at=at, provider=provider)
    if today < activity.release_date:
        return CreditWindow.NOT_YET_RELEASED
    if today > activity.termination_date:
        return CreditWindow.EXPIRED
    return CreditWindow.OPEN


class LearningObjective(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="objectives")
    order = models.PositiveIntegerField(default=0)
    text = models.TextField()

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.text


class Person(models.Model):
    """A faculty member or planner, stored once and linked to many activities."""

    name = models.CharField(max_length=200)
    degrees = models.CharField(max_length=100, blank=True)
    affiliation = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"

    def __str__(self):
        return f"{self.name}, {self.degrees}" if self.degrees else self.name


class FacultyRole(models.Model):
    class Role(models.TextChoices):
        PRESENTER = "presenter", "Presenter"
        MODERATOR = "moderator", "Moderator"
        PANELIST = "panelist", "Panelist"
        PLANNER = "planner", "Planner"

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="faculty")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="roles")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PRESENTER)
    order = models.PositiveIntegerField(default=0)
    relationships = models.JSONField(
        default=list,
        blank=True,
        help_text='Relevant financial relationships: [{"company": "…", "nature": "consultant"}].',
    )
    disclosure = models.TextField(blank=True)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return f"{self.person} ({self.get_role_display()})"

    @property
    def disclosure_text(self):
        if self.disclosure:
            return self.disclosure
        if not self.relationships:
            return "No relevant financial relationships."
        return "; ".join(f"{item['company']} ({item['nature']})" for item in self.relationships)


class Resource(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="resources")
    order = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=300)
    url = models.URLField(max_length=500)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.title


class Recording(models.Model):
    activity = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="recording")
    url = models.CharField(max_length=500, help_text="A video file URL, or a path under /media/.")
    captions_url = models.CharField(max_length=500, blank=True)
    duration_seconds = models.PositiveIntegerField(default=0)
    transcript = models.TextField(blank=True)

    def __str__(self):
        return self.url


class Participation(models.Model):
    """A learner's progress through one activity, created when they start it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="participations")
    started_at = models.DateTimeField(default=timezone.now)
    recording_completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "activity"], name="one_participation_per_activity")
        ]

    def __str__(self):
        return f"{self.user} in {self.activity}"


def recording_requirement_met(*, participation):
    activity = participation.activity
    return not activity.requires_full_viewing or participation.recording_completed_at is not None


def local_date(moment, *, provider=None):
    provider = provider or Provider.current()
    return timezone.localtime(moment, provider.tzinfo).date()

