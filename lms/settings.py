"""One settings module, read from the environment.

With no variables set the site runs the embedded shape: SQLite, Celery tasks
in-process, mail on the console, media on local disk, DEBUG on. DJANGO_ENV=production
switches to the production shape and makes SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS,
SITE_URL (https), REDIS_URL and DEFAULT_FROM_EMAIL required. A malformed value stops
start-up with a message naming the variable.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name, default=None, *, required=False):
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if required:
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_ENV=production.")
    return default


def env_bool(name, default):
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}."
    )
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DEBUG", not PRODUCTION)
SECRET_KEY = env_str(
    "SECRET_KEY", "dev-only-insecure-key-change-me-0123456789abcdef", required=PRODUCTION
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not os.environ.get("ALLOWED_HOSTS", "").strip():
    # With DEBUG off and no hosts, every request would be refused with a 400.
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_ENV=production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "lms.views.csrf_failure"
# Printed on every certificate (its verification link and QR code), so production needs
# the site's real https address.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000", required=PRODUCTION).rstrip("/")
try:
    _site_url = urlsplit(SITE_URL)
except ValueError:
    _site_url = None
if not _site_url or _site_url.scheme not in ("http", "https") or not _site_url.hostname:
    raise ImproperlyConfigured(f"SITE_URL must be an address like https://cme.example.org, not {SITE_URL!r}.")
if PRODUCTION and _site_url.scheme != "https":
    raise ImproperlyConfigured("SITE_URL must be an https:// address when DJANGO_ENV=production.")

INSTALLED_APPS = [
    "lms",
    "courses",
    "quizzes",
    "certificates",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "auditlog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "lms.middleware.ProviderTimeZoneMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After authentication: it records the signed-in user as the actor of audited changes.
    "auditlog.middleware.AuditlogMiddleware",
    "lms.middleware.StaffSecondFactorMiddleware",
    "lms.middleware.ProfileRequiredMiddleware",
]

# Field-level history (django-auditlog; lms.audited says of what). Who changed a record
# is kept, not from where: behind a proxy the address is only what the X-Forwarded-For
# header claims, and staff do not need it.
AUDITLOG_DISABLE_REMOTE_ADDR = True

ROOT_URLCONF = "lms.urls"
# The post-test editor posts every question and choice of a post-test at once: Django's
# default of 1,000 fields stops at about 45 questions of 4 choices.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
WSGI_APPLICATION = "lms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lms.context_processors.site_urls",
            ],
        },
    },
]

_database_url = env_str(
    "DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}", required=PRODUCTION
)
_conn_max_age = env_int("CONN_MAX_AGE", 60)
try:
    DATABASES = {
        "default": dj_database_url.parse(
            _database_url, conn_max_age=_conn_max_age, conn_health_checks=True
        )
    }
except Exception as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# PostgreSQL plans a query anew each time it is sent as text: for a page's short reads
# planning cost more than running them (the watch page's step read: 0.7 ms to plan,
# 0.1 ms to run). With server-side binding, psycopg prepares a statement a connection has
# run 5 times and PostgreSQL reuses its plan. Off behind a pooler that cannot keep
# prepared statements (PgBouncer in transaction mode before 1.21).
_prepared_statements = env_bool("DATABASE_PREPARED_STATEMENTS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _prepared_statements:
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "lms.User"
# Django's and allauth's, reading the signed-in user by SQL compiled once per process.
AUTHENTICATION_BACKENDS = [
    "lms.auth_backends.ModelBackend",
    "lms.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-allauth: e-mail is the login and must be verified.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_SIGNUP_REDIRECT_URL = "/me/profile/"
ACCOUNT_UNIQUE_EMAIL = True
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"

# allauth.mfa: staff pages ask for a second factor (lms.middleware.StaffSecondFactorMiddleware),
# an authenticator app's code or, when the phone is lost, a one-time recovery code.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# The name the authenticator app lists the account under; unset, the provider's name
# (lms.mfa.MFAAdapter), or the site's host before staff have saved a provider.
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "")
# allauth's defaults, kept in view: a code is good for its own 30 seconds only, and adding
# or removing a factor asks for the password again.
MFA_TOTP_TOLERANCE = 0
MFA_REAUTHENTICATION_REQUIRED = True
MFA_ADAPTER = "lms.mfa.MFAAdapter"

LANGUAGE_CODE = "en-us"
# Stored times are UTC; each request and task runs in the provider's own zone
# (Provider.time_zone, through lms.middleware.ProviderTimeZoneMiddleware).
TIME_ZONE = "UTC"
# Every date-time shown carries its zone's abbreviation ("Nov. 27, 2026, 10:30 p.m. EST").
FORMAT_MODULE_PATH = ["lms.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Development and tests serve static files straight from the finders.
STATIC_ROOT = env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")) if PRODUCTION else None
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# The largest recording staff may upload; the web server in front must accept it too.
RECORDING_MAX_UPLOAD_MB = env_int("RECORDING_MAX_UPLOAD_MB", 2048)

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}


def s3_storage():
    """The file storage in an S3-compatible bucket named by AWS_STORAGE_BUCKET_NAME, or
    None for local disk. Web and worker processes on different machines then share the
    files. boto3 reads the credentials itself (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
    or the machine's role)."""
    bucket = env_str("AWS_STORAGE_BUCKET_NAME")
    endpoint = env_str("AWS_S3_ENDPOINT_URL")
    if not bucket:
        if endpoint:
            raise ImproperlyConfigured(
                "AWS_STORAGE_BUCKET_NAME must be set when AWS_S3_ENDPOINT_URL is: "
                "files are stored in S3 only once a bucket is named."
            )
        return None
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImproperlyConfigured(
                "AWS_S3_ENDPOINT_URL must be an http(s) URL such as https://s3.example.org."
            )
    region_variable = "AWS_S3_REGION_NAME" if env_str("AWS_S3_REGION_NAME") else "AWS_DEFAULT_REGION"
    region = env_str(region_variable)
    if not region:
        raise ImproperlyConfigured(
            "AWS_S3_REGION_NAME (or AWS_DEFAULT_REGION) must be set when AWS_STORAGE_BUCKET_NAME "
            "is: the bucket's region, such as us-east-1, which presigned URLs are signed for."
        )
    if not set(region) <= set("abcdefghijklmnopqrstuvwxyz0123456789-"):
        raise ImproperlyConfigured(
            f"{region_variable} must be a region name such as us-east-1, not {region!r}."
        )
    key_id, secret = env_str("AWS_ACCESS_KEY_ID"), env_str("AWS_SECRET_ACCESS_KEY")
    if bool(key_id) != bool(secret):
        missing = "AWS_SECRET_ACCESS_KEY" if key_id else "AWS_ACCESS_KEY_ID"
        raise ImproperlyConfigured(
            f"{missing} must be set too: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together."
        )
    # Long enough to start a download or a video, short enough that a copied link is
    # soon useless: every new fetch goes through the view's access check again.
    expire = env_int("AWS_QUERYSTRING_EXPIRE", 300)
    if not 1 <= expire <= 604800:
        raise ImproperlyConfigured(
            f"AWS_QUERYSTRING_EXPIRE must be 1 to 604800 seconds (S3's limit), not {expire}."
        )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "region_name": region,
            "signature_version": "s3v4",
            # Other S3-compatible servers (MinIO, Ceph, moto) answer on their own host
            # with the bucket in the path; on AWS itself botocore picks the bucket's host.
            "addressing_style": "path" if endpoint else None,
            # Private objects, reached only through presigned URLs.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": expire,
            # As on local disk, a new file never replaces a stored one: a re-issued
            # certificate keeps its old PDF, a new upload gets a new name (and URL).
            "file_overwrite": False,
        },
    }


