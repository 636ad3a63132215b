import io
import subprocess

from django.core.files.base import ContentFile
from pypdf import PdfReader
from pypdf.generic import BooleanObject

from certificates.issuing import certificate_issue
from certificates.models import Certificate
from certificates.pdf import certificate_pdf
from certificates.tasks import render_certificate
from lms.models import User

from .conftest import pdf_structure, pdf_text, pdfinfo
from .factories import UserFactory, certificate_for, learner_ready_to_claim, staff_login


def text_of(certificate):
    return " ".join(pdf_text(certificate.pdf.open("rb").read()).split())


def test_it_prints_the_facts_of_the_credit_on_the_pdf(issued_certificate, activity):
    text = text_of(issued_certificate)
    assert issued_certificate.learner_name + ", MD" in text
    assert activity.title in text
    assert "1 AMA PRA Category 1 Credit™" in text
    assert "Enduring material" in text
    assert issued_certificate.number in text
    assert f"/certificates/verify/{issued_certificate.number}/" in text
    assert "Physicians should claim only the credit commensurate" in text


def test_it_prints_a_chinese_name(activity):
    certificate = certificate_for(activity=activity, user=UserFactory(certificate_name="王小明"))
    content = certificate_pdf(certificate)
    assert "王小明" in pdf_text(content)
    assert "王小明" in PdfReader(io.BytesIO(content)).metadata.title


def test_it_prints_a_certificate_of_participation_with_the_designated_hours(activity):
    pharmacist = UserFactory(profession=User.Profession.OTHER, degree="PharmD")
    certificate = certificate_for(activity=activity, user=pharmacist)
    content = certificate_pdf(certificate)
    text = " ".join(pdf_text(content).split())
    assert PdfReader(io.BytesIO(content)).metadata.title == (
        f"Certificate of Participation — {activity.title} — {pharmacist.certificate_name} ({certificate.number})"
    )
    assert "Certificate of Participation" in text
    assert "Hours of participation 1" in text
    assert "This activity was designated for 1 AMA PRA Category 1 Credit™" in text


def test_it_tags_the_pdf_for_screen_readers(issued_certificate, tmp_path):
    certificate = issued_certificate
    content = certificate.pdf.open("rb").read()
    info = pdfinfo(content, tmp_path)
    assert info["Tagged"] == "yes"
    assert info["Title"] == (
        f"Certificate of Completion — {certificate.activity_title} — {certificate.learner_name} ({certificate.number})"
    )
    catalog = PdfReader(io.BytesIO(content)).trailer["/Root"]
    assert catalog["/MarkInfo"]["/Marked"] == BooleanObject(True)
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"] == BooleanObject(True)
    assert catalog["/Lang"] == "en"
    elements = pdf_structure(content)
    assert {"/H1", "/Table", "/TR", "/TH", "/TD"} <= {element["/S"] for element in elements}
    assert [e.get("/Alt") for e in elements if e["/S"] == "/Figure"] == ["QR code linking to the verification page"]


def test_it_ties_each_fact_on_the_pdf_to_its_row_header(issued_certificate):
    elements = pdf_structure(issued_certificate.pdf.open("rb").read())
    headers = {element["/ID"]: element for element in elements if element["/S"] == "/TH"}
    cells = [element for element in elements if element["/S"] == "/TD"]
    assert len(cells) == len(headers) == 4
    for cell in cells:
        [header] = cell["/A"]["/Headers"]
        assert headers[header]["/P"] == cell["/P"]


def test_it_renders_once_when_the_task_is_delivered_twice(issued_certificate):
    first_file, first_issued_at = issued_certificate.pdf.name, issued_certificate.issued_at
    render_certificate.apply(args=[issued_certificate.pk])
    render_certificate.apply(args=[issued_certificate.pk])
    issued_certificate.refresh_from_db()
    assert (issued_certificate.pdf.name, issued_certificate.issued_at) == (first_file, first_issued_at)
    assert Certificate.objects.count() == 1


def test_it_keeps_what_it_certified_when_the_activity_changes(issued_certificate, activity, client):
    activity.title = "A new title"
    activity.save()
    html = client.get(f"/certificates/verify/{issued_certificate.number}/").content.decode()
    assert issued_certificate.activity_title in html
    assert "A new title" not in html
    assert "A new title" not in text_of(issued_certificate)


def test_it_lets_only_the_owner_and_staff_download(issued_certificate, client):
    url = f"/certificates/{issued_certificate.number}/pdf/"
    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    assert client.get(f"/certificates/{issued_certificate.number}/").status_code == 404
    staff_login(client, UserFactory(is_staff=True))
    assert client.get(url).status_code == 200
    client.force_login(issued_certificate.user)
    assert client.get(url).status_code == 200


