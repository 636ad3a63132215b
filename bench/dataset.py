"""The data sets bench/run.py measures on, built in bulk through the project's models.

Pages (`pages_dataset_build`): published activities in series, each with objectives, two
faculty, a recording, a 4-question post-test of 4 choices and the default evaluation;
learners with participations, graded attempts and issued certificates (a stored tiny PDF,
never rendered); one learner with 10 certificates and one with a certificate for every
activity; and two pools that make each benchmark POST do real work: learners with an open
attempt (a post-test submission grades it) and learners who passed but have not claimed
(a claim creates the certificate). `pools_reset` puts both pools back between rounds.

Exports (`exports_dataset_build`, a database of its own so its 100,000 archived
activities never weigh on the catalog): one activity completed by `export_rows` learners
(the completions CSV), one learner with `export_rows` certificates (the transcript CSV),
and every one of them consenting and AMA-credited (the PARS export: 2 x `export_rows`).
Each certificate has its AMA credit line; the busy activity's were all completed after
the archive's, so the period from `completions_start` holds `export_rows` of them (the
completions across activities, as CSV and as XLSX).

Historical attempts carry their answers, written in SQL after the rest; evaluation
responses carry none: no measured page reads those rows.
Passwords are hashed once and shared. Everything is drawn from a fixed seed.
"""

import datetime
import hashlib
import json
import random
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 5000
PASSWORD = "bench-learner-password-2026"
DURATION_SECONDS = 8  # static/demo/welcome.webm, the recording every activity plays


@dataclass(frozen=True)
class Sizes:
    activities: int
    series: int
    learners: int
    attempts: int
    certificates: int
    light_certificates: int
    pool_learners: int
    pool_activities: int
    export_rows: int


SIZES = {
    "full": Sizes(
        activities=1006, series=20, learners=20000, attempts=200000, certificates=50000,
        light_certificates=10, pool_learners=600, pool_activities=20, export_rows=100000,
    ),
    "small": Sizes(
        activities=200, series=10, learners=3000, attempts=30000, certificates=7500,
        light_certificates=10, pool_learners=150, pool_activities=10, export_rows=10000,
    ),
    "tiny": Sizes(
        activities=40, series=4, learners=200, attempts=1200, certificates=300,
        light_certificates=10, pool_learners=20, pool_activities=5, export_rows=1000,
    ),
}

TOPICS = [
    "Type 2 diabetes", "Hypertension", "Heart failure", "Atrial fibrillation", "Asthma", "COPD",
    "Sepsis", "Chronic kidney disease", "Depression", "Opioid use disorder", "Osteoporosis",
    "Migraine", "Stroke prevention", "Obesity", "Anticoagulation", "Community-acquired pneumonia",
    "HIV prevention", "Hepatitis C", "Breast cancer screening", "Colorectal cancer screening",
    "Lung cancer screening", "Thyroid disease", "Rheumatoid arthritis", "Gout", "Iron deficiency anemia",
    "Dementia", "Parkinson disease", "Epilepsy", "Obstructive sleep apnea", "Childhood immunization",
    "Adult vaccination", "Prenatal care", "Menopause", "Antibiotic stewardship", "Chronic pain",
    "Clinician burnout", "Telehealth", "Health equity", "Lipid management", "Gestational diabetes",
]
ANGLES = [
    "what is new in the guidelines", "a case-based review", "diagnosis in primary care",
    "managing complications", "shared decision-making", "an update for clinicians",
    "pitfalls and pearls", "team-based care", "reading the evidence", "practical management",
]
SETTINGS = ["primary care", "the emergency department", "hospital medicine", "community clinics",
            "rural practice", "telehealth visits", "long-term care"]
ASPECTS = ["screening intervals", "first-line therapy", "de-prescribing", "patient education",
           "risk stratification", "follow-up after discharge", "care transitions",
           "monitoring on treatment", "when to refer", "documentation and coding"]
