"""Recordings: viewing progress and the full-viewing requirement, the watch page, access to
uploaded media with byte ranges, and upload validation."""

import datetime
import json
import re
import subprocess

import pytest
import time_machine
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.test import Client, RequestFactory
from django.utils import timezone

from certificates.rules import credit_gate
from courses import media
from courses.admin import RecordingInline
from courses.media import video_duration_seconds
from courses.models import Activity, Participation, Recording, ViewingSession
from courses.rules import recording_requirement_met
from courses.viewing import intervals_total, merged_intervals
from courses.services import participation_record_viewing, viewing_session_open
from lms.demo import demo_activities
from quizzes.models import EvaluationResponse

from .factories import (
    DEMO_MEDIA,
    ParticipationFactory,
    UploadedRecordingFactory,
    UserFactory,
    complete_activity,
    learner_ready_to_claim,
    staff_login,
)

LONG_AGO = timezone.now() - datetime.timedelta(days=1)
SOON = timezone.now().replace(microsecond=0) + datetime.timedelta(hours=1)
WEBM = (DEMO_MEDIA / "welcome.webm").read_bytes()
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2mp41"


@pytest.fixture(scope="session")
def eight_second_mp4(tmp_path_factory):
    """A real 8-second MP4 (H.264, 160×120, about 20 KB), made once per test session."""
    path = tmp_path_factory.mktemp("videos") / "eight-seconds.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=8:size=160x120:rate=10",
         "-pix_fmt", "yuv420p", "-c:v", "libx264", "-f", "mp4", str(path)],
        check=True, timeout=60,
    )
    return path.read_bytes()


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


# How long the watch page has been open when a test's first report arrives, unless the
# test opens it itself: long enough for any stretch of the 100-second lecture at 1×.
PAGE_OPEN_FOR = datetime.timedelta(minutes=4)


def page_session(client, activity):
    """The token of the newest viewing session of the client's learner, opened
    PAGE_OPEN_FOR ago when they have none yet."""
    row = Participation.objects.get(user_id=client.session["_auth_user_id"], activity=activity)
    session = row.viewing_sessions.order_by("-opened_at").first()
    return (session or viewing_session_open(participation=row, at=timezone.now() - PAGE_OPEN_FOR)).token


def report(client, activity, *, position, watched, sent_at=1, session=None):
    body = {
        "session": session or page_session(client, activity),
        "position": position,
        "watched": watched,
        "sent_at": sent_at,
    }
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


def test_it_credits_no_more_viewing_than_the_clock_allows(lecture, learner):
    start = SOON
    row = ParticipationFactory(user=learner, activity=lecture, started_at=start)
    session = viewing_session_open(participation=row, at=start)
    whole = {"session": session.token, "position": 100, "watched": [[0, 100]], "sent_at": 1}
    # 42 s at double speed, plus the 10 s grace: 94 s of the 100 claimed.
    at = start + datetime.timedelta(seconds=42)
    participation_record_viewing(user=learner, activity=lecture, report=whole, at=at)
    assert participation(learner, lecture).watched_intervals_ms == [[0, 94000]]
    # The rest counts once time allows it, which the grace already spent brings no sooner.
    at += datetime.timedelta(seconds=2.5)
    participation_record_viewing(user=learner, activity=lecture, report=whole, at=at)
    assert participation(learner, lecture).watched_intervals_ms == [[0, 99000]]
    at += datetime.timedelta(seconds=0.5)
    participation_record_viewing(user=learner, activity=lecture, report=whole, at=at)
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
    learner = learner_ready_to_claim(activity=lecture, watched=False)
    assert credit_gate(user=learner, activity=lecture).reasons == ["Watch the whole recording first."]
    client.force_login(learner)
    report(client, lecture, position=100, watched=[[0, 100]])
    assert credit_gate(user=learner, activity=lecture).allowed


def test_it_asks_again_when_an_activity_starts_requiring_full_viewing(client, provider, learner):
    activity = complete_activity(requires_full_viewing=False)
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
    activity = complete_activity(requires_full_viewing=False)
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
    # provider, user (the session comes from the cache), the participation with its
    # accommodation and its activity with the recording (not the objectives, resources or
    # faculty: only the activity page shows them), and for the steps list one query asking
    # for an evaluation response, a passed attempt and a certificate together; no viewing
    # session (the player asks for one when the learner plays)
    with django_assert_num_queries(4):
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
    response = report(client, lecture, position=10, watched=[[0, 10]], session="made-up")
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
    session = page_session(client, lecture)
    body = {"session": session, "position": 50, "watched": [[0, 50]], "sent_at": 1, "user": watcher.pk}
    client.post(progress_url(lecture), json.dumps(body), content_type="application/json")
    assert participation(other, lecture).watched_intervals_ms == [[0, 50000]]
    assert participation(watcher, lecture).watched_intervals_ms == []


