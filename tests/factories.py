import datetime
import itertools
import time
from decimal import Decimal
from pathlib import Path

import factory
from allauth.account.internal.flows.login import record_authentication
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.mfa.utils import decrypt
from django.test import RequestFactory
from django.utils import timezone

from certificates.issuing import certificate_issue
from certificates.models import Certificate, CertificateCredit
from certificates.services import certificate_awards_as_given, certificate_credit_lines, certificate_snapshot
from courses.credit_types import AMA, CREDIT_TYPE_SEED
from courses.models import (
    Activity,
    ActivityCredit,
    CommercialSupport,
    CreditType,
    FacultyRole,
    LearningObjective,
    Participation,
    Person,
    Provider,
    Recording,
    Resource,
    SavedActivity,
    SavedSearch,
    Series,
    ViewingAccommodation,
    provider_today,
)
from lms.models import ReportingBatch, User
from lms.roles import coordinator_group_sync
from quizzes.models import (
    Attempt,
    Choice,
    Evaluation,
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationResponse,
    PostTest,
    Question,
)

PASSWORD = "a-long-test-password-9"


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    name = "Test Medical School"
    time_zone = "America/New_York"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"learner{n}@example.org")
    given_name = "Grace"
    family_name = factory.Sequence(lambda n: f"Hopper{n}")
    certificate_name = factory.LazyAttribute(lambda u: f"{u.given_name} {u.family_name}")
    degree = "MD"
    profession = User.Profession.PHYSICIAN

    @factory.post_generation
    def password(user, create, extracted, **kwargs):
        user.set_password(extracted or PASSWORD)
        if create:
            user.save()
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


class SeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Series
        django_get_or_create = ["title"]

    title = "Grand Rounds"


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    slug = factory.Sequence(lambda n: f"activity-{n}")
    title = factory.Sequence(lambda n: f"Managing Hypertension, Part {n}")
    series = factory.SubFactory(SeriesFactory)
    status = Activity.Status.PUBLISHED
    release_date = factory.LazyFunction(lambda: provider_today() - datetime.timedelta(days=30))
    termination_date = factory.LazyFunction(lambda: provider_today() + datetime.timedelta(days=300))
    credits = Decimal("1.00")
    description = "A webinar recording for busy clinicians."


class ActivityCreditFactory(factory.django.DjangoModelFactory):
    """A credit type an activity offers beyond AMA credit, by the type's `code`."""

    class Meta:
        model = ActivityCredit

    class Params:
        code = "ancc"

    activity = factory.SubFactory(ActivityFactory)
    credit_type = factory.LazyAttribute(lambda offer: CreditType.objects.get(code=offer.code))
    amount = Decimal("1.00")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"Faculty Member {n}")
    degrees = "MD"


class FacultyRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FacultyRole

    activity = factory.SubFactory(ActivityFactory)
    person = factory.SubFactory(PersonFactory)


class CommercialSupportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommercialSupport

    activity = factory.SubFactory(ActivityFactory)
    supporter = factory.Sequence(lambda n: f"Supporter {n} Inc.")
    kind = CommercialSupport.Kind.MONETARY
    amount = Decimal("5000.00")


class LearningObjectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LearningObjective

    activity = factory.SubFactory(ActivityFactory)
    text = "Describe the evidence."


class RecordingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recording

    activity = factory.SubFactory(ActivityFactory)
    url = "/static/demo/welcome.webm"
    captions_url = "/static/demo/welcome.vtt"
    duration_seconds = 8


class PostTestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PostTest

    activity = factory.SubFactory(ActivityFactory)


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    posttest = factory.SubFactory(PostTestFactory)
    text = factory.Sequence(lambda n: f"Question {n}?")
    explanation = "Because the guideline says so."


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory)
    text = factory.Sequence(lambda n: f"Choice {n}")


class EvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evaluation

    activity = factory.SubFactory(ActivityFactory)


class EvaluationQuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvaluationQuestion

    evaluation = factory.SubFactory(EvaluationFactory)
    text = "The activity met its objectives."
    kind = EvaluationQuestion.Kind.LIKERT


class ParticipationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participation

    user = factory.SubFactory(UserFactory)
    activity = factory.SubFactory(ActivityFactory)

    class Params:
        # The learner played the whole recording, as the player's reports record it.
        watched = factory.Trait(
            watched_intervals_ms=factory.LazyAttribute(
                lambda p: [[0, p.activity.recording.duration_seconds * 1000]]
            ),
            recording_completed_at=factory.LazyFunction(timezone.now),
        )


class ViewingAccommodationFactory(factory.django.DjangoModelFactory):
    """Staff's leave for the learner to read the transcript instead of watching."""

    class Meta:
        model = ViewingAccommodation

    participation = factory.SubFactory(ParticipationFactory)
    reason = "Uses a screen reader; reads the transcript instead of the video."
    granted_by = factory.SubFactory(UserFactory, is_staff=True)
    granted_at = factory.LazyFunction(timezone.now)


class EvaluationResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvaluationResponse

    user = factory.SubFactory(UserFactory)
    evaluation = factory.SubFactory(EvaluationFactory)


class AttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attempt

    user = factory.SubFactory(UserFactory)
    posttest = factory.SubFactory(PostTestFactory)


def complete_activity(*, question_count=4, **activity_fields):
    """An activity with a post-test of `question_count` questions (choice A correct) and
    a one-question evaluation."""
    activity = ActivityFactory(**activity_fields)
    LearningObjectiveFactory(activity=activity)
    FacultyRoleFactory(activity=activity)
    RecordingFactory(activity=activity)
    posttest = PostTestFactory(activity=activity)
    for _ in range(question_count):
        question = QuestionFactory(posttest=posttest)
        ChoiceFactory(question=question, text="Right answer", is_correct=True)
        ChoiceFactory(question=question, text="Wrong answer", is_correct=False)
    EvaluationQuestionFactory(evaluation=EvaluationFactory(activity=activity))
    return activity


# A pharmacy activity number as ACPE assigns it (test_credit_types checks its wording).
TEST_UAN = "0197-0000-26-012-H04-P"


def activity_with_credit_types(**activity_fields):
    """A complete activity of 1.5 AMA credits that also offers 1.5 ANCC and ACPE contact
    hours and AAPA credits, 1.5 ABIM MOC points (Medical Knowledge, Internal Medicine)
    and 1 ABP MOC point."""
    activity = complete_activity(**{"credits": Decimal("1.50"), **activity_fields})
    ActivityCreditFactory(activity=activity, code="ancc", amount=Decimal("1.50"))
    ActivityCreditFactory(activity=activity, code="acpe", amount=Decimal("1.50"), uan=TEST_UAN)
    ActivityCreditFactory(activity=activity, code="aapa", amount=Decimal("1.50"))
    ActivityCreditFactory(
        activity=activity, code="moc_abim", amount=Decimal("1.50"), moc_credit_types=["MK"],
        moc_practice_areas=["Internal Medicine"],
    )
    ActivityCreditFactory(activity=activity, code="moc_abp", amount=Decimal("1.00"), moc_credit_types=["LL"])
    return activity


def learner_ready_to_claim(*, activity, user=None, at=None, watched=True):
    """A learner who has started, evaluated and passed `activity`, having watched its
    recording where the activity requires it (unless `watched` is False)."""
    from quizzes.services import attempt_open, attempt_submit

    user = user or UserFactory()
    if watched and activity.requires_full_viewing:
        ParticipationFactory(
            user=user, activity=activity, watched=True, recording_completed_at=at or timezone.now()
        )
    else:
        ParticipationFactory(user=user, activity=activity)
    EvaluationResponseFactory(user=user, evaluation=activity.evaluation)
    attempt = attempt_open(user=user, posttest=activity.posttest)
    answers = {
        question.pk: question.choices.get(is_correct=True).pk
        for question in activity.posttest.questions.all()
    }
    attempt_submit(attempt=attempt, user=user, answers=answers, at=at)
    return user


