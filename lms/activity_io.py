"""The activity JSON format (SPEC §7): import all-or-nothing, export the same shape.

The importer reads the file's JSON shapes (an object, a list, text, a whole number, a date
written YYYY-MM-DD); every limit on the values (lengths, choices, ranges, credit steps,
date rules) is the models' own, checked by full_clean() and reported at the value's path.
"""

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError

from courses.credit_types import AMA, PARTICIPATION
from courses.models import (
    Activity,
    ActivityCredit,
    CommercialSupport,
    CreditType,
    FacultyRole,
    LearningObjective,
    Person,
    Provider,
    Recording,
    Resource,
    Series,
)
from courses.rules import relationship_nature_problem, text_problem
from quizzes.models import Choice, Evaluation, EvaluationQuestion, PostTest, Question
from quizzes.rules import choices_problem

from .publishing import activity_publish_problems

# The activity's own versions of the provider's texts; blank means the provider's.
OVERRIDES = ["accreditation_statement", "hardware_requirements", "contact_email", "disclaimer", "privacy_url"]

DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")
# The format itself nests seven deep (a list, an activity, its post-test, questions, a
# question, choices, a choice); fields others add get room to spare. Deeper data is refused
# before anything reads it, so nothing recurses through it.
MAX_NESTING = 32
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
    """Reads one JSON object, naming the field path in every error. A key the file leaves
    out or sets to null reads as None, which _filled turns into the model's default."""

    def __init__(self, data, path):
        if not isinstance(data, dict):
            raise ActivityImportError(path or "activity", "must be a JSON object")
        self.data = data
        self.path = path

    def name(self, key):
        if key is None:
            return self.path or "activity"
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key, message):
        raise ActivityImportError(self.name(key), message)

    def text(self, key, *, required=False):
        value = self.data.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return None
        if not isinstance(value, str):
            self.fail(key, "must be text")
        problem = text_problem(value)
        if problem:
            self.fail(key, problem)
        if required and not value.strip():
            self.fail(key, "is required")
        return value.strip()

    def date(self, key):
        value = self.data.get(key)
        if value in (None, ""):
            return None
        # fromisoformat alone would also take 20210621, 2021-W25-1 and numbers.
        if isinstance(value, str) and DATE_FORMAT.fullmatch(value):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(key, f"{value!r} is not a date in the form YYYY-MM-DD")

    def integer(self, key):
        value = self.data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(key, "must be a whole number")
        return value

    def decimal(self, key):
        """A finite Decimal from a JSON number or numeric text."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(key, f"{value!r} is not a number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(key, f"{value!r} is not a number")
        if not number.is_finite():
            self.fail(key, f"{value!r} is not a number")
        return number

    def boolean(self, key):
        value = self.data.get(key)
        if value is not None and not isinstance(value, bool):
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

    def naming(self, label):
        """This reader with `label` after its path, e.g. "faculty[3] (Dr Jane Roe)", so an
        error says whose row is wrong. A label that is not printable text is left out."""
        if not isinstance(label, str) or not label.strip() or text_problem(label):
            return self
        return _Reader(self.data, f"{self.path} ({label.strip()})")


def _nesting_problem(data):
    """The path and problem of the first value nested deeper than MAX_NESTING, or None."""
    stack = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            children = [(f"{path}.{_printable(key)}" if path else _printable(key), child)
                        for key, child in value.items()]
        elif isinstance(value, list):
            children = [(f"{path}[{index}]", child) for index, child in enumerate(value)]
        else:
            continue
        if depth > MAX_NESTING:
            return path or "activity", f"is nested more than {MAX_NESTING} levels deep"
        stack.extend((child, child_path, depth + 1) for child_path, child in children)
    return None


def _printable(key):
    # A key the importer never reads may still hold what text_problem refuses; the
    # message naming it must print.
    return repr(key) if text_problem(key) else key


def _filled(instance, **values):
    """`instance` with `values` set; a value the file left out gets the model's default."""
    for name, value in values.items():
        setattr(instance, name, instance._meta.get_field(name).get_default() if value is None else value)
    return instance


