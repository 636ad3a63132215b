"""Recordings: viewing progress and the full-viewing requirement, the watch page, access to
uploaded media with byte ranges, and upload validation."""

import datetime
import json

import pytest
import time_machine
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.utils import timezone

from certificates.models import credit_gate
from courses.admin import RecordingInline
from courses.models import Activity, Participation, Recording, recording_requirement_met
from courses.services import ViewingReportError, participation_record_viewing

from .factories import (
    DEMO_MEDIA,
    ParticipationFactory,
    UploadedRecordingFactory,
    UserFactory,
    complete_activity,
    learner_ready_to_claim,
)

LONG_AGO = timezone.now() - datetime.timedelta(days=1)
SOON = timezone.now().replace(microsecond=0) + datetime.timedelta(hours=1)
WEBM = (DEMO_MEDIA / "welcome.webm").read_bytes()
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2mp41"


@pytest.fixture
def lecture(provider):
    """A 100-second recording that must be watched in full (90%)."""
    activity = complete_activity(requires_full_viewing=True)
    Recording.objects.filter(activity=activity).update(duration_seconds=100)
    return Activity.objects.get(pk=activity.pk)


@pytest.fixture
def watcher(lecture, learner):
    """The learner, started on the lecture a day ago (so no report outpaces the clock)."""
    ParticipationFactory(user=learner, activity=lecture, started_at=LONG_AGO)
    return learner


def progress_url(activity):
    return f"/activities/{activity.slug}/watch/progress/"


def report(client, activity, *, position, watched, sent_at=1):
    body = {"position": position, "watched": watched, "sent_at": sent_at}
    return client.post(progress_url(activity), json.dumps(body), content_type="application/json")


def participation(user, activity):
    return Participation.objects.get(user=user, activity=activity)


def progress_state(user, activity):
    row = participation(user, activity)
    return (
        row.watched_intervals_ms,
        row.furthest_position_ms,
        row.resume_position_ms,
        row.resume_reported_at,
        row.recording_completed_at,
    )


# --- Progress rules ---------------------------------------------------------------------


def test_it_saves_the_stretches_watched_and_where_the_learner_stopped(client, lecture, watcher):
    client.force_login(watcher)
    response = report(client, lecture, position=30.25, watched=[[0, 30.25]])
    assert response.status_code == 200
    assert response.json()["watched_seconds"] == 30.25
    row = participation(watcher, lecture)
    assert row.watched_intervals_ms == [[0, 30250]]
    assert row.resume_position_ms == 30250
    assert row.furthest_position_ms == 30250


def test_it_changes_nothing_when_a_report_is_repeated(client, lecture, watcher):
    client.force_login(watcher)
    report(client, lecture, position=40, watched=[[0, 40]], sent_at=5)
    before = progress_state(watcher, lecture)
    report(client, lecture, position=40, watched=[[0, 40]], sent_at=5)
    assert progress_state(watcher, lecture) == before


def test_it_keeps_progress_when_an_older_report_arrives_late(client, lecture, watcher):
    client.force_login(watcher)
    report(client, lecture, position=50, watched=[[0, 50]], sent_at=2000)
    report(client, lecture, position=20, watched=[[0, 20]], sent_at=1000)
    row = participation(watcher, lecture)
    assert row.watched_intervals_ms == [[0, 50000]]
    assert (row.resume_position_ms, row.furthest_position_ms) == (50000, 50000)


def test_it_resumes_where_the_learner_last_was_even_after_rewinding(client, lecture, watcher):
    client.force_login(watcher)
    report(client, lecture, position=60, watched=[[0, 60]], sent_at=1000)
    report(client, lecture, position=15, watched=[[0, 60], [10, 15]], sent_at=2000)
    row = participation(watcher, lecture)
    assert (row.resume_position_ms, row.furthest_position_ms) == (15000, 60000)
    assert row.watched_intervals_ms == [[0, 60000]]


def test_it_does_not_count_seeking_to_the_end_as_watching(client, lecture, watcher):
    client.force_login(watcher)
    response = report(client, lecture, position=100, watched=[[0, 5]])
    assert response.json()["watched_seconds"] == 5
    row = participation(watcher, lecture)
    assert row.furthest_position_ms == 100000
    assert row.recording_completed_at is None
    assert not recording_requirement_met(participation=row)


