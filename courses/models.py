import contextlib
import contextvars
import datetime
import hashlib
import math
import re
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePosixPath
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    FileExtensionValidator,
    MaxValueValidator,
    MinValueValidator,
    URLValidator,
)
from django.db import models
from django.urls import reverse
from django.utils import timezone

CREDIT_STEP = Decimal("0.25")
# An enduring material is reviewed at least every three years (SPEC §2).
REVIEW_CYCLE_YEARS = 3
NO_RELATIONSHIPS = "has no relevant financial relationships with ineligible companies."
MITIGATION_STATEMENT = (
    "All relevant financial relationships listed above have been mitigated before the "
    "activity was released."
)


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


def ama_credits(credits):
    """An amount of AMA credit as the AMA words it: "1 AMA PRA Category 1 Credit™",
    "0.75 AMA PRA Category 1 Credits™". The one wording of pages, PDFs and exports (the
    template filter `ama_credits` in courses/templatetags/credits.py calls it)."""
    noun = "Credit" if Decimal(credits) == 1 else "Credits"
    return f"{format_credits(credits)} AMA PRA Category 1 {noun}™"


def hours_of_participation(hours):
    """"1 hour of participation", "1.5 hours of participation": what a Certificate of
    Participation records (filter `participation_hours`)."""
    noun = "hour" if Decimal(hours) == 1 else "hours"
    return f"{format_credits(hours)} {noun} of participation"


def credit_designation_statement(*, provider_name, credits):
    return (
        f"{provider_name} designates this enduring material for a maximum of "
        f"{ama_credits(credits)}. Physicians should claim only the credit "
        "commensurate with the extent of their participation in the activity."
    )


def format_credits(credits):
    """1.00 → "1", 1.50 → "1.5", 0.25 → "0.25"."""
    text = f"{Decimal(credits):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


class HttpsURLField(models.URLField):
    """A URL field whose form reads a bare "example.org/page" as https, as Django 6 will."""

    def formfield(self, **kwargs):
        return super().formfield(**{"assume_scheme": "https", **kwargs})


