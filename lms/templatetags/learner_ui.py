"""Pieces of the learner's pages shared by several templates: the error summary that
takes focus after a rejected form, and the list of steps through an activity."""

from django import template
from django.db import connection

from certificates.models import Certificate
from courses.rules import recording_requirement_met_at
from courses.selectors import participation_of
from quizzes.models import Attempt, Evaluation, EvaluationResponse, PostTest

register = template.Library()

STEPS = [
    ("watch", "Watch the recording"),
    ("evaluation", "Complete the evaluation"),
    ("posttest", "Pass the post-test"),
    ("claim", "Claim credit"),
]


def form_error_links(form):
    """A form's errors as summary entries, each linking to the field it is about."""
    fields = [field for field in form if not field.is_hidden]
    # An error about the whole form (a wrong e-mail or password) is fixed from its first field.
    first = _anchor(fields[0]) if fields else ""
    entries = [{"message": error, "anchor": first} for error in form.non_field_errors()]
    for field in fields:
        label = field.label.rstrip(":") if field.label else ""
        # A label that is a sentence or a question ends in its own punctuation.
        lead = f"{label} " if label.endswith((".", "?", "!")) else f"{label}: " if label else ""
        for error in field.errors:
            entries.append({"message": f"{lead}{error}", "anchor": _anchor(field)})
    return entries


def _anchor(field):
    # A radio group has no element with the field's own id; its first option has.
    return field.id_for_label or f"{field.auto_id}_0"


@register.inclusion_tag("_error_summary.html")
def error_summary(form=None, errors=None):
    """`{% error_summary form %}`, or `{% error_summary errors=entries %}` with entries of
    {"message", "anchor"} for pages whose errors do not come from a Django form."""
    return {"errors": form_error_links(form) if form is not None else errors or []}


# What a page did not load: the step list looks it up. None, passed in, means "has none".
NOT_LOADED = object()


@register.inclusion_tag("_steps.html", takes_context=True)
def learner_steps(
    context,
    activity,
    current=None,
    participation=None,
    response=NOT_LOADED,
    passed=NOT_LOADED,
    certificate=NOT_LOADED,
    done=None,
):
    """The steps through `activity` for the signed-in learner, `current` marked as such.

    A page passes what its view loaded already (the learner's `participation`, evaluation
    `response`, `passed` attempt, `certificate`; None for one the learner does not have),
    or `done`, the keys of the steps it knows are done ("watch evaluation"), so the list
    looks up only the rest.
    """
    if done is None:
        done = _steps_done(
            context["request"].user, activity, participation, response, passed, certificate
        )
    else:
        done = set(done.split())
    return {
        "steps": [
            {
                "label": label,
                "optional": key == "watch" and not activity.requires_full_viewing,
                "done": key in done,
                "current": key == current,
            }
            for key, label in STEPS
        ]
    }


def _step_record_sql():
    """An EXISTS per step a learner leaves a record of, each taking (activity id, user id).

    Written out rather than composed with the ORM: the step list is on every page of an
    activity, and compiling three Exists subqueries cost about 2 ms a page, four times
    what running them costs."""
    response, evaluation = EvaluationResponse._meta.db_table, Evaluation._meta.db_table
    attempt, posttest = Attempt._meta.db_table, PostTest._meta.db_table
    certificate = Certificate._meta.db_table
    return {
        "evaluation": f"EXISTS (SELECT 1 FROM {response} r JOIN {evaluation} e ON e.id = r.evaluation_id "
        "WHERE e.activity_id = %s AND r.user_id = %s)",
        "posttest": f"EXISTS (SELECT 1 FROM {attempt} a JOIN {posttest} p ON p.id = a.posttest_id "
        "WHERE p.activity_id = %s AND a.user_id = %s AND a.passed = %s)",
        "claim": f"EXISTS (SELECT 1 FROM {certificate} c WHERE c.activity_id = %s AND c.user_id = %s)",
    }


STEP_RECORD_SQL = _step_record_sql()


def _steps_recorded(user, activity, keys):
    """Which of the steps `keys` ("evaluation", "posttest", "claim") the learner has a
    record of, in one query however many are asked."""
    if not keys:
        return set()
    params = []
    for key in keys:
        params += [activity.pk, user.pk] + ([True] if key == "posttest" else [])
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(STEP_RECORD_SQL[key] for key in keys), params)
        found = cursor.fetchone()
    return {key for key, present in zip(keys, found) if present}


def _steps_done(user, activity, participation, response, passed, certificate):
    participation = participation or participation_of(user=user, activity=activity)
    if participation is None:
        return set()
    participation.activity = activity
    given = {"evaluation": response, "posttest": passed, "claim": certificate}
    done = {key for key, value in given.items() if value is not NOT_LOADED and value is not None}
    done |= _steps_recorded(user, activity, [key for key, value in given.items() if value is NOT_LOADED])
    if activity.requires_full_viewing:
        watched = recording_requirement_met_at(participation=participation)
    else:
        # Optional viewing: the step is done once the learner moved on from it, by the
        # Continue button or by doing a later step straight away.
        watched = participation.recording_completed_at or done
    if watched:
        done.add("watch")
    return done


@register.simple_tag(takes_context=True)
def learner_certificate(context, activity):
    """`{% learner_certificate activity as certificate %}`: the signed-in learner's
    certificate for `activity`, or None. Pages of the courses and quizzes apps link to it
    without importing from certificates."""
    user = context["request"].user
    if not user.is_authenticated:
        return None
    return Certificate.objects.filter(user=user, activity=activity).first()


@register.simple_tag
def field_group(field, form_rejected=False):
    """Django's <div>-based field group; when the form as a whole was rejected (a wrong
    e-mail or password), the field is marked invalid and described by the error summary."""
    if form_rejected:
        attrs = field.field.widget.attrs
        attrs["aria-invalid"] = "true"
        attrs["aria-describedby"] = " ".join(filter(None, ["error-summary", field.aria_describedby]))
    return field.as_field_group()


@register.inclusion_tag("_pagination.html", takes_context=True)
def pagination(context, page, label, fragment=""):
    """`{% pagination page "Pages of learners" %}`: previous and next links for a list's
    `page`, keeping the request's other query parameters (search, filters), so a filtered
    list pages through what it filtered. `fragment` (an id) is where the link lands."""
    query = context["request"].GET.copy()
    query.pop("page", None)

    def link(number):
        query["page"] = number
        return f"?{query.urlencode()}" + (f"#{fragment}" if fragment else "")

    return {
        "page": page,
        "label": label,
        "previous": link(page.previous_page_number()) if page.has_previous() else "",
        "next": link(page.next_page_number()) if page.has_next() else "",
    }