def test_it_counts_a_stretch_watched_twice_only_once(client, lecture, watcher):
    client.force_login(watcher)
    report(client, lecture, position=30, watched=[[0, 30]], sent_at=1)
    response = report(client, lecture, position=40, watched=[[10, 40]], sent_at=2)
    assert response.json()["watched_seconds"] == 40
    assert participation(watcher, lecture).watched_intervals_ms == [[0, 40000]]


def test_it_does_not_bridge_a_gap_between_stretches(client, lecture, watcher):
    client.force_login(watcher)
    response = report(client, lecture, position=20.5, watched=[[0, 10], [10.001, 20.5]])
    assert response.json()["watched_seconds"] == 20.499
    assert participation(watcher, lecture).watched_intervals_ms == [[0, 10000], [10001, 20500]]


def test_it_counts_the_last_second_of_a_recording_a_browser_reports_a_bit_long(client, lecture, watcher):
    client.force_login(watcher)
    response = report(client, lecture, position=100.4, watched=[[0, 100.4]])
    assert response.status_code == 200
    row = participation(watcher, lecture)
    assert row.watched_intervals_ms == [[0, 100000]]
    assert row.resume_position_ms == 100000


def test_it_refuses_more_viewing_than_the_clock_allows(lecture, learner):
    start = SOON
    ParticipationFactory(user=learner, activity=lecture, started_at=start)
    # 100 s of viewing needs 42.5 s at double speed, plus 15 s of grace: at least 42.5 s.
    with time_machine.travel(start + datetime.timedelta(seconds=42), tick=False):
        with pytest.raises(ViewingReportError):
            participation_record_viewing(
                user=learner, activity=lecture, report={"position": 100, "watched": [[0, 100]], "sent_at": 1}
            )
    assert participation(learner, lecture).watched_intervals_ms == []
    with time_machine.travel(start + datetime.timedelta(seconds=43), tick=False):
        participation_record_viewing(
            user=learner, activity=lecture, report={"position": 100, "watched": [[0, 100]], "sent_at": 1}
        )
    assert participation(learner, lecture).watched_intervals_ms == [[0, 100000]]


# --- The full-viewing requirement --------------------------------------------------------


def test_it_does_not_meet_the_requirement_one_millisecond_short_of_90_percent(client, lecture, watcher):
    client.force_login(watcher)
    body = report(client, lecture, position=89.999, watched=[[0, 89.999]]).json()
    assert (body["requirement_met"], body["percent"], body["remaining_seconds"]) == (False, 89, 1)
    row = participation(watcher, lecture)
    assert row.recording_completed_at is None
    assert not recording_requirement_met(participation=row)


def test_it_meets_the_requirement_at_exactly_90_percent(client, lecture, watcher):
    client.force_login(watcher)
    moment = SOON
    with time_machine.travel(moment, tick=False):
        body = report(client, lecture, position=90, watched=[[0, 45], [55, 100]]).json()
    assert (body["requirement_met"], body["percent"], body["remaining_seconds"]) == (True, 90, 0)
    row = participation(watcher, lecture)
    assert row.recording_completed_at == moment
    assert recording_requirement_met(participation=row)


def test_it_dates_the_recording_when_the_threshold_is_first_reached(client, lecture, watcher):
    client.force_login(watcher)
    first = SOON
    with time_machine.travel(first, tick=False):
        report(client, lecture, position=95, watched=[[0, 95]], sent_at=1)
    with time_machine.travel(first + datetime.timedelta(days=3), tick=False):
        report(client, lecture, position=100, watched=[[0, 100]], sent_at=2)
    assert participation(watcher, lecture).recording_completed_at == first


def test_it_uses_the_share_staff_set_on_the_recording(client, lecture, watcher):
    Recording.objects.filter(activity=lecture).update(required_viewing_percent=75)
    client.force_login(watcher)
    assert report(client, lecture, position=75, watched=[[0, 75]]).json()["requirement_met"]


def test_it_opens_the_credit_gate_once_the_recording_is_watched(client, lecture):
    learner = learner_ready_to_claim(activity=lecture)
    Participation.objects.filter(user=learner).update(started_at=LONG_AGO)
    assert credit_gate(user=learner, activity=lecture).reasons == ["Watch the whole recording first."]
    client.force_login(learner)
    report(client, lecture, position=100, watched=[[0, 100]])
    assert credit_gate(user=learner, activity=lecture).allowed


