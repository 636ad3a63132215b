from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone

from courses.models import Provider
from courses.rules import learner_credit_window, recording_requirement_met
from courses.selectors import learner_step_of, participation_of

from .forms import AttemptForm, EvaluationForm, PostTestForm
from .models import Attempt, Evaluation, PostTest
from .rules import attempt_no_credit_message, attempt_outside_window, evaluation_is_editable
from .selectors import (
    attempt_questions,
    attempt_review,
    evaluation_answers_of,
    evaluation_response_of,
    learner_attempt,
    posttest_standing,
)
from .services import (
    AttemptClosed,
    AttemptRefused,
    EvaluationLocked,
    attempt_open,
    attempt_submit,
    evaluation_submit,
)

EVALUATION_LOCKED = "Your certificate has been issued, so your evaluation can no longer be changed."


def _learner_step(request, slug, *, extension=True):
    """(activity, participation) in one query (courses.selectors.learner_step_of), the
    participation holding the activity with its recording and post-test."""
    activity, participation = learner_step_of(slug=slug, user=request.user, extension=extension)
    if participation is None:
        messages.info(request, "Start the activity first.")
    return activity, participation


@login_required
def evaluation(request, slug):
    activity, participation = _learner_step(request, slug)
    if participation is None:
        return redirect(activity)
    if not recording_requirement_met(participation=participation):
        # A POST is refused the same way: the evaluation is about a recording seen.
        messages.info(request, "Watch the recording before you complete the evaluation.")
        return redirect("courses:watch", slug=activity.slug)
    try:
        evaluation = activity.evaluation
    except Evaluation.DoesNotExist:
        return redirect("quizzes:posttest", slug=activity.slug)
    response = evaluation_response_of(user=request.user, activity=activity)
    editable = evaluation_is_editable(participation=participation)
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
            "participation": participation,
            "form": form,
            "already_done": response,
            "editable": editable,
            "error": error,
        },
    )


@login_required
def posttest(request, slug):
    handing_in = request.method == "POST"
    # Handing in shows no credit window unless the form comes back (_posttest_submit).
    activity, participation = _learner_step(request, slug, extension=not handing_in)
    if participation is None:
        return redirect(activity)
    if not recording_requirement_met(participation=participation):
        messages.info(request, "Watch the recording before you take the post-test.")
        return redirect("courses:watch", slug=activity.slug)
    try:
        posttest = activity.posttest
    except PostTest.DoesNotExist:
        return redirect("certificates:claim", slug=activity.slug)
    if handing_in:
        return _posttest_submit(request, activity, posttest)
    _learner_window(activity, participation)
    standing = posttest_standing(user=request.user, posttest=posttest)
    if not standing.refusal and (not standing.graded or "retake" in request.GET):
        try:
            attempt = attempt_open(user=request.user, posttest=posttest, standing=standing)
        except AttemptRefused as refused:
            return _posttest_page(request, activity, standing, participation, notice=str(refused))
        return _posttest_page(request, activity, standing, participation, attempt=attempt)
    return _posttest_page(request, activity, standing, participation)


def _learner_window(activity, participation):
    # The learner's own window: a credit extension staff granted them keeps it open.
    activity.window = learner_credit_window(activity, participation=participation)


def _posttest_submit(request, activity, posttest):
    handed_in = AttemptForm(request.POST)
    if not handed_in.is_valid():
        return HttpResponseBadRequest("This post-test form is not valid. Reload the page.")
    try:
        attempt = learner_attempt(pk=handed_in.cleaned_data["attempt"], user=request.user, posttest=posttest)
    except Attempt.DoesNotExist:
        return HttpResponseBadRequest("This attempt is not yours or does not exist.")
    if attempt.is_submitted:
        # A double click, the back button or a replayed form: the first one counted.
        messages.info(request, "That attempt was already graded; here is its result.")
        return _back_to_posttest(request)
    attempt.posttest = posttest
    items = attempt_questions(attempt=attempt)
    form = PostTestForm(request.POST, items=items)
    if not form.is_valid():
        if form.is_forged():
            return HttpResponseBadRequest("This form does not match your attempt. Reload the page.")
        participation = participation_of(user=request.user, activity=activity)
        _learner_window(activity, participation)
        standing = posttest_standing(user=request.user, posttest=posttest)
        return _posttest_page(request, activity, standing, participation, attempt=attempt, form=form)
    try:
        attempt_submit(attempt=attempt, user=request.user, answers=form.answers(), questions=items)
    except AttemptClosed:
        messages.info(request, "That attempt was already graded; here is its result.")
    except AttemptRefused as refused:
        messages.error(request, str(refused))
    return _back_to_posttest(request)


def _back_to_posttest(request):
    # The form was posted to the post-test page's own address (its slug matched as
    # stored), so the result is there: reversing the URL again cost every hand-in CPU.
    return HttpResponseRedirect(request.path)


def _credit_note(attempt, participation):
    """Why a passing attempt earns no credit, or "" when it does."""
    outside = attempt.passed and attempt_outside_window(
        attempt=attempt, extended_until=participation.credit_extended_until
    )
    return attempt_no_credit_message(**outside) if outside else ""


def _posttest_page(request, activity, standing, participation, *, attempt=None, form=None, notice=""):
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
        attempt.posttest = standing.posttest
        form = form or PostTestForm(
            items=attempt_questions(attempt=attempt), initial={"attempt": attempt.pk}
        )
        questions = []
        for question, choices in form.items:
            field = form[f"question-{question.pk}"]
            questions.append(
                {
                    "question": question,
                    "field": field,
                    "missing": bool(field.errors),
                    "choices": [(choice, option.data["selected"]) for choice, option in zip(choices, field)],
                }
            )
        context.update(attempt=attempt, form=form, questions=questions)
        # The error summary links each unanswered question to its first choice.
        context["missing_errors"] = [
            {"message": f"Answer question {number} before you submit.", "anchor": f"{field.auto_id}-0"}
            for number, field in form.missing()
        ]
        return render(request, "quizzes/posttest.html", context)
    shown = standing.passed or standing.latest
    if shown is not None:
        shown.posttest = standing.posttest
        context.update(
            last=shown,
            review=attempt_review(attempt=shown),
            credit_note=_credit_note(shown, participation),
            now=timezone.now(),
        )
    return render(request, "quizzes/posttest.html", context)
