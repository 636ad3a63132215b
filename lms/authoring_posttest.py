"""The post-test step of the staff workspace and the activity JSON import (issue 16).

/staff/authoring/<slug>/posttest/ edits a post-test's settings, questions and choices on
one page, and takes a GIFT or Moodle XML file of questions; /staff/authoring/import/
takes an activity JSON file. Both uploads show what they would do before anything is
saved: the file's text waits in the session under a random token, so the confirmation
re-reads the very file that was previewed, never text the browser sends back.
"""

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from courses.models import Activity
from courses.selectors import activity_assessment_locked
from quizzes.models import PostTest
from quizzes.question_formats import QuestionFileError, questions_parse
from quizzes.services import posttest_questions_import

from .activity_io import ActivityImportError, activities_import, activity_export
from .authoring import authoring_steps
from .authoring_posttest_forms import (
    ActivityFileForm,
    PostTestEditor,
    QuestionFileForm,
    activity_json_read,
)
from .roles import authoring_required
from .templatetags.learner_ui import form_error_links

UPLOADS_SESSION_KEY = "authoring_uploads"
# Uploads waiting for their confirmation in one session; an older one is dropped.
UPLOADS_KEPT = 3
UPLOAD_GONE = (
    "That upload is no longer waiting to be imported (it was imported already, replaced by a "
    "newer one, or belongs to another page). Upload the file again."
)
LOCKED_REASON = (
    "Learners have started this published activity, so its post-test is locked: the "
    "questions they answer and how they are graded cannot change in place. Unpublish the "
    "activity to edit it, or duplicate it for a new run."
)
# What the activity import preview calls each part of the JSON format.
SECTION_LABELS = {
    "accme_activity_id": "ACCME activity ID",
    "recorded_on": "Recorded on",
    "release_date": "Release date",
    "reviewed_on": "Most recent review",
    "termination_date": "Termination date",
    "estimated_minutes": "Estimated minutes",
    "requires_full_viewing": "Viewing required",
    "posttest": "Post-test",
    "pass_percent": "pass mark",
    "questions": "questions",
}
SHOWN_VALUE_LENGTH = 80


# --- Keeping an upload between its preview and its confirmation ---------------------


def _upload_keep(request, **upload):
    """Keep `upload` in the session; the token that names it goes in the preview's form."""
    token = secrets.token_urlsafe(24)
    kept = request.session.get(UPLOADS_SESSION_KEY, {})
    kept[token] = upload
    request.session[UPLOADS_SESSION_KEY] = dict(list(kept.items())[-UPLOADS_KEPT:])
    return token


def _upload_take(request, *, kind, slug=None):
    """The upload named by the posted token, removed from the session, if it is one of
    this session's uploads of `kind` (for the activity `slug`); None otherwise."""
    kept = request.session.get(UPLOADS_SESSION_KEY, {})
    upload = kept.get(request.POST.get("token", ""))
    if upload is None or upload.get("kind") != kind or upload.get("slug") != slug:
        return None
    del kept[request.POST["token"]]
    request.session[UPLOADS_SESSION_KEY] = kept
    return upload


# --- The post-test editor -------------------------------------------------------------


def _activity(slug):
    return get_object_or_404(Activity, slug=slug)


def _error(message, anchor=""):
    """An entry of the error summary; `anchor` is the id of the field it links to."""
    return {"message": message, "anchor": anchor}


def _posttest_page(request, activity, *, editor=None, upload_form=None, errors=None, status=200):
    posttest = PostTest.objects.filter(activity=activity).first()
    locked = activity_assessment_locked(activity=activity)
    context = {
        "activity": activity,
        "posttest": posttest,
        "steps": authoring_steps(activity=activity, current="posttest"),
        "locked": locked,
        "locked_reason": LOCKED_REASON,
        "errors": errors or [],
    }
    if locked:
        context["questions"] = _questions_shown(posttest)
    else:
        context["editor"] = editor or PostTestEditor.from_saved(activity=activity, posttest=posttest)
        context["upload_form"] = upload_form or QuestionFileForm()
    return render(request, "staff/authoring/posttest.html", context, status=status)


def _questions_shown(posttest):
    """The saved questions in the shape of parsed ones, for the read-only list."""
    if posttest is None:
        return []
    return [
        {
            "text": question.text,
            "multiple": question.multiple,
            "explanation": question.explanation,
            "choices": [
                {"text": choice.text, "correct": choice.is_correct, "feedback": choice.feedback}
                for choice in question.choices.all()
            ],
        }
        for question in posttest.questions.prefetch_related("choices")
    ]


