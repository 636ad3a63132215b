from django import forms

from .models import User

# Optional profile fields for reporting completions to the ACCME, boards and CPE Monitor
# (SPEC §3). A claim asks for those its credit types need and saves them here.
BOARD_FIELDS = [
    "birth_month",
    "birth_day",
    "licence_state",
    "licence_number",
    "certifying_board",
    "board_id",
    "nabp_eprofile_id",
    "share_with_boards",
]


class ProfileForm(forms.ModelForm):
    # Labels of required fields carry this class, which site.css marks "(required)" before
    # the first submit; the inputs carry `required` for assistive technology.
    required_css_class = "required"

    class Meta:
        model = User
        fields = [
            "given_name",
            "family_name",
            "certificate_name",
            "degree",
            "profession",
            "npi",
            "specialty",
            *BOARD_FIELDS,
        ]
        help_texts = {
            "certificate_name": "Exactly as it should print on your certificates. "
            "Leave empty to use your given and family name.",
            "birth_month": "Boards match your completions to you by month and day of birth "
            "(never the year). Give both or neither.",
            "birth_day": "A number from 1 to 31, with the month above.",
            "licence_state": "The two-letter code of the state that issued your medical "
            "licence, e.g. NY. Give it with the licence number, or leave both empty.",
            "licence_number": "As printed on your licence.",
            "certifying_board": "If you want MOC points reported to your board for "
            "maintenance of certification.",
            "board_id": "Your ID at that board.",
            "nabp_eprofile_id": "Pharmacists and pharmacy technicians: the 6 or 7 digits of "
            "your NABP e-Profile, under which CPE Monitor records ACPE credit.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("given_name", "family_name", "degree", "profession"):
            self.fields[name].required = True
        self.fields["certificate_name"].required = False
        self.fields["profession"].widget = forms.RadioSelect(choices=User.Profession.choices)
        self.fields["given_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["family_name"].widget.attrs["autocomplete"] = "family-name"
        self.fields["birth_month"].widget.attrs["autocomplete"] = "bday-month"
        self.fields["birth_day"].widget.attrs.update(autocomplete="bday-day", inputmode="numeric")
        self.fields["nabp_eprofile_id"].widget.attrs.update(inputmode="numeric", pattern="[0-9]{6,7}")
        self.fields["licence_state"].widget.attrs.update(
            autocapitalize="characters", size=2, pattern="[A-Za-z]{2}"
        )
        self.fields["licence_state"].error_messages["max_length"] = (
            "Use the two-letter state code, e.g. NY."
        )

    def learner_fields(self):
        return [self[name] for name in self.fields if name not in BOARD_FIELDS]

    def board_fields(self):
        return [self[name] for name in BOARD_FIELDS]

    def clean_licence_state(self):
        return self.cleaned_data["licence_state"].strip().upper()

    def clean(self):
        data = super().clean()
        if not data.get("certificate_name") and data.get("given_name") and data.get("family_name"):
            data["certificate_name"] = f"{data['given_name']} {data['family_name']}"
        return data


class TranscriptPeriodForm(forms.Form):
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("The end of the period must not be before its start.")
        return data


class ReportPeriodForm(TranscriptPeriodForm):
    """The period of completions a staff export covers; both ends required."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("start", "end"):
            self.fields[name].required = True
            self.fields[name].error_messages["required"] = (
                f"Give the {name} date of the period as YYYY-MM-DD."
            )
            self.fields[name].error_messages["invalid"] = (
                f"The {name} date is not a date; use YYYY-MM-DD."
            )