class Provider(models.Model):
    """The accredited provider: texts set once and printed on every activity."""

    name = models.CharField(max_length=200, default="Example Medical School")
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
        stored (or the defaults, before staff have saved any)."""
        return _provider_in_use.get() or cls.objects.order_by("pk").first() or cls()

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.time_zone)

    def get_accreditation_statement(self):
        return self.accreditation_statement or (
            f"{self.name} is accredited by the Accreditation Council for Continuing "
            "Medical Education (ACCME) to provide continuing medical education for physicians."
        )


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


class CreditWindow(models.TextChoices):
    """Where an activity stands, for credit, at a given moment."""

    DRAFT = "draft", "This activity is not published."
    NOT_YET_RELEASED = "not_yet_released", "This activity is not released yet."
    OPEN = "open", "Credit is available."
    EXPIRED = "expired", "Credit is no longer available for this activity."
    ARCHIVED = "archived", "This activity has been archived."


class ActivityQuerySet(models.QuerySet):
    def visible(self, *, at=None, provider=None):
        """Published activities released by `at` (provider time), for the catalog."""
        today = provider_today(at=at, provider=provider)
        return self.filter(status=Activity.Status.PUBLISHED, release_date__lte=today)

    def in_window(self, window, *, at=None, provider=None):
        """Visible activities whose activity_credit_window is OPEN or EXPIRED at `at`: the
        same rule as a database filter, so the catalog can filter and paginate on it."""
        today = provider_today(at=at, provider=provider)
        visible = self.visible(at=at, provider=provider)
        if window == CreditWindow.OPEN:
            return visible.filter(termination_date__gte=today)
        if window == CreditWindow.EXPIRED:
            return visible.filter(termination_date__lt=today)
        raise ValueError(f"Only open or expired activities are in the catalog, not {window!r}.")


class Activity(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

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
    estimated_minutes = models.PositiveIntegerField(default=60)
    credits = models.DecimalField(
        max_digits=5, decimal_places=2, validators=[validate_credit_amount]
    )
    description = models.TextField(blank=True)
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
        errors = activity_date_problems(
            recorded_on=self.recorded_on,
            release_date=self.release_date,
            reviewed_on=self.reviewed_on,
            termination_date=self.termination_date,
        )
        if errors:
            raise ValidationError(errors)

    def credit_window(self, *, at=None):
        return activity_credit_window(self, at=at)

    def designation_statement(self, provider=None):
        provider = provider or Provider.current()
        return credit_designation_statement(provider_name=provider.name, credits=self.credits)

    @property
    def credits_display(self):
        return format_credits(self.credits)

    def texts(self, provider=None):
        """The provider-wide texts as this activity prints them: its own where staff
        overrode them, the provider's otherwise."""
        provider = provider or Provider.current()
        return ActivityTexts(
            accreditation_statement=self.accreditation_statement
            or provider.get_accreditation_statement(),
            designation_statement=self.designation_statement(provider),
            hardware_requirements=self.hardware_requirements or provider.hardware_requirements,
            contact_email=self.contact_email or provider.contact_email,
            disclaimer=self.disclaimer or provider.disclaimer,
            privacy_url=self.privacy_url or provider.privacy_url,
        )

    def method_of_participation(self):
        """The steps and the minimum performance level, generated from the activity's
        settings so the learner knows them before starting."""
        # The post-test lives in quizzes, which courses may not import; the reverse
        # relation is there whenever quizzes is installed (and is select_related by pages).
        posttest = getattr(self, "posttest", None)
        steps = []
        recording = getattr(self, "recording", None)
        # Where staff turned viewing off nothing checks it, so nothing may claim it is asked.
        optional = ""
        if not self.requires_full_viewing:
            optional = "You may watch the recording as much as you find useful. " if recording else ""
        elif recording is not None:
            steps.append(f"watch at least {recording.required_viewing_percent}% of the recording")
        else:
            steps.append("watch the recording")
        steps.append("complete the activity evaluation")
        if posttest is not None:
            steps.append(f"score at least {posttest.pass_percent_display}% on the post-test")
        steps.append("claim your credit or confirm your participation")
        sentence = ", ".join(steps[:-1]) + ", and " + steps[-1]
        return (
            f"{optional}To earn credit, {sentence} by the termination date. Your certificate "
            "is then available to download."
        )

    def disclosure_statement(self):
        """One line per person in control of content, and the mitigation statement when
        anyone has a relevant financial relationship (SPEC §2)."""
        lines = [role.disclosure_text for role in self.faculty.all()]
        has_relationships = any(role.relationships for role in self.faculty.all())
        return Disclosure(lines=lines, mitigation=MITIGATION_STATEMENT if has_relationships else "")


@dataclass(frozen=True)
class ActivityTexts:
    accreditation_statement: str
    designation_statement: str
    hardware_requirements: str
    contact_email: str
    disclaimer: str
    privacy_url: str


@dataclass(frozen=True)
class Disclosure:
    lines: list
    mitigation: str


def review_deadline(*, release_date, reviewed_on=None):
    """The latest termination date the 3-year review rule allows."""
    start = reviewed_on or release_date
    try:
        return start.replace(year=start.year + REVIEW_CYCLE_YEARS)
    except ValueError:  # 29 February
        return start.replace(year=start.year + REVIEW_CYCLE_YEARS, day=28)


