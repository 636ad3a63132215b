import json

from django.core.management.base import BaseCommand

from lms.activity_io import activities_export


class Command(BaseCommand):
    help = "Write every activity as activity JSON (the format import_activities reads)."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="File to write; standard output if omitted.")

    def handle(self, *args, output=None, **options):
        text = json.dumps(activities_export(), indent=2, ensure_ascii=False) + "\n"
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            self.stdout.write(text, ending="")
