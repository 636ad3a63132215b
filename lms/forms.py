from django import forms

from .models import User


class ProfileForm(forms.ModelForm):
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
        ]
        help_texts = {
            "certificate_name": "Exactly as it should print on your certificates. "
            "Leave empty to use your given and family name.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("given_name", "family_name", "degree", "profession"):
            self.fields[name].required = True
        self.fields["certificate_name"].required = False
        self.fields["profession"].widget = forms.RadioSelect(choices=User.Profession.choices)
        self.fields["given_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["family_name"].widget.attrs["autocomplete"] = "family-name"

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
