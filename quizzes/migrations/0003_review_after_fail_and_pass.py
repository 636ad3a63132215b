from django.db import migrations, models

REVIEW_CHOICES = [
    ("score", "The score only"),
    ("wrong_questions", "Which questions were wrong (no correct answers)"),
    ("correct_answers", "The correct answers, with explanations"),
]

# show_answers → (after a fail, after a pass). "never" promised never to show the correct
# answers; it showed right/wrong marks after every attempt, which after a fail is what
# lets a learner pass by elimination, so a fail now shows the score only.
REVIEW_OF = {
    "after_pass": ("score", "correct_answers"),
    "after_every_attempt": ("correct_answers", "correct_answers"),
    "never": ("score", "wrong_questions"),
}


def check_constraints_now(schema_editor):
    # The table is altered next in this transaction, which PostgreSQL refuses while
    # deferred foreign-key checks of these updates are pending.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def split_show_answers(apps, schema_editor):
    check_constraints_now(schema_editor)
    PostTest = apps.get_model("quizzes", "PostTest")
    for show_answers, (after_fail, after_pass) in REVIEW_OF.items():
        PostTest.objects.filter(show_answers=show_answers).update(
            review_after_fail=after_fail, review_after_pass=after_pass
        )


def join_show_answers(apps, schema_editor):
    check_constraints_now(schema_editor)
    PostTest = apps.get_model("quizzes", "PostTest")
    PostTest.objects.update(show_answers="never")
    PostTest.objects.filter(review_after_pass="correct_answers").update(show_answers="after_pass")
    PostTest.objects.filter(review_after_fail="correct_answers").update(show_answers="after_every_attempt")


class Migration(migrations.Migration):

    dependencies = [
        ("quizzes", "0002_multi_answer_review_and_default_evaluation"),
    ]

    operations = [
        migrations.AddField(
            model_name="posttest",
            name="review_after_fail",
            field=models.CharField(
                choices=REVIEW_CHOICES,
                default="score",
                help_text="Anything more than the score lets a learner pass by elimination over retakes.",
                max_length=20,
                verbose_name="after a failed attempt, show",
            ),
        ),
        migrations.AddField(
            model_name="posttest",
            name="review_after_pass",
            field=models.CharField(
                choices=REVIEW_CHOICES,
                default="correct_answers",
                max_length=20,
                verbose_name="after a pass, show",
            ),
        ),
        migrations.RunPython(split_show_answers, join_show_answers),
        migrations.RemoveField(
            model_name="posttest",
            name="show_answers",
        ),
    ]