def test_it_asks_again_when_an_activity_starts_requiring_full_viewing(client, provider, learner):
    activity = complete_activity()
    ParticipationFactory(user=learner, activity=activity)
    client.force_login(learner)
    client.post(f"/activities/{activity.slug}/watch/")
    assert participation(learner, activity).recording_completed_at is not None
    Activity.objects.filter(pk=activity.pk).update(requires_full_viewing=True)
    assert not recording_requirement_met(participation=participation(learner, activity))


def test_it_keeps_the_continue_button_from_skipping_required_viewing(client, lecture, watcher):
    client.force_login(watcher)
    report(client, lecture, position=50, watched=[[0, 50]])
    response = client.post(f"/activities/{lecture.slug}/watch/", follow=True)
    assert response.redirect_chain[-1][0] == f"/activities/{lecture.slug}/watch/"
    assert "Watch 40 s more to reach 90%" in response.content.decode()
    assert participation(watcher, lecture).recording_completed_at is None


def test_it_lets_the_continue_button_lead_on_once_enough_is_watched(client, lecture, watcher):
    client.force_login(watcher)
    report(client, lecture, position=100, watched=[[0, 100]])
    response = client.post(f"/activities/{lecture.slug}/watch/")
    assert response.url == f"/activities/{lecture.slug}/evaluation/"


def test_it_marks_an_optional_recording_watched_on_continue(client, provider, learner):
    activity = complete_activity()
    ParticipationFactory(user=learner, activity=activity)
    client.force_login(learner)
    response = client.post(f"/activities/{activity.slug}/watch/")
    assert response.url == f"/activities/{activity.slug}/evaluation/"
    assert participation(learner, activity).recording_completed_at is not None


# --- The watch page ---------------------------------------------------------------------


def watch_page_after_watching(client, activity, user, *, seconds):
    """The watch page once `user` has played the first `seconds` of the recording."""
    client.force_login(user)
    report(client, activity, position=seconds, watched=[[0, seconds]])
    return client.get(f"/activities/{activity.slug}/watch/").content.decode()


def test_it_shows_how_much_remains_to_watch(client, lecture, watcher):
    page = watch_page_after_watching(client, lecture, watcher, seconds=25)
    assert "You have watched 25 s of 1 min 40 s (25%). Watch 1 min 5 s more to reach 90%" in page
    assert 'id="continue-button" hidden' in page


def test_it_offers_continue_once_enough_is_watched(client, lecture, watcher):
    page = watch_page_after_watching(client, lecture, watcher, seconds=100)
    assert "That is enough to continue." in page
    assert 'id="continue-button">' in page


def test_it_resumes_where_the_learner_stopped(client, lecture, watcher):
    page = watch_page_after_watching(client, lecture, watcher, seconds=42.5)
    assert 'data-resume-at="42.500"' in page


def test_it_starts_over_when_the_learner_stopped_at_the_end(client, lecture, watcher):
    page = watch_page_after_watching(client, lecture, watcher, seconds=98)
    assert 'data-resume-at="0.000"' in page


def test_it_plays_an_uploaded_video_with_its_captions(client, provider, learner):
    activity = complete_activity()
    Recording.objects.filter(activity=activity).delete()
    UploadedRecordingFactory(activity=activity, transcript="Welcome, everyone.")
    ParticipationFactory(user=learner, activity=activity)
    client.force_login(learner)
    page = client.get(f"/activities/{activity.slug}/watch/").content.decode()
    assert f'<source src="/activities/{activity.slug}/watch/video/?v=' in page
    assert 'type="video/webm"' in page
    assert f'<track kind="captions" src="/activities/{activity.slug}/watch/captions/?v=' in page
    assert "Welcome, everyone." in page


def test_it_embeds_a_youtube_link_without_tracking_cookies(client, provider, learner):
    activity = complete_activity()
    Recording.objects.filter(activity=activity).update(
        url="https://www.youtube.com/watch?v=dQw4w9WgXcQ", captions_url=""
    )
    ParticipationFactory(user=learner, activity=activity)
    client.force_login(learner)
    page = client.get(f"/activities/{activity.slug}/watch/").content.decode()
    assert '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?rel=0"' in page
    assert "<video" not in page


def test_it_runs_a_constant_number_of_queries_on_the_watch_page(
    client, lecture, watcher, django_assert_num_queries
):
    client.force_login(watcher)
    report(client, lecture, position=30, watched=[[0, 30]])
    for _ in range(3):
        ParticipationFactory(activity=lecture)
    # session, user, activity with recording, objectives, resources, faculty, provider
    # (for the credit window), participation
    with django_assert_num_queries(8):
        assert client.get(f"/activities/{lecture.slug}/watch/").status_code == 200


