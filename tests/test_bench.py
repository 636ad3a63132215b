"""bench/run.py: its bare view exists only where the bench turns it on, and a smoke run on
a tiny data set writes its results and leaves no process behind."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BARE_PATH = "/bench/bare/"
RESOLVE = """
import django
django.setup()
from django.urls import Resolver404, resolve
try:
    print(resolve({path!r}).func.__module__)
except Resolver404:
    print("not found")
"""


def test_it_routes_the_bare_view_when_the_bench_turns_it_on():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lms.settings", "LMS_BENCH_BARE_VIEW": "1"}
    resolved = subprocess.run(
        [sys.executable, "-c", RESOLVE.format(path=BARE_PATH)], cwd=ROOT, env=env,
        capture_output=True, text=True, check=True,
    )
    assert resolved.stdout.strip() == "bench.bareview"


def test_it_has_no_bare_view_in_a_normal_run(db, client):
    assert "LMS_BENCH_BARE_VIEW" not in os.environ
    assert client.get(BARE_PATH).status_code == 404


def _alive(pid):
    """Whether `pid` is still one of the bench's processes (not a new one with its number)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return any(name in command for name in (b"gunicorn", b"wrk", b"bench"))


@pytest.mark.bench
@pytest.mark.worker
def test_it_measures_every_page_against_the_bare_view_and_leaves_no_process(tmp_path):
    database_url = os.environ.get("DATABASE_URL", "")
    assert database_url.startswith("postgres"), "The bench needs DATABASE_URL on PostgreSQL."
    assert os.environ.get("REDIS_URL"), "The bench needs REDIS_URL."
    suffix = "_bench_smoke" + os.environ.get("PYTEST_XDIST_WORKER", "")
    env = {
        **os.environ,
        "BENCH_PAGES_DATABASE_URL": database_url + suffix,
        "BENCH_PAGES_REDIS_URL": os.environ["REDIS_URL"],
        "BENCH_PAGES_MEDIA_ROOT": str(tmp_path / "media"),
    }
    results, figures = tmp_path / "RESULTS.md", tmp_path / "run.json"
    run = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--only", "pages", "--size", "tiny", "--seconds", "1",
         "--results", str(results), "--json", str(figures)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    summary = json.loads(figures.read_text())
    pages = summary["pages"]
    assert len(pages) == 11
    for name, page in pages.items():
        assert page["requests_per_s"] > 0, name
        assert 0 < page["ratios"][0] < 10, name
        assert not [note for note in page["notes"] if "error" in note], name
    table = results.read_text()
    for name in ("anonymous search /?q=diabetes", "signed-in bare view", "post-test submission (graded)", "credit claim"):
        assert f"| {name} |" in table
    assert "share of bare" in table
    # gunicorn's master and 2 workers, and a wrk for every measurement.
    assert len(summary["started_pids"]) >= 3 + 23
    assert [pid for pid in summary["started_pids"] if _alive(pid)] == []
