"""The staff authoring workspace under /staff/authoring/ (SPEC §5, issue 16).

An activity is built in steps: details → people and disclosures → recording → post-test
(lms/authoring_posttest.py) → evaluation → review and publish. Each step saves its own
fields in one transaction, or nothing when any of them is wrong; the step list says what
is still missing in each.
"""

import re
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import ProtectedError
from django.forms.utils import ErrorDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from courses.models import Activity, FacultyRole, LearningObjective, Person, Recording, provider_today
from courses.rules import (
    activity_date_problems,
    credit_offer_of,
    credit_offer_problems,
    credit_window,
    objectives_problems,
)
from courses.search import activity_search_refresh
from courses.selectors import activity_assessment_locked, activity_for_learner
from courses.views import activity_page_context
from quizzes.models import Evaluation, EvaluationQuestion
from quizzes.rules import evaluation_problems, posttest_problems
from quizzes.services import evaluation_default

from .authoring_forms import (
    ActivitySearchForm,
    CommercialSupportFormSet,
    CreditOfferFormSet,
    DetailsForm,
    DuplicateForm,
    EvaluationQuestionFormSet,
    PersonFormSet,
    RecordingForm,
    ResourceFormSet,
)
from .publishing import (
    activities_failing_checks,
    activity_archive,
    activity_duplicate,
    activity_duplicate_defaults,
    activity_publish,
    activity_publish_problems,
    activity_publish_warnings,
    activity_unpublish,
)
from .roles import authoring_required
from .templatetags.learner_ui import form_error_links

ACTIVITIES_PER_PAGE = 25
NEW_PEOPLE_ROWS = 2

STEPS = [
    ("details", "Details", "staff:authoring_details"),
    ("people", "People and disclosures", "staff:authoring_people"),
    ("recording", "Recording", "staff:authoring_recording"),
    ("posttest", "Post-test", "staff:authoring_posttest"),
    ("evaluation", "Evaluation", "staff:authoring_evaluation"),
    ("review", "Review and publish", "staff:authoring_review"),
]
NEXT_STEP = {name: STEPS[index + 1][2] for index, (name, _, _) in enumerate(STEPS[:-1])}


@dataclass
class Step:
    name: str
    label: str
    url: str
    missing: list = field(default_factory=list)
    current: bool = False

    @property
    def done(self):
        return not self.missing


def _details_missing(activity):
    dates = activity_date_problems(
        recorded_on=activity.recorded_on,
        release_date=activity.release_date,
        reviewed_on=activity.reviewed_on,
        termination_date=activity.termination_date,
    )
    return (
        list(dates.values())
        + objectives_problems([o.text for o in activity.objectives.all()])
        + credit_offer_problems(
            [credit_offer_of(row) for row in activity.credit_offers.select_related("credit_type")]
        )
    )


def _people_missing(activity):
    if not activity.faculty.exists():
        return ["Add the people in control of content: faculty, planners and reviewers."]
    return []


def _recording_missing(activity):
    recording = Recording.objects.filter(activity=activity).first()
    if recording is None:
        return ["Upload the recording or give its URL."]
    if activity.requires_full_viewing and not recording.duration_seconds:
        return ["Give the recording's duration: learners' viewing is measured against it."]
    return []


def _review_missing(activity):
    if activity.status == Activity.Status.DRAFT:
        return ["Publish the activity when every other step is done."]
    return []


MISSING = {
    "details": _details_missing,
    "people": _people_missing,
    "recording": _recording_missing,
    "posttest": lambda activity: posttest_problems(activity=activity),
    "evaluation": lambda activity: evaluation_problems(activity=activity),
    "review": _review_missing,
}


def authoring_steps(*, activity, current):
    """The workspace's steps for `activity`: each with its label, URL, what is still
    missing in it (done when nothing is) and whether it is the `current` one."""
    return [
        Step(
            name=name,
            label=label,
            url=reverse(url_name, kwargs={"slug": activity.slug}),
            missing=MISSING[name](activity),
            current=name == current,
        )
        for name, label, url_name in STEPS
    ]