# --- Reports that are refused -----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"position": -1, "watched": [], "sent_at": 1},
        {"position": 101.5, "watched": [], "sent_at": 1},
        {"position": "ten", "watched": [], "sent_at": 1},
        {"position": True, "watched": [], "sent_at": 1},
        {"position": None, "watched": [], "sent_at": 1},
        {"position": 10, "watched": [[-1, 10]], "sent_at": 1},
        {"position": 10, "watched": [[0, 150]], "sent_at": 1},
        {"position": 10, "watched": [[20, 10]], "sent_at": 1},
        {"position": 10, "watched": [[0, "10"]], "sent_at": 1},
        {"position": 10, "watched": [[0, 5, 10]], "sent_at": 1},
        {"position": 10, "watched": "0-10", "sent_at": 1},
        {"position": 10, "watched": [[i, i + 0.1] for i in range(201)], "sent_at": 1},
        {"position": 10, "watched": [[0, 10]]},
        {"position": 10, "watched": [[0, 10]], "sent_at": "now"},
        [10, [[0, 10]]],
        "not json {",
        '{"position": NaN, "watched": [], "sent_at": 1}',
        '{"position": Infinity, "watched": [], "sent_at": 1}',
    ],
)
def test_it_refuses_nonsense_and_changes_nothing(client, lecture, watcher, body):
    client.force_login(watcher)
    report(client, lecture, position=30, watched=[[0, 30]])
    before = progress_state(watcher, lecture)
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post(progress_url(lecture), data, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]
    assert progress_state(watcher, lecture) == before


def test_it_refuses_a_report_from_a_learner_who_has_not_started(client, lecture, learner):
    client.force_login(learner)
    response = report(client, lecture, position=10, watched=[[0, 10]])
    assert response.status_code == 400
    assert not Participation.objects.filter(user=learner).exists()


def test_it_refuses_a_report_for_an_archived_activity(client, lecture, watcher):
    client.force_login(watcher)
    report(client, lecture, position=10, watched=[[0, 10]])
    before = progress_state(watcher, lecture)
    Activity.objects.filter(pk=lecture.pk).update(status=Activity.Status.ARCHIVED)
    response = report(client, lecture, position=20, watched=[[0, 20]], sent_at=2)
    assert response.status_code == 400
    assert progress_state(watcher, lecture) == before


def test_it_writes_progress_only_for_the_learner_who_sends_it(client, lecture, watcher):
    other = UserFactory()
    ParticipationFactory(user=other, activity=lecture, started_at=LONG_AGO)
    client.force_login(other)
    body = {"position": 50, "watched": [[0, 50]], "sent_at": 1, "user": watcher.pk}
    client.post(progress_url(lecture), json.dumps(body), content_type="application/json")
    assert participation(other, lecture).watched_intervals_ms == [[0, 50000]]
    assert participation(watcher, lecture).watched_intervals_ms == []


def test_it_refuses_a_report_from_someone_logged_out(client, lecture, watcher):
    response = report(client, lecture, position=10, watched=[[0, 10]])
    assert response.status_code == 403
    assert participation(watcher, lecture).watched_intervals_ms == []


def test_it_refuses_a_report_without_the_csrf_token(lecture, watcher):
    client = Client(enforce_csrf_checks=True)
    client.force_login(watcher)
    response = report(client, lecture, position=10, watched=[[0, 10]])
    assert response.status_code == 403
    assert participation(watcher, lecture).watched_intervals_ms == []


def test_it_hides_a_draft_activity_from_reports(client, lecture, watcher):
    Activity.objects.filter(pk=lecture.pk).update(status=Activity.Status.DRAFT)
    client.force_login(watcher)
    assert report(client, lecture, position=10, watched=[[0, 10]]).status_code == 404


# --- Uploaded media: access and byte ranges ---------------------------------------------


@pytest.fixture
def uploaded(provider):
    activity = complete_activity()
    Recording.objects.filter(activity=activity).delete()
    UploadedRecordingFactory(activity=activity)
    return activity


def video_url(activity):
    return f"/activities/{activity.slug}/watch/video/"


