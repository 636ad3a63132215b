from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from courses.models import Activity

DEFAULT_PASS_PERCENT = Decimal("75")


def validate_pass_percent(value):
    if not 1 <= value <= 100:
        raise ValidationError("The pass mark must be between 1 and 100 percent.")


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
        validators=[validate_pass_percent],
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
    feedback = models.TextField(
        blank=True,
        help_text="Shown to a learner who chose this answer, once the result page reveals the correct answers.",
    )

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.text


class Attempt(models.Model):
    """One sitting of a post-test: opened when the learner sees the questions."""

    posttest = models.ForeignKey(PostTest, on_delete=models.PROTECT, related_name="attempts")
    # Indexed with the post-test below: the index of the user alone would be its prefix.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts", db_index=False
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
        # A learner's attempts at one post-test, read on every post-test page and hand-in.
        # With an index of the user and one of the post-test, PostgreSQL's plan for a
        # prepared statement ANDed the two, and so read every attempt at the post-test:
        # 1,201 index entries at a bench activity, and one more after each hand-in there.
        indexes = [models.Index(fields=["user", "posttest"], name="attempts_of_learner")]

    def __str__(self):
        return f"{self.user} on {self.posttest}"

    @property
    def is_submitted(self):
        return self.submitted_at is not None


# Extra attempts one grant may give: more is no longer a second chance but a new cap,
# which belongs on the post-test itself.
MAX_EXTRA_ATTEMPTS = 5


class AttemptAllowance(models.Model):
    """Staff's leave for one learner to take more attempts at a post-test than its cap
    allows (quizzes.rules.attempts_used_up counts them), for example after a technical
    failure.

    A row is the record of who allowed it, when and why: it is never edited or deleted;
    a further grant is a new row.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempt_allowances"
    )
    posttest = models.ForeignKey(PostTest, on_delete=models.PROTECT, related_name="allowances")
    extra_attempts = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_EXTRA_ATTEMPTS)]
    )
    reason = models.TextField(help_text="Why this learner may take more attempts than the post-test allows.")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["granted_at", "pk"]
        indexes = [models.Index(fields=["user", "posttest"], name="attempt_allowance_lookup_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(extra_attempts__gte=1), name="attempt_allowance_at_least_one"
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="attempt_allowance_has_reason"),
        ]

    def __str__(self):
        return f"{self.extra_attempts} extra attempt(s) for {self.user} on {self.posttest}"


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