def _activity(slug):
    return get_object_or_404(Activity.objects.select_related("series"), slug=slug)


def _after_save(request, activity, step):
    """Where "Save and continue" and "Save" go after a successful save."""
    messages.success(request, "Saved.")
    if "continue" in request.POST:
        return redirect(NEXT_STEP[step], slug=activity.slug)
    return redirect(f"staff:authoring_{step}", slug=activity.slug)


def _added_row(request, pattern):
    """The prefix of the formset whose "Add …" button was pressed, or None.

    The button is named `add` with the formset's prefix as its value (matching the regex
    `pattern`); the step re-renders the posted data with one more empty row of that
    formset, saving nothing.
    """
    prefix = request.POST.get("add", "")
    return prefix if re.fullmatch(pattern, prefix) else None


def _with_extra_row(data, prefix):
    data = data.copy()
    key = f"{prefix}-TOTAL_FORMS"
    try:
        total = int(data.get(key) or 0)
    except ValueError:
        total = 0
    data[key] = str(total + 1)
    return data


def _focus_new_row(formset, prefix):
    """Put the keyboard in the first field of the row just added to `prefix`."""
    for candidate in [formset, *(getattr(form, "relationships", None) for form in formset.forms)]:
        if candidate is not None and candidate.prefix == prefix and candidate.forms:
            row = candidate.forms[-1]
            first = next(name for name, field in row.fields.items() if not field.widget.is_hidden)
            row.fields[first].widget.attrs["autofocus"] = True


def _hold_judgement(*forms_and_formsets):
    """Bound forms shown again after an "Add …" button: what was typed stays in the
    fields, without errors for rows staff have not finished yet."""
    for item in forms_and_formsets:
        if hasattr(item, "forms"):
            item._errors, item._non_form_errors = [], item.error_class()
            _hold_judgement(*item.forms)
        else:
            item._errors, item.cleaned_data = ErrorDict(), {}
            if hasattr(item, "relationships"):
                _hold_judgement(item.relationships)


def _summary(*parts):
    """Error-summary entries from forms and formsets, with "Row N" for rows."""
    entries = []
    for label, item in parts:
        if hasattr(item, "forms"):
            entries += [{"message": f"{label}: {error}", "anchor": ""} for error in item.non_form_errors()]
            for number, form in enumerate(item.forms, start=1):
                if item.can_delete and item._should_delete_form(form):
                    continue
                entries += [
                    {**entry, "message": f"{label} {number}: {entry['message']}"}
                    for entry in form_error_links(form)
                ]
                if hasattr(form, "relationships"):
                    entries += _summary((f"{label} {number}, relationship", form.relationships))
        else:
            entries += form_error_links(item)
    return entries


def _validation_messages(error):
    """A model's ValidationError (raised by a save the activity's lock refuses) as messages."""
    return list(error.messages)


@authoring_required
def activity_list(request):
    form = ActivitySearchForm(request.GET or None)
    activities = Activity.objects.select_related("series").order_by("-created_at", "-pk")
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    if query:
        activities = activities.filter(title__icontains=query)
    page = Paginator(activities, ACTIVITIES_PER_PAGE).get_page(request.GET.get("page"))
    failing = activities_failing_checks(activities=list(page.object_list))
    rows = [(activity, failing.get(activity.pk, [])) for activity in page.object_list]
    return render(
        request,
        "staff/authoring/list.html",
        {"form": form, "page": page, "rows": rows, "query": query},
    )


def _details_page(request, activity, form, offers, supports, resources, status=200):
    rejected = request.method == "POST" and "add" not in request.POST
    errors = (
        _summary((None, form), ("Credit type", offers), ("Commercial support", supports), ("Resource", resources))
        if rejected
        else []
    )
    context = {
        "activity": activity,
        "form": form,
        "offers": offers,
        "supports": supports,
        "resources": resources,
        "errors": errors,
        "steps": authoring_steps(activity=activity, current="details") if activity.pk else None,
    }
    return render(request, "staff/authoring/details.html", context, status=status)


