import datetime
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from courses.models import Activity, local_date

DEFAULT_PASS_PERCENT = Decimal("75")


class PostTest(models.Model):
    # What a graded attempt's result page shows, as in Moodle's review options; each
    # level shows everything the one before it does.
    class Review(models.TextChoices):
        SCORE = "score", "The score only"
        WRONG_QUESTIONS = "wrong_questions", "Which questions were wrong (no correct answers)"
        CORRECT_ANSWERS = "correct_answers", "The correct answers, with explanations"

    activity = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="posttest")
    pass_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=DEFAULT_PASS_PERCENT,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="The lowest passing score, inclusive: 75 means 3 of 4 passes.",
    )
    max_attempts = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Leave empty for unlimited retakes.",
    )
    minutes_between_attempts = models.PositiveIntegerField(
        default=0, help_text="How long a learner waits after a failed attempt before retaking; 0 for no wait."
    )
    shuffle_questions = models.BooleanField(
        default=False, help_text="Show the questions in a different order in each attempt."
    )
    shuffle_choices = models.BooleanField(
        default=False, help_text="Show each question's choices in a different order in each attempt."
    )
    # Score only by default: right/wrong marks after a failed attempt let someone who
    # knows nothing pass a k-choice test within k retakes.
    review_after_fail = models.CharField(
        "after a failed attempt, show",
        max_length=20,
        choices=Review.choices,
        default=Review.SCORE,
        help_text="Anything more than the score lets a learner pass by elimination over retakes.",
    )
    review_after_pass = models.CharField(
        "after a pass, show",
        max_length=20,
        choices=Review.choices,
        default=Review.CORRECT_ANSWERS,
    )

    def __str__(self):
        return f"Post-test for {self.activity}"

    @property
    def pass_percent_display(self):
        text = f"{self.pass_percent:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text

    def review_statement(self):
        """What the result page shows after a fail and after a pass, for learners."""
        seen = {
            self.Review.SCORE: "your score only",
            self.Review.WRONG_QUESTIONS: "which questions you got wrong, without the correct answers",
            self.Review.CORRECT_ANSWERS: "the correct answers and explanations",
        }
        if self.review_after_fail == self.review_after_pass:
            return f"After every attempt you see {seen[self.review_after_fail]}."
        return (
            f"After a failed attempt you see {seen[self.review_after_fail]}; "
            f"after passing, {seen[self.review_after_pass]}."
        )


class Question(models.Model):
    posttest = models.ForeignKey(PostTest, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveIntegerField(default=0)
    text = models.TextField()
    multiple = models.BooleanField(
        "several correct answers",
        default=False,
        help_text="The learner must tick every correct choice and no other to be right.",
    )
    explanation = models.TextField(
        blank=True, help_text="Shown with the correct answer once the result page reveals it."
    )

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.text


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    order = models.PositiveIntegerField(default=0)
    text = models.CharField(max_length=500)
    is_correct = models.BooleanField(default=False)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.text


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


class Attempt(models.Model):
    """One sitting of a post-test: opened when the learner sees the questions."""

    posttest = models.ForeignKey(PostTest, on_delete=models.PROTECT, related_name="attempts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts"
    )
    started_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # [[question id, [choice id, …]], …] in the order this attempt shows them, fixed when
    # it opens so shuffling never moves a question under the learner's cursor.
    layout = models.JSONField(default=list, blank=True)
    correct_count = models.PositiveIntegerField(default=0)
    question_count = models.PositiveIntegerField(default=0)
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    passed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["posttest", "user"],
                condition=models.Q(submitted_at__isnull=True),
                name="one_open_attempt_per_learner",
            )
        ]

    def __str__(self):
        return f"{self.user} on {self.posttest}"

    @property
    def is_submitted(self):
        return self.submitted_at is not None


class AttemptAnswer(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    choices = models.ManyToManyField(Choice, through="AnswerChoice", related_name="+")
    is_correct = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attempt", "question"], name="one_answer_per_question")
        ]


class AnswerChoice(models.Model):
    """A choice the learner ticked; protected so a graded answer keeps its record."""

    answer = models.ForeignKey(AttemptAnswer, on_delete=models.CASCADE, related_name="+")
    choice = models.ForeignKey(Choice, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["answer", "choice"], name="one_tick_per_choice")
        ]


def posttest_passed_attempt(*, user, activity):
    """The learner's first passing attempt on the activity's post-test, or None."""
    return (
        Attempt.objects.filter(user=user, posttest__activity=activity, passed=True)
        .select_related("posttest__activity")
        .order_by("submitted_at")
        .first()
    )


def attempt_within_credit_window(*, attempt, provider=None):
    """Whether a graded attempt was submitted while its activity gave credit.

    The submission counts, not the start: an attempt opened on the termination date and
    submitted after midnight (provider time) earns no credit.
    """
    if attempt.submitted_at is None:
        return False
    activity = attempt.posttest.activity
    day = local_date(attempt.submitted_at, provider=provider)
    return activity.release_date <= day <= activity.termination_date


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

    @property
    def latest(self):
        return self.graded[0] if self.graded else None

    @property
    def out_of_attempts(self):
        cap = self.posttest.max_attempts
        return cap is not None and len(self.graded) >= cap

    @property
    def refusal(self):
        """Why no attempt may be taken now, or "" when one may."""
        if self.passed:
            return "You have passed this post-test; further attempts are not needed."
        if self.out_of_attempts:
            return f"You have used all {self.posttest.max_attempts} attempts for this post-test."
        if self.next_attempt_at:
            return "Please wait before you try the post-test again."
        return ""


