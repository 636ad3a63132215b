"""The provider settings in the staff workspace: coordinators keep the name, ACCME
provider ID, statements, time zone and signature current without the Django admin."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from courses.models import Provider

from .browser import check_page
from .factories import (
    CoordinatorFactory,
    StaffUserFactory,
    UserFactory,
    certificate_for,
    complete_activity,
    staff_login,
)

pytestmark = pytest.mark.django_db

URL = "/staff/provider/"


@pytest.fixture
def coordinator_client(client):
    staff_login(client, CoordinatorFactory())
    return client


def settings_of(provider, **changes):
    data = {
        "name": provider.name, "accme_provider_id": provider.accme_provider_id,
        "time_zone": provider.time_zone, "accreditation_statement": provider.accreditation_statement,
        "contact_email": provider.contact_email, "hardware_requirements": provider.hardware_requirements,
        "disclaimer": provider.disclaimer, "privacy_url": provider.privacy_url,
        "signer_name": provider.signer_name, "signer_title": provider.signer_title,
    }
    return {**data, **changes}


def png_upload(name="logo.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (60, 20), "navy").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_it_saves_the_provider_for_a_coordinator(coordinator_client, provider):
    response = coordinator_client.post(
        URL, settings_of(provider, name="Harbor Medical School", accme_provider_id="1234567")
    )

    assert response.status_code == 302
    provider.refresh_from_db()
    assert (provider.name, provider.accme_provider_id) == ("Harbor Medical School", "1234567")


def test_it_creates_the_provider_when_none_is_saved_yet(coordinator_client):
    response = coordinator_client.post(URL, settings_of(Provider(), name="First Provider"))

    assert response.status_code == 302
    assert list(Provider.objects.values_list("name", flat=True)) == ["First Provider"]
    assert "No accredited provider is saved" not in coordinator_client.get("/staff/").content.decode()


def test_it_refuses_an_unknown_time_zone_and_saves_nothing(coordinator_client, provider):
    response = coordinator_client.post(URL, settings_of(provider, time_zone="Mars/Olympus", name="Changed"))

    assert response.status_code == 400
    assert "is not a known time zone" in response.content.decode()
    provider.refresh_from_db()
    assert provider.name == "Test Medical School"


def test_it_refuses_a_file_that_is_not_an_image(coordinator_client, provider):
    data = settings_of(provider, logo=SimpleUploadedFile("logo.png", b"not an image", content_type="image/png"))

    response = coordinator_client.post(URL, data)

    assert response.status_code == 400
    assert "Upload a valid image" in response.content.decode()
    provider.refresh_from_db()
    assert not provider.logo


def test_it_stores_a_signature_and_shows_it_to_coordinators_only(coordinator_client, client, provider, media_root):
    coordinator_client.post(URL, settings_of(provider, signature=png_upload("signature.png")))
    provider.refresh_from_db()

    image = coordinator_client.get("/staff/provider/image/signature/")

    assert provider.signature.name.startswith("provider/")
    assert image.status_code == 200
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")
    assert 'src="/staff/provider/image/signature/"' in coordinator_client.get(URL).content.decode()


def test_it_keeps_issued_certificates_as_they_printed(coordinator_client, provider):
    certificate = certificate_for(activity=complete_activity())

    coordinator_client.post(URL, settings_of(provider, name="Renamed Medical School"))

    certificate.refresh_from_db()
    assert certificate.provider_name == "Test Medical School"


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_hides_the_settings_from_learners(client, provider, method):
    client.force_login(UserFactory())

    response = getattr(client, method)(URL, settings_of(provider, name="Forged"))

    assert response.status_code == 404
    provider.refresh_from_db()
    assert provider.name == "Test Medical School"


def test_it_refuses_staff_without_the_coordinator_role(client, provider):
    staff_login(client, StaffUserFactory(coordinator=False))

    response = client.post(URL, settings_of(provider, name="Forged"))

    assert response.status_code == 403
    provider.refresh_from_db()
    assert provider.name == "Test Medical School"


def test_it_serves_no_image_for_an_unknown_field(coordinator_client, provider):
    assert coordinator_client.get("/staff/provider/image/name/").status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_provider_settings_are_accessible_and_fit_a_phone(open_page, axe, provider):
    check_page(open_page, axe, name="staff-provider", path=URL, user=CoordinatorFactory(),
               expect_text="Printed on certificates")
