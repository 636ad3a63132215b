"""Supporting one learner (issue 17, part 5): staff find a learner, read their whole
record (profile, transcript, progress, post-test answers, evaluation, certificates) and
grant an extra post-test attempt or a credit extension, each with its reason.

Reading and granting both need the reports permission of the CME coordinator role. The
grants are records: they are made here and never edited or deleted.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods

from certificates.selectors import transcript_of
from courses.models import Activity, provider_today
from courses.rules import credit_extension_refusal
from courses.selectors import participation_of
from courses.services import credit_extension_grant
from quizzes.models import PostTest
from quizzes.rules import attempt_allowance_refusal
from quizzes.selectors import posttest_standing
from quizzes.services import attempt_allowance_grant

from .learner_records import learner_activities, learner_activity_records, learners_matching
from .models import User
from .roles import reports_required
from .staff_learner_forms import CreditExtensionForm, ExtraAttemptForm, LearnerSearchForm

LEARNERS_PER_PAGE = 25
ACTIVITIES_PER_PAGE = 10


@reports_required
def learner_list(request):
    form = LearnerSearchForm(request.GET or None)
    valid = form.is_valid()
    query = form.cleaned_data["q"] if valid else ""
    page = Paginator(learners_matching(query=query), LEARNERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "staff/learners/list.html",
        {"form": form, "page": page, "query": query},
        status=200 if valid or not form.is_bound else 400,
    )


@reports_required
def learner_detail(request, pk):
    learner = get_object_or_404(User, pk=pk)
    page = Paginator(learner_activities(user=learner), ACTIVITIES_PER_PAGE).get_page(request.GET.get("page"))
    records = learner_activity_records(user=learner, activities=page.object_list)
    today = provider_today()
    for record in records:
        # Each activity's forms get ids of their own: the page holds one pair per activity.
        record.extension_form = CreditExtensionForm(
            activity=record.activity, day=today, auto_id=f"a{record.activity.pk}-extension-%s"
        )
        record.attempt_form = ExtraAttemptForm(auto_id=f"a{record.activity.pk}-attempt-%s")
    return render(
        request,
        "staff/learners/detail.html",
        {
            "learner": learner,
            "transcript": transcript_of(user=learner),
            "page": page,
            "records": records,
            "today": today,
        },
    )


def _back_to_learner(request, learner, activity):
    """The learner's page the grant was made from (its page of activities, at the activity)."""
    url = reverse("staff:learner", kwargs={"pk": learner.pk})
    page = request.POST.get("page", "")
    if page.isdigit() and page != "1":
        url += f"?page={page}"
    return redirect(f"{url}#activity-{activity.pk}")


def _grant(request, *, learner, activity, form, refusal, grant, kind, context):
    """The page of one grant. A valid POST that nothing refuses makes the grant:
    `grant(cleaned_data)` saves it and returns what to tell staff, or raises
    ValidationError, saving nothing. Anything else shows the form, or why none can be
    granted, again: with its errors and status 400 after a POST."""
    if request.method == "POST" and not refusal and form.is_valid():
        try:
            done = grant(form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, done)
            return _back_to_learner(request, learner, activity)
    if request.method == "POST" and refusal:
        form.is_valid()
        form.add_error(None, refusal)
    return render(
        request,
        "staff/learners/grant.html",
        {
            "learner": learner,
            "activity": activity,
            "form": form,
            "kind": kind,
            "refusal": refusal,
            "page_number": request.POST.get("page", ""),
            **context,
        },
        status=400 if request.method == "POST" else 200,
    )


@reports_required
@require_http_methods(["GET", "POST"])
def extension_grant(request, pk, activity_id):
    learner = get_object_or_404(User, pk=pk)
    activity = get_object_or_404(Activity, pk=activity_id)
    participation = participation_of(user=learner, activity=activity)
    extended_until = participation.credit_extended_until if participation else None

    def grant(data):
        extension = credit_extension_grant(
            user=learner, activity=activity, until=data["until"], reason=data["reason"], granted_by=request.user
        )
        return (
            f"{_name(learner)} may now earn credit for “{activity.title}” until "
            f"{date_format(extension.until, 'F j, Y')}."
        )

    return _grant(
        request,
        learner=learner,
        activity=activity,
        form=CreditExtensionForm(
            _posted(request), activity=activity, day=provider_today(), extended_until=extended_until
        ),
        refusal=credit_extension_refusal(status=activity.status, participation=participation),
        grant=grant,
        kind="extension",
        context={"extended_until": extended_until},
    )


@reports_required
@require_http_methods(["GET", "POST"])
def extra_attempt_grant(request, pk, activity_id):
    learner = get_object_or_404(User, pk=pk)
    activity = get_object_or_404(Activity, pk=activity_id)
    try:
        posttest = activity.posttest
    except PostTest.DoesNotExist:
        raise Http404("This activity has no post-test.") from None
    standing = posttest_standing(user=learner, posttest=posttest)

    def grant(data):
        allowance = attempt_allowance_grant(
            user=learner,
            posttest=posttest,
            extra_attempts=data["extra_attempts"],
            reason=data["reason"],
            granted_by=request.user,
        )
        count = allowance.extra_attempts
        return (
            f"{_name(learner)} may take {count} more attempt{'s' if count > 1 else ''} at the "
            f"post-test of “{activity.title}”."
        )

    return _grant(
        request,
        learner=learner,
        activity=activity,
        form=ExtraAttemptForm(_posted(request)),
        refusal=attempt_allowance_refusal(
            posttest=posttest,
            graded_count=len(standing.graded),
            passed=standing.passed is not None,
            extra_attempts=standing.extra_attempts,
        ),
        grant=grant,
        kind="attempt",
        context={"standing": standing},
    )


def _posted(request):
    # Bound on every POST, an empty one included, so that it is refused with its errors.
    return request.POST if request.method == "POST" else None


def _name(learner):
    return learner.get_full_name() or learner.email