COMORBIDITY = ["diabetes", "kidney disease", "obesity", "frailty", "pregnancy", "heart disease"]
SERIES = [
    "Internal Medicine Grand Rounds", "Primary Care Update", "Cardiology Case Conference",
    "Infectious Disease Webinars", "Endocrine Roundtable", "Pulmonary Rounds", "Women's Health Forum",
    "Pediatrics Update", "Geriatrics Series", "Behavioral Health Hour", "Oncology Review",
    "Neurology Noon Conference", "Nephrology Rounds", "Rheumatology Rounds", "Emergency Medicine Update",
    "Hospital Medicine Series", "Quality and Safety Forum", "Addiction Medicine ECHO",
    "Public Health Grand Rounds", "Clinician Wellbeing Series",
]
GIVEN = ["Amara", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
         "Luis", "Maya", "Nikhil", "Olga", "Priya", "Quentin", "Rosa", "Samir", "Tara", "Uma", "Viktor",
         "Wen", "Ximena", "Yusuf", "Zoe"]
FAMILY = ["Adeyemi", "Brennan", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
          "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi",
          "Schmidt", "Tanaka", "Usman", "Varga", "Walsh", "Xu", "Yilmaz", "Zhang"]
STATES = ["NY", "NJ", "CT", "PA", "MA", "CA", "TX", "FL", "IL", "OH"]
PHYSICIAN_DEGREES = ["MD", "DO"]
OTHER_DEGREES = ["NP", "PA-C", "RN", "PharmD"]
QUESTION = "In {topic}, which approach does the session recommend for {aspect}?"
DATASET_VERSION = "1"


def fingerprint(*, size):
    """What the built data set depends on: the migrations, this file and `size` (which
    names the day too: dates are drawn around it). A database whose stored fingerprint
    differs is dropped and built again."""
    digest = hashlib.sha256(f"{size}:{DATASET_VERSION}".encode())
    for path in sorted(ROOT.glob("*/migrations/*.py")) + [Path(__file__)]:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class PagesData:
    """What the page benchmarks address, kept beside the data set so a cached one is reused."""

    activity_slug: str
    verify_number: str
    light_user: int
    heavy_user: int
    heavy_certificates: int
    posttest_pool: list  # [user id, activity slug, attempt id, {question id: correct choice id}]
    claim_pool: list  # [user id, activity slug, credits]


@dataclass
class ExportsData:
    staff_user: int
    transcript_user: int
    activity_slug: str
    rows: int
    completions_start: str
    pars_rows: int


def _bulk(model, objects):
    created = []
    for start in range(0, len(objects), BATCH):
        created += model.objects.bulk_create(objects[start : start + BATCH])
    return created


def _users(count, *, rng, hashed, prefix, physicians_only=False):
    from allauth.account.models import EmailAddress

    from lms.models import User

    users = []
    for number in range(count):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        physician = physicians_only or rng.random() < 0.85
        consents = rng.random() < 0.35
        users.append(
            User(
                email=f"{prefix}{number}@bench.example.org", password=hashed,
                given_name=given, family_name=family, certificate_name=f"{given} {family}",
                degree=rng.choice(PHYSICIAN_DEGREES if physician else OTHER_DEGREES),
                profession=User.Profession.PHYSICIAN if physician else User.Profession.OTHER,
                npi=f"{1000000000 + number}", specialty="Internal medicine",
                share_with_boards=consents,
                birth_month=rng.randint(1, 12) if consents else None,
                birth_day=rng.randint(1, 28) if consents else None,
                licence_state=rng.choice(STATES) if consents else "",
                licence_number=f"L{number:07d}" if consents else "",
            )
        )
    users = _bulk(User, users)
    _bulk(EmailAddress, [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users])
    return users


