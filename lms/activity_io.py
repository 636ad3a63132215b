"""The activity JSON format (SPEC §7): import all-or-nothing, export the same shape."""

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import transaction
from django.db.models import ProtectedError

from courses.models import (
    Activity,
    FacultyRole,
    LearningObjective,
    Person,
    Recording,
    Resource,
    Series,
    validate_credit_amount,
)
from quizzes.models import Choice, Evaluation, EvaluationQuestion, PostTest, Question

DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")
# The largest value a PositiveIntegerField holds on every supported database.
MAX_INTEGER = 2147483647
URL_MAX_LENGTH = 500


class ActivityImportError(Exception):
    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class _Reader:
    """Reads one JSON object, naming the field path in every error."""

    def __init__(self, data, path):
        if not isinstance(data, dict):
            raise ActivityImportError(path or "activity", "must be a JSON object")
        self.data = data
        self.path = path

    def name(self, key):
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key, message):
        raise ActivityImportError(self.name(key), message)

    def text(self, key, *, required=False, default="", max_length=None):
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(key, "is required")
            return default
        if not isinstance(value, str):
            self.fail(key, "must be text")
        if max_length and len(value) > max_length:
            self.fail(key, f"must be at most {max_length} characters")
        return value.strip()

    def date(self, key, *, required=False):
        value = self.data.get(key)
        if value in (None, ""):
            if required:
                self.fail(key, "is required (YYYY-MM-DD)")
            return None
        # fromisoformat alone would also take 20210621, 2021-W25-1 and numbers.
        if isinstance(value, str) and DATE_FORMAT.fullmatch(value):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(key, f"{value!r} is not a date in the form YYYY-MM-DD")

    def integer(self, key, *, default=None, minimum=0, allow_null=False):
        value = self.data.get(key, default)
        if value is None and allow_null:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(key, f"must be a whole number of at least {minimum}")
        if value > MAX_INTEGER:
            self.fail(key, f"must be at most {MAX_INTEGER}")
        return value

    def boolean(self, key, default=False):
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
        return value

    def items(self, key, *, required=False):
        value = self.data.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return []
        if not isinstance(value, list):
            self.fail(key, "must be a list")
        return value

    def child(self, key, index=None):
        path = self.name(key) + (f"[{index}]" if index is not None else "")
        value = self.data.get(key) if index is None else self.data[key][index]
        return _Reader(value, path)

    def url(self, key, *, required=False, allow_path=False):
        value = self.text(key, required=required, max_length=URL_MAX_LENGTH)
        if value and not (allow_path and value.startswith("/")):
            try:
                URLValidator()(value)
            except ValidationError:
                self.fail(key, f"{value!r} is not a valid URL")
        return value


def activities_import(*, data):
    """Create or update (by slug) the activities in `data`, or change nothing."""
    items = data if isinstance(data, list) else [data]
    prefix = "[{}]" if isinstance(data, list) else ""
    seen = set()
    activities = []
    with transaction.atomic():
        for index, item in enumerate(items):
            reader = _Reader(item, prefix.format(index))
            activity = _activity_import(reader)
            if activity.slug in seen:
                reader.fail("slug", f"{activity.slug!r} appears twice in the file")
            seen.add(activity.slug)
            activities.append(activity)
    return activities


def _activity_import(r):
    slug = r.text("slug", required=True, max_length=100)
    try:
        validate_slug(slug)
    except ValidationError:
        r.fail("slug", "may contain only letters, numbers, hyphens and underscores")
    fields = {
        "title": r.text("title", required=True, max_length=300),
        "status": r.text("status", default=Activity.Status.DRAFT),
        "recorded_on": r.date("recorded_on"),
        "release_date": r.date("release_date", required=True),
        "reviewed_on": r.date("reviewed_on"),
        "termination_date": r.date("termination_date", required=True),
        "estimated_minutes": r.integer("estimated_minutes", default=60, minimum=1),
        "credits": _credits(r),
        "description": r.text("description"),
        "requires_full_viewing": r.boolean("requires_full_viewing"),
    }
    if fields["status"] not in Activity.Status.values:
        r.fail("status", f"must be one of {', '.join(Activity.Status.values)}")
    if fields["termination_date"] < fields["release_date"]:
        r.fail("termination_date", "must not be before release_date")
    series_title = r.text("series", max_length=200)
    fields["series"] = Series.objects.get_or_create(title=series_title)[0] if series_title else None

    activity, _ = Activity.objects.update_or_create(slug=slug, defaults=fields)

    objectives = r.items("objectives")
    for index, text in enumerate(objectives):
        if not isinstance(text, str) or not text.strip():
            raise ActivityImportError(r.name(f"objectives[{index}]"), "must be non-empty text")
    activity.objectives.all().delete()
    LearningObjective.objects.bulk_create(
        LearningObjective(activity=activity, order=i, text=t.strip()) for i, t in enumerate(objectives)
    )

    activity.faculty.all().delete()
    for index, _ in enumerate(r.items("faculty")):
        _faculty_import(r.child("faculty", index), activity, index)

    activity.resources.all().delete()
    for index, _ in enumerate(r.items("resources")):
        res = r.child("resources", index)
        Resource.objects.create(
            activity=activity,
            order=index,
            title=res.text("title", required=True, max_length=300),
            url=res.url("url", required=True),
        )

    Recording.objects.filter(activity=activity).delete()
    if r.data.get("recording") is not None:
        rec = r.child("recording")
        Recording.objects.create(
            activity=activity,
            url=rec.url("url", required=True, allow_path=True),
            captions_url=rec.url("captions_url", allow_path=True),
            duration_seconds=rec.integer("duration_seconds", default=0),
            transcript=rec.text("transcript"),
        )

    _posttest_import(r, activity)
    _evaluation_import(r, activity)
    return activity


