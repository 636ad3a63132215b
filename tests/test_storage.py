"""Stored files (certificate PDFs, recordings, captions) reach a browser only through the
views that check who may see them, on local disk and on S3-compatible object storage,
where large files go out by a short-lived presigned URL after the check."""

import importlib
import io
import os
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.files.base import ContentFile
from django.urls import clear_url_caches
from PIL import Image
from pypdf import PdfReader

from certificates.models import Certificate
from courses.models import Provider, Recording
from lms.settings import s3_storage

from .conftest import pdf_text
from .factories import (
    DEMO_MEDIA,
    PASSWORD,
    ParticipationFactory,
    StaffUserFactory,
    UploadedRecordingFactory,
    UserFactory,
    certificate_for,
    complete_activity,
    learner_ready_to_claim,
    staff_login,
)
from .processes import wait_for_state

WEBM = (DEMO_MEDIA / "welcome.webm").read_bytes()
VTT = (DEMO_MEDIA / "welcome.vtt").read_bytes()


def video_url(activity):
    return f"/activities/{activity.slug}/watch/video/"


def uploaded_recording(**fields):
    activity = complete_activity(**fields)
    Recording.objects.filter(activity=activity).delete()
    UploadedRecordingFactory(activity=activity)
    return activity


# --- No /media/ route, even with DEBUG on -----------------------------------------------


def reload_urls():
    importlib.reload(importlib.import_module(settings.ROOT_URLCONF))
    clear_url_caches()


@pytest.fixture
def debug_urls(settings):
    """The site's URLs as they are built with DEBUG on, where a /media/ route used to be."""
    settings.DEBUG = True
    reload_urls()
    yield
    settings.DEBUG = False
    reload_urls()


def test_it_keeps_a_certificate_pdf_off_media_with_debug_on(debug_urls, issued_certificate, media_root, client):
    name = issued_certificate.pdf.name
    assert (media_root / name).is_file()
    client.force_login(issued_certificate.user)

    assert client.get(f"/media/{name}").status_code == 404
    download = client.get(f"/certificates/{issued_certificate.number}/pdf/")
    assert download.status_code == 200
    assert issued_certificate.learner_name in pdf_text(b"".join(download.streaming_content))
    client.force_login(UserFactory())
    assert client.get(f"/certificates/{issued_certificate.number}/pdf/").status_code == 404


def test_it_keeps_an_uploaded_recording_off_media_with_debug_on(debug_urls, provider, media_root, client):
    activity = uploaded_recording()
    recording = activity.recording
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=activity)
    client.force_login(learner)

    for field in (recording.video, recording.captions):
        assert (media_root / field.name).is_file()
        assert client.get(f"/media/{field.name}").status_code == 404
    video = client.get(video_url(activity), HTTP_RANGE="bytes=0-99")
    assert video.status_code == 206
    assert b"".join(video.streaming_content) == WEBM[:100]
    client.force_login(UserFactory())
    assert client.get(video_url(activity)).status_code == 403


# --- Presigned URLs, after the access check ---------------------------------------------
# Signing is done by botocore alone, without a request to the storage, so these tests need
# no S3 server: the endpoint is a closed port, and nothing here may reach it.


@pytest.fixture
def signing_storage(settings, monkeypatch):
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "cme-files")
    monkeypatch.setenv("AWS_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_S3_REGION_NAME", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage()}


def signed_query(url):
    assert url.startswith("http://127.0.0.1:9/cme-files/")
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_it_redirects_the_owner_to_a_five_minute_url_that_downloads_the_pdf_by_name(
    signing_storage, activity, client
):
    certificate = certificate_for(activity=activity, state=Certificate.State.ISSUED, pdf="certificates/x.pdf")
    client.force_login(certificate.user)

    response = client.get(f"/certificates/{certificate.number}/pdf/")

    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    query = signed_query(response["Location"])
    assert urlsplit(response["Location"]).path == "/cme-files/certificates/x.pdf"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "300"
    assert query["response-content-type"] == "application/pdf"
    assert query["response-content-disposition"] == f'attachment; filename="certificate-{certificate.number}.pdf"'


