"""Recording media: what an upload must be, and which video hosts we embed and how."""

import math
import re
import shutil
import subprocess
import tempfile
from pathlib import PurePosixPath
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

VIDEO_EXTENSIONS = ["mp4", "m4v", "webm"]
MEDIA_TYPES = {"mp4": "video/mp4", "m4v": "video/mp4", "webm": "video/webm", "vtt": "text/vtt"}
CAPTIONS_MAX_BYTES = 2 * 1024 * 1024
YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be",
                 "youtube-nocookie.com", "www.youtube-nocookie.com"}
VIMEO_HOSTS = {"vimeo.com", "www.vimeo.com", "player.vimeo.com"}
# The players video_embed_url points at: the only pages a page of ours may frame
# (frame-src of the Content-Security-Policy in lms/settings.py).
YOUTUBE_PLAYER = "https://www.youtube-nocookie.com"
VIMEO_PLAYER = "https://player.vimeo.com"
EMBED_ORIGINS = (YOUTUBE_PLAYER, VIMEO_PLAYER)
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
WEBVTT_SIGNATURE = re.compile(r"WEBVTT(?:[ \t\r\n]|$)")
# ffprobe reads a container's header (and, for some MP4s, its index at the end): seconds
# at most, even for a long recording. A file that keeps it busy longer is not one we play.
FFPROBE_TIMEOUT_SECONDS = 20


def is_new_upload(value):
    # A file already in storage passed these checks when it was uploaded; re-reading it
    # on every save would cost a storage round trip for nothing.
    return not getattr(value, "_committed", True)


def _file_head(value, size):
    value.seek(0)
    head = value.read(size)
    value.seek(0)
    return head


def validate_video_upload(value):
    if not is_new_upload(value):
        return
    limit_mb = settings.RECORDING_MAX_UPLOAD_MB
    if value.size > limit_mb * 1024 * 1024:
        # Rounded up, so a file just over the limit never reads as equal to it.
        size_mb = math.ceil(value.size * 10 / (1024 * 1024)) / 10
        raise ValidationError(
            f"This video is {size_mb} MB; the largest accepted is {limit_mb} MB."
        )
    head = _file_head(value, 12)
    if head[4:8] != b"ftyp" and not head.startswith(b"\x1a\x45\xdf\xa3"):
        raise ValidationError(
            "This file is not an MP4 or WebM video. Upload an .mp4, .m4v or .webm file."
        )
    if shutil.which("ffprobe") is None:
        raise ValidationError(
            "This server cannot read uploaded videos yet (ffprobe, from Debian's ffmpeg "
            "package, is not installed). Give the video's URL instead, or ask the site's "
            "administrator to install ffmpeg."
        )
    if video_duration_seconds(value) is None:
        raise ValidationError(
            "This file is not a video we can read: its length could not be found. Export it "
            "again as MP4 (H.264) or WebM and upload that."
        )


def video_duration_seconds(file):
    """The length of the video in `file` (a Django File: an upload or a stored file) in
    whole seconds, or None when ffprobe is missing or cannot read it as a video.

    Rounded down, not up: viewing is measured against it, and a duration longer than
    what the file plays (9 s for an 8.008 s video) would leave a learner who must watch
    it in full unable ever to finish. At least 1 s, so a real but very short video
    still has a length.

    A new upload's length is read once: the field's validator and Recording.clean both
    ask for it on the same save.
    """
    upload = getattr(file, "file", file) if is_new_upload(file) else None
    if upload is not None and hasattr(upload, "probed_duration_seconds"):
        return upload.probed_duration_seconds
    seconds = _duration_seconds(file)
    if upload is not None:
        upload.probed_duration_seconds = seconds
    return seconds


