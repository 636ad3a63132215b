"""The form of the staff exports page: what to export, of which activities, over which
period, in which file format."""

import datetime

from django import forms

from courses.models import Activity, provider_today

from .exports import TableFormat
from .forms import ReportPeriodForm


class ExportForm(ReportPeriodForm):
    COMPLETIONS = "completions"
    EVALUATION_RESPONSES = "evaluation_responses"

    export = forms.ChoiceField(
        label="Export",
        choices=[
            (COMPLETIONS, "Completions: a row per credit type of each certificate, revoked ones included"),
            (EVALUATION_RESPONSES, "Evaluation responses: a row per answer, to pivot by question"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what to export."},
    )
    activity = forms.ModelChoiceField(
        queryset=Activity.objects.order_by("title", "pk"),
        to_field_name="slug",
        required=False,
        empty_label="All activities",
        error_messages={"invalid_choice": "That activity no longer exists; choose another."},
    )
    table_format = forms.ChoiceField(
        label="File format",
        choices=TableFormat.CHOICES,
        widget=forms.RadioSelect,
        help_text="CSV and text files start downloading at once; a workbook is written first, "
        "which takes about ten seconds per 100,000 rows.",
        error_messages={"required": "Choose a file format."},
    )
    with_learners = forms.BooleanField(
        label="Include learners' names and e-mails",
        required=False,
        help_text="For evaluation responses, which leave out who answered unless this is ticked. "
        "Completions always name the learner.",
    )

    field_order = ["export", "activity", "start", "end", "table_format", "with_learners"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = provider_today()
        self.fields["start"].initial = datetime.date(today.year, 1, 1)
        self.fields["end"].initial = today
        self.fields["start"].help_text = "The first day, included."
        self.fields["end"].help_text = "The last day, included."
        self.fields["export"].initial = self.COMPLETIONS
        self.fields["table_format"].initial = TableFormat.CSV

    def clean(self):
        # The period's rule is the parent's; its error goes beside the end date, where the
        # error summary then links.
        try:
            return super().clean()
        except forms.ValidationError as error:
            self.add_error("end", error)
            return self.cleaned_data