def activity_date_problems(*, recorded_on, release_date, reviewed_on, termination_date):
    """What is wrong with an activity's dates, as {field: message}; empty when nothing."""
    errors = {}
    if not release_date or not termination_date:
        return errors
    if recorded_on and recorded_on > release_date:
        errors["recorded_on"] = "The recording date must not be after the release date."
    if reviewed_on and reviewed_on < release_date:
        errors["reviewed_on"] = "The most recent review must not be before the release date."
    if termination_date < release_date:
        errors["termination_date"] = "The termination date must not be before the release date."
    elif reviewed_on and reviewed_on > termination_date:
        errors["reviewed_on"] = "The most recent review must not be after the termination date."
    else:
        deadline = review_deadline(release_date=release_date, reviewed_on=reviewed_on)
        if termination_date > deadline:
            since = "most recent review" if reviewed_on else "release"
            errors["termination_date"] = (
                f"An enduring material must be reviewed at least every {REVIEW_CYCLE_YEARS} "
                f"years: the termination date must be on or before {deadline.isoformat()}, "
                f"{REVIEW_CYCLE_YEARS} years after the {since}."
            )
    return errors


def objectives_problems(texts):
    if not [text for text in texts if text.strip()]:
        return ["The activity needs at least one learning objective."]
    return []


def faculty_problems(rows):
    """`rows` are (person's name, disclosure on file) of the people in control of content."""
    if not rows:
        return ["The activity needs at least one faculty member or planner."]
    return [
        f"{name} has no disclosure on file: record their relevant financial relationships "
        "(or that there are none) in the disclosure field."
        for name, disclosure in rows
        if not disclosure.strip()
    ]


def activity_content_problems(*, activity):
    """What in courses keeps `activity` from being published, as messages for staff."""
    return objectives_problems([o.text for o in activity.objectives.all()]) + faculty_problems(
        [(role.person.name, role.disclosure) for role in activity.faculty.select_related("person")]
    )


def provider_today(*, at=None, provider=None):
    """Today's calendar date where the provider is: the only "today" of the rules, the
    tests and the demo data (the machine's date is UTC, a day ahead on a US evening)."""
    return local_date(at or timezone.now(), provider=provider)


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


def validate_relationships(value):
    if not isinstance(value, list) or not all(
        isinstance(item, dict)
        and set(item) == {"company", "nature"}
        and all(isinstance(item[key], str) and item[key].strip() for key in item)
        for item in value
    ):
        raise ValidationError(
            'List each relationship as {"company": "…", "nature": "…"}, both filled in; [] for none.'
        )


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
        validators=[validate_relationships],
        help_text='Relevant financial relationships with ineligible companies, e.g. '
        '[{"company": "Acme Pharma", "nature": "consultant"}]. [] means none.',
    )
    disclosure = models.TextField(
        "disclosure on file",
        blank=True,
        help_text="The disclosure this person gave for this activity, as kept on file. "
        "Required before publishing; learners see the statement generated from the relationships.",
    )

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return f"{self.person} ({self.get_role_display()})"

    @property
    def disclosure_text(self):
        """Generated from the relationships, never typed: the field `disclosure` is the
        signed disclosure staff keep on file, which publishing requires."""
        name = str(self.person)
        if not self.relationships:
            return f"{name} {NO_RELATIONSHIPS}"
        items = "; ".join(f"{item['company']} ({item['nature']})" for item in self.relationships)
        return f"{name} has relevant financial relationships with: {items}."


class Resource(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="resources")
    order = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=300)
    url = HttpsURLField(max_length=500)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.title


VIDEO_EXTENSIONS = ["mp4", "m4v", "webm"]
MEDIA_TYPES = {"mp4": "video/mp4", "m4v": "video/mp4", "webm": "video/webm", "vtt": "text/vtt"}
CAPTIONS_MAX_BYTES = 2 * 1024 * 1024
YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be",
                 "youtube-nocookie.com", "www.youtube-nocookie.com"}
VIMEO_HOSTS = {"vimeo.com", "www.vimeo.com", "player.vimeo.com"}
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
WEBVTT_SIGNATURE = re.compile(r"WEBVTT(?:[ \t\r\n]|$)")