DEMO_MEDIA = Path(__file__).resolve().parent.parent / "static" / "demo"


class UploadedRecordingFactory(RecordingFactory):
    """A recording whose video and captions were uploaded into storage (the demo files)."""

    url = ""
    captions_url = ""
    video = factory.django.FileField(filename="talk.webm", from_path=DEMO_MEDIA / "welcome.webm")
    captions = factory.django.FileField(filename="talk.vtt", from_path=DEMO_MEDIA / "welcome.vtt")


class DefaultEvaluationFactory(EvaluationFactory):
    activity = None
    is_default = True


class EvaluationAnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvaluationAnswer

    response = factory.SubFactory(EvaluationResponseFactory)
    question = factory.SubFactory(EvaluationQuestionFactory)
    value = "4"


def multi_answer_question(*, posttest, right=("Right one", "Right two"), wrong=("Wrong one",)):
    """A multi-answer question: right only when exactly the `right` choices are ticked."""
    question = QuestionFactory(posttest=posttest, multiple=True)
    for text in right:
        ChoiceFactory(question=question, text=text, is_correct=True)
    for text in wrong:
        ChoiceFactory(question=question, text=text, is_correct=False)
    return question


def graded_attempt(*, activity, user, correct, at=None):
    """A graded attempt of `user` with the first `correct` questions answered right."""
    from quizzes.services import attempt_open, attempt_submit

    attempt = attempt_open(user=user, posttest=activity.posttest, at=at)
    answers = {}
    for index, question in enumerate(activity.posttest.questions.prefetch_related("choices")):
        wanted = [choice.pk for choice in question.choices.all() if choice.is_correct == (index < correct)]
        answers[question.pk] = wanted if question.multiple else wanted[:1]
    return attempt_submit(attempt=attempt, user=user, answers=answers, at=at)


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    activity = factory.SubFactory(ActivityFactory)
    title = factory.Sequence(lambda n: f"Guideline {n}")
    url = factory.Sequence(lambda n: f"https://example.org/guideline-{n}")


class SavedActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SavedActivity

    user = factory.SubFactory(UserFactory)
    activity = factory.SubFactory(ActivityFactory)


class SavedSearchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SavedSearch

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Saved search {n}")
    query = "q=sepsis&credit=open"


def publishable_draft(**activity_fields):
    """A draft activity with everything publishing asks for: an objective, faculty with a
    disclosure on file, a post-test with questions and an evaluation."""
    activity = complete_activity(**{"status": Activity.Status.DRAFT, **activity_fields})
    activity.faculty.update(disclosure="No relevant financial relationships.")
    return activity


def authenticator_app_activate(user):
    """Give `user` an activated authenticator app (allauth's TOTP), as its set-up page does."""
    return TOTP.activate(user, generate_totp_secret()).instance


class StaffUserFactory(UserFactory):
    """A staff member in the "CME coordinator" role, as the product's staff are;
    StaffUserFactory(coordinator=False) is staff without the role."""

    is_staff = True

    class Params:
        # StaffUserFactory(authenticator_app=True): staff with a second factor set up.
        authenticator_app = factory.Trait(
            activated_app=factory.PostGeneration(
                lambda user, create, extracted, **kwargs: create and authenticator_app_activate(user)
            )
        )

    @factory.post_generation
    def coordinator(user, create, extracted, **kwargs):
        if create and extracted is not False:
            user.groups.add(coordinator_group_sync())


class CoordinatorFactory(StaffUserFactory):
    """Named for tests about the role itself."""

    email = factory.Sequence(lambda n: f"coordinator{n}@example.org")


def totp_code(secret):
    """The code an authenticator app set up with `secret` shows now, by allauth's own functions."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def authenticator_app_code(user):
    """The code `user`'s authenticator app shows now."""
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return totp_code(decrypt(authenticator.data["secret"]))


