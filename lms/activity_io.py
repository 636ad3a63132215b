"""The activity JSON format (SPEC §7): import all-or-nothing, export the same shape."""

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import transaction
from django.db.models import ProtectedError

from django.core.validators import validate_email

from courses.models import (
    Activity,
    FacultyRole,
    LearningObjective,
    Person,
    Recording,
    Resource,
    Series,
    activity_date_problems,
    validate_credit_amount,
)
from quizzes.models import (
    Choice,
    Evaluation,
    EvaluationQuestion,
    PostTest,
    Question,
    choices_problem,
)

from .publishing import activity_publish_problems

# The activity's own versions of the provider's texts; blank means the provider's.
OVERRIDES = ["accreditation_statement", "hardware_requirements", "contact_email", "disclaimer", "privacy_url"]

DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")
# The largest value a PositiveIntegerField holds on every supported database.
MAX_INTEGER = 2147483647
URL_MAX_LENGTH = 500
# The old "show_answers" setting as (after a fail, after a pass).
SHOW_ANSWERS_REVIEW = {
    "after_pass": (PostTest.Review.SCORE, PostTest.Review.CORRECT_ANSWERS),
    "after_every_attempt": (PostTest.Review.CORRECT_ANSWERS, PostTest.Review.CORRECT_ANSWERS),
    "never": (PostTest.Review.SCORE, PostTest.Review.WRONG_QUESTIONS),
}


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

    def url(self, key, *, required=False, allow_path=False, max_length=URL_MAX_LENGTH):
        value = self.text(key, required=required, max_length=max_length)
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
        "accme_activity_id": r.text("accme_activity_id", max_length=50),
        "status": r.text("status", default=Activity.Status.DRAFT),
        "recorded_on": r.date("recorded_on"),
        "release_date": r.date("release_date", required=True),
        "reviewed_on": r.date("reviewed_on"),
        "termination_date": r.date("termination_date", required=True),
        "estimated_minutes": r.integer("estimated_minutes", default=60, minimum=1),
        "credits": _credits(r),
        "description": r.text("description"),
        # Activities require viewing unless the file says otherwise (SPEC §3).
        "requires_full_viewing": r.boolean("requires_full_viewing", default=True),
        "accreditation_statement": r.text("accreditation_statement"),
        "hardware_requirements": r.text("hardware_requirements"),
        "contact_email": r.text("contact_email", max_length=254),
        "disclaimer": r.text("disclaimer"),
        "privacy_url": r.url("privacy_url", max_length=200),
    }
    if fields["status"] not in Activity.Status.values:
        r.fail("status", f"must be one of {', '.join(Activity.Status.values)}")
    if fields["contact_email"]:
        try:
            validate_email(fields["contact_email"])
        except ValidationError:
            r.fail("contact_email", f"{fields['contact_email']!r} is not an e-mail address")
    date_problems = activity_date_problems(
        recorded_on=fields["recorded_on"],
        release_date=fields["release_date"],
        reviewed_on=fields["reviewed_on"],
        termination_date=fields["termination_date"],
    )
    for key, message in date_problems.items():
        r.fail(key, message)
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

    _recording_import(r, activity)
    _posttest_import(r, activity)
    _evaluation_import(r, activity)
    if activity.status == Activity.Status.PUBLISHED:
        problems = activity_publish_problems(activity=activity)
        if problems:
            r.fail("status", "a published activity needs: " + " ".join(problems))
    return activity


