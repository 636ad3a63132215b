from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from courses.models import Activity

DEFAULT_PASS_PERCENT = Decimal("75")


class PostTest(models.Model):
    activity = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="posttest")
    pass_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=DEFAULT_PASS_PERCENT,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="The lowest passing score, inclusive: 75 means 3 of 4 passes.",
    )
    max_attempts = models.PositiveIntegerField(
        null=True, blank=True, help_text="Leave empty for unlimited retakes."
    )

    def __str__(self):
        return f"Post-test for {self.activity}"

    @property
    def pass_percent_display(self):
        text = f"{self.pass_percent:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text


class Question(models.Model):
    posttest = models.ForeignKey(PostTest, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveIntegerField(default=0)
    text = models.TextField()
    explanation = models.TextField(blank=True)

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


class Attempt(models.Model):
    """One sitting of a post-test: opened when the learner sees the questions."""

    posttest = models.ForeignKey(PostTest, on_delete=models.PROTECT, related_name="attempts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts"
    )
    started_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
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
    choice = models.ForeignKey(Choice, null=True, on_delete=models.PROTECT, related_name="+")
    is_correct = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attempt", "question"], name="one_answer_per_question")
        ]


def posttest_passed_attempt(*, user, activity):
    """The learner's first passing attempt on the activity's post-test, or None."""
    return (
        Attempt.objects.filter(user=user, posttest__activity=activity, passed=True)
        .order_by("submitted_at")
        .first()
    )


class Evaluation(models.Model):
    activity = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="evaluation")

    def __str__(self):
        return f"Evaluation of {self.activity}"


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
    submitted_at = models.DateTimeField(default=timezone.now)

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


def validate_question_choices(choices):
    """`choices` is a list of (text, is_correct); a question needs one correct choice."""
    if len(choices) < 2:
        raise ValidationError("A question needs at least two choices.")
    if not any(correct for _, correct in choices):
        raise ValidationError("A question needs a correct choice.")
