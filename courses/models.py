import contextlib
import contextvars
import hashlib
import zoneinfo
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from . import statements
from .credit_types import Board
from .media import (
    VIDEO_EXTENSIONS,
    VIMEO_HOSTS,
    YOUTUBE_HOSTS,
    is_new_upload,
    media_type,
    url_problem,
    validate_captions_upload,
    validate_descriptions_upload,
    validate_video_upload,
    video_duration_seconds,
    video_embed_url,
)
from .prepared import PreparedQuery
from .rules import (
    ActivityStatus,
    CreditWindow,
    OutcomeMeasure,
    activity_credit_window,
    activity_date_problems,
    credit_offer_row_problems,
    credit_window_q,
    validate_credit_amount,
    validate_joint_providers,
    validate_outcome_measures,
    validate_relationships,
    validate_time_zone,
)


class HttpsURLField(models.URLField):
    """A URL field whose form reads a bare "example.org/page" as https, as Django 6 will."""

    def formfield(self, **kwargs):
        return super().formfield(**{"assume_scheme": "https", **kwargs})


class Provider(models.Model):
    """The accredited provider: texts set once and printed on every activity."""

    name = models.CharField(max_length=200, default="Example Medical School")
    accme_provider_id = models.CharField(
        "ACCME provider ID",
        max_length=20,
        blank=True,
        help_text="The provider's ID at ACCME (PARS), written into exported activity files.",
    )
    accreditation_statement = models.TextField(blank=True)
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    contact_email = models.EmailField(default="cme@example.org")
    disclaimer = models.TextField(blank=True)
    privacy_url = HttpsURLField(blank=True)
    hardware_requirements = models.TextField(
        blank=True,
        default="A current version of Chrome, Edge, Firefox or Safari on a computer, "
        "tablet or phone, with sound.",
    )
    logo = models.ImageField(upload_to="provider/", blank=True)
    signature = models.ImageField(
        upload_to="provider/", blank=True, help_text="The signer's signature, printed on certificates."
    )
    signer_name = models.CharField(max_length=200, blank=True)
    signer_title = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return self.name

    @classmethod
    def current(cls):
        """The provider in use: the one a request or task is running for, else the one
        stored. Before staff have saved one it is the defaults, unsaved (pk None): pages
        and the time zone work, but the credit gate refuses claims, so no certificate
        freezes a placeholder name (lms.checks and the staff page say what is missing)."""
        return _provider_in_use.get() or _STORED_PROVIDER.first() or cls()

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.time_zone)

    def get_accreditation_statement(self):
        return self.accreditation_statement or (
            f"{self.name} is accredited by the Accreditation Council for Continuing "
            "Medical Education (ACCME) to provide continuing medical education for physicians."
        )


# Every request reads it (ProviderTimeZoneMiddleware): compiled once.
_STORED_PROVIDER = PreparedQuery(Provider, lambda: Provider.objects.order_by("pk")[:1])

# Set for the length of a request or task so every rule in it reads one provider, and so
# one database read serves the page's calendar and clock alike.
_provider_in_use = contextvars.ContextVar("provider_in_use", default=None)


@contextlib.contextmanager
def provider_in_use(provider=None):
    """Run the block in `provider`'s time zone: dates and times on pages, PDFs and e-mails
    read as the provider's, and Provider.current() answers without another query."""
    provider = provider or Provider.current()
    token = _provider_in_use.set(provider)
    try:
        with timezone.override(provider.tzinfo):
            yield provider
    finally:
        _provider_in_use.reset(token)


class Series(models.Model):
    title = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "series"
        ordering = ["title"]

    def __str__(self):
        return self.title


class ActivityQuerySet(models.QuerySet):
    def visible(self, *, at=None):
        """Published activities released by `at` (provider time), for the catalog."""
        day = provider_today(at=at)
        return self.filter(
            credit_window_q(CreditWindow.OPEN, day=day) | credit_window_q(CreditWindow.EXPIRED, day=day)
        )

    def in_window(self, window, *, at=None):
        """Visible activities whose credit window is OPEN or EXPIRED at `at`."""
        if window not in (CreditWindow.OPEN, CreditWindow.EXPIRED):
            raise ValueError(f"Only open or expired activities are in the catalog, not {window!r}.")
        return self.filter(credit_window_q(window, day=provider_today(at=at)))