def test_it_serves_the_whole_video_to_a_learner_who_started(client, uploaded, learner):
    ParticipationFactory(user=learner, activity=uploaded)
    client.force_login(learner)
    response = client.get(video_url(uploaded))
    assert response.status_code == 200
    assert (response["Content-Type"], response["Accept-Ranges"]) == ("video/webm", "bytes")
    assert response["Content-Length"] == str(len(WEBM))
    assert b"".join(response.streaming_content) == WEBM


@pytest.mark.parametrize(
    "header, first, last",
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, len(WEBM) - 1),
        ("bytes=-500", len(WEBM) - 500, len(WEBM) - 1),
        ("bytes=100-99999999", 100, len(WEBM) - 1),
        (f"bytes={len(WEBM) - 1}-{len(WEBM) - 1}", len(WEBM) - 1, len(WEBM) - 1),
    ],
)
def test_it_serves_the_byte_range_asked_for(client, uploaded, learner, header, first, last):
    ParticipationFactory(user=learner, activity=uploaded)
    client.force_login(learner)
    response = client.get(video_url(uploaded), HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(WEBM)}"
    assert response["Content-Length"] == str(last - first + 1)
    assert b"".join(response.streaming_content) == WEBM[first : last + 1]


@pytest.mark.parametrize("header", [f"bytes={len(WEBM)}-", "bytes=500-100", "bytes=-0", "bytes=x-y", "bytes=-"])
def test_it_answers_416_for_a_range_it_cannot_satisfy(client, uploaded, learner, header):
    ParticipationFactory(user=learner, activity=uploaded)
    client.force_login(learner)
    response = client.get(video_url(uploaded), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(WEBM)}"


def test_it_sends_the_whole_file_for_several_ranges(client, uploaded, learner):
    ParticipationFactory(user=learner, activity=uploaded)
    client.force_login(learner)
    response = client.get(video_url(uploaded), HTTP_RANGE="bytes=0-9,20-29")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == WEBM


def test_it_serves_uploaded_captions_as_webvtt(client, uploaded, learner):
    ParticipationFactory(user=learner, activity=uploaded)
    client.force_login(learner)
    response = client.get(f"/activities/{uploaded.slug}/watch/captions/")
    assert response["Content-Type"] == "text/vtt"
    assert b"".join(response.streaming_content) == (DEMO_MEDIA / "welcome.vtt").read_bytes()


def test_it_serves_the_video_to_staff_who_have_not_started(client, uploaded):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(video_url(uploaded), HTTP_RANGE="bytes=0-9").status_code == 206


def test_it_keeps_the_video_from_a_learner_who_has_not_started(client, uploaded, learner):
    client.force_login(learner)
    assert client.get(video_url(uploaded)).status_code == 403


def test_it_sends_a_logged_out_visitor_to_log_in_for_the_video(client, uploaded):
    response = client.get(video_url(uploaded))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_it_answers_404_for_a_file_the_recording_does_not_have(client, provider, learner):
    activity = complete_activity()
    ParticipationFactory(user=learner, activity=activity)
    client.force_login(learner)
    assert client.get(video_url(activity)).status_code == 404


# --- Upload validation ------------------------------------------------------------------