def test_it_refuses_a_report_from_someone_logged_out(client, lecture, watcher):
    session = viewing_session_open(participation=participation(watcher, lecture)).token
    response = report(client, lecture, position=10, watched=[[0, 10]], session=session)
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
    staff_login(client, UserFactory(is_staff=True))
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


def test_it_accepts_an_uploaded_mp4_video(bare_activity, eight_second_mp4):
    formset = recording_formset(bare_activity, files={"video": SimpleUploadedFile("talk.mp4", eight_second_mp4)})
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
    # The demo video padded to the limit: players (and ffprobe) ignore what follows it.
    video = SimpleUploadedFile("talk.webm", WEBM + b"\0" * (1024 * 1024 - len(WEBM)))
    formset = recording_formset(bare_activity, files={"video": video})
    assert formset.is_valid(), formset.errors


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


# --- Viewing that cannot be forged ---------------------------------------------------------
#
# Viewing sessions: the watch page opens one; a report may add only what the real time
# since its session's previous report allows at the fastest playback rate (2×), and one
# grace lead of 10 s per participation, repaid by later reports. All of a learner's tabs
# draw on one viewing clock, so two tabs together get no further than one tab at 2×.

TEN_MINUTES = 600


@pytest.fixture
def talk(provider):
    """A 600-second recording that must be watched (90%: 540 s)."""
    activity = complete_activity()
    Recording.objects.filter(activity=activity).update(duration_seconds=TEN_MINUTES)
    return Activity.objects.get(pk=activity.pk)


@pytest.fixture
def viewer(talk, learner, client):
    """The learner, started on the talk a day ago and logged in."""
    ParticipationFactory(user=learner, activity=talk, started_at=LONG_AGO)
    client.force_login(learner)
    return learner