class Activity(models.Model):
    Status = ActivityStatus
    OutcomeMeasure = OutcomeMeasure

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=300)
    accme_activity_id = models.CharField(
        "ACCME activity ID",
        max_length=50,
        blank=True,
        help_text="The activity's ID in ACCME's PARS, used in the learner-completion export.",
    )
    series = models.ForeignKey(
        Series, null=True, blank=True, on_delete=models.PROTECT, related_name="activities"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    recorded_on = models.DateField(null=True, blank=True)
    release_date = models.DateField()
    reviewed_on = models.DateField(null=True, blank=True)
    termination_date = models.DateField()
    estimated_minutes = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)])
    credits = models.DecimalField(
        max_digits=5, decimal_places=2, validators=[validate_credit_amount]
    )
    description = models.TextField(blank=True)
    target_audience = models.TextField(
        blank=True,
        help_text="Who the activity is designed for, e.g. primary care physicians, nurse "
        "practitioners and physician assistants.",
    )
    requires_full_viewing = models.BooleanField(default=True)
    # Blank means the provider's text; set to override it for this activity only.
    accreditation_statement = models.TextField(
        blank=True, help_text="Leave blank to use the provider's accreditation statement."
    )
    hardware_requirements = models.TextField(
        "hardware/software requirements", blank=True, help_text="Leave blank to use the provider's."
    )
    contact_email = models.EmailField(
        "technical contact", blank=True, help_text="Leave blank to use the provider's contact."
    )
    disclaimer = models.TextField(blank=True, help_text="Leave blank to use the provider's disclaimer.")
    privacy_url = HttpsURLField(
        "privacy link", blank=True, help_text="Leave blank to use the provider's privacy page."
    )
    joint_providers = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_joint_providers],
        help_text='The organisations that provide this activity jointly with us, e.g. '
        '["City Health Department"]. [] means none.',
    )
    joint_providership_statement = models.TextField(
        blank=True,
        help_text="With joint providers, printed instead of the accreditation statement. "
        "Leave blank to use the generated statement.",
    )
    outcome_measures = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_outcome_measures],
        help_text="How the activity's effect is evaluated, reported to PARS: codes of "
        'courses.rules.OutcomeMeasure, e.g. ["learner_knowledge"].',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept by courses.search, on PostgreSQL only (always null on SQLite); its GIN index is
    # made by migration 0012 there alone, as SQLite has no GIN to declare it with.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-release_date", "title"]
        indexes = [
            # The catalog: published activities released by today, newest first, each
            # page a walk down this index; the termination date answers the credit
            # filter and the count from the index alone.
            models.Index(
                fields=["-release_date", "title", "id", "termination_date"],
                condition=models.Q(status=ActivityStatus.PUBLISHED),
                name="activity_catalog_idx",
            ),
        ]
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
        errors = activity_date_problems(
            recorded_on=self.recorded_on,
            release_date=self.release_date,
            reviewed_on=self.reviewed_on,
            termination_date=self.termination_date,
        )
        if self.joint_providership_statement.strip() and not self.joint_providers:
            errors["joint_providership_statement"] = (
                "A joint providership statement needs the joint providers it names: list "
                "them, or leave the statement blank."
            )
        if errors:
            raise ValidationError(errors)

    def credit_window(self, *, at=None):
        return activity_credit_window(self, at=at)

    def designation_statement(self):
        return self.texts().designation_statement

    @property
    def credits_display(self):
        return statements.format_credits(self.credits)

    def texts(self):
        return statements.activity_texts(activity=self, provider=Provider.current())

    def method_of_participation(self):
        return statements.method_of_participation(activity=self)

    def disclosure_statement(self):
        return statements.disclosure_statement(activity=self)

    def commercial_support_statement(self):
        return statements.commercial_support_statement(supports=self.commercial_supports.all())


