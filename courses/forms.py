from django import forms

from .models import Activity, Series
from .rules import CreditWindow
from .statements import format_credits


class CatalogFilterForm(forms.Form):
    """The catalog's search and filters, read from the query string."""

    q = forms.CharField(label="Search activities", required=False, max_length=200)
    credit = forms.ChoiceField(
        label="Credit",
        required=False,
        choices=[("", "Any"), (CreditWindow.OPEN, "Credit available"), (CreditWindow.EXPIRED, "Credit expired")],
    )
    series = forms.ModelChoiceField(
        label="Series", required=False, queryset=Series.objects.all(), empty_label="All series"
    )
    credits = forms.TypedChoiceField(label="Credit amount", required=False, coerce=str, empty_value="")

    def __init__(self, data=None, *, activities=Activity.objects.none()):
        super().__init__(data)
        amounts = activities.order_by("credits").values_list("credits", flat=True).distinct()
        self.fields["credits"].choices = [("", "Any amount")] + [
            (format_credits(amount), format_credits(amount)) for amount in amounts
        ]

    def filters(self):
        """The valid filters; a value that is not valid is left out (and shown as an error)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value not in (None, "")}

    def params(self):
        """The valid filters as query-string values, for links and saved searches."""
        params = dict(self.filters())
        if "series" in params:
            params["series"] = params["series"].pk
        return params
