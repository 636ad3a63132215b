"""The pure decisions of quizzes: grading, passing, the credit an attempt earns, what a
result page may show, retakes, and what keeps an assessment from being published."""

import datetime
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone
from django.utils.formats import date_format

from courses.models import local_date
from courses.rules import ActivityStatus, CreditWindow, credit_last_day, credit_window

from .models import MAX_EXTRA_ATTEMPTS, Attempt, Evaluation, PostTest


def score_percent(*, correct, total):
    """The score as an exact percentage, truncated to two places (74.999 stays 74.99)."""
    if not total:
        return Decimal("0")
    return (Decimal(correct * 100) / Decimal(total)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def score_passes(*, correct, total, pass_percent):
    """Whether `correct` of `total` reaches `pass_percent`, inclusive, in exact arithmetic."""
    return total > 0 and Decimal(correct * 100) >= Decimal(pass_percent) * total


def answer_is_right(*, question, choices, chosen_ids):
    """Whether the set of choice ids a learner ticked answers `question` right.

    `choices` are the question's own choices; an id that is not one of them (a choice of
    another question or activity) makes the answer wrong, never right. A single-answer
    question is right with exactly one choice ticked and that choice correct; a
    multi-answer question only with exactly the correct set ticked.
    """
    own = {choice.pk: choice for choice in choices}
    if not chosen_ids or not set(chosen_ids) <= own.keys():
        return False
    if question.multiple:
        return set(chosen_ids) == {pk for pk, choice in own.items() if choice.is_correct}
    return len(set(chosen_ids)) == 1 and own[next(iter(chosen_ids))].is_correct


def attempt_credit_window(*, attempt, extended_until=None):
    """The activity's credit window on the provider's day `attempt` was handed in, for a
    learner whose credit staff extended until `extended_until` (None: not extended).

    The submission counts, not the start: an attempt opened on the termination date (or
    the extension's last day) and submitted after midnight (provider time) earns no
    credit. Only the dates count: the status is today's, not that day's, and the credit
    gate checks today's on its own.
    """
    activity = attempt.posttest.activity
    return credit_window(
        status=ActivityStatus.PUBLISHED,
        release_date=activity.release_date,
        termination_date=activity.termination_date,
        day=local_date(attempt.submitted_at),
        extended_until=extended_until,
    )


def attempt_within_credit_window(*, attempt):
    """Whether a graded attempt was submitted while its activity gave credit."""
    return attempt.is_submitted and attempt_credit_window(attempt=attempt) == CreditWindow.OPEN


def attempt_outside_window(*, attempt, extended_until=None):
    """Why a graded attempt earns no credit, as the parameters of
    attempt_no_credit_message, or None when it does (or is not graded yet).
    `extended_until` is the last day of the learner's credit extension, if any."""
    if not attempt.is_submitted:
        return None
    window = attempt_credit_window(attempt=attempt, extended_until=extended_until)
    if window == CreditWindow.OPEN:
        return None
    return {
        "window": window,
        "handed_in_on": local_date(attempt.submitted_at),
        "termination_date": credit_last_day(
            termination_date=attempt.posttest.activity.termination_date, extended_until=extended_until
        ),
    }


def attempt_no_credit_message(*, window, handed_in_on, termination_date):
    """The one wording of why a pass earns no credit, for the post-test page and the
    claim page alike."""
    if window == CreditWindow.EXPIRED:
        return (
            f"You passed, but you handed in this attempt on {date_format(handed_in_on, 'F j, Y')}, "
            f"after credit for this activity ended on {date_format(termination_date, 'F j, Y')}. "
            "An attempt handed in after the termination date does not earn credit."
        )
    return (
        "You passed, but you handed in this attempt before the activity was released, "
        "so it does not earn credit."
    )


def attempt_review_level(*, attempt):
    """What the result page of `attempt` may show, as a PostTest.Review level: the
    post-test's setting for a pass or for a fail, and only the score before grading."""
    if not attempt.is_submitted:
        return PostTest.Review.SCORE
    posttest = attempt.posttest
    return PostTest.Review(posttest.review_after_pass if attempt.passed else posttest.review_after_fail)


@dataclass
class Standing:
    """Where a learner stands on a post-test: what they did and whether they may go on."""

    posttest: PostTest
    graded: list
    open_attempt: Attempt | None
    passed: Attempt | None
    next_attempt_at: datetime.datetime | None
    # Attempts staff allowed this learner beyond the post-test's cap (AttemptAllowance).
    extra_attempts: int = 0

    @property
    def latest(self):
        return self.graded[0] if self.graded else None

    @property
    def attempts_allowed(self):
        return attempts_allowed(posttest=self.posttest, extra_attempts=self.extra_attempts)

    @property
    def out_of_attempts(self):
        return attempts_used_up(
            posttest=self.posttest, graded_count=len(self.graded), extra_attempts=self.extra_attempts
        )

    @property
    def refusal(self):
        """Why no attempt may be taken now, or "" when one may."""
        return attempt_refusal(
            posttest=self.posttest,
            graded_count=len(self.graded),
            passed=self.passed is not None,
            next_attempt_at=self.next_attempt_at,
            extra_attempts=self.extra_attempts,
        )


def attempts_allowed(*, posttest, extra_attempts=0):
    """How many graded attempts a learner may have: the post-test's cap plus the extra
    attempts staff allowed them, or None where the post-test sets no cap."""
    cap = posttest.max_attempts
    return None if cap is None else cap + extra_attempts


def attempts_used_up(*, posttest, graded_count, extra_attempts=0):
    allowed = attempts_allowed(posttest=posttest, extra_attempts=extra_attempts)
    return allowed is not None and graded_count >= allowed


def attempt_allowance_refusal(*, posttest, graded_count, passed, extra_attempts):
    """Why staff cannot allow a learner more attempts now, or "" when they can: only on a
    post-test that caps attempts, which the learner has not passed, once they have used
    every attempt they have (the cap plus `extra_attempts` already allowed)."""
    if posttest.max_attempts is None:
        return "This post-test allows unlimited attempts, so the learner needs no extra one."
    if passed:
        return "The learner has passed this post-test; further attempts are not needed."
    allowed = attempts_allowed(posttest=posttest, extra_attempts=extra_attempts)
    if graded_count < allowed:
        left = allowed - graded_count
        return (
            f"The learner has used {graded_count} of {allowed} attempts and may still take "
            f"{left}: allow more once they have used them all."
        )
    return ""


def extra_attempts_problem(extra_attempts):
    """What is wrong with the number of extra attempts one grant gives, or ""."""
    if extra_attempts is None or not 1 <= extra_attempts <= MAX_EXTRA_ATTEMPTS:
        return f"Allow between 1 and {MAX_EXTRA_ATTEMPTS} extra attempts."
    return ""


def next_attempt_time(*, posttest, last_submitted_at, at=None):
    """When the wait staff set after the latest graded attempt ends, or None when the
    learner need not wait (no wait, no graded attempt, or the wait is over)."""
    if last_submitted_at is None or not posttest.minutes_between_attempts:
        return None
    ready = last_submitted_at + datetime.timedelta(minutes=posttest.minutes_between_attempts)
    return ready if ready > (at or timezone.now()) else None


def attempt_refusal(*, posttest, graded_count, passed, next_attempt_at, extra_attempts=0):
    """Why the learner may neither take nor hand in an attempt now, or "" when they may:
    from how many attempts they had graded, whether one passed, when the wait ends and
    how many extra attempts staff allowed them."""
    if passed:
        return "You have passed this post-test; further attempts are not needed."
    if attempts_used_up(posttest=posttest, graded_count=graded_count, extra_attempts=extra_attempts):
        allowed = attempts_allowed(posttest=posttest, extra_attempts=extra_attempts)
        return f"You have used all {allowed} attempts for this post-test."
    if next_attempt_at:
        return "Please wait before you try the post-test again."
    return ""


def standing_of(*, posttest, attempts, at=None, extra_attempts=0):
    """Where a learner stands on `posttest`, given all their `attempts` on it and the
    `extra_attempts` staff allowed them."""
    graded = sorted(
        (attempt for attempt in attempts if attempt.is_submitted),
        key=lambda attempt: (attempt.submitted_at, attempt.pk),
        reverse=True,
    )
    passed = next((attempt for attempt in reversed(graded) if attempt.passed), None)
    return Standing(
        posttest=posttest,
        graded=graded,
        open_attempt=next((attempt for attempt in attempts if not attempt.is_submitted), None),
        passed=passed,
        next_attempt_at=next_attempt_time(
            posttest=posttest, last_submitted_at=graded[0].submitted_at if graded else None, at=at
        ),
        extra_attempts=extra_attempts,
    )


def activity_pass_mark(activity):
    """The post-test's pass mark as the method of participation prints it, or None
    for an activity without a post-test."""
    try:
        return activity.posttest.pass_percent_display
    except PostTest.DoesNotExist:
        return None


def evaluation_is_editable(*, participation):
    """A learner may change the evaluation until they completed the activity: claiming
    the certificate marks the participation completed, and the certificate certifies the
    evaluation as it was then."""
    return participation is None or participation.completed_at is None


# One per letter a–z: more is no longer a question a learner can weigh, and the bound
# keeps an imported file from storing a question with thousands of choices.
MAX_CHOICES = 26


def choices_problem(choices, *, multiple):
    """`choices` is a list of (text, is_correct): what keeps them from making a fair
    question, or "" when nothing does."""
    correct = sum(1 for _, is_correct in choices if is_correct)
    if len(choices) < 2:
        return "A question needs at least two choices."
    if len(choices) > MAX_CHOICES:
        return f"A question has at most {MAX_CHOICES} choices; this one has {len(choices)}."
    if not correct:
        return "Mark at least one choice as correct."
    if correct > 1 and not multiple:
        return (
            "A single-answer question needs exactly one correct choice; "
            "tick “several correct answers” to accept more."
        )
    if multiple and correct == len(choices):
        return "A multi-answer question needs at least one choice that is not correct."
    return ""


def posttest_problems(*, activity):
    """What keeps the activity's post-test from being published, as messages for staff."""
    # Read through the relations, so a caller's select_related/prefetch_related (lms.
    # publishing checks a page of activities at once) serves them.
    try:
        posttest = activity.posttest
    except PostTest.DoesNotExist:
        return ["The activity has no post-test."]
    questions = list(posttest.questions.all())
    if not questions:
        return ["The post-test has no questions."]
    problems = []
    for number, question in enumerate(questions, start=1):
        problem = choices_problem(
            [(choice.text, choice.is_correct) for choice in question.choices.all()],
            multiple=question.multiple,
        )
        if problem:
            problems.append(f"Post-test question {number}: {problem}")
    return problems


def evaluation_problems(*, activity):
    """What keeps the activity's evaluation from being published, as messages for staff."""
    try:
        evaluation = activity.evaluation
    except Evaluation.DoesNotExist:
        return ["The activity has no evaluation."]
    if not evaluation.questions.all():
        return ["The evaluation has no questions."]
    return []


# Below this a learner passes by knowing well under three answers in four; the SPEC's
# default is 75%. Staff may have a reason, so it is a warning, never a refusal.
PLAUSIBLE_PASS_PERCENT = Decimal("70")


def pass_mark_warnings(*, pass_percent):
    if pass_percent < PLAUSIBLE_PASS_PERCENT:
        return [
            f"The pass mark is {pass_percent.normalize():f}%, below "
            f"{PLAUSIBLE_PASS_PERCENT:f}%: learners could pass while getting many questions "
            "wrong. The usual pass mark is 75%."
        ]
    return []


def assessment_problems(*, activity):
    """Everything in quizzes that keeps `activity` from being published."""
    return posttest_problems(activity=activity) + evaluation_problems(activity=activity)