def _checked(instance, reader, *, keys=None, exclude=()):
    """`instance` after full_clean(), or an error at the path of its first problem in the
    file. `keys` names the JSON key of a model field where the two differ; `exclude`
    the foreign keys to rows not saved yet."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        name, (first, *_) = next(iter(error.error_dict.items()))
        if name == NON_FIELD_ERRORS:
            reader.fail(None, _wording(first, None))
        reader.fail((keys or {}).get(name, name), _wording(first, instance._meta.get_field(name)))
    return instance


def _wording(error, field):
    """A model's error as the file's other errors read ("[2].title: is required"). Django's
    stock messages are reworded; the limits in them still come from the model."""
    params = error.params or {}
    number = "a whole number" if isinstance(field, models.IntegerField) else "a number"
    if error.code in ("blank", "null"):
        return "is required"
    if error.code == "invalid_choice":
        return "must be one of " + ", ".join(str(value) for value, _ in field.flatchoices)
    if error.code == "min_value":
        return f"must be {number} of at least {params['limit_value']}"
    if error.code == "max_value":
        return f"must be {number} of at most {params['limit_value']}"
    if error.code == "max_whole_digits":
        return f"must be less than {10 ** params['max']}"
    if error.code == "invalid" and isinstance(field, models.EmailField):
        return f"{params['value']!r} is not an e-mail address"
    return error.messages[0]


def activities_import(*, data):
    """Create or update (by slug) the activities in `data`, or change nothing."""
    too_deep = _nesting_problem(data)
    if too_deep:
        raise ActivityImportError(*too_deep)
    items = data if isinstance(data, list) else [data]
    prefix = "[{}]" if isinstance(data, list) else ""
    seen = set()
    activities = []
    with transaction.atomic():
        for index, item in enumerate(items):
            reader = _Reader(item, prefix.format(index))
            try:
                activity = _activity_import(reader)
            except ValidationError as error:
                # The live-activity lock (courses.guards) refused to change the post-test,
                # recording or viewing requirement of an activity learners have started.
                raise ActivityImportError(
                    prefix.format(index) or "activity", " ".join(error.messages)
                ) from None
            if activity.slug in seen:
                reader.fail("slug", f"{activity.slug!r} appears twice in the file")
            seen.add(activity.slug)
            activities.append(activity)
    return activities


def _activity_import(r):
    _provider_id_check(r)
    slug = r.text("slug")
    activity = _filled(
        Activity.objects.filter(slug=slug).first() or Activity(),
        slug=slug,
        title=r.text("title"),
        accme_activity_id=r.text("accme_activity_id"),
        series=_series_import(r),
        status=r.text("status"),
        recorded_on=r.date("recorded_on"),
        release_date=r.date("release_date"),
        reviewed_on=r.date("reviewed_on"),
        termination_date=r.date("termination_date"),
        estimated_minutes=r.integer("estimated_minutes"),
        credits=r.decimal("credits"),
        description=r.text("description"),
        target_audience=r.text("target_audience"),
        requires_full_viewing=r.boolean("requires_full_viewing"),
        **{key: r.text(key) for key in OVERRIDES},
        joint_providers=_joint_providers_import(r),
        joint_providership_statement=r.text("joint_providership_statement"),
        outcome_measures=_text_items(r, "outcome_measures", what="an outcome measure code"),
    )
    _checked(activity, r).save()

    activity.objectives.all().delete()
    for index, text in enumerate(r.items("objectives")):
        if not isinstance(text, str):
            r.fail(f"objectives[{index}]", "must be non-empty text")
        if text_problem(text):
            r.fail(f"objectives[{index}]", text_problem(text))
        objective = LearningObjective(activity=activity, order=index, text=text.strip())
        _checked(objective, r, keys={"text": f"objectives[{index}]"}).save()

    activity.faculty.all().delete()
    for index, _ in enumerate(r.items("faculty")):
        _faculty_import(r.child("faculty", index), activity, index)

    activity.commercial_supports.all().delete()
    for index, _ in enumerate(r.items("commercial_support")):
        c = r.child("commercial_support", index)
        support = _filled(
            CommercialSupport(activity=activity, order=index),
            supporter=c.text("supporter"),
            kind=c.text("kind"),
            amount=c.decimal("amount"),
            description=c.text("description"),
        )
        _checked(support, c).save()

    activity.resources.all().delete()
    for index, _ in enumerate(r.items("resources")):
        res = r.child("resources", index)
        resource = Resource(activity=activity, order=index)
        _checked(_filled(resource, title=res.text("title"), url=res.text("url")), res).save()

    _credit_offers_import(r, activity)

    _recording_import(r, activity)
    _posttest_import(r, activity)
    _evaluation_import(r, activity)
    if activity.status == Activity.Status.PUBLISHED:
        problems = activity_publish_problems(activity=activity)
        if problems:
            r.fail("status", "a published activity needs: " + " ".join(problems))
    return activity


def _provider_id_check(r):
    """A file exported by another accredited provider is refused: its activities are that
    provider's. The file never changes this site's provider settings, so an ID is only
    compared, and a site without one takes any file."""
    exported_by = r.text("accme_provider_id")
    ours = Provider.current().accme_provider_id
    if exported_by and ours and exported_by != ours:
        r.fail(
            "accme_provider_id",
            f"This file was exported by provider ACCME ID {exported_by}; this site is {ours}.",
        )


def _text_items(r, key, *, what):
    """The list `key` of non-empty texts, each stripped; `what` says what each must be."""
    texts = []
    for index, text in enumerate(r.items(key)):
        if not isinstance(text, str) or not text.strip():
            r.fail(f"{key}[{index}]", f"must be {what} (non-empty text)")
        if text_problem(text):
            r.fail(f"{key}[{index}]", text_problem(text))
        texts.append(text.strip())
    return texts


def _joint_providers_import(r):
    return _text_items(r, "joint_providers", what="a name")


def _credit_offers_import(r, activity):
    """The credit types the activity offers beyond AMA credit (its `credits`) and hours of
    participation (which every activity offers), by the types' codes."""
    types = {
        credit_type.code: credit_type
        for credit_type in CreditType.objects.exclude(code__in=[AMA, PARTICIPATION])
    }
    activity.credit_offers.all().delete()
    offered = set()
    for index, _ in enumerate(r.items("credit_offers")):
        c = r.child("credit_offers", index)
        code = c.text("type", required=True)
        if code not in types:
            c.fail("type", f"{code!r} is not a credit type offered this way: use one of {', '.join(types)}")
        if code in offered:
            c.fail("type", f"{code!r} is offered twice")
        offered.add(code)
        offer = _filled(
            ActivityCredit(activity=activity, credit_type=types[code], order=index),
            amount=c.decimal("amount"),
            uan=c.text("uan"),
            moc_practice_areas=_text_items(c, "moc_practice_areas", what="a practice area"),
            moc_credit_types=_text_items(c, "moc_credit_types", what="a board's MOC credit type code"),
        )
        _checked(offer, c, keys={"credit_type": "type"}).save()


