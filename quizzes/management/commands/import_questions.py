from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize

from courses.models import Activity
from quizzes.question_formats import MAX_BYTES, QuestionFileError, questions_parse
from quizzes.services import posttest_questions_import


class Command(BaseCommand):
    help = (
        "Add multiple-choice, multiple-answer and true/false questions from a GIFT or Moodle "
        "XML file to an activity's post-test; all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The activity's slug.")
        parser.add_argument("file", help="A GIFT (.gift, .txt) or Moodle XML (.xml) file.")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Replace the post-test's questions instead of adding after them.",
        )

    def handle(self, *args, slug, file, replace, **options):
        activity = Activity.objects.filter(slug=slug).first()
        if activity is None:
            raise CommandError(f"There is no activity with the slug “{slug}”.")
        try:
            with open(file, "rb") as handle:
                # One byte over the limit is enough for the parser to refuse the file.
                content = handle.read(MAX_BYTES + 1)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from None
        try:
            questions = questions_parse(content=content, filename=file)
            posttest_questions_import(activity=activity, questions=questions, replace=replace)
        except QuestionFileError as error:
            raise CommandError(f"Nothing was imported from {file}. {error}") from None
        except ValidationError as error:
            raise CommandError(f"Nothing was imported from {file}. {' '.join(error.messages)}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {len(questions)} question{pluralize(len(questions))} "
                f"into the post-test of “{activity.title}”."
            )
        )