def staff_request():
    request = RequestFactory().post("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    return request


def recording_formset(activity, *, files, **fields):
    """The admin's recording inline for `activity`, filled in as staff would."""
    formset_class = RecordingInline(Activity, admin.site).get_formset(staff_request(), activity)
    prefix = formset_class.get_default_prefix()
    data = {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-0-duration_seconds": "8",
        f"{prefix}-0-required_viewing_percent": "90",
        **{f"{prefix}-0-{name}": value for name, value in fields.items()},
    }
    return formset_class(
        data, {f"{prefix}-0-{name}": file for name, file in files.items()}, instance=activity, prefix=prefix
    )


@pytest.fixture
def bare_activity(provider):
    activity = complete_activity()
    Recording.objects.filter(activity=activity).delete()
    return Activity.objects.get(pk=activity.pk)


def test_it_accepts_an_uploaded_webm_video_with_webvtt_captions(bare_activity):
    formset = recording_formset(
        bare_activity,
        files={
            "video": SimpleUploadedFile("talk.webm", WEBM),
            "captions": SimpleUploadedFile("talk.vtt", b"\xef\xbb\xbfWEBVTT\n\n00:00.000 --> 00:01.000\nHi\n"),
        },
    )
    assert formset.is_valid(), formset.errors
    formset.save()
    recording = Recording.objects.get(activity=bare_activity)
    with recording.video.open("rb") as stored:
        assert stored.read() == WEBM


def test_it_accepts_an_uploaded_mp4_video(bare_activity):
    formset = recording_formset(bare_activity, files={"video": SimpleUploadedFile("talk.mp4", MP4_HEAD)})
    assert formset.is_valid(), formset.errors


def test_it_refuses_a_video_type_it_does_not_play(bare_activity):
    formset = recording_formset(bare_activity, files={"video": SimpleUploadedFile("talk.avi", WEBM)})
    assert not formset.is_valid()
    assert "Allowed extensions are: mp4, m4v, webm" in str(formset.errors)


def test_it_refuses_a_file_that_only_claims_to_be_a_video(bare_activity):
    formset = recording_formset(bare_activity, files={"video": SimpleUploadedFile("talk.mp4", b"%PDF-1.7 ...")})
    assert not formset.is_valid()
    assert "This file is not an MP4 or WebM video." in str(formset.errors)


def test_it_accepts_a_video_of_exactly_the_size_limit(bare_activity, settings):
    settings.RECORDING_MAX_UPLOAD_MB = 1
    video = SimpleUploadedFile("talk.webm", WEBM[:4] + b"\0" * (1024 * 1024 - 4))
    assert recording_formset(bare_activity, files={"video": video}).is_valid()


def test_it_refuses_a_video_over_the_size_limit(bare_activity, settings):
    settings.RECORDING_MAX_UPLOAD_MB = 1
    video = SimpleUploadedFile("talk.webm", WEBM[:4] + b"\0" * (1024 * 1024 - 3))
    formset = recording_formset(bare_activity, files={"video": video})
    assert not formset.is_valid()
    assert "This video is 1.1 MB; the largest accepted is 1 MB." in str(formset.errors)
    assert not Recording.objects.filter(activity=bare_activity).exists()


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("talk.vtt", b"1\n00:00:00,000 --> 00:00:01,000\nHi\n", "its first line must start with WEBVTT"),
        ("talk.vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\n\xff\xfe\n", "saved as UTF-8 text"),
        ("talk.srt", b"WEBVTT\n", "Allowed extensions are: vtt"),
    ],
)
def test_it_refuses_captions_that_are_not_webvtt(bare_activity, name, content, message):
    formset = recording_formset(
        bare_activity, url="/static/demo/welcome.webm", files={"captions": SimpleUploadedFile(name, content)}
    )
    assert not formset.is_valid()
    assert message in str(formset.errors)


def test_it_asks_for_either_an_upload_or_a_url(bare_activity):
    both = recording_formset(
        bare_activity, url="https://video.example.org/talk.mp4", files={"video": SimpleUploadedFile("talk.webm", WEBM)}
    )
    assert "Give either an uploaded video or a URL, not both." in str(both.errors)
    neither = recording_formset(bare_activity, files={})
    assert "Upload a video or give its URL." in str(neither.errors)


def test_it_refuses_a_url_that_is_neither_web_nor_site_path(bare_activity):
    formset = recording_formset(bare_activity, url="javascript:alert(1)", files={})
    assert "Give an http(s) URL or a path on this site" in str(formset.errors)


def test_it_refuses_an_embed_for_an_activity_that_requires_full_viewing(bare_activity):
    bare_activity.requires_full_viewing = True
    formset = recording_formset(bare_activity, url="https://vimeo.com/76979871", files={})
    assert not formset.is_valid()
    assert "can only be measured for a video file" in str(formset.errors)


def test_it_needs_a_duration_to_measure_full_viewing(bare_activity):
    bare_activity.requires_full_viewing = True
    recording = Recording(activity=bare_activity, url="/static/demo/welcome.webm", duration_seconds=0)
    with pytest.raises(ValidationError) as error:
        recording.full_clean()
    assert "duration_seconds" in error.value.message_dict


@pytest.mark.parametrize(
    "url, embed",
    [
        ("https://youtu.be/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?rel=0"),
        ("https://www.youtube.com/embed/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?rel=0"),
        ("https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871?dnt=1"),
        ("https://vimeo.com/76979871/abc123", "https://player.vimeo.com/video/76979871?dnt=1&h=abc123"),
        ("https://player.vimeo.com/video/76979871", "https://player.vimeo.com/video/76979871?dnt=1"),
        ("https://cdn.example.org/talk.mp4", ""),
        ("/static/demo/welcome.webm", ""),
    ],
)
def test_it_recognises_youtube_and_vimeo_links(url, embed):
    assert Recording(url=url).embed_url == embed