class LearnerBatchFactory(factory.django.DjangoModelFactory):
    """A PARS learner file of March 2025 (the period the PARS tests export), asked for
    and waiting for its worker: nothing recorded yet."""

    class Meta:
        model = ReportingBatch

    kind = ReportingBatch.Kind.PARS_LEARNERS
    state = ReportingBatch.State.PREPARING
    period_start = datetime.date(2025, 3, 1)
    period_end = datetime.date(2025, 3, 31)
    table_format = "txt"
    actor = factory.SubFactory(StaffUserFactory)


def staff_login(client, user):
    """Sign staff `user` in on `client` as the login page does, password and then a code
    from the authenticator app (set up here if the account has none): force_login alone
    leaves a password-only session, which staff pages send to the code step."""
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    authenticator = authenticator or authenticator_app_activate(user)
    client.force_login(user)
    request = RequestFactory().get("/")
    request.session = client.session
    record_authentication(request, user, "password", email=user.email)
    record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
    request.session.save()


def certificate_for(*, activity, user=None, credits="1", completed_on=None, rendered=False, **fields):
    """A claimed certificate of `user` (a new physician by default) on `activity`, made
    directly with the snapshot a claim freezes: for pages and reports, which read
    certificates and not how they were earned. `rendered` issues it as the worker does,
    with its PDF."""
    user = user or UserFactory()
    if not Provider.objects.exists():
        # Certificates are only ever issued by a saved provider (the credit gate refuses otherwise).
        ProviderFactory()
    awards = certificate_awards_as_given(user=user, activity=activity, credits=Decimal(credits))
    certificate = Certificate.objects.create(
        user=user,
        activity=activity,
        completed_on=completed_on or provider_today(),
        **certificate_snapshot(user=user, activity=activity, awards=awards),
        **fields,
    )
    credit_lines_add(
        certificates=[certificate], lines=certificate_credit_lines(user=user, activity=activity, awards=awards)
    )
    if rendered:
        certificate_issue(certificate_id=certificate.pk)
        certificate.refresh_from_db()
    return certificate


def certificates_in_bulk(*, count, activity=None, user=None, completed_on=None):
    """`count` certificates made in bulk, for exports of many rows: of `count` new
    physicians who share their completions with boards on `activity`, or of `user` on
    `count` new activities. Each takes the snapshot of the first pair."""
    batch = next(_bulk_batches)
    if activity is None:
        series = SeriesFactory()
        template = ActivityFactory.build(series=series)
        activities = Activity.objects.bulk_create(
            Activity(**{**_fields_of(template), "slug": f"bulk-{batch}-{index}", "title": f"Bulk activity {index}"})
            for index in range(count)
        )
    else:
        activities = [activity] * count
    if user is None:
        users = User.objects.bulk_create(
            User(
                email=f"bulk{batch}-{index}@example.org", given_name="Bulk", family_name=f"Learner{index}",
                certificate_name=f"Bulk Learner{index}", degree="MD", profession=User.Profession.PHYSICIAN,
                share_with_boards=True, licence_state="NY", licence_number=f"{index:06d}",
            )
            for index in range(count)
        )
    else:
        users = [user] * count
    awards = certificate_awards_as_given(user=users[0], activity=activities[0], credits=Decimal("1"))
    snapshot = certificate_snapshot(user=users[0], activity=activities[0], awards=awards)
    certificates = Certificate.objects.bulk_create(
        Certificate(
            user=learner, activity=on, completed_on=completed_on or provider_today(),
            state=Certificate.State.ISSUED, **snapshot,
        )
        for learner, on in zip(users, activities)
    )
    credit_lines_add(
        certificates=certificates,
        lines=certificate_credit_lines(user=users[0], activity=activities[0], awards=awards),
    )
    return certificates


def credit_lines_add(*, certificates, lines):
    """The frozen credit `lines` (certificate_credit_lines, unsaved) on each of `certificates`."""
    CertificateCredit.objects.bulk_create(
        CertificateCredit(**{**_fields_of(line), "certificate_id": certificate.pk})
        for certificate in certificates
        for line in lines
    )


