"""The forms of the workspace's post-test step: the one-screen editor of a post-test's
settings, questions and choices, and the uploads of a questions file and of an activity
JSON file.

The editor is plain HTML forms, one per question and one per choice row, numbered by
prefix ("q2", "q2c0"); the buttons that add, move and remove rows post the whole page and
get it back rearranged with everything typed kept, so it works without JavaScript.
"""

import json
import re
import string
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.template.defaultfilters import filesizeformat

from quizzes.admin import POSTTEST_SETTINGS
from quizzes.models import Choice, PostTest, Question
from quizzes.rules import choices_problem
from quizzes.services import question_delete

MAX_QUESTIONS = 100
MAX_CHOICES = len(string.ascii_uppercase)
# Empty choice rows a new question starts with: most post-test questions have four.
NEW_QUESTION_CHOICES = 4
QUESTIONS_FILE_MAX_BYTES = 512 * 1024
QUESTIONS_FILE_EXTENSIONS = (".gift", ".txt", ".xml")
ACTIVITY_FILE_MAX_BYTES = 2 * 1024 * 1024
STALE = (
    "This page no longer matches the saved post-test (it may have been changed in another "
    "window). Reload the page and make your changes again."
)
ACTION = re.compile(r"(save|continue|add-question|add-choice|up|down|delete)(?:-(\d+))?")


def choice_letter(index):
    return string.ascii_uppercase[index] if index < len(string.ascii_uppercase) else str(index + 1)


class SettingsForm(forms.ModelForm):
    prefix = "settings"

    class Meta:
        model = PostTest
        fields = POSTTEST_SETTINGS
        labels = {"pass_percent": "Pass mark (%)", "max_attempts": "Maximum attempts"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "pass_percent" in self.fields and self.initial.get("pass_percent") == self.instance.pass_percent:
            # 75, not the stored 75.00.
            self.initial["pass_percent"] = self.instance.pass_percent_display


class QuestionForm(forms.Form):
    id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    text = forms.CharField(required=False, strip=True, widget=forms.Textarea(attrs={"rows": 3}))
    multiple = forms.BooleanField(
        label="Several correct answers",
        required=False,
        help_text="The learner must tick every correct choice and no other.",
    )
    explanation = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown with the correct answer once the result page reveals it.",
    )

    def __init__(self, *args, number, **kwargs):
        super().__init__(*args, **kwargs)
        self.number = number
        self.fields["text"].label = f"Text of question {number}"
        self.fields["explanation"].label = f"Explanation of question {number}"


class ChoiceForm(forms.Form):
    id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    text = forms.CharField(required=False, max_length=Choice._meta.get_field("text").max_length)
    is_correct = forms.BooleanField(required=False)
    feedback = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    delete = forms.BooleanField(required=False)

    def __init__(self, *args, index, **kwargs):
        super().__init__(*args, **kwargs)
        self.letter = letter = choice_letter(index)
        self.fields["text"].label = f"Choice {letter}"
        self.fields["is_correct"].label = f"Choice {letter} is correct"
        self.fields["feedback"].label = f"Feedback on choice {letter}"
        self.fields["delete"].label = f"Delete choice {letter}"

    def is_blank(self):
        """An empty row nobody filled in: "Add choice" and new questions leave some."""
        return not any(self.cleaned_data.get(name) for name in ("id", "text", "is_correct", "feedback"))


@dataclass
class QuestionRow:
    form: QuestionForm
    choices: list
    errors: list = field(default_factory=list)

    @property
    def number(self):
        return self.form.number

    @property
    def anchor(self):
        return f"question-{self.number}"


def _raw(form):
    """What a bound form holds, field by field, as initial values for a new form."""
    return {name: form[name].data for name in form.fields}


def _count(value):
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