def _is_new_upload(value):
    # A file already in storage passed these checks when it was uploaded; re-reading it
    # on every save would cost a storage round trip for nothing.
    return not getattr(value, "_committed", True)


def _file_head(value, size):
    value.seek(0)
    head = value.read(size)
    value.seek(0)
    return head


def validate_video_upload(value):
    if not _is_new_upload(value):
        return
    limit_mb = settings.RECORDING_MAX_UPLOAD_MB
    if value.size > limit_mb * 1024 * 1024:
        # Rounded up, so a file just over the limit never reads as equal to it.
        size_mb = math.ceil(value.size * 10 / (1024 * 1024)) / 10
        raise ValidationError(
            f"This video is {size_mb} MB; the largest accepted is {limit_mb} MB."
        )
    head = _file_head(value, 12)
    if head[4:8] != b"ftyp" and not head.startswith(b"\x1a\x45\xdf\xa3"):
        raise ValidationError(
            "This file is not an MP4 or WebM video. Upload an .mp4, .m4v or .webm file."
        )


def _validate_webvtt_upload(value, *, noun):
    if not _is_new_upload(value):
        return
    if value.size > CAPTIONS_MAX_BYTES:
        raise ValidationError(
            f"This {noun.lower()} file is larger than {CAPTIONS_MAX_BYTES // (1024 * 1024)} MB."
        )
    try:
        text = _file_head(value, CAPTIONS_MAX_BYTES).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"{noun} must be a WebVTT file saved as UTF-8 text.") from None
    if not WEBVTT_SIGNATURE.match(text):
        raise ValidationError(
            f"{noun} must be a WebVTT file: its first line must start with WEBVTT."
        )


def validate_captions_upload(value):
    _validate_webvtt_upload(value, noun="Captions")


def validate_descriptions_upload(value):
    _validate_webvtt_upload(value, noun="Audio descriptions")


def video_embed_url(url):
    """The privacy-friendly player URL for a YouTube or Vimeo link, or "" for any other URL."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    segments = [segment for segment in parts.path.split("/") if segment]
    query = parse_qs(parts.query)
    if host in YOUTUBE_HOSTS:
        if host == "youtu.be":
            candidate = segments[0] if segments else ""
        elif segments[:1] == ["watch"]:
            candidate = query.get("v", [""])[0]
        elif len(segments) >= 2 and segments[0] in ("embed", "shorts", "live"):
            candidate = segments[1]
        else:
            candidate = ""
        if YOUTUBE_ID.fullmatch(candidate):
            return f"https://www.youtube-nocookie.com/embed/{candidate}?rel=0"
    if host in VIMEO_HOSTS:
        numbers = [index for index, segment in enumerate(segments) if segment.isdigit()]
        if numbers:
            index = numbers[0]
            # Unlisted videos carry a privacy hash, either after the id or as ?h=.
            privacy_hash = query.get("h", [""])[0] or (
                segments[index + 1] if index + 1 < len(segments) else ""
            )
            suffix = f"&h={privacy_hash}" if re.fullmatch(r"[0-9a-f]+", privacy_hash) else ""
            return f"https://player.vimeo.com/video/{segments[index]}?dnt=1{suffix}"
    return ""


def media_type(name):
    return MEDIA_TYPES.get(PurePosixPath(urlsplit(name).path).suffix.lower().lstrip("."), "")


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
        default=0, help_text="Length of the recording. Viewing progress is measured against it."
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
        if self.video and self.url:
            errors["url"] = "Give either an uploaded video or a URL, not both."
        elif not self.video and not self.url:
            errors["url"] = "Upload a video or give its URL."
        elif self.url:
            error = _url_error(self.url)
            if error:
                errors["url"] = error
            elif urlsplit(self.url).hostname in YOUTUBE_HOSTS | VIMEO_HOSTS and not self.embed_url:
                errors["url"] = "This YouTube or Vimeo link does not name a video."
        if self.captions and self.captions_url:
            errors["captions_url"] = "Give either uploaded captions or a captions URL, not both."
        elif self.captions_url and _url_error(self.captions_url):
            errors["captions_url"] = _url_error(self.captions_url)
        if self.descriptions and self.descriptions_url:
            errors["descriptions_url"] = (
                "Give either uploaded audio descriptions or their URL, not both."
            )
        elif self.descriptions_url and _url_error(self.descriptions_url):
            errors["descriptions_url"] = _url_error(self.descriptions_url)
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


def _url_error(value):
    """Why `value` is neither an http(s) URL nor a path on this site, or ""."""
    if value.startswith("/") and not value.startswith("//"):
        return ""
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return "Give an http(s) URL or a path on this site starting with /."
    return ""


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
    """One watch page's right to report viewing, opened when the page loads.

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


