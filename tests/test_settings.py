"""Settings from the environment (SPEC §6), each case in a fresh Python process."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from .processes import worker_database_url

# Variables a case sets itself; the rest of the test run's environment is inherited.
CONFIG_VARIABLES = (
    "DJANGO_ENV", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CONN_MAX_AGE",
    "REDIS_URL", "MEDIA_ROOT", "EMAIL_BACKEND", "EMAIL_PORT", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "STATIC_ROOT", "DJANGO_ALLOW_ASYNC_UNSAFE", "SITE_URL",
    "DEFAULT_FROM_EMAIL", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL", "AWS_S3_REGION_NAME",
    "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_QUERYSTRING_EXPIRE",
    "DATABASE_PREPARED_STATEMENTS",
)
PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "ENGINE": db["ENGINE"], "NAME": str(db["NAME"]), "HOST": db.get("HOST"),
    "CONN_MAX_AGE": db["CONN_MAX_AGE"], "OPTIONS": db.get("OPTIONS", {}), "DEBUG": s.DEBUG, "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "CELERY_TASK_ALWAYS_EAGER": s.CELERY_TASK_ALWAYS_EAGER,
    "CELERY_BROKER_URL": s.CELERY_BROKER_URL, "EMAIL_BACKEND": s.EMAIL_BACKEND,
    "MEDIA_ROOT": str(s.MEDIA_ROOT), "STORAGE": s.STORAGES["default"]["BACKEND"],
}))
"""
START_UP = "import django; django.setup()"


def run(args, **variables):
    env = {name: value for name, value in os.environ.items() if name not in CONFIG_VARIABLES}
    env["DJANGO_SETTINGS_MODULE"] = "lms.settings"
    env.update(variables)
    return subprocess.run(
        [sys.executable, *args], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=180,
    )


def production(tmp_path, **changes):
    """Every variable production requires, with `changes` (None leaves one out)."""
    variables = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50)[:50],
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ALLOWED_HOSTS": "cme.example.org",
        "SITE_URL": "https://cme.example.org",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "DEFAULT_FROM_EMAIL": "cme@example.org",
        **changes,
    }
    return {name: value for name, value in variables.items() if value is not None}


def printed_settings(**variables):
    result = run(["-c", PRINT_SETTINGS], **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_defaults_to_sqlite_eager_celery_and_local_files():
    # Nothing connects to the database here, so the developer's demo DB is not touched.
    values = printed_settings()

    base_dir = Path(settings.BASE_DIR)
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["NAME"] == str(base_dir / "var" / "db.sqlite3")
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True
    assert values["CELERY_BROKER_URL"] == "memory://"
    assert values["DEBUG"] is True
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert values["MEDIA_ROOT"] == str(base_dir / "var" / "media")
    assert values["STORAGE"] == "django.core.files.storage.FileSystemStorage"


def test_it_reads_database_redis_and_media_from_the_environment(tmp_path):
    values = printed_settings(
        DATABASE_URL="postgres://cme:secret@db.example.org:5433/cme",
        REDIS_URL="redis://broker.example.org:6379/2",
        CONN_MAX_AGE="30",
        MEDIA_ROOT=str(tmp_path / "media"),
    )

    assert (values["ENGINE"], values["NAME"], values["HOST"], values["CONN_MAX_AGE"]) == (
        "django.db.backends.postgresql", "cme", "db.example.org", 30)
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    assert values["CELERY_BROKER_URL"] == "redis://broker.example.org:6379/2"
    assert values["MEDIA_ROOT"] == str(tmp_path / "media")


def test_it_prepares_repeated_statements_on_postgresql_only():
    postgresql = "postgres://cme:secret@db.example.org:5433/cme"

    assert printed_settings(DATABASE_URL=postgresql)["OPTIONS"] == {
        "server_side_binding": True, "prepare_threshold": 5}
    assert printed_settings(DATABASE_URL=postgresql, DATABASE_PREPARED_STATEMENTS="off")["OPTIONS"] == {}
    assert printed_settings()["OPTIONS"] == {}


@pytest.mark.django_db
def test_it_lets_postgresql_plan_a_repeated_query_once(provider):
    from django.db import connection

    from courses.models import Provider

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    for _ in range(6):
        assert Provider.objects.filter(pk=provider.pk).exists()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "courses_provider" WHERE "courses_provider"."id" = $%'],
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_it_runs_a_statement_with_more_values_than_postgresql_binds(provider):
    from django.db import connection

    from courses.models import Provider
    from lms.database import MAX_BOUND_VALUES

    ids = [provider.pk, *range(-MAX_BOUND_VALUES - 10, 0)]

    assert list(Provider.objects.filter(pk__in=ids).values_list("pk", flat=True)) == [provider.pk]
    if connection.vendor == "postgresql":
        assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True


def test_it_refuses_production_without_a_secret_key(tmp_path):
    result = run(
        ["-c", START_UP], DJANGO_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ALLOWED_HOSTS="cme.example.org",
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr


def test_it_refuses_production_without_allowed_hosts(tmp_path):
    result = run(
        ["-c", START_UP], DJANGO_ENV="production", SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: ALLOWED_HOSTS must be set" in result.stderr


@pytest.mark.parametrize(
    "name, value",
    [
        ("DEBUG", "maybe"),
        ("CONN_MAX_AGE", "abc"),
        ("DATABASE_PREPARED_STATEMENTS", "sometimes"),
        ("DJANGO_ENV", "staging"),
        ("DATABASE_URL", "mongodb://db.example.org/cme"),
        ("REDIS_URL", "localhost:6379"),
        ("SITE_URL", "cme.example.org"),
        ("SITE_URL", "ftp://cme.example.org"),
    ],
)
def test_it_fails_at_start_up_naming_a_malformed_variable(tmp_path, name, value):
    variables = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", name: value}

    result = run(["-c", START_UP], **variables)

    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(f"django.core.exceptions.ImproperlyConfigured: {name} ")


@pytest.mark.parametrize("name", ["SITE_URL", "REDIS_URL", "DEFAULT_FROM_EMAIL"])
def test_it_refuses_production_without_a_variable_it_requires(tmp_path, name):
    result = run(["-c", START_UP], **production(tmp_path, **{name: None}))

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name} must be set when DJANGO_ENV=production." in result.stderr


def test_it_refuses_production_with_a_site_url_that_is_not_https(tmp_path):
    result = run(["-c", START_UP], **production(tmp_path, SITE_URL="http://cme.example.org"))

    assert result.returncode != 0
    assert "ImproperlyConfigured: SITE_URL must be an https:// address" in result.stderr


def deployment_check(tmp_path):
    """`manage.py check --deploy` in production, on the test database (committed rows only)."""
    return run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        **production(tmp_path, DATABASE_URL=worker_database_url()),
    )


@pytest.mark.django_db(transaction=True)
def test_it_passes_the_deployment_checks_in_production(tmp_path, provider):
    result = deployment_check(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_fails_the_deployment_checks_in_production_without_a_provider(tmp_path, db):
    result = deployment_check(tmp_path)

    assert result.returncode != 0
    assert "(lms.E001) No accredited provider is saved" in result.stderr