def posttest_standing(*, user, posttest, at=None):
    attempts = list(Attempt.objects.filter(user=user, posttest=posttest))
    graded = sorted(
        (attempt for attempt in attempts if attempt.is_submitted),
        key=lambda attempt: (attempt.submitted_at, attempt.pk),
        reverse=True,
    )
    passed = next((attempt for attempt in reversed(graded) if attempt.passed), None)
    next_attempt_at = None
    if graded and posttest.minutes_between_attempts:
        ready = graded[0].submitted_at + datetime.timedelta(minutes=posttest.minutes_between_attempts)
        if ready > (at or timezone.now()):
            next_attempt_at = ready
    return Standing(
        posttest=posttest,
        graded=graded,
        open_attempt=next((attempt for attempt in attempts if not attempt.is_submitted), None),
        passed=passed,
        next_attempt_at=next_attempt_at,
    )


def choices_problem(choices, *, multiple):
    """`choices` is a list of (text, is_correct): what keeps them from making a fair
    question, or "" when nothing does."""
    correct = sum(1 for _, is_correct in choices if is_correct)
    if len(choices) < 2:
        return "A question needs at least two choices."
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


def validate_question_choices(choices, *, multiple=False):
    problem = choices_problem(choices, multiple=multiple)
    if problem:
        raise ValidationError(problem)


def posttest_problems(*, activity):
    """What keeps the activity's post-test from being published, as messages for staff."""
    posttest = PostTest.objects.filter(activity=activity).first()
    if posttest is None:
        return ["The activity has no post-test."]
    questions = list(posttest.questions.prefetch_related("choices"))
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


class Evaluation(models.Model):
    """An activity's evaluation form, or the one default form new activities start from."""

    activity = models.OneToOneField(
        Activity, null=True, blank=True, on_delete=models.CASCADE, related_name="evaluation"
    )
    is_default = models.BooleanField(
        "default form",
        default=False,
        help_text="The form new activities start from. It belongs to no activity.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_default=True, activity__isnull=True)
                | models.Q(is_default=False, activity__isnull=False),
                name="evaluation_default_or_for_an_activity",
                violation_error_message="The default form belongs to no activity; every other form to one.",
            ),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_evaluation",
                violation_error_message="There is already a default evaluation form.",
            ),
        ]

    def __str__(self):
        return "Default evaluation form" if self.is_default else f"Evaluation of {self.activity}"

    def clean(self):
        if self.is_default and self.activity_id:
            raise ValidationError({"activity": "The default form belongs to no activity; clear it."})
        if not self.is_default and not self.activity_id:
            raise ValidationError({"activity": "Choose the activity, or make this the default form."})


# The answers each kind of evaluation question takes, as (stored value, label).
LIKERT_CHOICES = [
    ("1", "1 – Strongly disagree"),
    ("2", "2"),
    ("3", "3"),
    ("4", "4"),
    ("5", "5 – Strongly agree"),
]
YES_NO_CHOICES = [("yes", "Yes"), ("no", "No")]
COMMITMENT_CHOICES = [("yes", "Yes"), ("no", "No"), ("unsure", "Not sure yet")]


class EvaluationQuestion(models.Model):
    class Kind(models.TextChoices):
        LIKERT = "likert", "Rating from 1 (strongly disagree) to 5 (strongly agree)"
        YES_NO = "yes_no", "Yes or no"
        TEXT = "text", "Free text"
        COMMITMENT = "commitment", "Commitment to change practice"

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveIntegerField(default=0)
    text = models.TextField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.text


class EvaluationResponse(models.Model):
    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="responses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evaluation_responses"
    )
    # The first submission: the day the learner met this requirement, which editing the
    # answers later must not move.
    submitted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "user"], name="one_evaluation_per_learner")
        ]


class EvaluationAnswer(models.Model):
    response = models.ForeignKey(EvaluationResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(EvaluationQuestion, on_delete=models.PROTECT, related_name="answers")
    value = models.TextField(blank=True)
    comment = models.TextField(blank=True)


def evaluation_response_of(*, user, activity):
    return EvaluationResponse.objects.filter(user=user, evaluation__activity=activity).first()


def evaluation_is_editable(*, user, activity):
    """A learner may change the evaluation until a certificate exists for the activity.

    quizzes sits left of certificates and may not import it, so it asks through the
    user's reverse relation, which is there whenever the certificates app is installed.
    """
    certificates = getattr(user, "certificates", None)
    return certificates is None or not certificates.filter(activity=activity).exists()


def evaluation_problems(*, activity):
    """What keeps the activity's evaluation from being published, as messages for staff."""
    evaluation = Evaluation.objects.filter(activity=activity).first()
    if evaluation is None:
        return ["The activity has no evaluation."]
    if not evaluation.questions.exists():
        return ["The evaluation has no questions."]
    return []


def assessment_problems(*, activity):
    """Everything in quizzes that keeps `activity` from being published."""
    return posttest_problems(activity=activity) + evaluation_problems(activity=activity)