def merged_intervals(intervals):
    """The union of [start, end] pairs, sorted, with overlapping or touching pairs joined.

    Pairs that merely come close stay apart: joining across gaps would count unwatched
    time, however small each gap.
    """
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def intervals_total(intervals, *, limit=None):
    return sum(
        max(0, (end if limit is None else min(end, limit)) - start) for start, end in intervals
    )


def intervals_uncovered(intervals, covered):
    """The parts of merged `intervals` that merged `covered` leaves out."""
    uncovered = []
    for start, end in intervals:
        for covered_start, covered_end in covered:
            if covered_end <= start or covered_start >= end:
                continue
            if covered_start > start:
                uncovered.append([start, covered_start])
            start = covered_end
            if start >= end:
                break
        if start < end:
            uncovered.append([start, end])
    return uncovered


# The speeds the player offers (static/js/watch.js holds it to the fastest); watched time
# cannot grow faster than the fastest.
PLAYBACK_RATES = (0.75, 1, 1.25, 1.5, 1.75, 2)
MAX_PLAYBACK_RATE = max(PLAYBACK_RATES)
# How far credited viewing may run ahead of real time, for timers and requests in flight.
# It is one lead for the learner's participation, repaid by later reports, so neither
# more reports nor more sessions make it bigger.
PLAYBACK_GRACE_MS = 10_000
# A session without a report for this long is closed; the page then opens a new one.
VIEWING_SESSION_IDLE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class ViewingCredit:
    intervals: list
    clock: datetime.datetime


def viewing_credit(*, claimed, watched, at, since, clock):
    """What a report may add to `watched` (merged ms pairs), and the viewing clock after it.

    `claimed` is the report's merged stretches, `since` its session's previous report (or
    opening) and `clock` the participation's viewing clock. The new stretches may take the
    real time after both, at the fastest playback rate, plus what is left of the grace
    lead: the clock then advances by the time they took. The new stretches are taken from
    the start of the recording on, and what does not fit stays for a later report (the
    player sends everything again), so an honest viewer whose report runs a little ahead
    of the server's clock loses nothing, while a forged one never gets ahead of time.
    """
    base = max(since, clock or since)
    allowed_ms = math.floor((at - base).total_seconds() * 1000 * MAX_PLAYBACK_RATE) + PLAYBACK_GRACE_MS
    credited = []
    for start, end in intervals_uncovered(claimed, watched):
        if allowed_ms <= 0:
            break
        end = min(end, start + allowed_ms)
        credited.append([start, end])
        allowed_ms -= end - start
    if not credited:
        return ViewingCredit(intervals=[], clock=clock)
    used = datetime.timedelta(milliseconds=intervals_total(credited) / MAX_PLAYBACK_RATE)
    return ViewingCredit(intervals=credited, clock=base + used)


def viewing_session_live(*, session, at):
    return at - session.last_report_at <= VIEWING_SESSION_IDLE