def _provider():
    from courses.models import Provider

    return Provider.objects.create(
        name="Bench Medical School", accme_provider_id="9999", time_zone="America/New_York",
        disclaimer="For education only.", privacy_url="https://bench.example.org/privacy",
    )


def _tiny_pdf():
    """One stored file that every issued certificate names: the pages never open it."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    return default_storage.save("certificates/bench.pdf", ContentFile(b"%PDF-1.7\n%%EOF\n"))


def _activities(sizes, *, rng, today):
    from courses.models import (
        Activity, FacultyRole, LearningObjective, Person, Recording, Series,
    )
    from courses.search import activity_search_refresh
    from quizzes.models import Choice, Evaluation, EvaluationQuestion, PostTest, Question
    from quizzes.services import evaluation_default

    series = _bulk(Series, [
        Series(title=title, description=f"A webinar series: {title.lower()}.")
        for title in (SERIES * (sizes.series // len(SERIES) + 1))[: sizes.series]
    ])
    people = _bulk(Person, [
        Person(name=f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}", degrees=rng.choice(["MD", "DO", "MD, MPH", "PharmD"]),
               affiliation="University Hospital, Department of Medicine")
        for _ in range(max(40, sizes.activities // 4))
    ])
    activities = []
    for number in range(sizes.activities):
        topic, angle = TOPICS[number % len(TOPICS)], rng.choice(ANGLES)
        # A tenth expired (their credit ended), the rest open; all published.
        expired = number % 10 == 9
        release = today - datetime.timedelta(days=rng.randint(1100, 1400) if expired else rng.randint(5, 900))
        termination = release + datetime.timedelta(days=1095)
        description = (
            f"This session reviews {topic.lower()} for clinicians in {rng.choice(SETTINGS)}. "
            f"Faculty discuss {rng.choice(ASPECTS)} and {rng.choice(ASPECTS)}, with cases drawn "
            f"from everyday practice."
        )
        if rng.random() < 0.04:
            description += f" Particular attention goes to patients who also live with {rng.choice(COMORBIDITY)}."
        activities.append(Activity(
            slug=f"{topic.lower().replace(' ', '-')}-{number}", title=f"{topic}: {angle}",
            accme_activity_id=f"B{number:06d}", series=series[number % len(series)],
            status=Activity.Status.PUBLISHED, recorded_on=release - datetime.timedelta(days=7),
            release_date=release, termination_date=termination, estimated_minutes=60,
            credits=Decimal(rng.choice(["0.5", "1", "1", "1.25", "1.5", "2"])),
            description=description, target_audience="Physicians, nurse practitioners and physician assistants.",
        ))
    activities = _bulk(Activity, activities)
    _bulk(LearningObjective, [
        LearningObjective(activity=a, order=order, text=f"{verb} {rng.choice(ASPECTS)} in {a.title.split(':')[0].lower()}.")
        for a in activities for order, verb in enumerate(["Describe", "Apply", "Evaluate"])
    ])
    _bulk(FacultyRole, [
        FacultyRole(activity=a, person=rng.choice(people), role=role, order=order,
                    relationships=[{"company": "Acme Pharma", "nature": "consultant"}] if rng.random() < 0.1 else [])
        for a in activities
        for order, role in enumerate([FacultyRole.Role.PRESENTER, FacultyRole.Role.MODERATOR])
    ])
    _bulk(Recording, [
        Recording(activity=a, url="/static/demo/welcome.webm", captions_url="/static/demo/welcome.vtt",
                  duration_seconds=DURATION_SECONDS, transcript="A short welcome to the recording.")
        for a in activities
    ])
    posttests = _bulk(PostTest, [PostTest(activity=a) for a in activities])
    questions = _bulk(Question, [
        Question(posttest=p, order=order, text=QUESTION.format(topic=p.activity.title.split(":")[0], aspect=rng.choice(ASPECTS)),
                 explanation="The guideline favours it.")
        for p in posttests for order in range(4)
    ])
    choices = _bulk(Choice, [
        Choice(question=q, order=order, text=f"Option {'ABCD'[order]}: {rng.choice(ASPECTS)}", is_correct=order == 0)
        for q in questions for order in range(4)
    ])
    default = list(evaluation_default().questions.all())
    _bulk(EvaluationQuestion, [
        EvaluationQuestion(evaluation=evaluation, order=order, text=q.text, kind=q.kind, required=q.required)
        for evaluation in _bulk(Evaluation, [Evaluation(activity=a) for a in activities])
        for order, q in enumerate(default)
    ])
    activity_search_refresh(activity_ids=[a.pk for a in activities])

    layouts, answers = {}, {}
    by_question = {}
    for choice in choices:
        by_question.setdefault(choice.question_id, []).append(choice)
    for question in questions:
        own = by_question[question.pk]
        layouts.setdefault(question.posttest_id, []).append([question.pk, [c.pk for c in own]])
        answers.setdefault(question.posttest_id, {})[str(question.pk)] = own[0].pk
    evaluations = dict(Evaluation.objects.filter(activity__isnull=False).values_list("activity_id", "pk"))
    return activities, {p.activity_id: p for p in posttests}, layouts, answers, evaluations


class _Learning:
    """Rows of learners' progress, collected and then written in bulk."""

    def __init__(self, *, provider, tiny_pdf, posttests, layouts, evaluations, rng, now):
        self.provider, self.pdf, self.posttests, self.layouts = provider, tiny_pdf, posttests, layouts
        self.evaluations, self.rng, self.now = evaluations, rng, now
        self.participations, self.attempts, self.responses, self.certificates = [], [], [], []

    def _moment(self, activity, *, lag_days=0):
        today = self.now.date()
        earliest = max(activity.release_date, today - datetime.timedelta(days=1000))
        latest = min(activity.termination_date, today)
        day = earliest + datetime.timedelta(days=self.rng.randint(0, max(0, (latest - earliest).days)))
        day = min(day + datetime.timedelta(days=lag_days), latest)
        return datetime.datetime.combine(day, datetime.time(15, self.rng.randint(0, 59)), tzinfo=datetime.UTC)

    def participate(self, user, activity, *, attempts, passed, evaluated, certified, open_attempt=False):
        from certificates.models import Certificate
        from courses.models import Participation
        from quizzes.models import Attempt, EvaluationResponse

        started = min(self._moment(activity), self.now - datetime.timedelta(hours=2))
        watched = started + datetime.timedelta(minutes=20)
        self.participations.append(Participation(
            user=user, activity=activity, started_at=started, recording_completed_at=watched,
            watched_intervals_ms=[[0, DURATION_SECONDS * 1000]], furthest_position_ms=DURATION_SECONDS * 1000,
            completed_at=watched + datetime.timedelta(minutes=40) if certified else None,
        ))
        posttest = self.posttests[activity.pk]
        for number in range(attempts):
            last = number == attempts - 1
            success = passed and last
            correct = 4 if success else self.rng.randint(0, 2)
            self.attempts.append(Attempt(
                posttest=posttest, user=user, layout=self.layouts[posttest.pk],
                started_at=watched + datetime.timedelta(minutes=5 + 10 * number),
                submitted_at=watched + datetime.timedelta(minutes=12 + 10 * number),
                correct_count=correct, question_count=4, score=Decimal(25 * correct), passed=success,
            ))
        if open_attempt:
            self.attempts.append(Attempt(posttest=posttest, user=user, layout=self.layouts[posttest.pk],
                                         started_at=self.now - datetime.timedelta(minutes=30)))
        if evaluated:
            self.responses.append(EvaluationResponse(
                evaluation_id=self.evaluations[activity.pk], user=user, submitted_at=watched + datetime.timedelta(minutes=3),
            ))
        if certified:
            completed = watched + datetime.timedelta(minutes=12 + 10 * (attempts - 1))
            physician = user.is_physician
            self.certificates.append(Certificate(
                user=user, activity=activity, state=Certificate.State.ISSUED,
                kind=Certificate.Kind.AMA_CREDIT if physician else Certificate.Kind.PARTICIPATION,
                credits_claimed=activity.credits if physician else None,
                hours=None if physician else activity.credits,
                completed_on=completed.date(), learner_name=user.certificate_name, learner_degree=user.degree,
                activity_title=activity.title, activity_release_date=activity.release_date,
                activity_credits=activity.credits, provider_name=self.provider.name,
                accreditation_statement=self.provider.get_accreditation_statement(),
                designation_statement=activity.designation_statement(), pdf=self.pdf,
                issued_at=completed + datetime.timedelta(seconds=5), state_changed_at=completed,
                emailed_at=completed + datetime.timedelta(seconds=30),
            ))

    def write(self):
        from certificates.models import Certificate, CertificateCredit
        from courses.credit_types import AMA, PARTICIPATION
        from courses.models import CreditType, Participation
        from quizzes.models import Attempt, EvaluationResponse

        _bulk(Participation, self.participations)
        attempts = _bulk(Attempt, self.attempts)
        _bulk(EvaluationResponse, self.responses)
        # Each certificate with the credit line its claim freezes, which transcripts list.
        types = {credit_type.code: credit_type for credit_type in CreditType.objects.filter(code__in=[AMA, PARTICIPATION])}
        lines = []
        for certificate in _bulk(Certificate, self.certificates):
            participation = certificate.kind == Certificate.Kind.PARTICIPATION
            credit_type = types[PARTICIPATION if participation else AMA]
            amount = certificate.hours if participation else certificate.credits_claimed
            lines.append(CertificateCredit(
                certificate=certificate, credit_type=credit_type, order=credit_type.order, name=credit_type.name,
                amount=amount, amount_display=credit_type.amount_display(amount),
                accreditation_statement=certificate.accreditation_statement,
                designation_statement=certificate.designation_statement,
            ))
        _bulk(CertificateCredit, lines)
        self.participations, self.attempts, self.responses, self.certificates = [], [], [], []
        return attempts


