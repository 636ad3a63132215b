"""Credit types as data (issue 17, part 1): what an activity offers beyond AMA credit, who
may earn each type, what each needs from the learner, and how a claim, the certificate,
the transcript, the activity page, activity JSON and the authoring workspace carry them."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from certificates.models import Certificate, CertificateCredit
from certificates.pdf import certificate_pdf
from certificates.services import ClaimRefused, certificate_claim
from courses.credit_types import CREDIT_TYPE_SEED, LearnerDetail, Profession
from courses.models import Activity, ActivityCredit, CreditType
from courses.rules import (
    credit_offer_of,
    credit_offer_problems,
    credit_offer_row_problems,
    credit_offers,
    detail_fields_missing,
    details_needed,
    moc_points,
    offers_for_profession,
)
from courses.selectors import activity_credit_offers, learner_credit_offers
from lms.activity_io import ActivityImportError, activities_export, activities_import
from lms.authoring import authoring_steps
from lms.publishing import activity_duplicate, activity_publish_problems

from .conftest import pdf_text
from .factories import (
    TEST_UAN,
    ActivityCreditFactory,
    StaffUserFactory,
    UserFactory,
    activity_with_credit_types,
    certificate_for,
    complete_activity,
    learner_ready_to_claim,
    publishable_draft,
    staff_login,
)
from .test_authoring import details_data

UAN = TEST_UAN


@pytest.fixture
def offering(provider):
    return activity_with_credit_types()


def ready(activity, profession=Profession.PHYSICIAN, **fields):
    return learner_ready_to_claim(activity=activity, user=UserFactory(profession=profession, **fields))


def claim(client, learner, activity, **data):
    client.force_login(learner)
    return client.post(f"/activities/{activity.slug}/claim/", {"attest": "on", **data})


def lines_of(learner):
    return [
        (line.credit_type.code, line.amount)
        for line in CertificateCredit.objects.filter(certificate__user=learner).select_related("credit_type")
    ]


MOC_CLAIM = {
    "credits": "1", "moc_board": "ABIM", "board_id": "123456", "birth_month": "3", "birth_day": "14",
    "share_with_boards": "on",
}


# --- the rule: offers, eligibility, details ------------------------------------------------


def test_it_offers_ama_credit_each_added_type_and_participation_in_the_types_order(offering):
    offers = activity_credit_offers(activity=offering)

    assert [(offer.code, offer.amount) for offer in offers] == [
        ("ama", Decimal("1.50")), ("ancc", Decimal("1.50")), ("acpe", Decimal("1.50")),
        ("aapa", Decimal("1.50")), ("moc_abim", Decimal("1.50")), ("moc_abp", Decimal("1.00")),
        ("participation", Decimal("1.50")),
    ]
    assert offers[2].uan == UAN
    assert offers[4].moc_credit_type_labels == ["Medical Knowledge"]


@pytest.mark.parametrize(("profession", "codes"), [
    (Profession.PHYSICIAN, ["ama", "moc_abim", "moc_abp"]),
    (Profession.NURSE, ["ancc"]),
    (Profession.NURSE_PRACTITIONER, ["ancc"]),
    (Profession.PHARMACIST, ["acpe"]),
    (Profession.PHARMACY_TECHNICIAN, ["acpe"]),
    (Profession.PHYSICIAN_ASSISTANT, ["aapa"]),
    (Profession.STUDENT, ["participation"]),
    (Profession.OTHER, ["participation"]),
    ("", ["participation"]),
])
def test_it_makes_each_profession_eligible_for_its_own_types(offering, profession, codes):
    offers = offers_for_profession(activity_credit_offers(activity=offering), profession=profession)

    assert [offer.code for offer in offers] == codes


def test_it_gives_participation_to_a_nurse_only_where_no_nursing_credit_is_offered(provider):
    activity = complete_activity()
    nurse = UserFactory(profession=Profession.NURSE)

    assert [offer.code for offer in learner_credit_offers(activity=activity, user=nurse)] == ["participation"]


def test_it_builds_the_offers_from_the_types_it_is_given():
    types = {fields["code"]: CreditType(**fields) for fields in CREDIT_TYPE_SEED}
    row = ActivityCredit(credit_type=types["acpe"], amount=Decimal("2"), uan=UAN)

    offers = credit_offers(credits=Decimal("1"), ama=types["ama"], participation=types["participation"], rows=[row])

    assert [(offer.code, offer.amount_display) for offer in offers] == [
        ("ama", "1 AMA PRA Category 1 Credit™"), ("acpe", "2 ACPE contact hours"),
        ("participation", "1 hour of participation"),
    ]


def test_it_says_what_each_type_needs_from_the_learner_and_whether_they_gave_it(offering):
    offers = {offer.code: offer for offer in activity_credit_offers(activity=offering)}

    assert details_needed([offers["ama"], offers["ancc"]]) == []
    assert details_needed([offers["acpe"]]) == [LearnerDetail.NABP_EPROFILE, LearnerDetail.BIRTH_MONTH_DAY]
    assert details_needed([offers["moc_abim"]]) == [LearnerDetail.BIRTH_MONTH_DAY, LearnerDetail.BOARD_ID]
    needed = details_needed([offers["acpe"]])
    assert detail_fields_missing(details=needed, values={"nabp_eprofile_id": "123456", "birth_month": 2}) == [
        "birth_day"
    ]
    assert detail_fields_missing(
        details=needed, values={"nabp_eprofile_id": "123456", "birth_month": 2, "birth_day": 29}
    ) == []


def test_it_gives_as_many_moc_points_as_the_credit_claimed_up_to_the_registration():
    assert moc_points(registered=Decimal("1.5"), credit_claimed=Decimal("1")) == Decimal("1")
    assert moc_points(registered=Decimal("1"), credit_claimed=Decimal("1.5")) == Decimal("1")
    assert moc_points(registered=Decimal("1"), credit_claimed=None) == Decimal("1")


@pytest.mark.parametrize(("code", "fields", "field", "message"), [
    ("ama", {}, "credit_type", "is the activity's own credit amount"),
    ("participation", {}, "credit_type", "come with every activity"),
    ("ancc", {"uan": UAN}, "uan", "for ACPE contact hours only"),
    ("ancc", {"moc_credit_types": ["MK"]}, "moc_credit_types", "for a board's MOC points only"),
    ("ancc", {"moc_practice_areas": ["Cardiology"]}, "moc_practice_areas", "for a board's MOC points only"),
    ("moc_abim", {"moc_credit_types": ["LL"]}, "moc_credit_types", "LL is not one of ABIM's MOC credit types"),
    ("moc_abim", {"moc_credit_types": ["MK", "MK"]}, "moc_credit_types", "listed once"),
    ("moc_abim", {"moc_credit_types": "MK"}, "moc_credit_types", "List the MOC credit types by code"),
])
def test_it_refuses_an_offer_its_type_does_not_allow(db, code, fields, field, message):
    values = {"uan": "", "moc_credit_types": [], "moc_practice_areas": [], **fields}

    errors = credit_offer_row_problems(credit_type=CreditType.objects.get(code=code), **values)

    assert message in errors[field]


def test_it_keeps_acpe_without_a_uan_and_moc_without_credit_types_from_publishing(provider):
    activity = publishable_draft()
    ActivityCreditFactory(activity=activity, code="acpe")
    ActivityCreditFactory(activity=activity, code="moc_abp")

    problems = activity_publish_problems(activity=activity)

    assert (
        "ACPE contact hours: give the activity's UAN (Universal Activity Number); ACPE credit is reported under it."
    ) in problems
    assert any(problem.startswith("ABP MOC points: choose the ABP MOC credit types") for problem in problems)
    assert credit_offer_problems([credit_offer_of(row) for row in activity.credit_offers.all()]) == [
        problem for problem in problems if "MOC" in problem or "UAN" in problem
    ]


# --- the claim ------------------------------------------------------------------------------


def test_it_lets_a_physician_claim_ama_credit_and_report_moc_points_to_their_board(offering, client):
    physician = ready(offering)

    response = claim(client, physician, offering, **MOC_CLAIM)

    certificate = Certificate.objects.get(user=physician)
    assert response.url == certificate.get_absolute_url()
    assert certificate.kind == Certificate.Kind.AMA_CREDIT and certificate.credits_claimed == Decimal("1")
    assert lines_of(physician) == [("ama", Decimal("1")), ("moc_abim", Decimal("1"))]
    moc = certificate.credits.get(credit_type__code="moc_abim")
    assert moc.reporting == {
        "board": "ABIM", "board_id": "123456", "moc_credit_types": ["MK"], "moc_practice_areas": ["Internal Medicine"],
    }
    assert moc.amount_display == "1 ABIM MOC point"
    assert "up to 1.5 ABIM MOC points in the American Board of Internal Medicine (ABIM)" in moc.designation_statement
    physician.refresh_from_db()
    assert (physician.certifying_board, physician.board_id, physician.share_with_boards,
            physician.birth_month, physician.birth_day) == ("ABIM", "123456", True, 3, 14)


def test_it_keeps_the_physicians_path_on_an_ama_only_activity(activity, client):
    physician = ready(activity)
    client.force_login(physician)

    form = client.get(f"/activities/{activity.slug}/claim/").context["form"]
    claim(client, physician, activity, credits="0.75")

    assert list(form.fields) == ["credits", "attest"]
    assert lines_of(physician) == [("ama", Decimal("0.75"))]
    line = CertificateCredit.objects.get()
    assert line.designation_statement == activity.texts().designation_statement
    assert line.reporting == {}


def test_it_awards_a_nurse_ancc_contact_hours_whole_on_a_certificate_of_credit(offering, client, provider):
    nurse = ready(offering, Profession.NURSE, degree="RN")
    client.force_login(nurse)

    page = client.get(f"/activities/{offering.slug}/claim/").content.decode()
    claim(client, nurse, offering, credits="1", credits_ancc="0.25")

    assert "You will receive 1.5 ANCC contact hours." in page
    assert 'name="credits' not in page
    certificate = Certificate.objects.get(user=nurse)
    assert (certificate.kind, certificate.credits_claimed, certificate.hours) == (Certificate.Kind.CREDIT, None, None)
    line = certificate.credits.get()
    assert (line.credit_type.code, line.amount, line.name) == ("ancc", Decimal("1.50"), "ANCC contact hours")
    assert line.accreditation_statement.startswith(f"{provider.name} is accredited as a provider of nursing")
    assert line.designation_statement == "Nurses who complete this activity earn 1.5 ANCC contact hours."


def test_it_asks_a_pharmacist_for_the_nabp_id_and_birthday_and_keeps_them(offering, client):
    pharmacist = ready(offering, Profession.PHARMACIST, degree="PharmD")

    claim(client, pharmacist, offering, nabp_eprofile_id="1234567", birth_month="7", birth_day="2")

    line = Certificate.objects.get(user=pharmacist).credits.get()
    assert (line.credit_type.code, line.amount) == ("acpe", Decimal("1.50"))
    assert line.reporting == {"uan": UAN, "nabp_eprofile_id": "1234567"}
    assert f"1.5 ACPE contact hours (UAN {UAN})" in line.designation_statement
    pharmacist.refresh_from_db()
    assert (pharmacist.nabp_eprofile_id, pharmacist.birth_month, pharmacist.birth_day) == ("1234567", 7, 2)


def test_it_prefills_what_the_profile_holds_and_claims_with_it(offering, client):
    pharmacist = ready(offering, Profession.PHARMACIST, nabp_eprofile_id="654321", birth_month=1, birth_day=5)
    client.force_login(pharmacist)

    page = client.get(f"/activities/{offering.slug}/claim/").content.decode()
    claim(client, pharmacist, offering, nabp_eprofile_id="654321", birth_month="1", birth_day="5")

    assert 'value="654321"' in page
    assert Certificate.objects.get(user=pharmacist).credits.get().reporting["nabp_eprofile_id"] == "654321"


@pytest.mark.parametrize(("data", "message"), [
    ({"birth_month": "7", "birth_day": "2"}, "Give your NABP e-Profile ID"),
    ({"nabp_eprofile_id": "12345", "birth_month": "7", "birth_day": "2"}, "An NABP e-Profile ID is 6 or 7 digits."),
    ({"nabp_eprofile_id": "123456"}, "Give your month of birth"),
    ({"nabp_eprofile_id": "123456", "birth_month": "2", "birth_day": "30"}, "February has no day 30."),
])
def test_it_refuses_acpe_credit_without_what_cpe_monitor_needs(offering, client, data, message):
    pharmacist = ready(offering, Profession.PHARMACIST)

    response = claim(client, pharmacist, offering, **data)

    assert message in response.content.decode()
    assert not Certificate.objects.exists()
    pharmacist.refresh_from_db()
    assert pharmacist.nabp_eprofile_id == "" and pharmacist.birth_month is None


def test_it_lets_a_physician_assistant_claim_aapa_credit_in_quarter_steps(offering, client):
    pa = ready(offering, Profession.PHYSICIAN_ASSISTANT, degree="PA-C")
    client.force_login(pa)

    form = client.get(f"/activities/{offering.slug}/claim/").context["form"]
    claim(client, pa, offering, credits_aapa="1.25")

    assert [value for value, _ in form.fields["credits_aapa"].widget.choices][:2] == ["1.5", "1.25"]
    assert lines_of(pa) == [("aapa", Decimal("1.25"))]
    assert Certificate.objects.get(user=pa).kind == Certificate.Kind.CREDIT


def test_it_gives_a_student_hours_of_participation(offering, client):
    student = ready(offering, Profession.STUDENT)

    claim(client, student, offering)

    assert lines_of(student) == [("participation", Decimal("1.50"))]
    assert Certificate.objects.get(user=student).hours == Decimal("1.50")


# --- what an attacker tries ------------------------------------------------------------------


def test_it_ignores_forged_credit_type_codes(offering, client):
    physician = ready(offering)

    claim(client, physician, offering, credits="1", credits_ancc="1.5", credits_aapa="1.5", credits_acpe="1.5",
          nabp_eprofile_id="1234567")

    assert lines_of(physician) == [("ama", Decimal("1"))]
    physician.refresh_from_db()
    assert physician.nabp_eprofile_id == ""


def test_it_grants_no_type_the_learners_profession_is_not_eligible_for(offering, client):
    nurse = ready(offering, Profession.NURSE)

    claim(client, nurse, offering, **MOC_CLAIM)
    with pytest.raises(ClaimRefused) as refused:
        certificate_claim(user=ready(offering, Profession.NURSE), activity=offering, attested=True, moc_board="ABIM")

    assert lines_of(nurse) == [("ancc", Decimal("1.50"))]
    assert refused.value.field == "moc_board"


def test_it_refuses_moc_points_of_a_board_the_activity_is_not_registered_with(offering, client):
    physician = ready(offering)

    response = claim(client, physician, offering, **{**MOC_CLAIM, "moc_board": "ABA"})
    with pytest.raises(ClaimRefused) as refused:
        certificate_claim(user=physician, activity=offering, attested=True, credits="1", moc_board="ABA",
                          details={"board_id": "1", "birth_month": 1, "birth_day": 1, "share_with_boards": True})

    assert "Select a valid choice. ABA is not one of the available choices." in response.content.decode()
    assert refused.value.reasons == ["This activity offers no MOC points of that board."]
    assert not Certificate.objects.exists()


@pytest.mark.parametrize(("data", "message"), [
    ({"credits": "1.75"}, "Claim between 0.25 and 1.5 credits, in steps of 0.25."),
    ({"credits": "NaN"}, "Claim between 0.25 and 1.5 credits, in steps of 0.25."),
    ({"credits": "1", "board_id": ""}, "Give your ID at the board"),
    ({"credits": "1", "share_with_boards": ""}, "Agree to share this completion with your board"),
])
def test_it_refuses_a_physicians_claim_that_asks_too_much_or_gives_too_little(offering, client, data, message):
    physician = ready(offering)

    response = claim(client, physician, offering, **{**MOC_CLAIM, **data})

    assert message in response.content.decode()
    assert not Certificate.objects.exists()


@pytest.mark.parametrize("amount", ["1.75", "NaN", "Infinity", "0.3", "1e400"])
def test_it_refuses_aapa_credit_beyond_the_offer_with_the_same_message(offering, client, amount):
    pa = ready(offering, Profession.PHYSICIAN_ASSISTANT)

    response = claim(client, pa, offering, credits_aapa=amount)

    assert "Claim between 0.25 and 1.5 AAPA Category 1 CME credits, in steps of 0.25." in response.content.decode()
    assert not Certificate.objects.exists()


def test_it_grants_nothing_more_to_a_replayed_claim(offering, client):
    physician = ready(offering)
    claim(client, physician, offering, credits="0.5")

    response = claim(client, physician, offering, **MOC_CLAIM)

    certificate = Certificate.objects.get(user=physician)
    assert response.url == certificate.get_absolute_url()
    assert lines_of(physician) == [("ama", Decimal("0.50"))]
    physician.refresh_from_db()
    assert physician.board_id == ""


# --- the certificate ---------------------------------------------------------------------------


def test_it_prints_each_credit_line_with_its_amount_and_statements(offering, client):
    physician = ready(offering)
    claim(client, physician, offering, **MOC_CLAIM)
    certificate = Certificate.objects.get(user=physician)

    text = " ".join(pdf_text(certificate_pdf(certificate)).split())

    assert "Credit claimed 1 AMA PRA Category 1 Credit™" in text
    assert "ABIM MOC points 1 ABIM MOC point" in text
    assert "designates this enduring material for a maximum of 1.5 AMA PRA Category 1 Credits™" in text
    assert "American Board of Internal Medicine (ABIM) Maintenance of Certification" in text
    assert text.count("is accredited by the Accreditation Council for Continuing Medical Education") == 1


def test_it_prints_a_pharmacists_acpe_hours_with_the_uan(offering, client):
    pharmacist = ready(offering, Profession.PHARMACIST)
    claim(client, pharmacist, offering, nabp_eprofile_id="1234567", birth_month="7", birth_day="2")

    text = " ".join(pdf_text(certificate_pdf(Certificate.objects.get(user=pharmacist))).split())

    assert "Certificate of Completion" in text
    assert "Credit awarded 1.5 ACPE contact hours" in text
    assert f"(UAN {UAN})" in text
    assert "Accreditation Council for Pharmacy Education" in text


# --- the transcript --------------------------------------------------------------------------


@pytest.fixture
def history(offering, client):
    physician = ready(offering)
    claim(client, physician, offering, **MOC_CLAIM)
    earlier = complete_activity(title="Earlier talk")
    certificate_for(activity=earlier, user=physician, credits="0.5", state=Certificate.State.ISSUED,
                    completed_on=Certificate.objects.get().completed_on.replace(year=2025))
    return physician


def test_it_totals_each_credit_type_per_year_and_overall(history, client):
    client.force_login(history)

    html = client.get("/me/transcript/").content.decode()

    year = Certificate.objects.get(activity__title="Earlier talk").completed_on.year + 1
    assert f"{year} — 1 AMA PRA Category 1 Credit™, 1 ABIM MOC point</h2>" in html
    assert "2025 — 0.5 AMA PRA Category 1 Credits™</h2>" in html
    assert "1.5 AMA PRA Category 1 Credits™ claimed, 1 ABIM MOC point." in html
    assert '<td data-label="Credit">1 AMA PRA Category 1 Credit™, 1 ABIM MOC point</td>' in html


def test_it_lists_each_credit_type_of_a_certificate_in_the_transcript_files(history, client):
    client.force_login(history)

    response = client.get("/me/transcript.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    text = " ".join(pdf_text(client.get("/me/transcript.pdf").content).split())

    assert [(row["credit_type"], row["amount"]) for row in rows] == [
        ("AMA PRA Category 1 Credit™", "1"), ("ABIM MOC points", "1"), ("AMA PRA Category 1 Credit™", "0.5"),
    ]
    assert rows[0]["certificate_number"] == rows[1]["certificate_number"] != rows[2]["certificate_number"]
    assert "1.5 AMA PRA Category 1 Credits™ claimed · 1 ABIM MOC point" in text
    assert "1 AMA PRA Category 1 Credit™, 1 ABIM MOC point" in text


def test_it_reads_the_transcript_in_the_same_queries_however_many_credit_lines(history, client, offering):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(history)
    with CaptureQueriesContext(connection) as few:
        client.get("/me/transcript/")
    for _ in range(5):
        activity = complete_activity(credits=Decimal("1.50"))
        ActivityCreditFactory(activity=activity, code="moc_abim", moc_credit_types=["MK"])
        claim(client, learner_ready_to_claim(activity=activity, user=history), activity, **MOC_CLAIM)

    with CaptureQueriesContext(connection) as many:
        client.get("/me/transcript/")

    assert len(many) == len(few)


# --- the activity page -------------------------------------------------------------------------


def test_it_lists_every_credit_type_offered_on_the_activity_page(offering, client, provider):
    html = client.get(offering.get_absolute_url()).content.decode()

    assert ("1.5 AMA PRA Category 1 Credits™, 1.5 ANCC contact hours, 1.5 ACPE contact hours, "
            "1.5 AAPA Category 1 CME credits, 1.5 ABIM MOC points, 1 ABP MOC point") in html
    assert f"<dd>{UAN}</dd>" in html
    assert "American Board of Internal Medicine (ABIM)" in html
    assert "<dd>Medical Knowledge</dd>" in html and "<dd>Internal Medicine</dd>" in html
    assert "Nurse (RN, LPN), Nurse practitioner (NP)" in html
    assert f"{provider.name} is accredited as a provider of nursing continuing professional development" in html
    assert "Other learners receive a Certificate of Participation recording 1.5 hours of participation." in html


def test_it_builds_the_activity_page_in_the_same_queries_however_many_types(offering, client, learner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plain = complete_activity()
    client.force_login(learner)
    client.get(plain.get_absolute_url())
    with CaptureQueriesContext(connection) as few:
        client.get(plain.get_absolute_url())
    with CaptureQueriesContext(connection) as many:
        assert client.get(offering.get_absolute_url()).status_code == 200

    assert len(many) == len(few)


def test_it_shows_a_credit_type_added_later_on_the_cached_activity_page(activity, client):
    assert "ANCC contact hours" not in client.get(activity.get_absolute_url()).content.decode()

    ActivityCreditFactory(activity=activity, code="ancc")

    assert "1 ANCC contact hour" in client.get(activity.get_absolute_url()).content.decode()


# --- activity JSON -----------------------------------------------------------------------------


def draft_json(*offers):
    return {"slug": "offers", "title": "Offers", "release_date": "2026-01-10", "termination_date": "2026-12-10",
            "credits": "1.00", "credit_offers": list(offers)}


def offer_json(code, **fields):
    return {"type": code, "amount": "1.00", "uan": "", "moc_practice_areas": [], "moc_credit_types": [], **fields}


def test_it_round_trips_the_credit_offers_of_activity_json(provider):
    offers = [offer_json("ancc", amount="0.75"), offer_json("acpe", uan=UAN),
              offer_json("moc_abim", amount="1.25", moc_practice_areas=["Cardiology", "Internal Medicine"],
                         moc_credit_types=["MK", "PS"])]

    activities_import(data=draft_json(*offers))

    assert activities_export()[0]["credit_offers"] == offers


@pytest.mark.parametrize(("offers", "field", "message"), [
    ([offer_json("ama")], "credit_offers[0].type", "'ama' is not a credit type offered this way"),
    ([offer_json("nope")], "credit_offers[0].type", "use one of ancc, acpe, aapa, moc_abim"),
    ([{"amount": "1"}], "credit_offers[0].type", "is required"),
    ([offer_json("ancc", amount="1.3")], "credit_offers[0].amount", "Credits must be in steps of 0.25"),
    ([offer_json("ancc", amount="NaN")], "credit_offers[0].amount", "is not a number"),
    ([offer_json("ancc"), offer_json("acpe", uan="12-34")], "credit_offers[1].uan", "A UAN looks like"),
    ([offer_json("ancc"), offer_json("ancc")], "credit_offers[1].type", "'ancc' is offered twice"),
    ([offer_json("moc_abim", moc_credit_types=["LL"])], "credit_offers[0].moc_credit_types",
     "LL is not one of ABIM's MOC credit types"),
    ([offer_json("moc_abim", moc_credit_types=[3])], "credit_offers[0].moc_credit_types[0]",
     "must be a board's MOC credit type code (non-empty text)"),
    ([offer_json("ancc", uan=UAN)], "credit_offers[0].uan", "for ACPE contact hours only"),
])
def test_it_names_the_field_of_a_bad_credit_offer_and_imports_nothing(provider, offers, field, message):
    with pytest.raises(ActivityImportError) as error:
        activities_import(data=draft_json(*offers))

    assert error.value.field == field
    assert message in error.value.message
    assert not Activity.objects.exists()


def test_it_refuses_to_import_a_published_activity_offering_acpe_without_a_uan(provider):
    from lms.demo import demo_activities

    bias = next(item for item in demo_activities() if item["slug"] == "implicit-bias-in-clinical-decisions")
    bias["credit_offers"][1]["uan"] = ""

    with pytest.raises(ActivityImportError) as error:
        activities_import(data=bias)

    assert error.value.field == "status"
    assert "give the activity's UAN" in error.value.message


def test_it_loads_a_demo_activity_offering_every_kind_of_credit(provider):
    call_command("load_demo", stdout=io.StringIO())

    activity = Activity.objects.get(slug="implicit-bias-in-clinical-decisions")
    offers = {offer.code: offer for offer in activity_credit_offers(activity=activity)}

    assert set(offers) == {"ama", "ancc", "acpe", "aapa", "moc_abim", "participation"}
    assert offers["acpe"].uan.startswith("JA0009901-0000-")
    assert offers["moc_abim"].moc_credit_types == ("MK",)
    assert activity_publish_problems(activity=activity) == []


# --- the authoring workspace and the profile -----------------------------------------------------


@pytest.fixture
def staff_client(client, provider):
    staff_login(client, StaffUserFactory())
    return client


def offers_data(today, *rows):
    data = details_data(today, **{"offers-TOTAL_FORMS": str(len(rows)), "offers-INITIAL_FORMS": "0"})
    for index, row in enumerate(rows):
        data.update({f"offers-{index}-{key}": value for key, value in row.items()})
    return data


def test_it_adds_a_credit_type_row_without_saving_anything(staff_client, today):
    response = staff_client.post("/staff/authoring/new/", {**offers_data(today), "add": "offers"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="offers-0-credit_type"' in html and "Credit type 1" in html
    assert not Activity.objects.exists()


def test_it_saves_credit_types_from_the_details_step(staff_client, today):
    moc = CreditType.objects.get(code="moc_abim")
    acpe = CreditType.objects.get(code="acpe")
    response = staff_client.post("/staff/authoring/new/", offers_data(
        today,
        {"credit_type": str(acpe.pk), "amount": "1.25", "uan": UAN, "moc_practice_areas": ""},
        {"credit_type": str(moc.pk), "amount": "1", "uan": "", "moc_credit_types": ["ABIM:MK", "ABIM:PS"],
         "moc_practice_areas": "Internal Medicine\n\nCardiology\n"},
    ))

    activity = Activity.objects.get()
    assert response.status_code == 302
    assert [(offer.code, offer.amount, offer.uan, offer.moc_credit_types, offer.moc_practice_areas)
            for offer in activity_credit_offers(activity=activity) if offer.code not in ("ama", "participation")] == [
        ("acpe", Decimal("1.25"), UAN, (), ()),
        ("moc_abim", Decimal("1.00"), "", ("MK", "PS"), ("Internal Medicine", "Cardiology")),
    ]
    page = staff_client.get(f"/staff/authoring/{activity.slug}/details/").content.decode()
    assert '<option value="ABIM:MK" selected>' in page


@pytest.mark.parametrize(("row", "message"), [
    ({"credit_type": "moc_abim", "amount": "1", "moc_credit_types": ["ABP:LL"]},
     "Choose only ABIM&#x27;s MOC credit types: this row offers ABIM MOC points."),
    ({"credit_type": "ancc", "amount": "1", "uan": UAN}, "for ACPE contact hours only"),
    ({"credit_type": "ancc", "amount": "0.3"}, "Credits must be in steps of 0.25"),
    ({"credit_type": "ancc", "amount": ""}, "This field is required."),
])
def test_it_saves_nothing_when_a_credit_type_row_is_wrong(staff_client, today, row, message):
    row = {"uan": "", "moc_practice_areas": "", **row,
           "credit_type": str(CreditType.objects.get(code=row["credit_type"]).pk)}

    response = staff_client.post("/staff/authoring/new/", offers_data(today, row))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Activity.objects.exists()


def test_it_offers_only_the_types_beyond_ama_credit_and_participation_in_the_workspace(staff_client, today):
    html = staff_client.post("/staff/authoring/new/", {**offers_data(today), "add": "offers"}).content.decode()

    assert ">ANCC contact hours</option>" in html
    assert ">AMA PRA Category 1 Credit™</option>" not in html
    assert ">Hours of participation</option>" not in html


def test_it_counts_what_the_credit_types_still_need_in_the_details_step_and_refuses_to_publish(staff_client):
    activity = publishable_draft()
    ActivityCreditFactory(activity=activity, code="acpe")
    details = next(step for step in authoring_steps(activity=activity, current="details") if step.name == "details")

    response = staff_client.post(f"/staff/authoring/{activity.slug}/review/", {"action": "publish"})

    assert details.missing == [
        "ACPE contact hours: give the activity's UAN (Universal Activity Number); ACPE credit is reported under it."
    ]
    assert response.status_code == 400
    assert "give the activity&#x27;s UAN" in response.content.decode()
    activity.refresh_from_db()
    assert activity.status == Activity.Status.DRAFT


def test_it_copies_the_credit_types_into_a_new_run(offering):
    copy = activity_duplicate(
        activity=offering, title="A new run", release_date=offering.release_date,
        termination_date=offering.termination_date,
    )

    def offered(activity):
        return [(o.code, o.amount, o.uan, o.moc_credit_types) for o in activity_credit_offers(activity=activity)]

    assert offered(copy) == offered(offering)


def test_it_lists_each_credit_on_the_learners_certificate_page(offering, client):
    physician = ready(offering)
    claim(client, physician, offering, **MOC_CLAIM)

    html = client.get(Certificate.objects.get().get_absolute_url()).content.decode()

    assert "1 AMA PRA Category 1 Credit™, 1 ABIM MOC point" in html


@pytest.mark.parametrize(("typed", "saved"), [("1234567", "1234567"), ("123456", "123456")])
def test_it_keeps_the_nabp_eprofile_id_on_the_profile(client, db, typed, saved):
    pharmacist = UserFactory(profession=Profession.PHARMACIST)
    client.force_login(pharmacist)

    client.post("/me/profile/", {"given_name": "Ada", "family_name": "Lovelace", "degree": "PharmD",
                                 "profession": "pharmacist", "nabp_eprofile_id": typed})

    pharmacist.refresh_from_db()
    assert pharmacist.nabp_eprofile_id == saved


def test_it_refuses_an_nabp_eprofile_id_that_is_not_6_or_7_digits(client, db):
    pharmacist = UserFactory(profession=Profession.PHARMACIST)
    client.force_login(pharmacist)

    response = client.post("/me/profile/", {"given_name": "Ada", "family_name": "Lovelace", "degree": "PharmD",
                                            "profession": "pharmacy_technician", "nabp_eprofile_id": "12345"})

    assert "An NABP e-Profile ID is 6 or 7 digits." in response.content.decode()
    pharmacist.refresh_from_db()
    assert (pharmacist.profession, pharmacist.nabp_eprofile_id) == ("pharmacist", "")