STORAGES["default"] = s3_storage() or STORAGES["default"]

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Without it a mail server that stops answering holds a worker forever (Django's default).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "cme@localhost", required=PRODUCTION)

# Celery: with no REDIS_URL every task runs in-process, right where it is enqueued. Production
# needs it: certificates render on separate workers, and rate limits must count every process.
REDIS_URL = env_str("REDIS_URL", required=PRODUCTION)
if REDIS_URL and urlsplit(REDIS_URL).scheme not in ("redis", "rediss"):
    # The value itself is not echoed: it may hold the broker password.
    raise ImproperlyConfigured("REDIS_URL must be a redis:// or rediss:// URL.")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
# Celery's Django fixup closes every database connection before and after each task
# unless this is set: each certificate then paid for a new PostgreSQL connection (and a
# new server process), about as much as the rest of its bookkeeping. With it set, a
# worker keeps its connection as a web process does: lms.celery applies CONN_MAX_AGE and
# the health check before each task, and Celery still starts afresh every this many tasks.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A few messages in hand keep a worker rendering instead of waiting on Redis between
# certificates (measured by bench/certificates.py); with late acks, a dead worker's
# prefetched messages are delivered again.
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # How long Redis waits before handing a worker's unacknowledged message to another
    # worker. It must be longer than any task holds a message: the longest is a retry
    # waiting out its countdown (certificates.tasks.LONGEST_COUNTDOWN, 16 s) plus one
    # render (about 0.1 s, 2 s at worst) or one e-mail (EMAIL_TIMEOUT per SMTP step), so
    # 40 s leaves room. It must also be short: a worker killed outright (OOM killer, lost
    # machine) keeps its messages until it passes, and certificates are promised within a
    # minute. Kombu's default, an hour, left certificates stuck that long (STACK.md).
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 40),
    # How often a worker looks for messages whose worker died (kombu's defaults give
    # about 100 s; tests lower both to see a redelivery quickly).
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10),
    # A worker that consumes both queues takes a certificate before any e-mail (the queues
    # in CELERY_TASK_QUEUES order): in a burst of claims, learners get their certificates
    # first and the e-mails right after, instead of every render waiting behind a mail task.
    "queue_order_strategy": "priority",
    # An unreachable broker answers a claim's enqueue within seconds, not a TCP timeout.
    "socket_connect_timeout": 3,
    "socket_timeout": 10,
}
# Periodic work runs on Celery beat, inside the product: `celery -A lms worker -B` on a
# single machine, or one `celery -A lms beat` beside the workers (README). The sweep is
# short and on the mail queue: a mail worker runs it at once, a worker that also renders
# once the renders queued before it are done. A sweep that could not run in time is
# dropped, as the next one is seconds away.
CERTIFICATE_SWEEP_SECONDS = env_int("CERTIFICATE_SWEEP_SECONDS", 10)
# How often a render that fails (storage, database) is tried again before the certificate
# is marked failed for staff to re-run.
CERTIFICATE_RENDER_RETRIES = env_int("CERTIFICATE_RENDER_RETRIES", 5)
CELERY_BEAT_SCHEDULE = {
    "sweep-certificates": {
        "task": "certificates.tasks.sweep_certificates",
        "schedule": CERTIFICATE_SWEEP_SECONDS,
        "options": {"expires": CERTIFICATE_SWEEP_SECONDS},
    },
    # PARS learner files lost on the way to a worker (lms.reporting): stuck only after
    # minutes, so a sweep a minute is soon enough.
    "sweep-pars-learner-batches": {
        "task": "lms.tasks.sweep_pars_learner_batches",
        "schedule": 60,
        "options": {"expires": 60},
    },
}
# The schedule is one interval, so beat keeps it in memory: no schedule file to share,
# lock or lose on a read-only disk.
CELERY_BEAT_SCHEDULER = "celery.beat:Scheduler"
# Mail has a queue of its own so a slow mail server never holds up certificates. A plain
# `celery -A lms worker` consumes both; a busy site runs `-Q celery` and `-Q mail` apart.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("mail"))
CELERY_TASK_ROUTES = {
    "certificates.tasks.email_certificate_ready": {"queue": "mail"},
    "certificates.tasks.sweep_certificates": {"queue": "mail"},
    "lms.tasks.sweep_pars_learner_batches": {"queue": "mail"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# The cache holds allauth's rate limits (failed logins, password resets, ...), the pages
# every anonymous visitor shares (courses.cache) and sessions. Each process has a memory
# of its own, so with more than one process only Redis counts every attempt; the
# embedded default is a single process, where local memory counts them all.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "lms.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "lms",
            # A Redis that hangs costs a request at most this long per call, not a worker.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    # Sessions are read from Redis on every request and written through to the database,
    # so they survive a Redis flush or restart.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy (django-csp) -----------------------------------------------
# Every page runs only this site's own script and style files, nothing inline, so injected
# markup cannot run or restyle anything. Images may also be data: URLs (allauth's TOTP
# set-up shows its QR code as one); frames are only the video players courses.media embeds;
# nothing may frame our pages. Imported here so the policy reads as one block.
import re  # noqa: E402

from csp.constants import NONE, SELF  # noqa: E402

from courses.media import EMBED_ORIGINS  # noqa: E402


def storage_origins():
    """The bucket's origin when files live in S3 (s3_storage above checks the variables):
    recordings are then answered with a redirect to a presigned URL there, which the player
    must be allowed to follow."""
    bucket = env_str("AWS_STORAGE_BUCKET_NAME")
    if not bucket:
        return []
    endpoint = env_str("AWS_S3_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        return [f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"]
    # On AWS, botocore names the bucket in the host when the name is a valid host label;
    # otherwise (dots, say) in the path, on the region's host.
    if re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", bucket):
        return [f"https://{bucket}.s3.amazonaws.com"]
    region = env_str("AWS_S3_REGION_NAME") or env_str("AWS_DEFAULT_REGION")
    return ["https://s3.amazonaws.com" if region == "us-east-1" else f"https://s3.{region}.amazonaws.com"]


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "media-src": [SELF, *storage_origins()],
        "frame-src": list(EMBED_ORIGINS),
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "weasyprint": {"level": "ERROR"},
        "weasyprint.progress": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}