def pages_dataset_build(*, sizes):
    """Build the pages data set in the (empty, migrated) database Django is set up on."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from courses.models import provider_in_use, provider_today

    rng = random.Random(18)
    hashed = make_password(PASSWORD)
    with transaction.atomic():
        provider = _provider()
    with provider_in_use(provider):
        today, now = provider_today(), timezone.now()
        activities, posttests, layouts, answers, evaluations = _activities(sizes, rng=rng, today=today)
        learning = _Learning(provider=provider, tiny_pdf=_tiny_pdf(), posttests=posttests, layouts=layouts,
                             evaluations=evaluations, rng=rng, now=now)
        open_activities = [a for a in activities if a.termination_date >= today]
        pool_activities = open_activities[1 : 1 + 2 * sizes.pool_activities]
        posttest_activities = pool_activities[: sizes.pool_activities]
        claim_activities = pool_activities[sizes.pool_activities :]
        others = [a for a in activities if a not in pool_activities]

        heavy, light = _users(2, rng=rng, hashed=hashed, prefix="transcript", physicians_only=True)
        for activity in activities:
            learning.participate(heavy, activity, attempts=1, passed=True, evaluated=True, certified=True)
        watch_activity = open_activities[0]
        learning.participate(light, watch_activity, attempts=0, passed=False, evaluated=False, certified=False)
        for activity in rng.sample([a for a in others if a != watch_activity], sizes.light_certificates):
            learning.participate(light, activity, attempts=1, passed=True, evaluated=True, certified=True)

        pool_users = _users(2 * sizes.pool_learners, rng=rng, hashed=hashed, prefix="pool", physicians_only=True)
        posttest_users, claim_users = pool_users[: sizes.pool_learners], pool_users[sizes.pool_learners :]
        for activity in posttest_activities:
            for user in posttest_users:
                learning.participate(user, activity, attempts=1, passed=False, evaluated=True, certified=False,
                                     open_attempt=True)
        for activity in claim_activities:
            for user in claim_users:
                learning.participate(user, activity, attempts=1, passed=True, evaluated=True, certified=False)
        pool_attempts = learning.write()

        # The rest of the attempts and certificates among the other learners: about 1.25
        # attempts per participation, and the certificates on as many passed ones.
        budget_attempts = sizes.attempts - len(pool_attempts)
        budget_certificates = sizes.certificates - len(activities) - sizes.light_certificates
        participations = int(budget_attempts / 1.25)
        certify_share = min(1.0, budget_certificates / max(1, participations * 0.9))
        learners = _users(sizes.learners - 2 - len(pool_users), rng=rng, hashed=hashed, prefix="learner")
        per_learner = participations / len(learners)
        certified = 0
        for index, user in enumerate(learners):
            count = int(per_learner) + (rng.random() < per_learner % 1)
            for activity in rng.sample(others, min(count, len(others))):
                attempts = 2 if rng.random() < 0.25 else 1
                passed = rng.random() < 0.9
                certify = passed and certified < budget_certificates and rng.random() < certify_share
                certified += certify
                learning.participate(user, activity, attempts=attempts, passed=passed,
                                     evaluated=certify or rng.random() < 0.5, certified=certify)
            if index % 2000 == 1999:
                learning.write()
        learning.write()
        _graded_answers()

        verify_number = heavy.certificates.order_by("pk").values_list("number", flat=True).first()
        open_attempts = {
            (a.user_id, a.posttest_id): a.pk for a in pool_attempts if a.submitted_at is None
        }
        return PagesData(
            activity_slug=watch_activity.slug,
            verify_number=verify_number,
            light_user=light.pk,
            heavy_user=heavy.pk,
            heavy_certificates=len(activities),
            posttest_pool=[
                [user.pk, activity.slug, open_attempts[(user.pk, posttests[activity.pk].pk)], answers[posttests[activity.pk].pk]]
                for activity in posttest_activities for user in posttest_users
            ],
            claim_pool=[
                [user.pk, activity.slug, str(activity.credits.normalize())]
                for activity in claim_activities for user in claim_users
            ],
        )


def _graded_answers():
    """Every graded attempt's answers and ticks, as a hand-in writes them (the first
    `correct_count` questions right, each with a choice of its kind), in two statements.
    Without them the answer tables held only the pool's: nearly empty, so the plans
    PostgreSQL keeps for their foreign-key checks read them whole, a hand-in later than
    the one before, where a real site's would use the index."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO quizzes_attemptanswer (attempt_id, question_id, is_correct) "
            'SELECT a.id, q.id, q."order" < a.correct_count FROM quizzes_attempt a '
            "JOIN quizzes_question q ON q.posttest_id = a.posttest_id WHERE a.submitted_at IS NOT NULL"
        )
        cursor.execute(
            "INSERT INTO quizzes_answerchoice (answer_id, choice_id) "
            "SELECT DISTINCT ON (ans.id) ans.id, c.id FROM quizzes_attemptanswer ans "
            "JOIN quizzes_choice c ON c.question_id = ans.question_id AND c.is_correct = ans.is_correct "
            'ORDER BY ans.id, c."order", c.id'
        )