class PostTestEditor:
    """The settings, questions and choices of one activity's post-test on one page.

    Built from the saved post-test (or the defaults when there is none), from a posted
    page, or rearranged from a posted page by one of its buttons; `save` writes it all
    in one transaction, creating the post-test if needed, or nothing."""

    def __init__(self, *, activity, posttest, settings, rows):
        self.activity = activity
        self.posttest = posttest
        self.settings = settings
        self.rows = rows
        self.errors = []
        self.status = ""
        self.focus = ""

    # --- Building ------------------------------------------------------------------

    @classmethod
    def from_saved(cls, *, activity, posttest):
        rows = []
        if posttest is not None:
            for question in posttest.questions.prefetch_related("choices"):
                rows.append(
                    {
                        "id": question.pk,
                        "text": question.text,
                        "multiple": question.multiple,
                        "explanation": question.explanation,
                        "choices": [
                            {
                                "id": choice.pk,
                                "text": choice.text,
                                "is_correct": choice.is_correct,
                                "feedback": choice.feedback,
                                "delete": False,
                            }
                            for choice in question.choices.all()
                        ],
                    }
                )
        settings = SettingsForm(instance=posttest or PostTest(activity=activity))
        return cls(activity=activity, posttest=posttest, settings=settings, rows=cls._unbound_rows(rows))

    @classmethod
    def from_post(cls, *, activity, posttest, data):
        rows = []
        count = _count(data.get("questions"))
        # Beyond the limits the page is not read at all, rather than read in part: the
        # rows left unread would be deleted as if removed.
        too_many = count > MAX_QUESTIONS
        for index in range(min(count, MAX_QUESTIONS)):
            prefix = f"q{index}"
            form = QuestionForm(data, prefix=prefix, number=index + 1)
            choice_count = _count(data.get(f"{prefix}-choices"))
            too_many = too_many or choice_count > MAX_CHOICES
            choices = [
                ChoiceForm(data, prefix=f"{prefix}c{position}", index=position)
                for position in range(min(choice_count, MAX_CHOICES))
            ]
            rows.append(QuestionRow(form=form, choices=choices))
        settings = SettingsForm(data, instance=posttest or PostTest(activity=activity))
        editor = cls(activity=activity, posttest=posttest, settings=settings, rows=rows)
        if too_many:
            editor.errors.append(
                f"A post-test saved here holds at most {MAX_QUESTIONS} questions of at most "
                f"{MAX_CHOICES} choices each."
            )
        return editor

    @staticmethod
    def _unbound_rows(rows):
        built = []
        for index, row in enumerate(rows):
            prefix = f"q{index}"
            values = {key: value for key, value in row.items() if key != "choices"}
            form = QuestionForm(initial=values, prefix=prefix, number=index + 1)
            choices = [
                ChoiceForm(initial=choice, prefix=f"{prefix}c{position}", index=position)
                for position, choice in enumerate(row["choices"])
            ]
            built.append(QuestionRow(form=form, choices=choices))
        return built

    @staticmethod
    def action_of(data):
        """The button pressed, as (name, question index or None); Save when unknown."""
        match = ACTION.fullmatch(data.get("action", ""))
        if not match:
            return "save", None
        return match[1], int(match[2]) if match[2] is not None else None

    def rearranged(self, action, index):
        """A new editor holding what this posted one holds, changed by `action` (add a
        question or a choice row, move or remove a question); it shows no errors, as
        nothing was saved."""
        rows = [
            {**_raw(row.form), "choices": [_raw(choice) for choice in row.choices]} for row in self.rows
        ]
        settings = SettingsForm(
            initial=_raw(self.settings), instance=self.posttest or PostTest(activity=self.activity)
        )
        status, focus = "", ""
        valid = index is not None and 0 <= index < len(rows)
        if action == "add-question":
            if len(rows) >= MAX_QUESTIONS:
                status = f"A post-test holds at most {MAX_QUESTIONS} questions."
            else:
                rows.append({"choices": [{} for _ in range(NEW_QUESTION_CHOICES)]})
                status = f"Question {len(rows)} added at the end."
                focus = f"id_q{len(rows) - 1}-text"
        elif action == "add-choice" and valid:
            choices = rows[index]["choices"]
            if len(choices) >= MAX_CHOICES:
                status = f"A question holds at most {MAX_CHOICES} choices."
            else:
                choices.append({})
                status = f"Choice {choice_letter(len(choices) - 1)} added to question {index + 1}."
                focus = f"id_q{index}c{len(choices) - 1}-text"
        elif action in ("up", "down") and valid:
            target = index - 1 if action == "up" else index + 1
            if 0 <= target < len(rows):
                rows[index], rows[target] = rows[target], rows[index]
                status = f"Question {index + 1} moved {action} to position {target + 1}."
                # Focus stays on the button just pressed, now in the moved question; at the
                # top or bottom, where that button is gone, on the other one.
                at_edge = target == 0 if action == "up" else target == len(rows) - 1
                focus = f"{'down' if action == 'up' else 'up'}-{target}" if at_edge else f"{action}-{target}"
        elif action == "delete" and valid:
            rows.pop(index)
            status = f"Question {index + 1} removed. Save to delete it for good."
            focus = "add-question"
        editor = PostTestEditor(
            activity=self.activity, posttest=self.posttest, settings=settings, rows=self._unbound_rows(rows)
        )
        editor.status = status
        editor.focus = focus
        return editor

    # --- Checking -------------------------------------------------------------------

    def is_valid(self):
        if self.errors:
            return False
        settings_valid = self.settings.is_valid()
        rows_valid = [
            all([row.form.is_valid(), *[choice.is_valid() for choice in row.choices]]) for row in self.rows
        ]
        if any("id" in form.errors for row in self.rows for form in (row.form, *row.choices)) or (
            all(rows_valid) and not self._ids_match()
        ):
            self.errors.append(STALE)
            return False
        for row, valid in zip(self.rows, rows_valid, strict=True):
            if valid and self._is_kept(row):
                self._check_question(row)
        return settings_valid and not any(self._row_has_errors(row) for row in self.rows)

    def _check_question(self, row):
        multiple = row.form.cleaned_data["multiple"]
        if not row.form.cleaned_data["text"]:
            row.form.add_error("text", "Write the question, or remove it with “Delete question”.")
        kept = []
        for choice in self._kept_choices(row):
            kept.append((choice.cleaned_data["text"], choice.cleaned_data["is_correct"]))
            if not choice.cleaned_data["text"]:
                choice.add_error("text", "Write the choice, or tick “Delete”.")
        problem = choices_problem(kept, multiple=multiple)
        if problem:
            row.errors.append(problem)

    def _row_has_errors(self, row):
        return bool(row.errors or row.form.errors or any(choice.errors for choice in row.choices))

    @staticmethod
    def _is_kept(row):
        """Whether to save the question: a new one left entirely empty is dropped."""
        values = row.form.cleaned_data
        return bool(
            values["id"]
            or values["text"]
            or values["explanation"]
            or any(not choice.is_blank() for choice in row.choices)
        )

    @staticmethod
    def _kept_choices(row):
        return [choice for choice in row.choices if not choice.cleaned_data["delete"] and not choice.is_blank()]

    def _ids_match(self):
        """Whether every id on the page is one of this post-test's questions, or one of
        that question's choices, each once: a page from another post-test, or one edited
        by hand, must not move rows between questions."""
        saved = {}
        if self.posttest is not None:
            for question in self.posttest.questions.prefetch_related("choices"):
                saved[question.pk] = {choice.pk for choice in question.choices.all()}
        seen_questions = set()
        for row in self.rows:
            question_id = row.form.cleaned_data["id"]
            if question_id is not None and (question_id not in saved or question_id in seen_questions):
                return False
            seen_questions.add(question_id)
            own = saved.get(question_id, set())
            choice_ids = [choice.cleaned_data["id"] for choice in row.choices if choice.cleaned_data["id"]]
            if not set(choice_ids) <= own or len(set(choice_ids)) != len(choice_ids):
                return False
        return True

    def error_entries(self):
        """Every error as {"message", "anchor"}, in page order, for the error summary."""
        entries = [{"message": message, "anchor": "questions-heading"} for message in self.errors]
        for bound in self.settings:
            for error in bound.errors:
                entries.append({"message": f"{bound.label}: {error}", "anchor": bound.id_for_label})
        for error in self.settings.non_field_errors():
            entries.append({"message": error, "anchor": "settings-heading"})
        for row in self.rows:
            for name, errors in row.form.errors.items():
                for error in errors:
                    bound = row.form[name]
                    entries.append({"message": f"{bound.label}: {error}", "anchor": bound.id_for_label})
            for error in row.errors:
                entries.append({"message": f"Question {row.number}: {error}", "anchor": row.anchor})
            for choice in row.choices:
                for name, errors in choice.errors.items():
                    anchor = choice[name].id_for_label if name in choice.fields else row.anchor
                    for error in errors:
                        entries.append(
                            {"message": f"Question {row.number}, choice {choice.letter}: {error}",
                             "anchor": anchor}
                        )
        return entries

    # --- Saving ---------------------------------------------------------------------

    def save(self):
        """Write the post-test as the page shows it, or nothing: a ValidationError (a
        question learners have answered, an activity that has gone live) undoes it all."""
        with transaction.atomic():
            posttest = self.settings.save()
            saved = {question.pk: question for question in posttest.questions.prefetch_related("choices")}
            kept = [row for row in self.rows if self._is_kept(row)]
            kept_ids = {row.form.cleaned_data["id"] for row in kept}
            for question_id, question in saved.items():
                if question_id not in kept_ids:
                    question_delete(question=question)
            for order, row in enumerate(kept):
                values = row.form.cleaned_data
                question = saved.get(values["id"]) or Question(posttest=posttest)
                _store(question, order=order, text=values["text"], multiple=values["multiple"],
                       explanation=values["explanation"])
                self._save_choices(row, question)
        self.posttest = posttest
        return posttest

    def _save_choices(self, row, question):
        wanted = self._kept_choices(row)
        wanted_ids = {choice.cleaned_data["id"] for choice in wanted}
        saved = {choice.pk: choice for choice in question.choices.all()} if question.pk else {}
        for choice_id, choice in saved.items():
            if choice_id not in wanted_ids:
                try:
                    choice.delete()
                except ProtectedError:
                    raise ValidationError(
                        f"Question {row.number}: learners have already ticked choice “{choice.text}”, "
                        "so it cannot be deleted."
                    ) from None
        for order, form in enumerate(wanted):
            values = form.cleaned_data
            _store(
                saved.get(values["id"]) or Choice(question=question),
                order=order,
                text=values["text"],
                is_correct=values["is_correct"],
                feedback=values["feedback"],
            )