def _series_import(r):
    title = r.text("series")
    if not title:
        return None
    series = Series.objects.filter(title=title).first()
    if series is None:
        series = _checked(Series(title=title), r, keys={"title": "series"})
        series.save()
    return series


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
    recording = _filled(
        existing or Recording(),
        activity=activity,
        url=rec.text("url"),
        captions_url=rec.text("captions_url"),
        descriptions_url=rec.text("descriptions_url"),
        duration_seconds=rec.integer("duration_seconds"),
        required_viewing_percent=rec.integer("required_viewing_percent"),
        transcript=rec.text("transcript"),
    )
    for upload, url in (("video", "url"), ("captions", "captions_url"), ("descriptions", "descriptions_url")):
        if getattr(recording, url):
            setattr(recording, upload, "")
    _checked(recording, rec).save()


def _faculty_import(f, activity, order):
    f = f.naming(f.data.get("name"))
    relationships = []
    for index, _ in enumerate(f.items("relationships")):
        rel = f.child("relationships", index)
        relationship = {key: rel.text(key, required=True) for key in ("company", "nature")}
        problem = relationship_nature_problem(relationship["nature"])
        if problem:
            rel.fail("nature", problem)
        relationships.append(relationship)
    # A person is the same person when name, degrees and affiliation all match. Matching
    # on the name alone would rewrite the affiliation printed on that person's earlier
    # activities whenever a later activity lists a new one.
    person = _checked(_filled(Person(), **{key: f.text(key) for key in ("name", "degrees", "affiliation")}), f)
    identity = {"name": person.name, "degrees": person.degrees, "affiliation": person.affiliation}
    person = Person.objects.filter(**identity).order_by("pk").first() or Person.objects.create(**identity)
    role = _filled(
        FacultyRole(activity=activity, person=person, order=order),
        role=f.text("role"),
        relationships=relationships,
        disclosure=f.text("disclosure"),
    )
    _checked(role, f).save()


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
    posttest = _filled(
        existing or PostTest(activity=activity),
        pass_percent=p.decimal("pass_percent"),
        max_attempts=p.integer("max_attempts"),
        minutes_between_attempts=p.integer("minutes_between_attempts"),
        shuffle_questions=p.boolean("shuffle_questions"),
        shuffle_choices=p.boolean("shuffle_choices"),
        **_review_import(p),
    )
    _checked(posttest, p)
    questions = p.items("questions", required=True)
    if not questions:
        p.fail("questions", "a post-test needs at least one question")
    wanted = []
    for index, _ in enumerate(questions):
        q = p.child("questions", index)
        question = _filled(
            Question(posttest=posttest, order=index),
            text=q.text("text"),
            explanation=q.text("explanation"),
            multiple=q.boolean("multiple"),
        )
        _checked(question, q, exclude=["posttest"])
        choices = []
        for choice_index, _ in enumerate(q.items("choices")):
            c = q.child("choices", choice_index)
            choice = _filled(
                Choice(order=choice_index),
                text=c.text("text"),
                is_correct=c.boolean("correct"),
                feedback=c.text("feedback"),
            )
            choices.append(_checked(choice, c, keys={"is_correct": "correct"}, exclude=["question"]))
        problem = choices_problem([(c.text, c.is_correct) for c in choices], multiple=question.multiple)
        if problem:
            q.fail("choices", problem)
        wanted.append((question, choices))

    posttest.save()
    stored_questions = list(posttest.questions.prefetch_related("choices"))
    current = [
        (q.text, q.explanation, q.multiple, [(c.text, c.is_correct) for c in q.choices.all()])
        for q in stored_questions
    ]
    rows = [(q.text, q.explanation, q.multiple, [(c.text, c.is_correct) for c in cs]) for q, cs in wanted]
    if current == rows:
        # Unchanged: keep the rows, which learners' answers may point at. Feedback grades
        # nothing, so it is updated in place.
        stored = [c for q in stored_questions for c in q.choices.all()]
        changed = []
        for choice, new in zip(stored, [c for _, cs in wanted for c in cs], strict=True):
            if choice.feedback != new.feedback:
                choice.feedback = new.feedback
                changed.append(choice)
        Choice.objects.bulk_update(changed, ["feedback"])
        return
    try:
        posttest.questions.all().delete()
    except ProtectedError:
        p.fail("questions", "learners have already answered these questions; they cannot be replaced")
    for question, choices in wanted:
        question.save()
        for choice in choices:
            choice.question = question
        Choice.objects.bulk_create(choices)


