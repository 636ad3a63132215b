"""Forms of the staff record pages: finding certificates, the reason every change to a
certificate needs, and the filters of the audit history."""

from django import forms
from django.contrib.auth import get_user_model

from certificates.models import Certificate
from courses.models import Activity

REASON_MAX_LENGTH = 2000


class CertificateSearchForm(forms.Form):
    q = forms.CharField(label="Number, learner’s name or e-mail", required=False, max_length=200)
    state = forms.ChoiceField(
        label="State", required=False, choices=[("", "Any state"), *Certificate.State.choices]
    )


class ReasonForm(forms.Form):
    required_css_class = "required"

    reason = forms.CharField(
        label="Reason",
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Kept with the certificate’s record, with your name and the time.",
        # Django strips the text first, so spaces alone are no reason either.
        error_messages={"required": "Give the reason for this change."},
    )


class AuditFilterForm(forms.Form):
    learner = forms.EmailField(
        label="Learner’s e-mail",
        required=False,
        help_text="Their own record and their certificates.",
    )
    activity = forms.SlugField(
        label="Activity’s short name (slug)",
        required=False,
        help_text="The activity, its post-test, questions and choices.",
    )
    actor = forms.EmailField(label="Changed by (e-mail)", required=False)

    def clean_learner(self):
        return self._user("learner", "No learner has this e-mail address.")

    def clean_actor(self):
        return self._user("actor", "No one with this e-mail address has an account.")

    def clean_activity(self):
        slug = self.cleaned_data["activity"]
        if not slug:
            return None
        activity = Activity.objects.filter(slug=slug).first()
        if activity is None:
            raise forms.ValidationError("No activity has this short name.")
        return activity

    def _user(self, name, missing):
        email = self.cleaned_data[name]
        if not email:
            return None
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise forms.ValidationError(missing)
        return user