def test_it_signs_no_url_of_a_pdf_for_anyone_but_its_owner(signing_storage, activity, client):
    certificate = certificate_for(activity=activity, state=Certificate.State.ISSUED, pdf="certificates/x.pdf")
    url = f"/certificates/{certificate.number}/pdf/"

    assert client.get(url)["Location"].startswith("/accounts/login/")
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404


def test_it_redirects_a_learner_who_started_to_a_signed_url_of_the_video(signing_storage, provider, client):
    activity = complete_activity()
    Recording.objects.filter(activity=activity).update(url="", video="recordings/talk.webm")
    learner = UserFactory()
    client.force_login(learner)
    assert client.get(video_url(activity)).status_code == 403

    ParticipationFactory(user=learner, activity=activity)
    response = client.get(video_url(activity))

    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    assert urlsplit(response["Location"]).path == "/cme-files/recordings/talk.webm"
    query = signed_query(response["Location"])
    assert query["response-content-type"] == "video/webm"
    assert "response-content-disposition" not in query


# --- The admin links stored files to the views that check access ------------------------
# Django's admin would link a file field to its storage URL: a 404 now that nothing serves
# /media/, and on S3 a presigned URL for anyone the form is shown to.


@pytest.fixture
def staff_client(client):
    staff_login(client, StaffUserFactory(is_superuser=True))
    return client


def link(url, text):
    return f'<a href="{url}">{text}</a>'


def test_it_links_a_recordings_files_in_the_admin_to_the_view_that_checks_access(provider, staff_client):
    activity = uploaded_recording()
    recording = activity.recording
    recording.descriptions.save("described.vtt", ContentFile(VTT))

    page = staff_client.get(f"/admin/courses/activity/{activity.pk}/change/").content.decode()

    for kind, content in (("video", WEBM), ("captions", VTT), ("descriptions", VTT)):
        url = getattr(recording, f"{kind}_src")
        assert url.startswith(f"/activities/{activity.slug}/watch/{kind}/?v=")
        assert link(url, getattr(recording, kind).name) in page
        assert b"".join(staff_client.get(url).streaming_content) == content
    assert 'href="/media/' not in page


def test_it_shows_the_providers_logo_and_signature_to_staff_in_the_admin(provider, staff_client):
    provider.logo.save("logo.png", png("navy"))
    provider.signature.save("signature.png", png("black"))

    page = staff_client.get(f"/admin/courses/provider/{provider.pk}/change/").content.decode()

    for field in ("logo", "signature"):
        url = f"/admin/courses/provider/{provider.pk}/image/{field}/"
        assert link(url, getattr(provider, field).name) in page
        image = staff_client.get(url)
        assert image.status_code == 200
        assert image["Content-Type"] == "image/png"
        assert b"".join(image.streaming_content) == getattr(provider, field).open("rb").read()
    assert 'href="/media/' not in page


def test_it_keeps_the_providers_images_from_learners_and_staff_without_the_permission(provider, client):
    provider.logo.save("logo.png", png("navy"))
    url = f"/admin/courses/provider/{provider.pk}/image/logo/"

    client.force_login(UserFactory())
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    staff_login(client, StaffUserFactory())
    assert client.get(url).status_code == 403
    staff_login(client, StaffUserFactory(is_superuser=True))
    assert client.get(f"/admin/courses/provider/{provider.pk}/image/password/").status_code == 404


def test_it_links_a_certificates_pdf_in_the_admin_to_its_download_view(issued_certificate, staff_client):
    page = staff_client.get(f"/admin/certificates/certificate/{issued_certificate.pk}/change/").content.decode()

    url = f"/certificates/{issued_certificate.number}/pdf/"
    assert link(url, issued_certificate.pdf.name) in page
    assert 'href="/media/' not in page
    download = staff_client.get(url)
    assert issued_certificate.learner_name in pdf_text(b"".join(download.streaming_content))


def test_it_names_without_a_link_a_pdf_its_download_view_does_not_serve(issued_certificate, staff_client):
    Certificate.objects.filter(pk=issued_certificate.pk).update(state=Certificate.State.REVOKED)

    page = staff_client.get(f"/admin/certificates/certificate/{issued_certificate.pk}/change/").content.decode()

    assert issued_certificate.pdf.name in page
    assert f"/certificates/{issued_certificate.number}/pdf/" not in page