def _store(instance, **values):
    """Save `instance` with `values` if it is new or any of them differs: an unchanged
    row stays untouched, so saving a page changes only what was edited."""
    changed = instance.pk is None or any(getattr(instance, name) != value for name, value in values.items())
    for name, value in values.items():
        setattr(instance, name, value)
    if changed:
        instance.save()


# --- Uploads --------------------------------------------------------------------------


def _uploaded_bytes(upload, *, limit, extensions):
    """The content of an uploaded file, checked for its name and size."""
    name = upload.name or ""
    if not name.lower().endswith(extensions):
        allowed = f"{', '.join(extensions[:-1])} or {extensions[-1]}" if len(extensions) > 1 else extensions[0]
        raise ValidationError(f"“{name}” is not a {allowed} file.")
    if upload.size > limit:
        raise ValidationError(
            f"“{name}” is {filesizeformat(upload.size)}; the limit is {filesizeformat(limit)}."
        )
    return upload.read()


class QuestionFileForm(forms.Form):
    REPLACE = "replace"
    APPEND = "append"

    file = forms.FileField(
        label="Questions file",
        help_text="GIFT (.gift or .txt) or Moodle XML (.xml), "
        f"up to {filesizeformat(QUESTIONS_FILE_MAX_BYTES)}.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(QUESTIONS_FILE_EXTENSIONS)}),
    )
    mode = forms.ChoiceField(
        label="The questions in the file",
        choices=[(APPEND, "Add after the existing questions"), (REPLACE, "Replace the existing questions")],
        initial=APPEND,
        widget=forms.RadioSelect,
    )

    def clean_file(self):
        """The file's bytes: the question parser reads their encoding, naming the line
        of a byte that is not UTF-8."""
        upload = self.cleaned_data["file"]
        self.filename = upload.name
        return _uploaded_bytes(upload, limit=QUESTIONS_FILE_MAX_BYTES, extensions=QUESTIONS_FILE_EXTENSIONS)


class ActivityFileForm(forms.Form):
    file = forms.FileField(
        label="Activity JSON file",
        help_text="One activity or a list of them, in the format export_activities writes, "
        f"up to {filesizeformat(ACTIVITY_FILE_MAX_BYTES)}.",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        self.filename = upload.name
        content = _uploaded_bytes(upload, limit=ACTIVITY_FILE_MAX_BYTES, extensions=(".json",))
        try:
            # utf-8-sig: files saved by spreadsheet and Windows tools often start with a BOM.
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationError(f"{upload.name} is not UTF-8 text: {error}") from None
        activity_json_read(text=text, filename=upload.name)
        return text


def activity_json_read(*, text, filename):
    """The JSON data of an activity file, or a ValidationError worded as
    import_activities words it."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError(f"{filename} is not valid JSON: {error}") from None
    except RecursionError:
        raise ValidationError(f"{filename} is not valid JSON: it is nested too deeply to read.") from None