@authoring_required
@require_http_methods(["GET", "POST"])
def posttest(request, slug):
    activity = _activity(slug)
    if request.method == "GET":
        return _posttest_page(request, activity)
    if activity_assessment_locked(activity=activity):
        return _posttest_page(request, activity, errors=[_error(LOCKED_REASON)], status=409)
    saved = PostTest.objects.filter(activity=activity).first()
    editor = PostTestEditor.from_post(activity=activity, posttest=saved, data=request.POST)
    action, index = PostTestEditor.action_of(request.POST)
    if action not in ("save", "continue"):
        return _posttest_page(request, activity, editor=editor.rearranged(action, index))
    if editor.is_valid():
        try:
            editor.save()
        except ValidationError as error:
            editor.errors.extend(error.messages)
        else:
            messages.success(request, "Post-test saved.")
            if action == "continue":
                return redirect("staff:authoring_evaluation", slug=activity.slug)
            return redirect("staff:authoring_posttest", slug=activity.slug)
    return _posttest_page(request, activity, editor=editor, errors=editor.error_entries(), status=400)


# --- Questions from a GIFT or Moodle XML file ----------------------------------------


def _questions(count):
    return f"{count} question{'' if count == 1 else 's'}"


def _import_outcome(*, posttest, count, replace):
    existing = posttest.questions.count() if posttest else 0
    if replace and existing:
        return f"{_questions(count)} will replace the {_questions(existing)} now in the post-test."
    if existing:
        return f"{_questions(count)} will be added after the {_questions(existing)} now in the post-test."
    return f"{_questions(count)} will be added to the post-test, which has none yet."


@authoring_required
@require_POST
def posttest_import(request, slug):
    activity = _activity(slug)
    if activity_assessment_locked(activity=activity):
        return _posttest_page(request, activity, errors=[_error(LOCKED_REASON)], status=409)
    form = QuestionFileForm(request.POST, request.FILES)
    questions = None
    if form.is_valid():
        try:
            questions = questions_parse(content=form.cleaned_data["file"], filename=form.filename)
        except QuestionFileError as error:
            form.add_error("file", f"{form.filename}: {error}")
        else:
            if not questions:
                form.add_error("file", f"{form.filename} holds no questions.")
    if form.errors:
        return _posttest_page(request, activity, upload_form=form, errors=form_error_links(form), status=400)
    replace = form.cleaned_data["mode"] == QuestionFileForm.REPLACE
    token = _upload_keep(
        request,
        kind="questions",
        slug=activity.slug,
        filename=form.filename,
        # Parsed, so UTF-8: kept as text, which the session stores as it is.
        content=form.cleaned_data["file"].decode("utf-8-sig"),
        replace=replace,
    )
    return render(
        request,
        "staff/authoring/posttest_import_preview.html",
        {
            "activity": activity,
            "steps": authoring_steps(activity=activity, current="posttest"),
            "filename": form.filename,
            "questions": questions,
            "outcome": _import_outcome(
                posttest=PostTest.objects.filter(activity=activity).first(),
                count=len(questions),
                replace=replace,
            ),
            "token": token,
        },
    )


@authoring_required
@require_POST
def posttest_import_confirm(request, slug):
    activity = _activity(slug)
    upload = _upload_take(request, kind="questions", slug=activity.slug)
    if upload is None:
        return _posttest_page(request, activity, errors=[_error(UPLOAD_GONE, "id_file")], status=400)
    if activity_assessment_locked(activity=activity):
        return _posttest_page(request, activity, errors=[_error(LOCKED_REASON)], status=409)
    try:
        questions = questions_parse(content=upload["content"], filename=upload["filename"])
        posttest_questions_import(activity=activity, questions=questions, replace=upload["replace"])
    except (QuestionFileError, ValidationError) as error:
        message = str(error) if isinstance(error, QuestionFileError) else " ".join(error.messages)
        return _posttest_page(request, activity, errors=[_error(f"Nothing was imported. {message}", "id_file")],
                              status=400)
    messages.success(request, f"Imported {_questions(len(questions))} from {upload['filename']}.")
    # The preview has just shown every question: staff who are content with it go on.
    step = "staff:authoring_evaluation" if request.POST.get("continue") else "staff:authoring_posttest"
    return redirect(step, slug=activity.slug)


# --- Activities from a JSON file ----------------------------------------------------------


def _label(key):
    return SECTION_LABELS.get(key, key.replace("_", " ").capitalize())


def _shown(value):
    if value in (None, "", []):
        return "(empty)"
    text = str(value)
    return text if len(text) <= SHOWN_VALUE_LENGTH else text[: SHOWN_VALUE_LENGTH - 1] + "…"