class CommercialSupport(models.Model):
    """Support from an ineligible company, disclosed to learners before they start. No
    rows means the activity received none, which learners are told too."""

    class Kind(models.TextChoices):
        MONETARY = "monetary", "Monetary"
        IN_KIND = "in_kind", "In-kind"

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="commercial_supports")
    order = models.PositiveIntegerField(default=0)
    supporter = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MONETARY)
    amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Monetary support: the amount received (ACCME's PARS asks for it).",
    )
    description = models.CharField(
        max_length=200, blank=True, help_text="In-kind support: what was given, e.g. equipment."
    )

    class Meta:
        ordering = ["order", "pk"]
        verbose_name_plural = "commercial support"

    def __str__(self):
        return f"{self.supporter} ({self.get_kind_display()})"

    def clean(self):
        if self.kind == self.Kind.IN_KIND and self.amount is not None:
            raise ValidationError({
                "amount": "An amount is for monetary support; describe in-kind support instead."
            })


# ACPE's Universal Activity Number: the provider's number (or "JA" and a joint
# accreditation number) with the joint provider's (0000 for none), year, activity number,
# format (H home study, L live, B blended) with topic, and the audience (P pharmacists,
# T technicians).
UAN_PATTERN = r"^(JA\d{7}|\d{4})-\d{4}-\d{2}-\d{3}-[HLB]\d{2}-[PT]$"