def _decimal(r, key, value):
    """A finite Decimal from a JSON number or numeric text, or a field error."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        r.fail(key, f"{value!r} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        r.fail(key, f"{value!r} is not a number")
    if not number.is_finite():
        r.fail(key, f"{value!r} is not a number")
    return number


def _credits(r):
    value = r.data.get("credits")
    if value is None:
        r.fail("credits", "is required")
    credits = _decimal(r, "credits", value)
    try:
        validate_credit_amount(credits)
    except ValidationError as error:
        r.fail("credits", error.messages[0])
    if credits >= 1000:
        r.fail("credits", "must be less than 1000")
    return credits


def _faculty_import(f, activity, order):
    role = f.text("role", default=FacultyRole.Role.PRESENTER)
    if role not in FacultyRole.Role.values:
        f.fail("role", f"must be one of {', '.join(FacultyRole.Role.values)}")
    relationships = []
    for index, _ in enumerate(f.items("relationships")):
        rel = f.child("relationships", index)
        relationships.append(
            {"company": rel.text("company", required=True), "nature": rel.text("nature", required=True)}
        )
    # A person is the same person when name, degrees and affiliation all match. Matching
    # on the name alone would rewrite the affiliation printed on that person's earlier
    # activities whenever a later activity lists a new one.
    identity = {
        "name": f.text("name", required=True, max_length=200),
        "degrees": f.text("degrees", max_length=100),
        "affiliation": f.text("affiliation"),
    }
    person = Person.objects.filter(**identity).order_by("pk").first() or Person.objects.create(**identity)
    FacultyRole.objects.create(
        activity=activity,
        person=person,
        role=role,
        order=order,
        relationships=relationships,
        disclosure=f.text("disclosure"),
    )


def _posttest_import(r, activity):
    existing = PostTest.objects.filter(activity=activity).first()
    if r.data.get("posttest") is None:
        if existing:
            try:
                existing.delete()
            except ProtectedError:
                r.fail("posttest", "learners have already taken this post-test; it cannot be removed")
        return
    p = r.child("posttest")
    pass_percent = _decimal(p, "pass_percent", p.data.get("pass_percent", 75))
    if not Decimal(1) <= pass_percent <= Decimal(100):
        p.fail("pass_percent", "must be between 1 and 100")
    if pass_percent != pass_percent.quantize(Decimal("0.01")):
        p.fail("pass_percent", "may have at most two decimal places")
    max_attempts = p.integer("max_attempts", minimum=1, allow_null=True)
    questions = p.items("questions", required=True)
    if not questions:
        p.fail("questions", "a post-test needs at least one question")
    wanted = []
    for index, _ in enumerate(questions):
        q = p.child("questions", index)
        text = q.text("text", required=True)
        explanation = q.text("explanation")
        choices = q.items("choices", required=True)
        if len(choices) < 2:
            q.fail("choices", "a question needs at least two choices")
        rows = []
        for choice_index, _ in enumerate(choices):
            c = q.child("choices", choice_index)
            rows.append((c.text("text", required=True, max_length=500), c.boolean("correct")))
        if not any(correct for _, correct in rows):
            q.fail("choices", "a question needs a choice marked correct")
        wanted.append((text, explanation, rows))

    posttest, _ = PostTest.objects.update_or_create(
        activity=activity, defaults={"pass_percent": pass_percent, "max_attempts": max_attempts}
    )
    current = [
        (q.text, q.explanation, [(c.text, c.is_correct) for c in q.choices.all()])
        for q in posttest.questions.prefetch_related("choices")
    ]
    if current == wanted:
        # Unchanged: keep the rows, which learners' answers may point at.
        return
    try:
        posttest.questions.all().delete()
    except ProtectedError:
        p.fail("questions", "learners have already answered these questions; they cannot be replaced")
    for index, (text, explanation, rows) in enumerate(wanted):
        question = Question.objects.create(
            posttest=posttest, order=index, text=text, explanation=explanation
        )
        Choice.objects.bulk_create(
            Choice(question=question, order=i, text=choice_text, is_correct=correct)
            for i, (choice_text, correct) in enumerate(rows)
        )


def _evaluation_import(r, activity):
    existing = Evaluation.objects.filter(activity=activity).first()
    if r.data.get("evaluation") is None:
        if existing:
            try:
                existing.delete()
            except ProtectedError:
                r.fail("evaluation", "learners have already answered this evaluation; it cannot be removed")
        return
    e = r.child("evaluation")
    wanted = []
    for index, _ in enumerate(e.items("questions", required=True)):
        q = e.child("questions", index)
        text = q.text("text", required=True)
        kind = q.text("kind", required=True)
        if kind not in EvaluationQuestion.Kind.values:
            q.fail("kind", f"must be one of {', '.join(EvaluationQuestion.Kind.values)}")
        wanted.append((text, kind, q.boolean("required", default=True)))

    evaluation = existing or Evaluation.objects.create(activity=activity)
    current = [(q.text, q.kind, q.required) for q in evaluation.questions.all()]
    if current == wanted:
        return
    try:
        evaluation.questions.all().delete()
    except ProtectedError:
        e.fail("questions", "learners have already answered this evaluation; it cannot be replaced")
    EvaluationQuestion.objects.bulk_create(
        EvaluationQuestion(evaluation=evaluation, order=index, text=text, kind=kind, required=required)
        for index, (text, kind, required) in enumerate(wanted)
    )


def _iso(value):
    return value.isoformat() if value else None


def activity_export(activity):
    data = {
        "slug": activity.slug,
        "title": activity.title,
        "series": activity.series.title if activity.series else None,
        "status": activity.status,
        "recorded_on": _iso(activity.recorded_on),
        "release_date": _iso(activity.release_date),
        "reviewed_on": _iso(activity.reviewed_on),
        "termination_date": _iso(activity.termination_date),
        "estimated_minutes": activity.estimated_minutes,
        "credits": f"{activity.credits:.2f}",
        "description": activity.description,
        "objectives": [o.text for o in activity.objectives.all()],
        "faculty": [
            {
                "name": role.person.name,
                "degrees": role.person.degrees,
                "affiliation": role.person.affiliation,
                "role": role.role,
                "relationships": role.relationships,
                "disclosure": role.disclosure,
            }
            for role in activity.faculty.select_related("person")
        ],
        "recording": None,
        "requires_full_viewing": activity.requires_full_viewing,
        "resources": [{"title": r.title, "url": r.url} for r in activity.resources.all()],
        "posttest": None,
        "evaluation": None,
    }
    recording = Recording.objects.filter(activity=activity).first()
    if recording:
        data["recording"] = {
            "url": recording.url,
            "captions_url": recording.captions_url,
            "duration_seconds": recording.duration_seconds,
            "transcript": recording.transcript,
        }
    posttest = PostTest.objects.filter(activity=activity).first()
    if posttest:
        data["posttest"] = {
            "pass_percent": int(posttest.pass_percent)
            if posttest.pass_percent == int(posttest.pass_percent)
            else str(posttest.pass_percent),
            "max_attempts": posttest.max_attempts,
            "questions": [
                {
                    "text": q.text,
                    "explanation": q.explanation,
                    "choices": [{"text": c.text, "correct": c.is_correct} for c in q.choices.all()],
                }
                for q in posttest.questions.prefetch_related("choices")
            ],
        }
    evaluation = Evaluation.objects.filter(activity=activity).first()
    if evaluation:
        data["evaluation"] = {
            "questions": [
                {"text": q.text, "kind": q.kind, "required": q.required}
                for q in evaluation.questions.all()
            ]
        }
    return data


def activities_export(*, activities=None):
    activities = activities if activities is not None else Activity.objects.order_by("release_date", "slug")
    return [activity_export(activity) for activity in activities]