def _details(request, activity):
    data = request.POST if request.method == "POST" else None
    added = _added_row(request, "offers|supports|resources") if data else None
    if added:
        data = _with_extra_row(data, added)
    form = DetailsForm(
        data, instance=activity, locked=bool(activity.pk) and activity_assessment_locked(activity=activity)
    )
    offers = CreditOfferFormSet(data, instance=activity, prefix="offers")
    supports = CommercialSupportFormSet(data, instance=activity, prefix="supports")
    resources = ResourceFormSet(data, instance=activity, prefix="resources")
    rows = {"offers": offers, "supports": supports, "resources": resources}
    if added:
        _hold_judgement(form, *rows.values())
        _focus_new_row(rows[added], added)
        return _details_page(request, activity, form, offers, supports, resources)
    if data is None:
        return _details_page(request, activity, form, offers, supports, resources)
    valid = all([form.is_valid(), *(formset.is_valid() for formset in rows.values())])
    if valid:
        created = activity.pk is None
        try:
            with transaction.atomic():
                activity = form.save()
                _objectives_save(activity=activity, texts=form.cleaned_data["objectives"])
                for formset in rows.values():
                    formset.instance = activity
                    formset.save()
        except ValidationError as error:
            # Refused by a model's guard (a locked activity): nothing was saved.
            if created:
                activity.pk = None
            form.add_error(None, _validation_messages(error))
        else:
            return _after_save(request, activity, "details")
    return _details_page(request, activity, form, offers, supports, resources, status=400)


def _objectives_save(*, activity, texts):
    current = [objective.text for objective in activity.objectives.all()]
    if current == texts:
        return
    LearningObjective.objects.filter(activity=activity).delete()
    LearningObjective.objects.bulk_create(
        LearningObjective(activity=activity, order=order, text=text) for order, text in enumerate(texts)
    )
    # bulk_create sends no save signals, which keep the search vector current elsewhere.
    activity_search_refresh(activity_ids=[activity.pk])


@authoring_required
@require_http_methods(["GET", "POST"])
def activity_new(request):
    activity = Activity(release_date=provider_today())
    return _details(request, activity)


@authoring_required
@require_http_methods(["GET", "POST"])
def details(request, slug):
    return _details(request, _activity(slug))


def _people_initial(activity):
    roles = FacultyRole.objects.filter(activity=activity).select_related("person")
    return [
        {
            "role_id": role.pk,
            "name": role.person.name,
            "degrees": role.person.degrees,
            "affiliation": role.person.affiliation,
            "role": role.role,
            # A saved person without relationships has been confirmed to have none.
            "no_relationships": not role.relationships,
            "relationships": role.relationships,
        }
        for role in roles
    ]


@transaction.atomic
def _people_save(*, activity, forms):
    existing = {
        role.pk: role for role in FacultyRole.objects.filter(activity=activity).select_related("person")
    }
    kept = []
    for order, form in enumerate(forms):
        data = form.cleaned_data
        role = existing.get(data.get("role_id")) or FacultyRole(activity=activity)
        person = role.person if role.pk else Person()
        details_ = {"name": data["name"].strip(), "degrees": data["degrees"].strip(),
                    "affiliation": data["affiliation"].strip()}
        changed = any(getattr(person, key) != value for key, value in details_.items())
        if changed and person.pk and person.roles.exclude(pk=role.pk).exists():
            # Other activities (an earlier run) show this person as they were then.
            person = Person()
        if changed or not person.pk:
            for key, value in details_.items():
                setattr(person, key, value)
            person.save()
        role.person, role.role, role.order = person, data["role"], order
        role.relationships = data["relationships"]
        role.full_clean(exclude=["activity", "person"])
        role.save()
        kept.append(role.pk)
    FacultyRole.objects.filter(activity=activity).exclude(pk__in=kept).delete()