def _duration_seconds(file):
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    # A new upload on a model's file field wraps Django's upload, which a large file has
    # already written to a temporary file ffprobe can open as it is.
    upload = getattr(file, "file", file) if is_new_upload(file) else file
    path = getattr(upload, "temporary_file_path", None)
    if path is not None:
        return _probe_duration(ffprobe, path())
    # An upload kept in memory, or a stored file: read through Django's File API (the
    # storage's, for a stored one) into a file of our own for ffprobe to open.
    suffix = PurePosixPath(file.name or "").suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as copy:
        file.seek(0)
        for chunk in file.chunks():
            copy.write(chunk)
        file.seek(0)
        copy.flush()
        return _probe_duration(ffprobe, copy.name)


def _probe_duration(ffprobe, path):
    command = [
        ffprobe, "-v", "error", "-show_entries", "format=duration",
        "-of", "default=nw=1:nk=1", path,
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=FFPROBE_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        seconds = float(result.stdout.strip())
    except ValueError:  # "N/A", or nothing when ffprobe failed
        return None
    if result.returncode != 0 or not math.isfinite(seconds) or seconds <= 0:
        return None
    return max(1, math.floor(seconds))


def _validate_webvtt_upload(value, *, noun):
    if not is_new_upload(value):
        return
    if value.size > CAPTIONS_MAX_BYTES:
        raise ValidationError(
            f"This {noun.lower()} file is larger than {CAPTIONS_MAX_BYTES // (1024 * 1024)} MB."
        )
    try:
        text = _file_head(value, CAPTIONS_MAX_BYTES).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"{noun} must be a WebVTT file saved as UTF-8 text.") from None
    if not WEBVTT_SIGNATURE.match(text):
        raise ValidationError(
            f"{noun} must be a WebVTT file: its first line must start with WEBVTT."
        )


def validate_captions_upload(value):
    _validate_webvtt_upload(value, noun="Captions")


def validate_descriptions_upload(value):
    _validate_webvtt_upload(value, noun="Audio descriptions")


def video_embed_url(url):
    """The privacy-friendly player URL for a YouTube or Vimeo link, or "" for any other URL."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    segments = [segment for segment in parts.path.split("/") if segment]
    query = parse_qs(parts.query)
    if host in YOUTUBE_HOSTS:
        if host == "youtu.be":
            candidate = segments[0] if segments else ""
        elif segments[:1] == ["watch"]:
            candidate = query.get("v", [""])[0]
        elif len(segments) >= 2 and segments[0] in ("embed", "shorts", "live"):
            candidate = segments[1]
        else:
            candidate = ""
        if YOUTUBE_ID.fullmatch(candidate):
            return f"{YOUTUBE_PLAYER}/embed/{candidate}?rel=0"
    if host in VIMEO_HOSTS:
        numbers = [index for index, segment in enumerate(segments) if segment.isdigit()]
        if numbers:
            index = numbers[0]
            # Unlisted videos carry a privacy hash, either after the id or as ?h=.
            privacy_hash = query.get("h", [""])[0] or (
                segments[index + 1] if index + 1 < len(segments) else ""
            )
            suffix = f"&h={privacy_hash}" if re.fullmatch(r"[0-9a-f]+", privacy_hash) else ""
            return f"{VIMEO_PLAYER}/video/{segments[index]}?dnt=1{suffix}"
    return ""


def media_type(name):
    return MEDIA_TYPES.get(PurePosixPath(urlsplit(name).path).suffix.lower().lstrip("."), "")




def url_problem(value):
    """Why `value` is neither an http(s) URL nor a path on this site, or ""."""
    if value.startswith("/") and not value.startswith("//"):
        return ""
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return "Give an http(s) URL or a path on this site starting with /."
    return ""


def media_origins(*urls):
    """The origins of the recording files a page plays from another site (a video or
    captions URL staff gave), for that page's Content-Security-Policy alone: the site's
    policy lets media come from itself and the storage bucket only."""
    origins = []
    for url in urls:
        parts = urlsplit(url or "")
        if parts.scheme in ("http", "https") and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in origins:
                origins.append(origin)
    return origins
