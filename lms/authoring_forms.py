"""Forms of the staff authoring workspace (lms/authoring.py).

Rows (credit offers, commercial support, resources, people, relationships, evaluation
questions) are
formsets; an "Add …" submit button re-renders the step with one more empty row, so staff
need no JavaScript and lose nothing they typed.
"""

from django import forms
from django.utils.text import slugify

from courses.credit_types import AMA, MOC_CREDIT_TYPES, PARTICIPATION, Board
from courses.models import (
    Activity,
    ActivityCredit,
    CommercialSupport,
    CreditType,
    FacultyRole,
    Provider,
    Recording,
    Resource,
    Series,
)
from courses.rules import OTHER_NATURE_PREFIX, RELATIONSHIP_NATURES, activity_date_problems
from courses.statements import joint_providership_statement
from quizzes.models import EvaluationQuestion

SLUG_MAX = 90
VIDEO_TYPES = "video/mp4,video/webm"


class WorkspaceForm(forms.Form):
    # site.css marks labels of required fields "(required)" before the first submit.
    required_css_class = "required"


class DateInput(forms.DateInput):
    input_type = "date"

    def format_value(self, value):
        return value.isoformat() if hasattr(value, "isoformat") else value


def lines_of(text):
    """The non-empty lines of `text`, stripped, in order."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def free_slug(*, base, exclude_pk=None):
    """`base`, or `base-2`, `base-3`…: the first slug no other activity has."""
    base = (base or "activity")[:SLUG_MAX]
    taken = Activity.objects.exclude(pk=exclude_pk)
    slug, number = base, 2
    while taken.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


class DetailsForm(forms.ModelForm):
    required_css_class = "required"

    new_series = forms.CharField(
        label="Or a new series",
        max_length=200,
        required=False,
        help_text="Type a series name to create it; leave empty to use the list above.",
    )
    objectives = forms.CharField(
        label="Learning objectives",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Give at least one learning objective."},
        help_text="One per line, in order. Learners read them after “participants will be able to:”.",
    )
    joint_providers_text = forms.CharField(
        label="Joint providers",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="One organization per line; leave empty when the activity is not jointly provided.",
    )

    outcome_measures = forms.MultipleChoiceField(
        label="Outcomes measured",
        choices=Activity.OutcomeMeasure.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="How you evaluate the activity's effect; PARS asks for at least one before "
        "the activity can be closed.",
    )

    class Meta:
        model = Activity
        fields = [
            "title",
            "slug",
            "series",
            "recorded_on",
            "release_date",
            "reviewed_on",
            "termination_date",
            "estimated_minutes",
            "credits",
            "description",
            "target_audience",
            "requires_full_viewing",
            "accme_activity_id",
            "outcome_measures",
            "joint_providership_statement",
        ]
        widgets = {
            "recorded_on": DateInput(),
            "release_date": DateInput(),
            "reviewed_on": DateInput(),
            "termination_date": DateInput(),
            "description": forms.Textarea(attrs={"rows": 5}),
            "target_audience": forms.Textarea(attrs={"rows": 2}),
            "joint_providership_statement": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {
            "recorded_on": "Originally recorded on",
            "release_date": "Date of original release",
            "reviewed_on": "Date of most recent review",
            "estimated_minutes": "Estimated time to complete (minutes)",
            "credits": "AMA PRA Category 1 Credits™",
            "requires_full_viewing": "Learners must watch the recording before the evaluation and post-test",
        }
        help_texts = {
            "slug": "The end of the activity's address, /activities/…/. Leave empty to make "
            "it from the title; it cannot change once the activity is published.",
            "credits": "In steps of 0.25, for example 0.75, 1 or 1.5.",
            "termination_date": "Credit is not issued after this day; at most 3 years after "
            "the most recent review (or the release).",
        }

    def __init__(self, *args, locked=False, **kwargs):
        super().__init__(*args, **kwargs)
        activity = self.instance
        if locked:
            self.fields["requires_full_viewing"].disabled = True
            self.fields["requires_full_viewing"].help_text = (
                "Locked: learners have started this published activity. Unpublish it to change this."
            )
        self.fields["slug"].required = False
        self.fields["series"].required = False
        self.fields["series"].empty_label = "No series"
        self.fields["series"].queryset = Series.objects.order_by("title")
        self.fields["credits"].widget.attrs.update(step="0.25", min="0.25")
        if activity.pk:
            self.initial.setdefault(
                "objectives", "\n".join(o.text for o in activity.objectives.all())
            )
            self.initial.setdefault("joint_providers_text", "\n".join(activity.joint_providers or []))
            if activity.status != Activity.Status.DRAFT:
                # Its address is in learners' bookmarks, e-mails and certificates.
                self.fields["slug"].disabled = True
        self.fields["joint_providership_statement"].required = False
        self.fields["joint_providership_statement"].help_text = (
            "Leave empty to use the generated statement"
            + (f": “{self.generated_statement()}”" if activity.pk and activity.joint_providers else ".")
        )

    GROUPS = [
        ("The activity", ["title", "slug", "series", "new_series", "description", "objectives",
                          "target_audience"]),
        ("Dates and credit", ["recorded_on", "release_date", "reviewed_on", "termination_date",
                              "estimated_minutes", "credits", "requires_full_viewing",
                              "accme_activity_id", "outcome_measures"]),
    ]

    def groups(self):
        """The fields as the page groups them, each group with its legend."""
        return [(legend, [self[name] for name in names]) for legend, names in self.GROUPS]

    def generated_statement(self):
        return joint_providership_statement(
            provider_name=Provider.current().name, joint_providers=self.instance.joint_providers
        )

    def clean_slug(self):
        if self.fields["slug"].disabled:
            return self.instance.slug
        slug = self.cleaned_data.get("slug")
        if slug and Activity.objects.exclude(pk=self.instance.pk).filter(slug=slug).exists():
            raise forms.ValidationError("Another activity has this address; choose another.")
        return slug

    def clean_objectives(self):
        objectives = lines_of(self.cleaned_data.get("objectives"))
        if not objectives:
            raise forms.ValidationError("Give at least one learning objective.")
        return objectives

    def clean(self):
        data = super().clean()
        if not data.get("slug") and not self.fields["slug"].disabled and data.get("title"):
            data["slug"] = free_slug(base=slugify(data["title"]), exclude_pk=self.instance.pk)
            self.instance.slug = data["slug"]
        new_series = (data.get("new_series") or "").strip()
        if new_series and data.get("series"):
            self.add_error("new_series", "Choose a series from the list or type a new one, not both.")
        data["joint_providers"] = lines_of(data.get("joint_providers_text"))
        for field, message in activity_date_problems(
            recorded_on=data.get("recorded_on"),
            release_date=data.get("release_date"),
            reviewed_on=data.get("reviewed_on"),
            termination_date=data.get("termination_date"),
        ).items():
            if field not in self.errors:
                self.add_error(field, message)
        return data

    def _post_clean(self):
        # Series and joint providers come from fields of their own; set them before the
        # model's own validation runs.
        self.instance.joint_providers = self.cleaned_data.get("joint_providers", [])
        super()._post_clean()

    def save(self, commit=True):
        new_series = (self.cleaned_data.get("new_series") or "").strip()
        if new_series:
            self.instance.series, _ = Series.objects.get_or_create(title=new_series)
        return super().save(commit=commit)


class CreditOfferForm(forms.ModelForm):
    """A credit type the activity offers beyond AMA credit. A board's MOC credit types are
    listed under each board and stored by code; the row's type says which board's count."""

    required_css_class = "required"

    moc_credit_types = forms.MultipleChoiceField(
        label="MOC credit types",
        required=False,
        choices=[
            (Board(board).label, [(f"{board}:{code}", f"{board}: {label}") for code, label in types])
            for board, types in MOC_CREDIT_TYPES.items()
        ],
        help_text="For a board's MOC points: the board's kinds of MOC credit the activity "
        "counts for (hold Ctrl or ⌘ to choose several).",
    )
    moc_practice_areas = forms.CharField(
        label="MOC practice areas",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="For a board's MOC points: one practice area per line.",
    )

    class Meta:
        model = ActivityCredit
        fields = ["credit_type", "amount", "uan"]
        labels = {"amount": "Amount"}
        help_texts = {
            "amount": "Contact hours, credits or MOC points, in steps of 0.25.",
            "uan": "For ACPE contact hours, e.g. 0000-0000-26-001-H01-P.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credit_type"].queryset = CreditType.objects.exclude(code__in=[AMA, PARTICIPATION])
        self.fields["credit_type"].empty_label = "Choose…"
        self.fields["amount"].widget.attrs.update(step="0.25", min="0.25")
        offer = self.instance
        if offer.pk:
            board = offer.credit_type.board
            self.initial.setdefault("moc_credit_types", [f"{board}:{code}" for code in offer.moc_credit_types])
            self.initial.setdefault("moc_practice_areas", "\n".join(offer.moc_practice_areas))

    def clean_moc_practice_areas(self):
        return lines_of(self.cleaned_data.get("moc_practice_areas"))

    def clean(self):
        data = super().clean()
        credit_type = data.get("credit_type")
        chosen = [value.split(":", 1) for value in data.get("moc_credit_types", [])]
        boards = {board for board, _ in chosen}
        if credit_type and credit_type.board and chosen and boards != {credit_type.board}:
            self.add_error(
                "moc_credit_types",
                f"Choose only {credit_type.board}'s MOC credit types: this row offers {credit_type.name}.",
            )
        data["moc_credit_types"] = [code for _, code in chosen]
        return data

    def _post_clean(self):
        # The MOC lists come from fields of their own; set them before the model's checks.
        self.instance.moc_credit_types = self.cleaned_data.get("moc_credit_types", [])
        self.instance.moc_practice_areas = self.cleaned_data.get("moc_practice_areas", [])
        super()._post_clean()


class CommercialSupportForm(forms.ModelForm):
    required_css_class = "required"

    class Meta:
        model = CommercialSupport
        fields = ["supporter", "kind", "amount", "description"]
        labels = {"supporter": "Supporter (company)", "amount": "Amount (US$)"}


class ResourceForm(forms.ModelForm):
    required_css_class = "required"

    class Meta:
        model = Resource
        fields = ["title", "url"]
        labels = {"url": "Address (URL)"}


CreditOfferFormSet = forms.inlineformset_factory(
    Activity, ActivityCredit, form=CreditOfferForm, extra=0, can_delete=True
)
CommercialSupportFormSet = forms.inlineformset_factory(
    Activity, CommercialSupport, form=CommercialSupportForm, extra=0, can_delete=True
)
ResourceFormSet = forms.inlineformset_factory(
    Activity, Resource, form=ResourceForm, extra=0, can_delete=True
)


class RelationshipForm(WorkspaceForm):
    company = forms.CharField(label="Ineligible company", max_length=200)
    nature = forms.ChoiceField(
        label="Nature of the relationship", choices=[("", "Choose…"), *RELATIONSHIP_NATURES]
    )
    other = forms.CharField(
        label="Describe it (for “Other”)", max_length=200, required=False
    )

    def __init__(self, *args, initial=None, **kwargs):
        nature = (initial or {}).get("nature", "")
        if nature.startswith(OTHER_NATURE_PREFIX):
            initial = {**initial, "nature": "other", "other": nature[len(OTHER_NATURE_PREFIX):].strip()}
        super().__init__(*args, initial=initial, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("nature") == "other":
            if not (data.get("other") or "").strip():
                self.add_error("other", "Describe the relationship, or choose another nature.")
            else:
                data["nature"] = f"{OTHER_NATURE_PREFIX} {data['other'].strip()}"
        return data


# One empty row under each person, ignored while it stays empty: most people have at most
# one relationship, which then takes no extra round trip.
RelationshipFormSet = forms.formset_factory(RelationshipForm, extra=1, can_delete=True)


class PersonForm(WorkspaceForm):
    role_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(max_length=200)
    degrees = forms.CharField(max_length=100, required=False, help_text="For example MD, MPH.")
    affiliation = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    role = forms.ChoiceField(choices=FacultyRole.Role.choices, initial=FacultyRole.Role.PRESENTER)
    no_relationships = forms.BooleanField(
        label="No relevant financial relationships", required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        prefix = f"{self.prefix}-rel"
        data = None
        if self.is_bound:
            data = self.data
            if f"{prefix}-TOTAL_FORMS" not in data:
                # A person row just added by "Add a person": one empty relationship row,
                # as on a fresh page.
                data = data.copy()
                data.update({f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "0"})
        self.relationships = RelationshipFormSet(
            data, prefix=prefix, initial=None if self.is_bound else self.initial.get("relationships", [])
        )

    def has_changed(self):
        return super().has_changed() or self.relationships.has_changed()

    def relationship_rows(self):
        """The relationship rows kept (not deleted), as the model stores them."""
        return [
            {"company": form.cleaned_data["company"].strip(), "nature": form.cleaned_data["nature"]}
            for form in self.relationships.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def clean(self):
        data = super().clean()
        if not self.relationships.is_valid():
            raise forms.ValidationError("Fix the relationships below.")
        rows = self.relationship_rows()
        if rows and data.get("no_relationships"):
            self.add_error(
                "no_relationships",
                "Untick “No relevant financial relationships”, or remove the relationships listed.",
            )
        elif not rows and not data.get("no_relationships"):
            self.add_error(
                "no_relationships",
                "Add their relevant financial relationships, or tick “No relevant financial relationships”.",
            )
        data["relationships"] = rows
        return data


PersonFormSet = forms.formset_factory(PersonForm, extra=0, can_delete=True)


class RecordingForm(forms.ModelForm):
    required_css_class = "required"

    class Meta:
        model = Recording
        fields = ["video", "url", "duration_seconds", "captions", "transcript", "required_viewing_percent"]
        widgets = {
            "video": forms.ClearableFileInput(attrs={"accept": VIDEO_TYPES}),
            "captions": forms.ClearableFileInput(attrs={"accept": ".vtt,text/vtt"}),
            "transcript": forms.Textarea(attrs={"rows": 6}),
        }
        labels = {
            "video": "Upload the video",
            "url": "Or the video's URL",
            "duration_seconds": "Duration in seconds (for a URL only)",
            "captions": "Captions (WebVTT)",
            "required_viewing_percent": "Share learners must watch (%)",
        }
        help_texts = {
            "duration_seconds": "An uploaded video's length is read from the file.",
        }

    def __init__(self, *args, activity, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.activity = activity
        self.fields["duration_seconds"].required = False

    def clean(self):
        data = super().clean()
        # An upload's duration is read from the file by the model; a URL's is typed.
        if data.get("duration_seconds") is None:
            data["duration_seconds"] = 0
        return data


class EvaluationQuestionForm(WorkspaceForm):
    question_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    text = forms.CharField(label="Question", widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(label="Answered by", choices=EvaluationQuestion.Kind.choices)
    required = forms.BooleanField(label="Required", required=False)
    order = forms.IntegerField(
        label="Position", min_value=1, required=False, help_text="Lower numbers come first."
    )


EvaluationQuestionFormSet = forms.formset_factory(EvaluationQuestionForm, extra=0, can_delete=True)


class DuplicateForm(WorkspaceForm):
    title = forms.CharField(label="Title of the new run", max_length=300)
    release_date = forms.DateField(label="Date of original release", widget=DateInput())
    reviewed_on = forms.DateField(
        label="Date of most recent review", widget=DateInput(), required=False,
        help_text="The day the content was reviewed for the new run.",
    )
    termination_date = forms.DateField(label="Termination date", widget=DateInput())

    def __init__(self, *args, activity, **kwargs):
        super().__init__(*args, **kwargs)
        self.activity = activity

    def clean(self):
        data = super().clean()
        for field, message in activity_date_problems(
            recorded_on=self.activity.recorded_on,
            release_date=data.get("release_date"),
            reviewed_on=data.get("reviewed_on"),
            termination_date=data.get("termination_date"),
        ).items():
            if field not in self.errors:
                self.add_error(field, message)
        return data


class ActivitySearchForm(forms.Form):
    q = forms.CharField(label="Search by title", required=False, max_length=200)