def _rows_step(request, activity, *, step, formset_class, prefix, added_pattern, initial,
               save, empty_error, first_field, noun, empty_rows=0):
    """A step whose page is one formset of rows (people, evaluation questions): "Add …"
    re-renders with one more row and saves nothing; a save keeps every row or none."""
    data = request.POST if request.method == "POST" else None
    added = _added_row(request, added_pattern) if data else None
    if added:
        data = _with_extra_row(data, added)
    formset = formset_class(data, prefix=prefix, initial=None if data else initial)
    if data is None and not formset.initial:
        formset.extra = empty_rows
    errors = []
    if added:
        _hold_judgement(formset)
        _focus_new_row(formset, added)
    elif data is not None:
        if formset.is_valid():
            kept = [form for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
            if not kept:
                errors = [{"message": empty_error, "anchor": f"id_{prefix}-0-{first_field}"}]
            else:
                try:
                    save(activity=activity, forms=kept)
                except ValidationError as error:
                    errors = [{"message": message, "anchor": ""} for message in _validation_messages(error)]
                else:
                    return _after_save(request, activity, step)
        else:
            errors = _summary((noun, formset))
    return render(
        request,
        f"staff/authoring/{step}.html",
        {
            "activity": activity,
            "formset": formset,
            "errors": errors,
            "added": added,
            "steps": authoring_steps(activity=activity, current=step),
        },
        status=400 if errors else 200,
    )


@authoring_required
@require_http_methods(["GET", "POST"])
def people(request, slug):
    activity = _activity(slug)
    return _rows_step(
        request,
        activity,
        step="people",
        formset_class=PersonFormSet,
        prefix="people",
        added_pattern=r"people(-\d+-rel)?",
        initial=_people_initial(activity),
        save=_people_save,
        empty_error="Add at least one person in control of content.",
        first_field="name",
        noun="Person",
        # Most activities have a presenter and a planner: two empty rows save a round trip.
        empty_rows=NEW_PEOPLE_ROWS,
    )


def _duration_text(seconds):
    hours, rest = divmod(seconds or 0, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


@authoring_required
@require_http_methods(["GET", "POST"])
def recording(request, slug):
    activity = _activity(slug)
    recording_ = Recording.objects.filter(activity=activity).first() or Recording(activity=activity)
    locked = activity_assessment_locked(activity=activity)
    form = None if locked else RecordingForm(
        request.POST or None, request.FILES or None, instance=recording_, activity=activity
    )
    errors = []
    if form is not None and request.method == "POST":
        if form.is_valid():
            try:
                with transaction.atomic():
                    form.save()
            except ValidationError as error:
                errors = [{"message": message, "anchor": ""} for message in _validation_messages(error)]
            else:
                return _after_save(request, activity, "recording")
        else:
            errors = _summary((None, form))
    return render(
        request,
        "staff/authoring/recording.html",
        {
            "activity": activity,
            "recording": recording_ if recording_.pk else None,
            "duration": _duration_text(recording_.duration_seconds),
            "form": form,
            "locked": locked,
            "errors": errors,
            "steps": authoring_steps(activity=activity, current="recording"),
        },
        status=400 if errors else 200,
    )


def _evaluation_initial(activity):
    evaluation = Evaluation.objects.filter(activity=activity).first()
    questions = evaluation.questions.all() if evaluation else evaluation_default().questions.all()
    return [
        {
            "question_id": question.pk if evaluation else None,
            "text": question.text,
            "kind": question.kind,
            "required": question.required,
            "order": number,
        }
        for number, question in enumerate(questions, start=1)
    ]


@transaction.atomic
def _evaluation_save(*, activity, forms):
    evaluation, _ = Evaluation.objects.get_or_create(activity=activity)
    existing = {question.pk: question for question in evaluation.questions.all()}
    rows = sorted(
        enumerate(forms),
        key=lambda pair: (pair[1].cleaned_data.get("order") or pair[0] + 1, pair[0]),
    )
    kept = []
    for order, (_, form) in enumerate(rows):
        data = form.cleaned_data
        question = existing.get(data.get("question_id")) or EvaluationQuestion(evaluation=evaluation)
        question.text, question.kind, question.required, question.order = (
            data["text"].strip(), data["kind"], data["required"], order,
        )
        question.save()
        kept.append(question.pk)
    try:
        evaluation.questions.exclude(pk__in=kept).delete()
    except ProtectedError:
        raise ValidationError(
            "A question you removed already has learners' answers; keep it, or unpublish "
            "and duplicate the activity for a new run."
        ) from None


@authoring_required
@require_http_methods(["GET", "POST"])
def evaluation(request, slug):
    activity = _activity(slug)
    return _rows_step(
        request,
        activity,
        step="evaluation",
        formset_class=EvaluationQuestionFormSet,
        prefix="questions",
        added_pattern="questions",
        initial=_evaluation_initial(activity),
        save=_evaluation_save,
        empty_error="Keep at least one evaluation question.",
        first_field="text",
        noun="Question",
    )


@authoring_required
@require_http_methods(["GET", "POST"])
def review(request, slug):
    activity = _activity(slug)
    problems = []
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "publish":
            problems = activity_publish(activity=activity)
            if not problems:
                messages.success(request, f"Published “{activity.title}”.")
                return redirect("staff:authoring_review", slug=activity.slug)
        elif action == "archive":
            activity_archive(activity=activity)
            messages.success(request, f"Archived “{activity.title}”: it is out of the catalog.")
            return redirect("staff:authoring_review", slug=activity.slug)
    return render(
        request,
        "staff/authoring/review.html",
        {
            "activity": activity,
            "steps": authoring_steps(activity=activity, current="review"),
            "problems": problems or activity_publish_problems(activity=activity),
            "publish_refused": bool(problems),
            "warnings": activity_publish_warnings(activity=activity),
        },
        status=400 if problems else 200,
    )


@authoring_required
def preview(request, slug):
    activity = activity_for_learner(slug=slug, user=request.user)
    # As a learner will see it once published: open for credit from its release (or
    # today, if later), whatever its status now.
    activity.window = credit_window(
        status=Activity.Status.PUBLISHED,
        release_date=activity.release_date,
        termination_date=activity.termination_date,
        day=max(provider_today(), activity.release_date),
    )
    return render(
        request,
        "courses/activity_detail.html",
        activity_page_context(request=request, activity=activity, preview=True),
    )


@authoring_required
@require_http_methods(["GET", "POST"])
def unpublish(request, slug):
    activity = _activity(slug)
    if request.method == "POST":
        activity_unpublish(activity=activity)
        messages.success(
            request, f"“{activity.title}” is a draft again: learners no longer see it."
        )
        return redirect("staff:authoring_review", slug=activity.slug)
    return render(
        request,
        "staff/authoring/unpublish.html",
        {
            "activity": activity,
            "started": activity.participations.count(),
            "locked": activity_assessment_locked(activity=activity),
        },
    )


@authoring_required
@require_http_methods(["GET", "POST"])
def duplicate(request, slug):
    activity = _activity(slug)
    form = DuplicateForm(
        request.POST or None, initial=activity_duplicate_defaults(activity=activity), activity=activity
    )
    if request.method == "POST" and form.is_valid():
        try:
            copy = activity_duplicate(activity=activity, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Created “{copy.title}”, a draft for the new run.")
            return redirect("staff:authoring_details", slug=copy.slug)
    return render(
        request,
        "staff/authoring/duplicate.html",
        {"activity": activity, "form": form},
        status=400 if form.errors else 200,
    )
