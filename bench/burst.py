"""A burst of claims through two worker processes: from the first claim to the last
certificate issued and mailed, against the ideal of the bare render rate times two.

Runs outside the test suite, on PostgreSQL and Redis (started by `make test` or already up):

    .venv/bin/python bench/burst.py [--claims 1000] [--workers 2]

It uses its own database (`lms_bench`) and Redis database 13, like bench/certificates.py.
  1. `claims` learners who have watched, evaluated and passed one activity;
  2. a bare WeasyPrint render of the same certificate, 60 times, in this process: the
     machine's own rate;
  3. `workers` Celery worker processes (concurrency 1 each, one of them running beat, as
     the README's single-machine command does) are started and warmed up; then every
     learner claims, from 4 threads, through the same service the claim page calls;
  4. it reports when the last claim was saved, the last certificate issued and the last
     e-mail recorded, and the ratio to claims / (bare rate × workers).
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from benchenv import ROOT, bare_render_seconds, fresh_database  # noqa: E402  (bench/benchenv.py)

BARE_RENDERS = 60


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    claims, worker_count = arguments.claims, arguments.workers

    fresh_database()
    from django.db import close_old_connections

    from certificates.models import Certificate
    from certificates.services import certificate_claim
    from courses.models import provider_in_use
    from tests.factories import ProviderFactory, complete_activity, learner_ready_to_claim

    ProviderFactory()
    activity = complete_activity()
    warm_up_learners = [learner_ready_to_claim(activity=activity) for _ in range(worker_count * 2)]
    started = time.perf_counter()
    learners = [learner_ready_to_claim(activity=activity) for _ in range(claims)]
    print(f"{claims} learners ready to claim in {time.perf_counter() - started:.1f} s")

    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "lms", "worker", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING",
             *(["-B"] if number == 0 else [])],
            cwd=ROOT, env=os.environ.copy(), start_new_session=True,
        )
        for number in range(worker_count)
    ]

    def claim(user):
        try:
            with provider_in_use():
                return certificate_claim(user=user, activity=activity, credits="1", attested=True).pk
        finally:
            close_old_connections()

    everything = Certificate.objects.filter(activity=activity)
    try:
        for user in warm_up_learners:
            claim(user)
        wait_until(lambda: everything.filter(emailed_at__isnull=False).count() == len(warm_up_learners))

        bare_rate = BARE_RENDERS / bare_render_seconds(everything.first(), BARE_RENDERS)

        burst = everything.exclude(user__in=warm_up_learners)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(claim, learners))
        claimed = time.perf_counter() - started
        wait_until(lambda: burst.filter(state=Certificate.State.ISSUED).count() == claims)
        issued = time.perf_counter() - started
        wait_until(lambda: burst.filter(emailed_at__isnull=False).count() == claims)
        mailed = time.perf_counter() - started
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)

    ideal = claims / (bare_rate * worker_count)
    duplicates = burst.filter(events__action="requeued").distinct().count()
    print(f"bare render:            {bare_rate:.1f} certificates/s in this process")
    print(f"all {claims} claims saved:  {claimed:.1f} s")
    print(f"last certificate issued: {issued:.1f} s  (ideal {ideal:.1f} s = {claims} / ({bare_rate:.1f}/s x {worker_count}))")
    print(f"last e-mail recorded:    {mailed:.1f} s")
    print(f"issued / ideal:          {issued / ideal:.2f}  (goal <= 1.2)")
    print(f"certificates queued again by the sweep: {duplicates}")


def wait_until(condition, timeout=900):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise SystemExit("timed out waiting for the workers")


if __name__ == "__main__":
    main()
