"""Credit types in Chromium: the claim page offering several types (AMA credit with a
board's MOC points, ACPE hours with what CPE Monitor needs), claimed with the keyboard,
its errors, the activity page listing every type and the workspace's credit type rows,
each checked with axe at both widths."""

import pytest
from playwright.sync_api import expect

from certificates.models import Certificate
from courses.credit_types import Profession

from .browser import assert_accessible, assert_fits_phone, check_page, save_screenshot
from .factories import StaffUserFactory, UserFactory, activity_with_credit_types, learner_ready_to_claim

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def claim_path(activity):
    return f"/activities/{activity.slug}/claim/"


def test_it_renders_a_physicians_claim_of_credit_and_moc_points_accessibly(provider, open_page, axe):
    activity = activity_with_credit_types()
    physician = learner_ready_to_claim(activity=activity)

    check_page(open_page, axe, name="credit-types-claim-physician", path=claim_path(activity), user=physician,
               expect_text="Report MOC points to your certifying board?")


def test_it_claims_credit_and_moc_points_with_the_keyboard(provider, open_page):
    activity = activity_with_credit_types()
    physician = learner_ready_to_claim(activity=activity)
    page = open_page("desktop", physician)
    page.goto(claim_path(activity))

    page.get_by_label("AMA PRA Category 1 Credits™ claimed (maximum 1.5)").select_option("1.25")
    page.get_by_label("Yes, report my points to the American Board of Internal Medicine").check()
    page.get_by_role("textbox", name="Board ID").fill("246810")
    page.get_by_role("combobox", name="Month of birth").select_option(label="March")
    page.get_by_role("spinbutton", name="Day of birth").fill("14")
    page.get_by_label("I agree that").check()
    page.get_by_label("I claim only the credit commensurate").check()
    page.get_by_label("I claim only the credit commensurate").press("Enter")

    expect(page.locator("main")).to_contain_text("Your claim is recorded.")
    certificate = Certificate.objects.get(user=physician)
    assert [(line.credit_type.code, str(line.amount)) for line in certificate.credits.all()] == [
        ("ama", "1.25"), ("moc_abim", "1.25"),
    ]


def test_it_shows_a_pharmacists_missing_details_accessibly(provider, open_page, axe):
    activity = activity_with_credit_types()
    pharmacist = learner_ready_to_claim(activity=activity, user=UserFactory(profession=Profession.PHARMACIST))
    for viewport in ("desktop", "mobile"):
        page = open_page(viewport, pharmacist)
        page.goto(claim_path(activity))
        page.get_by_label("NABP e-Profile ID").fill("12345")
        page.get_by_label("I confirm that I participated").check()
        page.get_by_role("button", name="Get my certificate").click()

        summary = page.locator("#error-summary")
        expect(summary).to_be_focused()
        expect(summary).to_contain_text("An NABP e-Profile ID is 6 or 7 digits.")
        expect(summary).to_contain_text("Give your month of birth")
        save_screenshot(page, f"credit-types-claim-pharmacist-errors-{viewport}")
        assert_accessible(axe, page, f"credit-types-claim-pharmacist-errors-{viewport}")
        if viewport == "mobile":
            assert_fits_phone(page, "credit-types-claim-pharmacist-errors")
    assert not Certificate.objects.exists()


def test_it_renders_the_activity_page_listing_every_credit_type_accessibly(provider, open_page, axe):
    activity = activity_with_credit_types()

    check_page(open_page, axe, name="credit-types-activity", path=activity.get_absolute_url(),
               expect_text="ACPE Universal Activity Number (UAN)")


def test_it_renders_the_workspaces_credit_type_rows_accessibly(provider, open_page, axe):
    activity = activity_with_credit_types(status="draft")

    check_page(open_page, axe, name="credit-types-authoring", path=f"/staff/authoring/{activity.slug}/details/",
               user=StaffUserFactory(), expect_text="Other credit types")