def format_duration(seconds):
    """75 → "1 min 15 s", 3600 → "1 h", 0 → "0 s"."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    if secs and not hours:
        parts.append(f"{secs} s")
    return " ".join(parts) or "0 s"


# Resuming this close to the end would show the learner a finished video.
RESUME_END_MARGIN_MS = 3000


@dataclass(frozen=True)
class Viewing:
    """How much of a recording one learner has played, in whole milliseconds so the
    threshold comparison is exact."""

    watched_ms: int
    duration_ms: int
    required_percent: int
    resume_ms: int
    required: bool

    @property
    def reached(self):
        return self.duration_ms > 0 and self.watched_ms * 100 >= self.required_percent * self.duration_ms

    @property
    def percent(self):
        # Rounded down, so 89.9% never shows as a met 90%.
        return self.watched_ms * 100 // self.duration_ms if self.duration_ms else 0

    @property
    def remaining_seconds(self):
        needed_ms = -(-self.required_percent * self.duration_ms // 100) - self.watched_ms
        return max(0, -(-needed_ms // 1000))

    @property
    def resume_seconds(self):
        if self.duration_ms and self.resume_ms >= self.duration_ms - RESUME_END_MARGIN_MS:
            return 0
        return self.resume_ms / 1000

    @property
    def status(self):
        if not self.duration_ms:
            return "Your place in the recording is saved as you watch."
        watched = (
            f"You have watched {format_duration(round(self.watched_ms / 1000))} of "
            f"{format_duration(self.duration_ms // 1000)} ({self.percent}%)."
        )
        if not self.required:
            return watched
        if self.reached:
            return f"{watched} That is enough to continue."
        return (
            f"{watched} Watch {format_duration(self.remaining_seconds)} more to reach "
            f"{self.required_percent}% and continue."
        )

    def as_json(self):
        return {
            "watched_seconds": self.watched_ms / 1000,
            "duration_seconds": self.duration_ms / 1000,
            "percent": self.percent,
            "required_percent": self.required_percent,
            "requirement_met": self.reached or not self.required,
            "remaining_seconds": self.remaining_seconds,
            "status": self.status,
        }


def recording_viewing(*, participation, activity):
    """What `participation`'s learner has watched of `activity`'s recording."""
    recording = getattr(activity, "recording", None)
    duration_ms = recording.duration_seconds * 1000 if recording and recording.trackable else 0
    return Viewing(
        watched_ms=intervals_total(participation.watched_intervals_ms, limit=duration_ms),
        duration_ms=duration_ms,
        required_percent=recording.required_viewing_percent if recording else 100,
        resume_ms=participation.resume_position_ms,
        required=activity.requires_full_viewing,
    )


def viewing_accommodation_of(*, participation):
    try:
        return participation.viewing_accommodation
    except ViewingAccommodation.DoesNotExist:
        return None


def recording_requirement_met_at(*, participation):
    """When the learner met the viewing requirement of an activity that requires full
    viewing, or None while they have not.

    They meet it by playing the recording's required share (90% unless staff set
    another), measured against its current duration, and recording_completed_at dates
    when they did; or by a viewing accommodation, from when staff granted it. Whichever
    came first counts, so granting one later never moves a completion date.
    """
    moments = []
    if participation.recording_completed_at is not None and recording_viewing(
        participation=participation, activity=participation.activity
    ).reached:
        moments.append(participation.recording_completed_at)
    accommodation = viewing_accommodation_of(participation=participation)
    if accommodation is not None:
        moments.append(accommodation.granted_at)
    return min(moments, default=None)


def recording_requirement_met(*, participation):
    """Whether the learner may go on past the recording: always where the activity does
    not require full viewing, otherwise once recording_requirement_met_at dates it."""
    if not participation.activity.requires_full_viewing:
        return True
    return recording_requirement_met_at(participation=participation) is not None


def local_date(moment, *, provider=None):
    """The provider's calendar date at `moment`."""
    provider = provider or Provider.current()
    return timezone.localtime(moment, provider.tzinfo).date()