def _recording_import(r, activity):
    """Create, update or remove the recording. An uploaded video, captions or audio
    descriptions file is kept unless the JSON names a URL to use instead: the JSON cannot
    carry the file itself."""
    existing = Recording.objects.filter(activity=activity).first()
    if r.data.get("recording") is None:
        if existing:
            existing.delete()
        return
    rec = r.child("recording")
    recording = existing or Recording(activity=activity)
    recording.url = rec.url("url", allow_path=True)
    if recording.url:
        recording.video = ""
    elif not recording.video:
        rec.fail("url", "is required")
    recording.captions_url = rec.url("captions_url", allow_path=True)
    if recording.captions_url:
        recording.captions = ""
    recording.descriptions_url = rec.url("descriptions_url", allow_path=True)
    if recording.descriptions_url:
        recording.descriptions = ""
    recording.duration_seconds = rec.integer("duration_seconds", default=0)
    recording.required_viewing_percent = rec.integer("required_viewing_percent", default=90, minimum=1)
    if recording.required_viewing_percent > 100:
        rec.fail("required_viewing_percent", "must be at most 100")
    recording.transcript = rec.text("transcript")
    recording.activity = activity
    try:
        recording.clean()
    except ValidationError as error:
        key, messages = next(iter(error.message_dict.items()))
        rec.fail(key, messages[0])
    recording.save()


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
    settings = {
        "pass_percent": pass_percent,
        "max_attempts": max_attempts,
        "minutes_between_attempts": p.integer("minutes_between_attempts", default=0),
        "shuffle_questions": p.boolean("shuffle_questions"),
        "shuffle_choices": p.boolean("shuffle_choices"),
        **_review_import(p),
    }
    questions = p.items("questions", required=True)
    if not questions:
        p.fail("questions", "a post-test needs at least one question")
    wanted = []
    for index, _ in enumerate(questions):
        q = p.child("questions", index)
        text = q.text("text", required=True)
        explanation = q.text("explanation")
        multiple = q.boolean("multiple")
        rows = []
        for choice_index, _ in enumerate(q.items("choices", required=True)):
            c = q.child("choices", choice_index)
            rows.append((c.text("text", required=True, max_length=500), c.boolean("correct")))
        problem = choices_problem(rows, multiple=multiple)
        if problem:
            q.fail("choices", problem)
        wanted.append((text, explanation, multiple, rows))

    posttest, _ = PostTest.objects.update_or_create(activity=activity, defaults=settings)
    current = [
        (q.text, q.explanation, q.multiple, [(c.text, c.is_correct) for c in q.choices.all()])
        for q in posttest.questions.prefetch_related("choices")
    ]
    if current == wanted:
        # Unchanged: keep the rows, which learners' answers may point at.
        return
    try:
        posttest.questions.all().delete()
    except ProtectedError:
        p.fail("questions", "learners have already answered these questions; they cannot be replaced")
    for index, (text, explanation, multiple, rows) in enumerate(wanted):
        question = Question.objects.create(
            posttest=posttest, order=index, text=text, explanation=explanation, multiple=multiple
        )
        Choice.objects.bulk_create(
            Choice(question=question, order=i, text=choice_text, is_correct=correct)
            for i, (choice_text, correct) in enumerate(rows)
        )


def _review_import(p):
    """What a failed and a passed attempt show. Files from before the two settings name
    one "show_answers", read as quizzes' migration 0003 converted stored post-tests."""
    after_fail, after_pass = PostTest.Review.SCORE, PostTest.Review.CORRECT_ANSWERS
    if p.data.get("show_answers") is not None:
        show_answers = p.text("show_answers")
        if show_answers not in SHOW_ANSWERS_REVIEW:
            p.fail("show_answers", f"must be one of {', '.join(SHOW_ANSWERS_REVIEW)}")
        after_fail, after_pass = SHOW_ANSWERS_REVIEW[show_answers]
    review = {}
    for key, default in (("review_after_fail", after_fail), ("review_after_pass", after_pass)):
        review[key] = p.text(key, default=default)
        if review[key] not in PostTest.Review.values:
            p.fail(key, f"must be one of {', '.join(PostTest.Review.values)}")
    return review


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
        "accme_activity_id": activity.accme_activity_id,
        "series": activity.series.title if activity.series else None,
        "status": activity.status,
        "recorded_on": _iso(activity.recorded_on),
        "release_date": _iso(activity.release_date),
        "reviewed_on": _iso(activity.reviewed_on),
        "termination_date": _iso(activity.termination_date),
        "estimated_minutes": activity.estimated_minutes,
        "credits": f"{activity.credits:.2f}",
        "description": activity.description,
        **{key: getattr(activity, key) for key in OVERRIDES},
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
            "descriptions_url": recording.descriptions_url,
            "duration_seconds": recording.duration_seconds,
            "required_viewing_percent": recording.required_viewing_percent,
            "transcript": recording.transcript,
        }
    posttest = PostTest.objects.filter(activity=activity).first()
    if posttest:
        data["posttest"] = {
            "pass_percent": int(posttest.pass_percent)
            if posttest.pass_percent == int(posttest.pass_percent)
            else str(posttest.pass_percent),
            "max_attempts": posttest.max_attempts,
            "minutes_between_attempts": posttest.minutes_between_attempts,
            "shuffle_questions": posttest.shuffle_questions,
            "shuffle_choices": posttest.shuffle_choices,
            "review_after_fail": posttest.review_after_fail,
            "review_after_pass": posttest.review_after_pass,
            "questions": [
                {
                    "text": q.text,
                    "explanation": q.explanation,
                    "multiple": q.multiple,
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
