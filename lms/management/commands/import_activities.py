import json

from django.core.management.base import BaseCommand, CommandError

from lms.activity_io import ActivityImportError, activities_import


class Command(BaseCommand):
    help = "Create or update activities (by slug) from a JSON file; all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the activity JSON file, or - for standard input.")

    def handle(self, *args, file, **options):
        try:
            if file == "-":
                data = json.load(self.stdin)
            else:
                # utf-8-sig: files saved by spreadsheet and Windows tools often start with a BOM.
                with open(file, encoding="utf-8-sig") as handle:
                    data = json.load(handle)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from None
        except json.JSONDecodeError as error:
            raise CommandError(f"{file} is not valid JSON: {error}") from None
        except UnicodeDecodeError as error:
            raise CommandError(f"{file} is not UTF-8 text: {error}") from None
        except RecursionError:
            raise CommandError(f"{file} is not valid JSON: it is nested too deeply to read.") from None
        try:
            activities = activities_import(data=data)
        except ActivityImportError as error:
            raise CommandError(f"Nothing was imported. {error}") from None
        for activity in activities:
            self.stdout.write(f"Imported {activity.slug}")
        self.stdout.write(self.style.SUCCESS(f"{len(activities)} activities imported."))