def test_it_signs_no_url_of_a_stored_file_for_an_admin_page(signing_storage, activity, staff_client):
    Recording.objects.filter(activity=activity).update(url="", video="recordings/talk.webm")
    Provider.objects.update(logo="provider/logo.png", signature="provider/signature.png")
    certificate = certificate_for(activity=activity, state=Certificate.State.ISSUED, pdf="certificates/x.pdf")
    provider = Provider.objects.get()

    pages = {
        "recording": f"/admin/courses/activity/{activity.pk}/change/",
        "provider": f"/admin/courses/provider/{provider.pk}/change/",
        "certificate": f"/admin/certificates/certificate/{certificate.pk}/change/",
    }
    pages = {name: staff_client.get(path).content.decode() for name, path in pages.items()}

    assert not [name for name, page in pages.items() if "X-Amz-" in page]
    assert link(Recording.objects.get(activity=activity).video_src, "recordings/talk.webm") in pages["recording"]
    assert link(f"/admin/courses/provider/{provider.pk}/image/logo/", "provider/logo.png") in pages["provider"]
    assert link(f"/certificates/{certificate.number}/pdf/", "certificates/x.pdf") in pages["certificate"]


# --- Settings ---------------------------------------------------------------------------

S3_VARIABLES = (
    "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL", "AWS_S3_REGION_NAME", "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_QUERYSTRING_EXPIRE",
)
PRINT_STORAGE = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps(settings.STORAGES["default"]))
"""


def start_up(tmp_path, **variables):
    """Settings read in a fresh process, as a web or worker process starts."""
    env = {name: value for name, value in os.environ.items() if name not in S3_VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="lms.settings", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-c", PRINT_STORAGE], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=60,
    )


def test_it_stores_files_in_the_bucket_the_environment_names(tmp_path):
    result = start_up(
        tmp_path,
        AWS_STORAGE_BUCKET_NAME="cme-files",
        AWS_S3_ENDPOINT_URL="https://objects.example.org",
        AWS_DEFAULT_REGION="eu-west-1",
    )

    assert result.returncode == 0, result.stderr
    storage = result.stdout.strip().splitlines()[-1]
    assert '"BACKEND": "storages.backends.s3.S3Storage"' in storage
    for option in (
        '"bucket_name": "cme-files"', '"endpoint_url": "https://objects.example.org"',
        '"region_name": "eu-west-1"', '"signature_version": "s3v4"', '"addressing_style": "path"',
        '"querystring_expire": 300', '"file_overwrite": false',
    ):
        assert option in storage


BUCKET = {"AWS_STORAGE_BUCKET_NAME": "cme-files", "AWS_S3_REGION_NAME": "us-east-1"}


@pytest.mark.parametrize(
    "variables, named",
    [
        ({"AWS_S3_ENDPOINT_URL": "https://objects.example.org"}, "AWS_STORAGE_BUCKET_NAME"),
        ({"AWS_STORAGE_BUCKET_NAME": "cme-files"}, "AWS_S3_REGION_NAME"),
        ({"AWS_STORAGE_BUCKET_NAME": "cme-files", "AWS_DEFAULT_REGION": "EU West"}, "AWS_DEFAULT_REGION"),
        ({**BUCKET, "AWS_S3_ENDPOINT_URL": "objects.example.org:9000"}, "AWS_S3_ENDPOINT_URL"),
        ({**BUCKET, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}, "AWS_SECRET_ACCESS_KEY"),
        ({**BUCKET, "AWS_QUERYSTRING_EXPIRE": "5m"}, "AWS_QUERYSTRING_EXPIRE"),
        ({**BUCKET, "AWS_QUERYSTRING_EXPIRE": "0"}, "AWS_QUERYSTRING_EXPIRE"),
    ],
)
def test_it_fails_at_start_up_naming_a_missing_or_malformed_storage_variable(tmp_path, variables, named):
    result = start_up(tmp_path, **variables)

    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(f"django.core.exceptions.ImproperlyConfigured: {named} ")


# --- A real S3-compatible server (moto), with real worker and web processes -------------


def png(color):
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), color).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="image.png")


def fetch_signed(url, **headers):
    """What a browser gets from a presigned URL: no cookie, no session, just the URL."""
    return requests.get(url, headers=headers, timeout=10)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_renders_the_pdf_into_the_bucket_and_lets_only_the_owner_download_it(
    s3, workers, provider, client
):
    provider.logo.save("logo.png", png("navy"))
    provider.signature.save("signature.png", png("black"))
    workers.start(**s3.env)
    activity = complete_activity()
    learner = learner_ready_to_claim(activity=activity)
    client.force_login(learner)

    claimed = client.post(f"/activities/{activity.slug}/claim/", {"credits": "1", "attest": "on"})
    assert claimed.status_code == 302
    certificate = wait_for_state(Certificate.objects.get(user=learner), Certificate.State.ISSUED)

    assert certificate.pdf.name in s3.keys()
    response = client.get(f"/certificates/{certificate.number}/pdf/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{s3.url}/{s3.bucket}/certificates/")
    download = fetch_signed(response["Location"])
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert f'filename="certificate-{certificate.number}.pdf"' in download.headers["Content-Disposition"]
    assert learner.certificate_name in pdf_text(download.content)
    # The worker read the provider's logo and signature from the bucket too.
    assert len(PdfReader(io.BytesIO(download.content)).pages[0].images) == 2
    client.force_login(UserFactory())
    assert client.get(f"/certificates/{certificate.number}/pdf/").status_code == 404


@pytest.mark.worker
def test_it_serves_an_uploaded_recording_from_the_bucket_by_byte_range(s3, provider, client):
    activity = uploaded_recording()
    recording = activity.recording
    assert {recording.video.name, recording.captions.name} <= set(s3.keys())
    learner = UserFactory()
    ParticipationFactory(user=learner, activity=activity)
    client.force_login(learner)
    page = client.get(f"/activities/{activity.slug}/watch/").content.decode()
    video_src = re.search(r'<source src="([^"]+)"', page).group(1)
    captions_src = re.search(r'<track kind="captions" src="([^"]+)"', page).group(1)

    response = client.get(video_src)
    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    assert response["Location"].startswith(f"{s3.url}/{s3.bucket}/{recording.video.name}?")
    part = fetch_signed(response["Location"], Range="bytes=0-99")
    assert part.status_code == 206
    assert part.content == WEBM[:100]
    # Captions come from this site: a <track> would refuse them from the bucket's origin.
    captions = client.get(captions_src)
    assert captions.status_code == 200
    assert b"".join(captions.streaming_content) == VTT


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_claims_on_one_web_server_and_downloads_from_another(s3, workers, web_servers, provider):
    for _ in range(2):
        workers.start(**s3.env)
    first, second = web_servers.start_several(2, **s3.env)
    activity = complete_activity()
    learner = learner_ready_to_claim(activity=activity)
    # Hashed as production hashes it: the web servers do not know the suite's fast hasher.
    learner.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    learner.save(update_fields=["password"])
    browser = requests.Session()

    browser.get(f"{first}/accounts/login/", timeout=10)
    logged_in = browser.post(
        f"{first}/accounts/login/",
        {"login": learner.email, "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )
    assert logged_in.status_code == 302
    browser.get(f"{first}/activities/{activity.slug}/claim/", timeout=10)
    claimed = browser.post(
        f"{first}/activities/{activity.slug}/claim/",
        {"credits": "1", "attest": "on", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )
    assert claimed.status_code == 302
    certificate = wait_for_state(Certificate.objects.get(user=learner), Certificate.State.ISSUED)
    assert claimed.headers["Location"] == f"/certificates/{certificate.number}/"

    response = browser.get(f"{second}/certificates/{certificate.number}/pdf/", allow_redirects=False, timeout=10)
    assert response.status_code == 302
    download = fetch_signed(response.headers["Location"])
    assert download.status_code == 200
    assert learner.certificate_name in pdf_text(download.content)