class CreditType(models.Model):
    """A kind of credit an activity can award (AMA PRA Category 1, ANCC contact hours, a
    board's MOC points, hours of participation, …): who may earn it, what the learner
    must supply for it to be reported, and how it is worded. Seeded from
    courses.credit_types.CREDIT_TYPE_SEED; `code` never changes."""

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    unit_singular = models.CharField(max_length=100)
    unit_plural = models.CharField(max_length=100)
    accrediting_body = models.CharField(
        max_length=20, blank=True, help_text="Who accredits or receives it: ACCME, ANCC, ACPE, AAPA, or a board."
    )
    eligible_professions = models.JSONField(
        default=list,
        blank=True,
        help_text="Profession codes that may earn it; [] means learners eligible for no "
        "other credit type of the activity (a certificate of participation).",
    )
    learner_details = models.JSONField(
        default=list, blank=True, help_text="What the learner must supply: codes of courses.credit_types.LearnerDetail."
    )
    claim_in_steps = models.BooleanField(
        default=False,
        help_text="The learner claims the amount commensurate with their participation, "
        "in steps of 0.25 up to the maximum; otherwise the whole amount is awarded.",
    )
    board = models.CharField(
        max_length=10, blank=True, choices=Board.choices, help_text="For MOC points: the certifying board."
    )
    accreditation_statement = models.TextField(
        blank=True, help_text="{provider} is replaced by the provider's name. Blank: the activity's own (ACCME) statement."
    )
    designation_statement = models.TextField(
        help_text="{provider}, {amount} (with its unit) and {uan} are filled in."
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.name

    def amount_display(self, amount):
        """"1 ANCC contact hour", "1.5 ANCC contact hours"; a board's MOC points name the
        board, "2 ABIM MOC points", since a learner's transcript may hold several boards'."""
        unit = self.unit_singular if Decimal(amount) == 1 else self.unit_plural
        if self.board and not unit.startswith(self.board):
            unit = f"{self.board} {unit}"
        return f"{statements.format_credits(amount)} {unit}"


class ActivityCredit(models.Model):
    """A credit type an activity offers beyond AMA PRA Category 1 Credit™ (its `credits`)
    and hours of participation, which every activity offers: its amount, and what the
    receiving body needs about it (ACPE's UAN; a board's MOC registration)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="credit_offers")
    credit_type = models.ForeignKey(CreditType, on_delete=models.PROTECT, related_name="offers")
    amount = models.DecimalField(max_digits=5, decimal_places=2, validators=[validate_credit_amount])
    uan = models.CharField(
        "ACPE UAN",
        max_length=30,
        blank=True,
        validators=[RegexValidator(UAN_PATTERN, "A UAN looks like 0000-0000-26-001-H01-P, or JA0000000-0000-26-001-H01-P for a jointly accredited provider.")],
        help_text="ACPE's Universal Activity Number.",
    )
    moc_practice_areas = models.JSONField(
        "MOC practice areas", default=list, blank=True, help_text="For MOC: the board's practice areas it counts for."
    )
    moc_credit_types = models.JSONField(
        "MOC credit types", default=list, blank=True, help_text="For MOC: codes of the board's kinds of MOC credit."
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "credit_type"], name="offer_a_credit_type_once"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="activity_credit_amount_positive"),
        ]

    def __str__(self):
        return f"{self.activity}: {self.credit_type.amount_display(self.amount)}"

    def clean(self):
        if self.credit_type_id is None:
            return
        errors = credit_offer_row_problems(
            credit_type=self.credit_type,
            uan=self.uan,
            moc_credit_types=self.moc_credit_types,
            moc_practice_areas=self.moc_practice_areas,
        )
        if errors:
            raise ValidationError(errors)


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
        REVIEWER = "reviewer", "Reviewer"

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="faculty")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="roles")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PRESENTER)
    order = models.PositiveIntegerField(default=0)
    relationships = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_relationships],
        help_text='Relevant financial relationships with ineligible companies, e.g. '
        '[{"company": "Acme Pharma", "nature": "consultant"}]. [] means none.',
    )
    disclosure = models.TextField(
        "disclosure on file",
        blank=True,
        help_text="Optional: a note on the disclosure this person gave, e.g. how a "
        "relationship was mitigated. Learners see the statement generated from the relationships.",
    )

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return f"{self.person} ({self.get_role_display()})"

    @property
    def plans_or_reviews(self):
        """Whether this person controls content without presenting it."""
        return self.role in (self.Role.PLANNER, self.Role.REVIEWER)

    @property
    def disclosure_text(self):
        """Generated from the relationships, never typed: the field `disclosure` is an
        optional note staff keep on file."""
        return statements.faculty_disclosure_text(
            name=str(self.person), relationships=self.relationships
        )


class Resource(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="resources")
    order = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=300)
    url = HttpsURLField(max_length=500)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.title


class Recording(models.Model):
    activity = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="recording")
    video = models.FileField(
        upload_to="recordings/",
        max_length=255,
        blank=True,
        validators=[FileExtensionValidator(VIDEO_EXTENSIONS), validate_video_upload],
        help_text="Upload an MP4 or WebM file, or give a URL below.",
    )
    url = models.CharField(
        max_length=500,
        blank=True,
        help_text="Instead of an upload: a video file URL (.mp4, .webm), a path such as "
        "/static/demo/welcome.webm, or a Vimeo or YouTube link.",
    )
    captions = models.FileField(
        upload_to="recordings/captions/",
        max_length=255,
        blank=True,
        validators=[FileExtensionValidator(["vtt"]), validate_captions_upload],
        help_text="WebVTT captions (.vtt).",
    )
    captions_url = models.CharField(
        max_length=500, blank=True, help_text="Instead of an upload: the URL or path of a .vtt file."
    )
    descriptions = models.FileField(
        "audio descriptions",
        upload_to="recordings/descriptions/",
        max_length=255,
        blank=True,
        validators=[FileExtensionValidator(["vtt"]), validate_descriptions_upload],
        help_text="WebVTT audio descriptions (.vtt): what the video shows, for learners who "
        "cannot see it, read out by their screen reader while the recording plays.",
    )
    descriptions_url = models.CharField(
        "audio descriptions URL",
        max_length=500,
        blank=True,
        help_text="Instead of an upload: the URL or path of a .vtt file.",
    )
    duration_seconds = models.PositiveIntegerField(
        default=0,
        help_text="Length of the recording, against which viewing progress is measured. "
        "Read from an uploaded video itself; type it only for a video given by URL.",
    )
    required_viewing_percent = models.PositiveSmallIntegerField(
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="When the activity requires full viewing: how much of the recording a "
        "learner must play before moving on to the evaluation and post-test.",
    )
    transcript = models.TextField(blank=True)

    def __str__(self):
        return self.video.name or self.url

    def clean(self):
        errors = {}
        if self.video and is_new_upload(self.video):
            # The file's own length, whatever was typed: a duration longer than the video
            # would keep every learner who must watch it from finishing. A file ffprobe
            # cannot read is refused by the video field's validator.
            self.duration_seconds = video_duration_seconds(self.video) or self.duration_seconds
        if self.video and self.url:
            errors["url"] = "Give either an uploaded video or a URL, not both."
        elif not self.video and not self.url:
            # Coded as Django codes a required field left blank, so the importer words it as one.
            errors["url"] = ValidationError("Upload a video or give its URL.", code="blank")
        elif self.url:
            error = url_problem(self.url)
            if error:
                errors["url"] = error
            elif urlsplit(self.url).hostname in YOUTUBE_HOSTS | VIMEO_HOSTS and not self.embed_url:
                errors["url"] = "This YouTube or Vimeo link does not name a video."
        if self.captions and self.captions_url:
            errors["captions_url"] = "Give either uploaded captions or a captions URL, not both."
        elif self.captions_url and url_problem(self.captions_url):
            errors["captions_url"] = url_problem(self.captions_url)
        if self.descriptions and self.descriptions_url:
            errors["descriptions_url"] = (
                "Give either uploaded audio descriptions or their URL, not both."
            )
        elif self.descriptions_url and url_problem(self.descriptions_url):
            errors["descriptions_url"] = url_problem(self.descriptions_url)
        activity = getattr(self, "activity", None)
        if activity is not None and activity.requires_full_viewing:
            if self.embed_url:
                errors["url"] = (
                    "The activity requires full viewing, which can only be measured for a "
                    "video file, not a YouTube or Vimeo page."
                )
            if not self.duration_seconds:
                errors["duration_seconds"] = (
                    "The activity requires full viewing, which is measured against the duration."
                )
        if errors:
            raise ValidationError(errors)

    @property
    def embed_url(self):
        return "" if self.video else video_embed_url(self.url)

    def _file_url(self, kind):
        # The stored name changes with every upload; naming it in the URL keeps browsers
        # from mixing cached byte ranges of a replaced file with the new one.
        version = hashlib.sha256(getattr(self, kind).name.encode()).hexdigest()[:12]
        url = reverse("courses:recording_file", kwargs={"slug": self.activity.slug, "kind": kind})
        return f"{url}?v={version}"

    @property
    def video_src(self):
        if self.video:
            return self._file_url("video")
        return "" if self.embed_url else self.url

    @property
    def video_type(self):
        return media_type(self.video.name or self.url)

    @property
    def captions_src(self):
        if self.captions:
            return self._file_url("captions")
        return self.captions_url

    @property
    def descriptions_src(self):
        if self.descriptions:
            return self._file_url("descriptions")
        return self.descriptions_url

    @property
    def trackable(self):
        """Whether our own player plays it, so viewing progress can be measured."""
        return bool(self.video) or bool(self.url and not self.embed_url)


class Participation(models.Model):
    """A learner's progress through one activity, created when they start it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="participations")
    started_at = models.DateTimeField(default=timezone.now)
    recording_completed_at = models.DateTimeField(null=True, blank=True)
    watched_intervals_ms = models.JSONField(
        default=list,
        blank=True,
        help_text="Stretches of the recording the learner actually played, as merged "
        "[start, end] pairs in milliseconds.",
    )
    furthest_position_ms = models.PositiveIntegerField(default=0)
    resume_position_ms = models.PositiveIntegerField(default=0)
    # The learner's browser clock (ms) on the report that set resume_position_ms, so a
    # report that arrives late cannot move the resume point back.
    resume_reported_at = models.BigIntegerField(null=True, blank=True)
    # Real time already spent on the viewing credited so far (it may run a little ahead of
    # the clock, by the playback grace): new viewing is credited only against time after it.
    viewing_clock = models.DateTimeField(null=True, blank=True)
    # Set by certificates when the learner's certificate is claimed (courses cannot ask it).
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "activity"], name="one_participation_per_activity")
        ]

    def __str__(self):
        return f"{self.user} in {self.activity}"