# What pools_reset deletes or sets back, and so leaves dead rows in.
POOL_TABLES = (
    "quizzes_attempt", "quizzes_attemptanswer", "quizzes_answerchoice", "courses_participation",
    "certificates_certificate", "certificates_certificateevent", "certificates_certificatecredit",
    "certificates_certificateversion",
)


def database_settle(*, tables=()):
    """Vacuum and analyse `tables` (every table by default) and, for the whole database,
    write out what the build left in memory, so that no measurement pays for the build's
    or the last round's leftovers. A production database has autovacuum on, which removes
    dead rows as they come; PostgreSQL on this machine kind runs with it off, and the
    build alone left 2 dead rows for each live one in the attempts and participations."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
        if not tables:
            cursor.execute("CHECKPOINT")


def pools_reset(*, data):
    """Put the POST pools back as built: every pool attempt open again, every pool claim
    unmade (its certificate, the certificate's events, credit lines and versions, and the
    participation's completion removed), so the next round's requests do the same work as the first's."""
    from django.db import connection, transaction

    attempt_ids = [entry[2] for entry in data.posttest_pool]
    claim_users = sorted({entry[0] for entry in data.claim_pool})
    claim_slugs = sorted({entry[1] for entry in data.claim_pool})
    with transaction.atomic(), connection.cursor() as cursor:
        # A submission still being graded holds its attempt's row: wait for it.
        cursor.execute("SELECT id FROM quizzes_attempt WHERE id = ANY(%s) FOR UPDATE", [attempt_ids])
        cursor.execute(
            "DELETE FROM quizzes_answerchoice WHERE answer_id IN "
            "(SELECT id FROM quizzes_attemptanswer WHERE attempt_id = ANY(%s))", [attempt_ids])
        cursor.execute("DELETE FROM quizzes_attemptanswer WHERE attempt_id = ANY(%s)", [attempt_ids])
        cursor.execute(
            "UPDATE quizzes_attempt SET submitted_at = NULL, correct_count = 0, question_count = 0, "
            "score = NULL, passed = false WHERE id = ANY(%s)", [attempt_ids])
        pool_certificates = (
            "SELECT c.id FROM certificates_certificate c JOIN courses_activity a ON a.id = c.activity_id "
            "WHERE c.user_id = ANY(%s) AND a.slug = ANY(%s)"
        )
        for table in ("certificates_certificateevent", "certificates_certificatecredit",
                      "certificates_certificateversion"):
            cursor.execute(f"DELETE FROM {table} WHERE certificate_id IN ({pool_certificates})",
                           [claim_users, claim_slugs])
        cursor.execute(f"DELETE FROM certificates_certificate WHERE id IN ({pool_certificates})",
                       [claim_users, claim_slugs])
        cursor.execute(
            "UPDATE courses_participation p SET completed_at = NULL FROM courses_activity a "
            "WHERE a.id = p.activity_id AND p.user_id = ANY(%s) AND a.slug = ANY(%s)", [claim_users, claim_slugs])
    database_settle(tables=POOL_TABLES)


def pools_work_done(*, data):
    """(graded pool attempts, certificates claimed by the claim pool): what the POST
    rounds actually did, to compare with the requests wrk counted."""
    from certificates.models import Certificate
    from quizzes.models import Attempt

    graded = Attempt.objects.filter(pk__in=[e[2] for e in data.posttest_pool], submitted_at__isnull=False).count()
    claimed = Certificate.objects.filter(
        user__in={e[0] for e in data.claim_pool}, activity__slug__in={e[1] for e in data.claim_pool}
    ).count()
    return graded, claimed


def exports_dataset_build(*, sizes):
    """Build the exports data set in the (empty, migrated) database Django is set up on."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from certificates.models import Certificate, CertificateCredit
    from courses.credit_types import AMA
    from courses.models import Activity, CreditType, provider_in_use, provider_today
    from lms.models import User
    from lms.roles import coordinator_group_sync

    rng = random.Random(4)
    rows = sizes.export_rows
    hashed = make_password(PASSWORD)
    provider = _provider()
    with provider_in_use(provider):
        today, now = provider_today(), timezone.now()
        staff = User.objects.create(email="staff@bench.example.org", password=hashed, is_staff=True,
                                    given_name="Sam", family_name="Staff", certificate_name="Sam Staff")
        staff.groups.add(coordinator_group_sync())
        TOTP.activate(staff, generate_totp_secret())
        pdf = _tiny_pdf()
        release = today - datetime.timedelta(days=700)
        busy = Activity.objects.create(
            slug="bench-exports", title="Sepsis: an update for clinicians", status=Activity.Status.PUBLISHED,
            accme_activity_id="B0000001",
            release_date=release, termination_date=release + datetime.timedelta(days=1095), credits=Decimal("1"),
        )
        archive = _bulk(Activity, [
            Activity(slug=f"archived-{n}", title=f"{TOPICS[n % len(TOPICS)]}: {ANGLES[n % len(ANGLES)]}",
                     accme_activity_id=f"A{n:07d}", status=Activity.Status.ARCHIVED, release_date=release,
                     termination_date=release + datetime.timedelta(days=1095), credits=Decimal("1"))
            for n in range(rows)
        ])
        learners = _users(rows, rng=rng, hashed=hashed, prefix="export", physicians_only=True)
        User.objects.filter(pk__in=[u.pk for u in learners]).update(
            share_with_boards=True, birth_month=3, birth_day=14, licence_state="NY", licence_number="L1234567")
        (transcript_user,) = _users(1, rng=rng, hashed=hashed, prefix="archive", physicians_only=True)
        User.objects.filter(pk=transcript_user.pk).update(
            share_with_boards=True, birth_month=7, birth_day=1, licence_state="NY", licence_number="L7654321")

        # The archive's certificates were completed in the first half of the two years,
        # the busy activity's in the second.
        half = 345

        def certificate(user, activity, *, after):
            completed = release + datetime.timedelta(days=after + rng.randint(0, half - 1))
            return Certificate(
                user=user, activity=activity, state=Certificate.State.ISSUED, kind=Certificate.Kind.AMA_CREDIT,
                credits_claimed=activity.credits, completed_on=completed, learner_name=user.certificate_name,
                learner_degree=user.degree, activity_title=activity.title, activity_release_date=release,
                activity_credits=activity.credits, provider_name=provider.name,
                accreditation_statement=provider.get_accreditation_statement(),
                designation_statement=activity.designation_statement(), pdf=pdf, issued_at=now, emailed_at=now,
            )

        certificates = _bulk(Certificate, [certificate(user, busy, after=half) for user in learners])
        certificates += _bulk(Certificate, [certificate(transcript_user, activity, after=0) for activity in archive])
        ama = CreditType.objects.get(code=AMA)
        _bulk(CertificateCredit, [
            CertificateCredit(certificate=c, credit_type=ama, name=ama.name, amount=c.credits_claimed,
                              amount_display=ama.amount_display(c.credits_claimed),
                              accreditation_statement=c.accreditation_statement,
                              designation_statement=c.designation_statement)
            for c in certificates
        ])
    # Every certificate is a PARS row: consenting physicians with all PARS asks for.
    return ExportsData(staff_user=staff.pk, transcript_user=transcript_user.pk, activity_slug=busy.slug, rows=rows,
                       completions_start=(release + datetime.timedelta(days=half)).isoformat(),
                       pars_rows=len(certificates))


# The marker table lives in the bench database only, beside Django's tables.
MARKER_TABLE = "bench_dataset"


def marker_read(connection):
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (fingerprint text, data text)")
        cursor.execute(f"SELECT fingerprint, data FROM {MARKER_TABLE}")
        row = cursor.fetchone()
    return (row[0], json.loads(row[1])) if row else (None, None)


def marker_write(connection, *, fingerprint, data):
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (fingerprint text, data text)")
        cursor.execute(f"DELETE FROM {MARKER_TABLE}")
        cursor.execute(f"INSERT INTO {MARKER_TABLE} VALUES (%s, %s)", [fingerprint, json.dumps(asdict(data))])