class Tab:
    """One open watch page: the session it was given and what its player has played."""

    def __init__(self, client, activity, *, at):
        self.client, self.activity, self.now = client, activity, at
        with time_machine.travel(at, tick=False):
            assert client.get(f"/activities/{activity.slug}/watch/").status_code == 200
            # The player asks for its session as the learner presses play.
            self.session = client.post(f"/activities/{activity.slug}/watch/session/").json()["session"]
        self.position = 0
        self.played = []

    def send(self):
        with time_machine.travel(self.now, tick=False):
            return report(
                self.client,
                self.activity,
                position=self.position,
                watched=self.played,
                sent_at=int(self.now.timestamp() * 1000),
                session=self.session,
            )

    def play(self, seconds, *, rate=1, every=4):
        """Play `seconds` of real time at `rate`, reporting every `every` seconds."""
        for _ in range(int(seconds // every)):
            self.wait(every)
            start, self.position = self.position, min(self.position + every * rate, TEN_MINUTES)
            self.played = merged_intervals(self.played + [[start, self.position]])
            response = self.send()
            assert response.status_code == 200, response.json()
        return response.json()

    def wait(self, seconds):
        self.now += datetime.timedelta(seconds=seconds)


def posttest_is_closed(client, activity):
    response = client.get(f"/activities/{activity.slug}/posttest/")
    return response.status_code == 302 and response.url == f"/activities/{activity.slug}/watch/"


def test_it_credits_forty_back_to_back_reports_only_what_a_second_allows(client, talk, viewer):
    tab = Tab(client, talk, at=SOON)
    for index in range(40):
        tab.now = SOON + datetime.timedelta(milliseconds=20 * (index + 1))
        tab.played = [[index * 15, index * 15 + 15]]
        tab.position = index * 15 + 15
        assert tab.send().status_code == 200
    row = participation(viewer, talk)
    # 0.8 s at 2× and the 10 s grace, not the 600 s claimed.
    assert intervals_total(row.watched_intervals_ms) <= 11_600
    assert not recording_requirement_met(participation=row)
    assert posttest_is_closed(client, talk)


def test_it_refuses_a_report_of_590_seconds_from_a_learner_who_never_opened_the_player(
    client, talk, viewer
):
    body = {"position": 590, "watched": [[0, 590]], "sent_at": 1}
    response = client.post(progress_url(talk), json.dumps(body), content_type="application/json")
    assert response.status_code == 403
    assert "no viewing session" in response.json()["error"]
    assert participation(viewer, talk).watched_intervals_ms == []
    assert posttest_is_closed(client, talk)


def test_it_credits_a_590_second_report_sent_right_after_the_page_opens_only_the_grace(
    client, talk, viewer
):
    tab = Tab(client, talk, at=SOON)
    tab.wait(1)
    tab.played, tab.position = [[0, 590]], 590
    assert tab.send().json()["watched_seconds"] == 12
    assert posttest_is_closed(client, talk)


def test_it_lets_an_honest_viewer_reach_the_requirement_at_normal_speed(client, talk, viewer):
    tab = Tab(client, talk, at=SOON)
    progress = tab.play(536)
    assert progress["watched_seconds"] == 536 and not progress["requirement_met"]
    assert tab.play(4)["requirement_met"]
    assert not posttest_is_closed(client, talk)


def test_it_lets_an_honest_viewer_reach_the_requirement_at_double_speed(client, talk, viewer):
    tab = Tab(client, talk, at=SOON)
    assert tab.play(272, rate=2)["requirement_met"]


def test_it_lets_a_viewer_who_seeks_back_and_plays_at_one_and_a_half_speed_go_on(client, talk, viewer):
    tab = Tab(client, talk, at=SOON)
    tab.play(100, rate=1.5)
    tab.position = 60  # back to hear something again: nothing new, nothing lost
    tab.play(100, rate=1.5)
    assert tab.play(240, rate=1.5)["requirement_met"]


def test_it_asks_for_a_new_session_after_a_long_pause_and_then_counts_on(client, talk, viewer):
    tab = Tab(client, talk, at=SOON)
    tab.play(200)
    tab.wait(6 * 60)
    tab.wait(4)
    start, tab.position = tab.position, tab.position + 4
    tab.played = merged_intervals(tab.played + [[start, tab.position]])
    expired = tab.send()
    assert expired.status_code == 403
    assert expired.json()["session"] == "expired"
    with time_machine.travel(tab.now, tick=False):
        tab.session = client.post(f"/activities/{talk.slug}/watch/session/").json()["session"]
    assert tab.send().json()["watched_seconds"] == 204
    assert tab.play(340)["requirement_met"]


def test_it_credits_a_report_that_runs_ahead_of_the_clock_once_time_catches_up(client, talk, viewer):
    tab = Tab(client, talk, at=SOON)
    tab.play(100, rate=2)
    # The browser's timers ran fast: 40 s played at 2× by the server's clock's 12 s.
    tab.wait(12)
    tab.played, tab.position = merged_intervals(tab.played + [[200, 240]]), 240
    assert tab.send().json()["watched_seconds"] == 234
    tab.wait(4)
    assert tab.send().json()["watched_seconds"] == 240


def test_it_counts_two_tabs_playing_different_halves_no_faster_than_one_tab_at_double_speed(
    client, talk, viewer
):
    first, second = Tab(client, talk, at=SOON), Tab(client, talk, at=SOON)
    second.position = 300
    for _ in range(34):  # 136 s in which each tab plays 272 s at 2×
        first.play(4, rate=2)
        second.play(4, rate=2)
    row = participation(viewer, talk)
    assert intervals_total(row.watched_intervals_ms) <= 136 * 2 * 1000 + 10_000
    assert not recording_requirement_met(participation=row)
    # Reported again as the tabs go on, the rest counts as time allows.
    for _ in range(35):
        first.wait(4)
        first.send()
        second.wait(4)
        second.send()
    assert recording_requirement_met(participation=participation(viewer, talk))


def test_it_lets_two_tabs_at_normal_speed_reach_the_requirement(client, talk, viewer):
    first, second = Tab(client, talk, at=SOON), Tab(client, talk, at=SOON)
    second.position = 300
    for _ in range(68):
        first.play(4)
        second.play(4)
    assert recording_requirement_met(participation=participation(viewer, talk))


def test_it_refuses_a_session_of_another_learner(client, talk, viewer):
    other = UserFactory()
    ParticipationFactory(user=other, activity=talk)
    theirs = viewing_session_open(participation=participation(other, talk)).token
    response = report(client, talk, position=10, watched=[[0, 10]], session=theirs)
    assert response.status_code == 403
    assert response.json()["session"] == "forbidden"
    assert participation(other, talk).watched_intervals_ms == []
    assert participation(viewer, talk).watched_intervals_ms == []


def test_it_refuses_a_session_of_another_activity(client, talk, viewer, lecture):
    ParticipationFactory(user=viewer, activity=lecture)
    other = viewing_session_open(participation=participation(viewer, lecture)).token
    assert report(client, talk, position=10, watched=[[0, 10]], session=other).status_code == 403


def test_it_refuses_an_unknown_session(client, talk, viewer):
    response = report(client, talk, position=10, watched=[[0, 10]], session="not-a-session")
    assert response.status_code == 403
    assert response.json()["session"] == "expired"
    assert participation(viewer, talk).watched_intervals_ms == []


def test_it_closes_a_learners_quiet_and_surplus_sessions_when_another_opens(talk, viewer):
    row = participation(viewer, talk)
    quiet = viewing_session_open(participation=row, at=timezone.now() - datetime.timedelta(minutes=6))
    for _ in range(8):
        viewing_session_open(participation=row)
    assert row.viewing_sessions.count() == 5
    assert not row.viewing_sessions.filter(pk=quiet.pk).exists()


def test_it_counts_a_stretch_that_ends_within_a_second_of_the_end_in_full(client, lecture, watcher):
    Recording.objects.filter(activity=lecture).update(required_viewing_percent=100)
    client.force_login(watcher)
    body = report(client, lecture, position=99.2, watched=[[0, 99.2]]).json()
    assert (body["watched_seconds"], body["percent"], body["requirement_met"]) == (100, 100, True)


def test_it_offers_playback_speeds_up_to_the_rate_the_server_credits(client, talk, viewer):
    page = client.get(f"/activities/{talk.slug}/watch/").content.decode()
    assert 'data-max-rate="2"' in page
    assert '<option value="2">2×</option>' in page
    assert re.findall(r'<option value="([\d.]+)"', page)[-1] == "2"


# --- When viewing is required, and when it is not ------------------------------------------


def test_it_sends_a_learner_who_has_not_watched_from_the_evaluation_to_the_recording(client, talk, viewer):
    response = client.get(f"/activities/{talk.slug}/evaluation/", follow=True)
    assert response.redirect_chain[-1][0] == f"/activities/{talk.slug}/watch/"
    assert "Watch the recording before you complete the evaluation." in response.content.decode()
    question = talk.evaluation.questions.get()
    client.post(f"/activities/{talk.slug}/evaluation/", {f"q{question.pk}": "4"})
    assert not EvaluationResponse.objects.filter(user=viewer).exists()


def test_it_opens_the_evaluation_once_the_recording_is_watched(client, talk, viewer):
    Participation.objects.filter(user=viewer).update(
        watched_intervals_ms=[[0, TEN_MINUTES * 1000]], recording_completed_at=timezone.now()
    )
    assert client.get(f"/activities/{talk.slug}/evaluation/").status_code == 200


def test_it_opens_the_evaluation_without_watching_where_staff_turned_viewing_off(client, provider, learner):
    activity = complete_activity(requires_full_viewing=False)
    ParticipationFactory(user=learner, activity=activity)
    client.force_login(learner)
    assert client.get(f"/activities/{activity.slug}/evaluation/").status_code == 200


def test_it_claims_no_watching_where_staff_turned_viewing_off(client, provider, learner):
    activity = complete_activity(requires_full_viewing=False)
    ParticipationFactory(user=learner, activity=activity)
    method = activity.method_of_participation()
    assert method.startswith("You may watch the recording as much as you find useful. To earn credit, complete")
    client.force_login(learner)
    page = client.get(f"/activities/{activity.slug}/watch/").content.decode()
    assert "Watch the recording (optional)" in page
    assert "I have watched" not in page
    assert "asks you to watch" not in page


def test_it_requires_viewing_of_new_activities_by_default(provider):
    activity = complete_activity()
    assert activity.requires_full_viewing
    assert "watch at least 90% of the recording" in activity.method_of_participation()


def test_it_has_every_demo_activity_require_viewing_of_a_recording_it_can_measure():
    for data in demo_activities(today=datetime.date(2026, 3, 1)):
        assert data["requires_full_viewing"] is True, data["slug"]
        recording = data["recording"]
        assert recording["url"] == "/static/demo/welcome.webm"
        # The demo video plays for 8.008 s, within the tolerance of the 8 s entered.
        assert recording["duration_seconds"] == 8


# --- the duration is read from an uploaded file ------------------------------------------


def test_it_reads_the_duration_of_an_upload_whatever_was_typed(bare_activity, eight_second_mp4):
    formset = recording_formset(
        bare_activity, duration_seconds="3600", files={"video": SimpleUploadedFile("talk.mp4", eight_second_mp4)}
    )
    assert formset.is_valid(), formset.errors

    formset.save()

    assert Recording.objects.get(activity=bare_activity).duration_seconds == 8


def test_it_keeps_the_typed_duration_of_a_recording_given_by_url(bare_activity):
    formset = recording_formset(bare_activity, url="https://video.example.org/talk.mp4", duration_seconds="3540", files={})
    assert formset.is_valid(), formset.errors

    formset.save()

    assert Recording.objects.get(activity=bare_activity).duration_seconds == 3540


def test_it_refuses_a_file_with_a_video_header_that_is_not_a_video(bare_activity):
    formset = recording_formset(
        bare_activity, files={"video": SimpleUploadedFile("talk.mp4", MP4_HEAD + b"not a video " * 100)}
    )

    assert not formset.is_valid()
    assert "This file is not a video we can read" in str(formset.errors)
    assert not Recording.objects.filter(activity=bare_activity).exists()


def test_it_refuses_a_text_file_renamed_mp4(bare_activity):
    formset = recording_formset(bare_activity, files={"video": SimpleUploadedFile("talk.mp4", b"Just some notes.\n" * 50)})

    assert not formset.is_valid()
    assert "This file is not an MP4 or WebM video." in str(formset.errors)


def test_it_says_so_when_the_server_cannot_read_videos(bare_activity, eight_second_mp4, monkeypatch):
    monkeypatch.setattr(media.shutil, "which", lambda name: None)

    formset = recording_formset(bare_activity, files={"video": SimpleUploadedFile("talk.mp4", eight_second_mp4)})

    assert not formset.is_valid()
    assert "This server cannot read uploaded videos yet (ffprobe" in str(formset.errors)
    assert video_duration_seconds(SimpleUploadedFile("talk.mp4", eight_second_mp4)) is None


def test_it_rounds_a_duration_down_so_full_viewing_stays_possible():
    # The demo video plays for 8.008 s: 9 s would ask for more than it plays.
    assert video_duration_seconds(SimpleUploadedFile("talk.webm", WEBM)) == 8


def test_it_reads_the_duration_of_a_large_upload_from_its_temporary_file(eight_second_mp4):
    upload = TemporaryUploadedFile("talk.mp4", "video/mp4", len(eight_second_mp4), None)
    upload.write(eight_second_mp4)
    upload.flush()

    assert video_duration_seconds(upload) == 8


def test_it_reads_the_duration_of_a_stored_video_through_the_storage(provider, eight_second_mp4):
    recording = complete_activity().recording
    recording.url = ""
    recording.video.save("talk.mp4", ContentFile(eight_second_mp4))

    assert video_duration_seconds(Recording.objects.get(pk=recording.pk).video) == 8


def test_it_sends_a_learner_who_has_not_started_to_the_activity_page_in_four_queries(
    client, lecture, learner, django_assert_num_queries
):
    client.force_login(learner)
    # provider, user, no participation, then the activity alone to say where to start
    with django_assert_num_queries(4):
        response = client.get(f"/activities/{lecture.slug}/watch/")
    assert response.status_code == 302
    assert response["Location"] == lecture.get_absolute_url()


def test_it_hides_the_watch_page_of_an_activity_unpublished_after_the_learner_started(
    client, lecture, watcher
):
    Activity.objects.filter(pk=lecture.pk).update(status=Activity.Status.DRAFT)
    client.force_login(watcher)
    assert client.get(f"/activities/{lecture.slug}/watch/").status_code == 404


def test_it_opens_no_viewing_session_when_the_watch_page_loads(client, lecture, watcher):
    client.force_login(watcher)
    page = client.get(f"/activities/{lecture.slug}/watch/").content.decode()
    assert "data-session-url=" in page
    assert "data-session=" not in page
    assert not ViewingSession.objects.filter(participation__user=watcher).exists()


def test_it_opens_a_viewing_session_for_the_player_in_constant_queries(
    client, lecture, watcher, django_assert_num_queries
):
    client.force_login(watcher)
    for _ in range(3):
        ParticipationFactory(activity=lecture)
    # provider, user, participation with its activity, closing quiet sessions, opening one
    with django_assert_num_queries(5):
        token = client.post(f"/activities/{lecture.slug}/watch/session/").json()["session"]
    assert ViewingSession.objects.get(token=token).participation.user == watcher


def test_it_opens_no_viewing_session_for_a_learner_who_has_not_started(client, lecture, learner):
    client.force_login(learner)
    response = client.post(f"/activities/{lecture.slug}/watch/session/")
    assert response.status_code == 400
    assert response.json()["error"] == "Start the activity before watching the recording."
    assert not ViewingSession.objects.exists()