class ViewingSession(models.Model):
    """One watch page's right to report viewing, opened when its player first plays (and
    again after a long pause), not when the page loads.

    Viewing is credited only through a live session and only as fast as real time since
    the session's previous report allows, so a script cannot produce it faster than a
    learner with the page open could.
    """

    participation = models.ForeignKey(
        Participation, on_delete=models.CASCADE, related_name="viewing_sessions"
    )
    token = models.CharField(max_length=64, unique=True)
    opened_at = models.DateTimeField()
    # The opening counts as the first report: the first real one is measured from it.
    last_report_at = models.DateTimeField()

    def __str__(self):
        return f"Viewing session of {self.participation}"


class ViewingAccommodation(models.Model):
    """Staff's leave for one learner to read the transcript instead of playing a recording
    the activity requires them to watch (e.g. a learner who cannot use the player).

    Granting it meets the viewing requirement from granted_at on; the reason stays on
    record as the evidence for credit that viewing reports are for everyone else.
    """

    participation = models.OneToOneField(
        Participation, on_delete=models.CASCADE, related_name="viewing_accommodation"
    )
    reason = models.TextField(help_text="Why this learner reads the transcript instead.")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField()

    def __str__(self):
        return f"Transcript instead of viewing for {self.participation}"

    def clean(self):
        participation = getattr(self, "participation", None)
        if participation is None:
            return
        activity = participation.activity
        if not activity.requires_full_viewing:
            raise ValidationError({
                "participation": "This activity does not require viewing, so there is "
                "nothing to accommodate."
            })
        recording = getattr(activity, "recording", None)
        if recording is None or not recording.transcript.strip():
            raise ValidationError({
                "participation": "This activity's recording has no transcript to read "
                "instead; add one first."
            })


