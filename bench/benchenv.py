"""What every benchmark shares: its own database (`lms_bench`, created if missing) and
Redis database 13, production-like settings, and the project on the import path.
Import it before Django is set up."""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lms_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.update(
    DJANGO_SETTINGS_MODULE="lms.settings",
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=REDIS_URL,
    MEDIA_ROOT=os.environ.get("BENCH_MEDIA_ROOT", "/tmp/lms-bench-media"),
    EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    # As in production: with DEBUG on, Django keeps every SQL query of a worker in memory.
    DEBUG="false",
)


def ensure_database():
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def fresh_database():
    """Django set up on the bench database, migrated and emptied, and the bench's Redis
    database emptied: every run starts from nothing."""
    ensure_database()
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    redis.Redis.from_url(REDIS_URL).flushdb()


def bare_render_seconds(certificate, count):
    """Seconds WeasyPrint alone takes to render `certificate`'s HTML `count` times, with
    the stylesheet, fonts and PDF options the worker uses: the machine's own ceiling."""
    from weasyprint import HTML

    from certificates import pdf as pdf_module

    html = pdf_module.certificate_html(certificate)
    stylesheet = pdf_module._stylesheet("certificate.css")
    started = time.perf_counter()
    for _ in range(count):
        HTML(string=html).write_pdf(
            stylesheets=[stylesheet], font_config=pdf_module._font_config, **pdf_module.PDF_OPTIONS
        )
    return time.perf_counter() - started
