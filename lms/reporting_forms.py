from django import forms
from django.core.validators import MaxValueValidator

from courses.models import Provider, provider_today

from . import pars
from .exports import TableFormat
from .forms import ReportPeriodForm
from .models import ReportedRecord

FIRST_REPORTING_YEAR = 2010
QUEUE_VIEW_CHOICES = [
    ("due", "Not sent yet"),
    ("sent", "Sent, awaiting the board"),
    ("accepted", "Accepted"),
    ("rejected", "Rejected"),
]
QUEUE_WINDOW_CHOICES = [(7, "7 days"), (14, "14 days"), (30, "30 days")]


def with_defaults(query, defaults):
    """A GET form's data: what the query gives, else `defaults` (a period alone, from a
    bookmark or the MOC queue, previews the Excel file)."""
    data = query.copy()
    for name, value in defaults.items():
        data.setdefault(name, value)
    return data


def _format_field():
    return forms.ChoiceField(
        label="File", choices=pars.PARS_FORMATS, initial=TableFormat.XLSX, widget=forms.RadioSelect
    )


class LearnerFileForm(ReportPeriodForm):
    """The PARS learner file: completions of the period, how, and whether to send again
    what was already reported."""

    include_reported = forms.BooleanField(
        label="Include records already reported",
        required=False,
        help_text="Sends again the completions of the period that an earlier file added.",
    )
    DEFAULTS = {"table_format": TableFormat.XLSX}

    table_format = _format_field()

    def clean(self):
        data = super().clean()
        if not Provider.current().accme_provider_id:
            raise forms.ValidationError(
                "PARS names the provider on every row: save the provider's ACCME provider ID "
                "in the provider settings first."
            )
        return data

    def options(self):
        data = self.cleaned_data
        return {"start": data["start"], "end": data["end"], "include_reported": data["include_reported"]}


class ActivityFileForm(forms.Form):
    # It shares the PARS page with the learner file's form: its own ids and names.
    prefix = "activity"

    year = forms.IntegerField(label="Reporting year", min_value=FIRST_REPORTING_YEAR)
    table_format = _format_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        this_year = provider_today().year
        self.fields["year"].widget.attrs["max"] = this_year
        self.fields["year"].validators.append(
            MaxValueValidator(this_year, message=f"Choose {this_year} or an earlier year.")
        )
        self.initial.setdefault("year", this_year - 1)


class MocQueueForm(forms.Form):
    DEFAULTS = {"view": "due", "within": "30"}

    view = forms.ChoiceField(label="Show", choices=QUEUE_VIEW_CHOICES)
    within = forms.TypedChoiceField(
        label="Due within", choices=QUEUE_WINDOW_CHOICES, coerce=int,
        help_text="For records not sent yet: their board's deadline falls within this many days.",
    )


class MocOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label="The board's answer", choices=ReportedRecord.Outcome.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when the board rejected the record, e.g. the board ID did not match.",
    )

    def clean(self):
        data = super().clean()
        if data.get("outcome") == ReportedRecord.Outcome.REJECTED and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the board rejected the record.")
        return data