def test_it_verifies_publicly_with_nothing_but_name_activity_date_and_credit(issued_certificate, client):
    issued_certificate.user.npi = "1234567890"
    issued_certificate.user.save()
    html = client.get(f"/certificates/verify/{issued_certificate.number}/").content.decode()
    assert issued_certificate.learner_name in html
    assert issued_certificate.activity_title in html
    assert "1 AMA PRA Category 1 Credit™" in html
    assert issued_certificate.user.email not in html
    assert "1234567890" not in html


def test_it_says_not_found_for_an_unknown_number(db, client):
    response = client.get("/certificates/verify/CME-AAAAA-BBBBB-CCCCC/")
    assert response.status_code == 404
    assert "No certificate has this number" in response.content.decode()


def test_it_shows_a_revoked_certificate_as_revoked(issued_certificate, client):
    issued_certificate.state = Certificate.State.REVOKED
    issued_certificate.save()
    assert "has been revoked" in client.get(f"/certificates/verify/{issued_certificate.number}/").content.decode()


def test_it_polls_while_the_certificate_is_being_prepared(activity, client):
    certificate = certificate_for(activity=activity)
    client.force_login(certificate.user)
    html = client.get(f"/certificates/{certificate.number}/").content.decode()
    assert "being prepared" in html
    assert "live-status.js" in html
    status = client.get(f"/certificates/{certificate.number}/status/").json()
    assert (status["state"], status["ready"]) == ("pending", False)
    assert "being prepared" in status["html"]
    assert client.get(f"/certificates/{certificate.number}/pdf/").status_code == 404
    certificate_issue(certificate_id=certificate.pk)
    html = client.get(f"/certificates/{certificate.number}/").content.decode()
    assert "Download certificate" in html
    assert "being prepared" not in html
    assert "live-status.js" not in html
    status = client.get(f"/certificates/{certificate.number}/status/").json()
    assert (status["state"], status["ready"]) == ("issued", True)
    assert f'href="/certificates/{certificate.number}/pdf/"' in status["html"]
    assert "being prepared" not in status["html"]


def test_it_does_not_say_being_prepared_above_an_issued_certificate(
    activity, client, django_capture_on_commit_callbacks
):
    learner = learner_ready_to_claim(activity=activity)
    client.force_login(learner)
    # Celery runs eagerly here, as in development: issued before the page renders.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/activities/{activity.slug}/claim/", {"credits": "1", "attest": "on"})
    html = client.get(response.url).content.decode()
    assert "Your claim is recorded." in html
    assert "Download certificate (PDF)" in html
    assert "being prepared" not in html


def test_it_keeps_the_status_of_a_certificate_to_its_owner(issued_certificate, client):
    client.force_login(UserFactory())
    assert client.get(f"/certificates/{issued_certificate.number}/status/").status_code == 404


def test_it_prints_a_qr_code_that_scans_to_the_verification_url(issued_certificate, tmp_path):
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(issued_certificate.pdf.open("rb").read())
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", pdf, tmp_path / "page"], check=True)
    scan = subprocess.run(
        ["zbarimg", "--quiet", "--raw", tmp_path / "page.png"], capture_output=True, text=True, check=True
    )
    assert scan.stdout.strip() == issued_certificate.get_verification_url()


def png(color):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), color).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="image.png")


def test_it_prints_the_activitys_own_accreditation_statement(activity):
    activity.accreditation_statement = "Jointly provided by Test Medical School and a partner."
    activity.save()
    certificate = certificate_for(activity=activity)
    assert "Jointly provided by Test Medical School and a partner." in pdf_text(certificate_pdf(certificate))


def test_it_prints_the_logo_signature_and_signer_as_they_were_at_issue(activity, provider):
    provider.logo.save("logo.png", png("navy"))
    provider.signature.save("signature.png", png("black"))
    provider.signer_name, provider.signer_title = "Ada Byron, MD", "Director of CME"
    provider.save()
    certificate = certificate_for(activity=activity)
    printed_logo = certificate.provider_logo

    provider.logo.save("logo.png", png("red"))
    provider.signer_name = "Someone Else"
    provider.save()

    certificate.refresh_from_db()
    assert certificate.provider_logo == printed_logo != provider.logo.name
    content = certificate_pdf(certificate)
    assert len(PdfReader(io.BytesIO(content)).pages[0].images) == 2
    text = " ".join(pdf_text(content).split())
    assert "Ada Byron, MD, Director of CME" in text
    assert "Someone Else" not in text
    assert [e.get("/Alt") for e in pdf_structure(content) if e["/S"] == "/Figure"] == [
        "Test Medical School",
        "Signature of Ada Byron, MD",
        "QR code linking to the verification page",
    ]
