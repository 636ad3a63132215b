"""`manage.py load_demo`: the demo catalog, a demo learner and a staff login."""

import datetime
import io
import re

import pytest
from allauth.account.models import EmailAddress
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from courses.models import (
    Activity,
    FacultyRole,
    LearningObjective,
    Person,
    Provider,
    Recording,
    Resource,
    Series,
)
from courses.rules import CreditWindow
from lms.models import User
from quizzes.models import (
    Attempt,
    AttemptAnswer,
    Choice,
    Evaluation,
    EvaluationQuestion,
    PostTest,
    Question,
)

pytestmark = pytest.mark.django_db

SERIES = "Addressing Health Disparities: Clinical Insights on Race and Social Justice"
# (recorded, original release, termination) of the four 2021 recordings, from
# shared/reference/webinar-series-activity-pages.txt.
RECORDINGS_2021 = {
    (datetime.date(2021, 6, 21), datetime.date(2021, 6, 21), datetime.date(2021, 12, 21)),
    (datetime.date(2021, 4, 14), datetime.date(2021, 4, 15), datetime.date(2021, 10, 15)),
    (datetime.date(2021, 3, 24), datetime.date(2021, 3, 26), datetime.date(2021, 9, 26)),
    (datetime.date(2021, 2, 24), datetime.date(2021, 2, 25), datetime.date(2021, 8, 25)),
}
COUNTED_MODELS = [
    Provider, Activity, Series, Person, FacultyRole, LearningObjective, Resource, Recording,
    PostTest, Question, Choice, Evaluation, EvaluationQuestion, User, EmailAddress,
]


def load_demo():
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def printed_login(output, label):
    match = re.search(rf"^{label}:\s+(\S+@\S+) / (\S+)", output, re.MULTILINE)
    assert match, output
    return match.group(1), match.group(2)


def row_counts():
    return {model.__name__: model.objects.count() for model in COUNTED_MODELS}


def test_it_loads_the_four_2021_recordings_with_their_real_dates():
    load_demo()

    series_2021 = Activity.objects.filter(series__title=SERIES)
    assert {(a.recorded_on, a.release_date, a.termination_date) for a in series_2021} == RECORDINGS_2021


def test_it_shows_the_2021_recordings_as_credit_expired():
    load_demo()

    windows = [a.credit_window() for a in Activity.objects.filter(series__title=SERIES)]
    assert windows == [CreditWindow.EXPIRED] * 4


def test_it_loads_an_activity_whose_credit_is_open_today():
    load_demo()

    open_now = [a for a in Activity.objects.all() if a.credit_window() == CreditWindow.OPEN]
    assert open_now
    for activity in open_now:
        assert activity.recording.url
        assert activity.posttest.questions.count() >= 1
        assert activity.evaluation.questions.count() >= 1


def test_it_gives_every_demo_question_a_correct_choice():
    load_demo()

    for question in Question.objects.all():
        assert question.choices.filter(is_correct=True).count() == 1


def test_it_does_not_duplicate_anything_when_run_twice():
    load_demo()
    first = row_counts()

    load_demo()

    assert row_counts() == first
    assert first["Activity"] == 6
    assert first["Provider"] == 1
    assert first["User"] == 2


def test_it_runs_again_after_the_demo_learner_answered_a_posttest():
    output = load_demo()
    learner = User.objects.get(email=printed_login(output, "Demo learner")[0])
    posttest = Activity.objects.get(slug="implicit-bias-in-clinical-decisions").posttest
    attempt = Attempt.objects.create(user=learner, posttest=posttest)
    for question in posttest.questions.all():
        AttemptAnswer.objects.create(attempt=attempt, question=question, is_correct=False)

    load_demo()

    assert Attempt.objects.get() == attempt
    assert attempt.answers.count() == posttest.questions.count()


def test_it_prints_a_demo_learner_who_can_log_in(client):
    email, password = printed_login(load_demo(), "Demo learner")

    assert client.login(email=email, password=password)


def test_it_gives_the_demo_learner_a_complete_profile_and_verified_email():
    email, _ = printed_login(load_demo(), "Demo learner")

    learner = User.objects.get(email=email)
    assert learner.profile_is_complete
    assert not learner.is_staff
    assert EmailAddress.objects.get(user=learner).verified


def test_it_keeps_the_demo_learners_password_when_run_twice(client):
    email, password = printed_login(load_demo(), "Demo learner")

    load_demo()

    assert client.login(email=email, password=password)


@pytest.mark.parametrize("label", ["Demo learner", "Staff login"])
def test_it_never_resets_the_password_of_an_existing_login(client, label):
    email, demo_password = printed_login(load_demo(), label)
    user = User.objects.get(email=email)
    user.set_password("chosen-by-the-owner-91")
    user.save()

    output = load_demo()

    assert f"{email} (already there; its password was left unchanged)" in output
    assert demo_password not in output
    assert client.login(email=email, password="chosen-by-the-owner-91")
    assert not client.login(email=email, password=demo_password)


def test_it_leaves_an_existing_account_with_a_demo_address_as_it_is(client):
    owner = User.objects.create_user(email="staff@example.org", password="the-owners-own-77")

    load_demo()

    owner.refresh_from_db()
    assert not owner.is_superuser
    assert not owner.is_staff
    assert client.login(email="staff@example.org", password="the-owners-own-77")


def test_it_refuses_to_run_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="refuses to run with DJANGO_ENV=production"):
        load_demo()

    assert row_counts() == {model.__name__: 0 for model in COUNTED_MODELS}


def test_it_exits_non_zero_in_production(settings, capsys):
    settings.PRODUCTION = True

    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "load_demo"]).execute()

    assert exited.value.code != 0
    assert "--allow-production" in capsys.readouterr().err


def test_it_runs_in_production_when_told_to_explicitly(settings):
    settings.PRODUCTION = True

    call_command("load_demo", "--allow-production", stdout=io.StringIO())

    assert Activity.objects.count() == 6


def test_it_prints_a_staff_login_for_the_admin(client):
    email, password = printed_login(load_demo(), "Staff login")

    assert client.login(email=email, password=password)
    assert User.objects.get(email=email).is_staff


def test_it_shows_the_2021_recordings_in_the_catalog_as_expired_beside_open_ones(client):
    load_demo()

    expired_page = client.get("/", {"credit": "expired"}).content.decode()
    open_page = client.get("/", {"credit": "open"}).content.decode()

    for month, end in [("June 2021", "Dec 21, 2021"), ("April 2021", "Oct 15, 2021"),
                       ("March 2021", "Sep 26, 2021"), ("February 2021", "Aug 25, 2021")]:
        assert f"{month} recordings" in expired_page
        assert f"Credit ended {end}" in expired_page
    assert "Implicit Bias in Clinical Decision-Making" in open_page
    assert "Credit available until" in open_page
    assert "Structural Equity" not in open_page


def test_it_gives_every_demo_activity_what_publishing_asks_for():
    from lms.publishing import activity_publish_problems

    load_demo()

    assert {a.slug: activity_publish_problems(activity=a) for a in Activity.objects.all()} == {
        a.slug: [] for a in Activity.objects.all()
    }


def test_it_shows_a_demo_disclosure_with_a_relationship_and_the_mitigation(client):
    load_demo()

    page = client.get("/activities/implicit-bias-in-clinical-decisions/").content.decode()

    assert "Example Diagnostics Inc. (advisory board)" in page
    assert "have been mitigated" in page