def _review_import(p):
    """What a failed and a passed attempt show. Files from before the two settings name
    one "show_answers", read as quizzes' migration 0003 converted stored post-tests."""
    review = {key: p.text(key) for key in ("review_after_fail", "review_after_pass")}
    show_answers = p.text("show_answers")
    if show_answers is None:
        return review
    if show_answers not in SHOW_ANSWERS_REVIEW:
        p.fail("show_answers", f"must be one of {', '.join(SHOW_ANSWERS_REVIEW)}")
    return {
        key: review[key] if review[key] is not None else old
        for key, old in zip(review, SHOW_ANSWERS_REVIEW[show_answers], strict=True)
    }


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
        question = _filled(
            EvaluationQuestion(order=index),
            text=q.text("text"),
            kind=q.text("kind"),
            required=q.boolean("required"),
        )
        wanted.append(_checked(question, q, exclude=["evaluation"]))

    evaluation = existing or Evaluation.objects.create(activity=activity)
    current = [(q.text, q.kind, q.required) for q in evaluation.questions.all()]
    if current == [(q.text, q.kind, q.required) for q in wanted]:
        return
    try:
        evaluation.questions.all().delete()
    except ProtectedError:
        e.fail("questions", "learners have already answered this evaluation; it cannot be replaced")
    for question in wanted:
        question.evaluation = evaluation
    EvaluationQuestion.objects.bulk_create(wanted)


def _iso(value):
    return value.isoformat() if value else None


def activity_export(activity):
    data = {
        "slug": activity.slug,
        "title": activity.title,
        "accme_activity_id": activity.accme_activity_id,
        "accme_provider_id": Provider.current().accme_provider_id,
        "series": activity.series.title if activity.series else None,
        "status": activity.status,
        "recorded_on": _iso(activity.recorded_on),
        "release_date": _iso(activity.release_date),
        "reviewed_on": _iso(activity.reviewed_on),
        "termination_date": _iso(activity.termination_date),
        "estimated_minutes": activity.estimated_minutes,
        "credits": f"{activity.credits:.2f}",
        "credit_offers": [
            {
                "type": offer.credit_type.code,
                "amount": f"{offer.amount:.2f}",
                "uan": offer.uan,
                "moc_practice_areas": offer.moc_practice_areas,
                "moc_credit_types": offer.moc_credit_types,
            }
            for offer in activity.credit_offers.select_related("credit_type")
        ],
        "description": activity.description,
        "target_audience": activity.target_audience,
        **{key: getattr(activity, key) for key in OVERRIDES},
        "joint_providers": activity.joint_providers,
        "joint_providership_statement": activity.joint_providership_statement,
        "outcome_measures": activity.outcome_measures,
        "commercial_support": [
            {
                "supporter": support.supporter,
                "kind": support.kind,
                "amount": None if support.amount is None else f"{support.amount:.2f}",
                "description": support.description,
            }
            for support in activity.commercial_supports.all()
        ],
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
                    "choices": [
                        {"text": c.text, "correct": c.is_correct, "feedback": c.feedback}
                        for c in q.choices.all()
                    ],
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