class CreditExtension(models.Model):
    """Staff's leave for one learner to earn credit for an activity they started after its
    termination date, until 23:59:59 of `until` (provider time); every other learner keeps
    the activity's own window (courses.rules.credit_window).

    A row is the record of who allowed it, when and why: it is never edited or deleted. A
    later, longer extension is a new row; the latest `until` counts.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_extensions"
    )
    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="credit_extensions")
    until = models.DateField(help_text="The last day, inclusive, on which the learner may earn credit.")
    reason = models.TextField(help_text="Why this learner may earn credit after the termination date.")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["granted_at", "pk"]
        indexes = [models.Index(fields=["user", "activity", "until"], name="credit_extension_lookup_idx")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="credit_extension_has_reason")
        ]

    def __str__(self):
        return f"Credit until {self.until} for {self.user} in {self.activity}"


class SavedActivity(models.Model):
    """An activity a learner bookmarked for later."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_activities"
    )
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="saved_by")
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-saved_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "activity"], name="save_an_activity_once")
        ]


class SavedSearch(models.Model):
    """A catalog search a learner named so they can run it again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(max_length=100)
    # The catalog's own query string (q, credit, series, credits), so re-running it is a link.
    query = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        url = reverse("courses:catalog")
        return f"{url}?{self.query}" if self.query else url


def local_date(moment):
    """The provider's calendar date at `moment`."""
    return timezone.localtime(moment, Provider.current().tzinfo).date()


def provider_today(*, at=None):
    """Today's calendar date where the provider is: the only "today" of the rules, the
    tests and the demo data (the machine's date is UTC, a day ahead on a US evening)."""
    return local_date(at or timezone.now())