def _differences(before, after):
    """What differs between two exports of one activity, part by part of the format:
    a value as it was and will be, or which items of a part change."""
    changes = []
    for key in [*after, *(key for key in before if key not in after)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            parts = [_label(part) for part in new if old.get(part) != new.get(part)]
            changes.append({"label": _label(key), "detail": "changes its " + ", ".join(parts)})
        elif isinstance(old, (dict, list)) or isinstance(new, (dict, list)):
            if new in (None, []):
                detail = "removed"
            elif old in (None, []):
                detail = "added"
            elif isinstance(new, list) and len(old) != len(new):
                detail = f"changes ({len(old)} → {len(new)} items)"
            else:
                detail = "changes"
            changes.append({"label": _label(key), "detail": detail})
        else:
            changes.append({"label": _label(key), "before": _shown(old), "after": _shown(new)})
    return changes


def activities_import_preview(*, data):
    """What importing `data` would create and change, found by importing it and rolling
    back: each activity as {"slug", "title", "created", "changes", "summary"}. Raises
    ActivityImportError (or ValidationError, for a live activity) as the import would."""
    items = data if isinstance(data, list) else [data]
    slugs = [item.get("slug") for item in items if isinstance(item, dict)]
    before = {
        activity.slug: activity_export(activity)
        for activity in Activity.objects.filter(slug__in=[slug for slug in slugs if isinstance(slug, str)])
    }
    with transaction.atomic():
        activities = activities_import(data=data)
        preview = []
        for activity in activities:
            after = activity_export(activity)
            old = before.get(activity.slug)
            posttest = after.get("posttest") or {}
            evaluation = after.get("evaluation") or {}
            preview.append(
                {
                    "slug": activity.slug,
                    "title": activity.title,
                    "status": activity.get_status_display(),
                    "created": old is None,
                    "changes": _differences(old, after) if old is not None else [],
                    "summary": {
                        "objectives": len(after.get("objectives") or []),
                        "faculty": len(after.get("faculty") or []),
                        "questions": len(posttest.get("questions") or []),
                        "evaluation_questions": len(evaluation.get("questions") or []),
                    },
                }
            )
        transaction.set_rollback(True)
    return preview


def _import_page(request, form, *, errors=None, status=200):
    return render(
        request,
        "staff/authoring/import.html",
        {"form": form, "errors": errors if errors is not None else form_error_links(form)},
        status=status,
    )


def _import_error_message(error):
    if isinstance(error, ActivityImportError):
        return f"Nothing was imported. {error}"
    return "Nothing was imported. " + " ".join(error.messages)


@authoring_required
@require_http_methods(["GET", "POST"])
def activity_import(request):
    if request.method == "GET":
        return _import_page(request, ActivityFileForm())
    form = ActivityFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_page(request, form, status=400)
    text = form.cleaned_data["file"]
    try:
        preview = activities_import_preview(data=activity_json_read(text=text, filename=form.filename))
    except (ActivityImportError, ValidationError) as error:
        form.add_error("file", _import_error_message(error))
        return _import_page(request, form, status=400)
    token = _upload_keep(request, kind="activities", slug=None, filename=form.filename, content=text)
    return render(
        request,
        "staff/authoring/import_preview.html",
        {
            "filename": form.filename,
            "created": [item for item in preview if item["created"]],
            "updated": [item for item in preview if not item["created"]],
            "token": token,
        },
    )


@authoring_required
@require_POST
def activity_import_confirm(request):
    upload = _upload_take(request, kind="activities")
    form = ActivityFileForm()
    if upload is None:
        return _import_page(request, form, errors=[_error(UPLOAD_GONE, "id_file")], status=400)
    try:
        data = activity_json_read(text=upload["content"], filename=upload["filename"])
        activities = activities_import(data=data)
    except (ActivityImportError, ValidationError) as error:
        return _import_page(request, form, errors=[_error(_import_error_message(error), "id_file")], status=400)
    count = f"{len(activities)} activit{'y' if len(activities) == 1 else 'ies'}"
    names = ", ".join(activity.slug for activity in activities)
    messages.success(request, f"Imported {count} from {upload['filename']}: {names}.")
    return redirect("staff:authoring_list")


urlpatterns = [
    path("import/", activity_import, name="authoring_import"),
    path("import/confirm/", activity_import_confirm, name="authoring_import_confirm"),
    path("<slug:slug>/posttest/", posttest, name="authoring_posttest"),
    path("<slug:slug>/posttest/import/", posttest_import, name="authoring_posttest_import"),
    path(
        "<slug:slug>/posttest/import/confirm/", posttest_import_confirm, name="authoring_posttest_import_confirm"
    ),
]
