from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format

from courses.models import Provider, local_date
from courses.models import recording_requirement_met
from courses.selectors import participation_of
from courses.views import page_activity

from .forms import EvaluationForm
from .models import (
    Attempt,
    Evaluation,
    PostTest,
    attempt_within_credit_window,
    evaluation_is_editable,
    evaluation_response_of,
    posttest_standing,
)
from .selectors import attempt_questions, attempt_review, evaluation_answers_of
from .services import (
    AttemptClosed,
    AttemptRefused,
    EvaluationLocked,
    attempt_open,
    attempt_submit,
    evaluation_submit,
)

EVALUATION_LOCKED = "Your certificate has been issued, so your evaluation can no longer be changed."


def _participating(request, activity):
    participation = participation_of(user=request.user, activity=activity)
    if participation is None:
        messages.info(request, "Start the activity first.")
    return participation


@login_required
def evaluation(request, slug):
    activity = page_activity(request, slug)
    participation = _participating(request, activity)
    if participation is None:
        return redirect(activity)
    participation.activity = activity
    if not recording_requirement_met(participation=participation):
        # A POST is refused the same way: the evaluation is about a recording seen.
        messages.info(request, "Watch the recording before you complete the evaluation.")
        return redirect("courses:watch", slug=activity.slug)
    try:
        evaluation = activity.evaluation
    except Evaluation.DoesNotExist:
        return redirect("quizzes:posttest", slug=activity.slug)
    response = evaluation_response_of(user=request.user, activity=activity)
    editable = evaluation_is_editable(user=request.user, activity=activity)
    form = EvaluationForm(
        request.POST if request.method == "POST" else None,
        questions=evaluation.questions.all(),
        initial=evaluation_answers_of(response=response) if response else {},
    )
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    error = ""
    if request.method == "POST":
        if not editable:
            error = EVALUATION_LOCKED
        elif form.is_valid():
            try:
                evaluation_submit(user=request.user, evaluation=evaluation, answers=form.answers())
            except EvaluationLocked:
                error = EVALUATION_LOCKED
            else:
                messages.success(request, "Thank you: your evaluation is saved.")
                return redirect("quizzes:posttest", slug=activity.slug)
    return render(
        request,
        "quizzes/evaluation.html",
        {
            "activity": activity,
            "form": form,
            "already_done": response,
            "editable": editable,
            "error": error,
        },
    )


@login_required
def posttest(request, slug):
    activity = page_activity(request, slug)
    participation = _participating(request, activity)
    if participation is None:
        return redirect(activity)
    if not recording_requirement_met(participation=participation):
        messages.info(request, "Watch the recording before you take the post-test.")
        return redirect("courses:watch", slug=activity.slug)
    try:
        posttest = activity.posttest
    except PostTest.DoesNotExist:
        return redirect("certificates:claim", slug=activity.slug)
    if request.method == "POST":
        return _posttest_submit(request, activity, posttest)
    standing = posttest_standing(user=request.user, posttest=posttest)
    if not standing.refusal and (not standing.graded or "retake" in request.GET):
        try:
            attempt = attempt_open(user=request.user, posttest=posttest)
        except AttemptRefused as refused:
            return _posttest_page(request, activity, standing, notice=str(refused))
        return _posttest_page(request, activity, standing, attempt=attempt)
    return _posttest_page(request, activity, standing)


def _posttest_submit(request, activity, posttest):
    try:
        attempt_id = int(request.POST.get("attempt", ""))
        answers = {
            int(key.removeprefix("question-")): [int(value) for value in request.POST.getlist(key)]
            for key in request.POST
            if key.startswith("question-")
        }
    except ValueError:
        return HttpResponseBadRequest("This post-test form is not valid. Reload the page.")
    attempt = (
        Attempt.objects.select_related("posttest")
        .filter(pk=attempt_id, user=request.user, posttest=posttest)
        .first()
    )
    if attempt is None:
        return HttpResponseBadRequest("This attempt is not yours or does not exist.")
    if attempt.is_submitted:
        # A double click, the back button or a replayed form: the first one counted.
        messages.info(request, "That attempt was already graded; here is its result.")
        return redirect("quizzes:posttest", slug=activity.slug)
    items = attempt_questions(attempt=attempt)
    expected = {question.pk for question, _ in items}
    if not answers.keys() <= expected:
        return HttpResponseBadRequest("This form does not match your attempt. Reload the page.")
    missing = {pk for pk in expected if not answers.get(pk)}
    if missing:
        standing = posttest_standing(user=request.user, posttest=posttest)
        return _posttest_page(
            request,
            activity,
            standing,
            attempt=attempt,
            items=items,
            selected=answers,
            missing=missing,
        )
    try:
        attempt_submit(attempt_id=attempt.pk, user=request.user, answers=answers)
    except AttemptClosed:
        messages.info(request, "That attempt was already graded; here is its result.")
    except AttemptRefused as refused:
        messages.error(request, str(refused))
    return redirect("quizzes:posttest", slug=activity.slug)


def _credit_note(attempt, activity, provider):
    """Why a passing attempt earns no credit, or "" when it does."""
    if not attempt.passed or attempt_within_credit_window(attempt=attempt, provider=provider):
        return ""
    day = local_date(attempt.submitted_at, provider=provider)
    if day > activity.termination_date:
        return (
            f"You passed, but you handed in this attempt on {date_format(day, 'F j, Y')}, after "
            f"credit for this activity ended on {date_format(activity.termination_date, 'F j, Y')}. "
            "An attempt handed in after the termination date does not earn credit."
        )
    return (
        "You passed, but you handed in this attempt before the activity was released, "
        "so it does not earn credit."
    )


def _posttest_page(
    request, activity, standing, *, attempt=None, items=None, selected=None, missing=(), notice=""
):
    """The post-test page: a live attempt's questions (and nothing that gives away the
    answers), or else the result of the attempt that counts with what comes next."""
    provider = Provider.current()
    context = {
        "activity": activity,
        "posttest": standing.posttest,
        "standing": standing,
        "attempts_used": len(standing.graded),
        "passed": standing.passed,
        "out_of_attempts": standing.out_of_attempts,
        "provider": provider,
        "notice": notice,
    }
    if attempt is not None:
        selected = selected or {}
        attempt.posttest = standing.posttest
        context["attempt"] = attempt
        context["questions"] = [
            {
                "question": question,
                "missing": question.pk in missing,
                "choices": [(choice, choice.pk in selected.get(question.pk, ())) for choice in choices],
            }
            for question, choices in (items or attempt_questions(attempt=attempt))
        ]
        # The error summary links each unanswered question to its first choice.
        context["missing_errors"] = [
            {
                "message": f"Answer question {number} before you submit.",
                "anchor": f"question-{item['question'].pk}-0",
            }
            for number, item in enumerate(context["questions"], start=1)
            if item["missing"]
        ]
        return render(request, "quizzes/posttest.html", context)
    shown = standing.passed or standing.latest
    if shown is not None:
        shown.posttest = standing.posttest
        context.update(
            last=shown,
            review=attempt_review(attempt=shown),
            credit_note=_credit_note(shown, activity, provider),
            now=timezone.now(),
        )
    return render(request, "quizzes/posttest.html", context)
