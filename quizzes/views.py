from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render

from courses.selectors import participation_of
from courses.views import page_activity

from .forms import EvaluationForm
from .models import Attempt, Evaluation, PostTest, evaluation_response_of
from .services import AttemptClosed, attempt_open, attempt_submit, evaluation_submit


def _participating(request, activity):
    participation = participation_of(user=request.user, activity=activity)
    if participation is None:
        messages.info(request, "Start the activity first.")
    return participation


@login_required
def evaluation(request, slug):
    activity = page_activity(request, slug)
    if _participating(request, activity) is None:
        return redirect(activity)
    try:
        evaluation = activity.evaluation
    except Evaluation.DoesNotExist:
        return redirect("quizzes:posttest", slug=activity.slug)
    questions = evaluation.questions.all()
    form = EvaluationForm(request.POST or None, questions=questions)
    if request.method == "POST" and form.is_valid():
        evaluation_submit(user=request.user, evaluation=evaluation, answers=form.answers())
        messages.success(request, "Thank you: your evaluation is saved.")
        return redirect("quizzes:posttest", slug=activity.slug)
    return render(
        request,
        "quizzes/evaluation.html",
        {
            "activity": activity,
            "form": form,
            "already_done": evaluation_response_of(user=request.user, activity=activity),
        },
    )


@login_required
def posttest(request, slug):
    activity = page_activity(request, slug)
    if _participating(request, activity) is None:
        return redirect(activity)
    try:
        posttest = activity.posttest
    except PostTest.DoesNotExist:
        return redirect("certificates:claim", slug=activity.slug)
    attempts = list(Attempt.objects.filter(user=request.user, posttest=posttest))
    graded = [attempt for attempt in attempts if attempt.is_submitted]
    passed = next((attempt for attempt in graded if attempt.passed), None)
    out_of_attempts = posttest.max_attempts is not None and len(graded) >= posttest.max_attempts
    error = ""
    if request.method == "POST":
        if passed or out_of_attempts:
            return redirect("quizzes:posttest", slug=activity.slug)
        try:
            attempt_id = int(request.POST.get("attempt", ""))
        except ValueError:
            return HttpResponseBadRequest("This post-test form is not valid. Reload the page.")
        answers = {}
        for key, value in request.POST.items():
            if key.startswith("question-") and key[9:].isdigit():
                answers[int(key[9:])] = value
        expected = set(posttest.questions.values_list("pk", flat=True))
        if not expected <= answers.keys():
            error = "Please answer every question before you submit."
        else:
            try:
                attempt_submit(attempt_id=attempt_id, user=request.user, answers=answers)
            except Attempt.DoesNotExist:
                return HttpResponseBadRequest("This attempt is not yours or does not exist.")
            except AttemptClosed:
                messages.info(request, "That attempt was already graded.")
            return redirect("quizzes:posttest", slug=activity.slug)
    last = graded[0] if graded else None
    show_questions = not passed and not out_of_attempts
    context = {
        "activity": activity,
        "posttest": posttest,
        "last": last,
        "passed": passed,
        "out_of_attempts": out_of_attempts,
        "error": error,
        "attempts_used": len(graded),
    }
    if show_questions:
        context["attempt"] = attempt_open(user=request.user, posttest=posttest)
        selected = request.POST if error else {}
        context["questions"] = [
            {
                "question": question,
                "choices": [
                    (choice, selected.get(f"question-{question.pk}") == str(choice.pk))
                    for choice in question.choices.all()
                ],
            }
            for question in posttest.questions.prefetch_related("choices")
        ]
    if last:
        context["last_answers"] = last.answers.select_related("question", "choice")
    return render(request, "quizzes/posttest.html", context)