_bulk_batches = itertools.count()


def _fields_of(instance):
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if not field.primary_key
    }


class CreditExtensionFactory(factory.django.DjangoModelFactory):
    """Staff's extension of one learner's credit past the activity's termination date."""

    class Meta:
        model = "courses.CreditExtension"

    user = factory.SubFactory(UserFactory)
    activity = factory.SubFactory(ActivityFactory)
    until = factory.LazyAttribute(lambda e: e.activity.termination_date + datetime.timedelta(days=14))
    reason = "In hospital during the last weeks before the termination date."
    granted_by = factory.SubFactory(StaffUserFactory)


class AttemptAllowanceFactory(factory.django.DjangoModelFactory):
    """Staff's leave for one learner to take more post-test attempts than the cap allows."""

    class Meta:
        model = "quizzes.AttemptAllowance"

    user = factory.SubFactory(UserFactory)
    posttest = factory.SubFactory(PostTestFactory)
    extra_attempts = 1
    reason = "The connection dropped while the last attempt was handed in."
    granted_by = factory.SubFactory(StaffUserFactory)


def credit_type_of(code):
    """The credit type `code` as migration 0013 seeds it (created again when a transactional
    test's flush removed the seeded rows)."""
    seed = next(entry for entry in CREDIT_TYPE_SEED if entry["code"] == code)
    credit_type, _ = CreditType.objects.get_or_create(
        code=code, defaults={key: value for key, value in seed.items() if key != "code"}
    )
    return credit_type


def credit_line_for(certificate, *, code=AMA, amount=None, **reporting):
    """`certificate`'s frozen credit line of type `code`, as the claim writes one (unless the
    certificate has that line already): the amount (the certificate's credits or hours by
    default) and what reporting needs about it, e.g. board="ABIM", board_id="123456",
    moc_credit_types=["MK"] for MOC points."""
    credit_type = credit_type_of(code)
    amount = Decimal(amount if amount is not None else certificate.credits_claimed or certificate.hours)
    return CertificateCredit.objects.get_or_create(
        certificate=certificate,
        credit_type=credit_type,
        defaults=dict(name=credit_type.name, amount=amount, amount_display=credit_type.amount_display(amount),
                      order=credit_type.order, reporting=reporting),
    )[0]


def moc_offer_for(*, activity, board="ABIM", amount="1", practice_areas=(), credit_types=("MK",)):
    """`activity`'s registration with `board`'s MOC program."""
    return ActivityCredit.objects.create(
        activity=activity, credit_type=credit_type_of(f"moc_{board.lower()}"), amount=Decimal(amount),
        moc_practice_areas=list(practice_areas), moc_credit_types=list(credit_types),
    )


def reporting_physician(**fields):
    """A physician who shares completions with boards and gave all PARS asks for."""
    return UserFactory(**{
        "given_name": "Grace", "family_name": "Hopper", "share_with_boards": True,
        "birth_month": 2, "birth_day": 29, "licence_state": "NY", "licence_number": "123456",
        "npi": "1234567890", "certifying_board": "ABIM", "board_id": "246810", **fields,
    })


def certificate_with_lines(activity, user, *, on=datetime.date(2025, 3, 10), credits="1.25", moc=True, **fields):
    """A certificate of `user` completed `on` (a day of March 2025, the period the PARS
    tests export) with its AMA line and, when `moc`, its ABIM MOC points line carrying the
    learner's board ID as the claim froze it."""
    certificate = certificate_for(activity=activity, user=user, credits=credits, completed_on=on, **fields)
    credit_line_for(certificate=certificate)
    if moc:
        credit_line_for(certificate=certificate, code="moc_abim", board="ABIM", board_id=user.board_id,
                        moc_credit_types=["MK"], moc_practice_areas=["Cardiovascular Disease"])
    return certificate
