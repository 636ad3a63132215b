"""Certificates per second through one Celery worker, against a bare WeasyPrint render.

Runs outside the test suite, on PostgreSQL and Redis (started by `make test` or already up):

    .venv/bin/python bench/certificates.py [--count 60]

It uses its own database (`lms_bench`, created and migrated if missing) and Redis
database 13. In one run, in alternating rounds so both sides see the same machine load:
  1. bare: WeasyPrint rendering the same certificate HTML, with the same PDF options
     (PDF/UA), in this process, `count` times;
  2. worker: one worker process (concurrency 1, consuming the certificate queue; the
     "certificate ready" e-mails wait in their own queue) issuing `count` pending
     certificates, from the first enqueue until the last is issued (warmed up first).
It prints both rates per round and overall, and the ratio of the platform's
per-certificate cost to the bare one.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

from benchenv import ROOT, bare_render_seconds, fresh_database  # noqa: E402  (bench/benchenv.py)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60, help="certificates per round")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    count, rounds = arguments.count, arguments.rounds

    fresh_database()
    from certificates.models import Certificate
    from certificates.tasks import render_certificate
    from tests.factories import ProviderFactory, UserFactory, complete_activity

    ProviderFactory()
    activity = complete_activity()

    def pending_certificates(n):
        rows = []
        for _ in range(n):
            user = UserFactory()
            rows.append(
                Certificate.objects.create(
                    user=user, activity=activity, kind=Certificate.Kind.AMA_CREDIT,
                    credits_claimed=activity.credits, completed_on=activity.release_date,
                    learner_name=user.certificate_name, learner_degree=user.degree,
                    activity_title=activity.title, activity_release_date=activity.release_date,
                    activity_credits=activity.credits, provider_name="Test Medical School",
                    accreditation_statement="Accredited.", designation_statement=activity.designation_statement(),
                )
            )
        return rows

    warm_up = pending_certificates(3)
    batches = [pending_certificates(count) for _ in range(rounds)]

    def bare_round():
        return bare_render_seconds(batches[0][0], count)

    bare_round()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lms", "worker", "--concurrency=1", "-Q", "celery",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
        cwd=ROOT, env=os.environ.copy(), start_new_session=True,
    )
    try:
        for certificate in warm_up:
            render_certificate.delay(certificate.pk)
        wait_issued([c.pk for c in warm_up], Certificate)
        bare_total = worker_total = 0.0
        for number, batch in enumerate(batches, 1):
            bare = bare_round()
            started = time.perf_counter()
            for certificate in batch:
                render_certificate.delay(certificate.pk)
            wait_issued([c.pk for c in batch], Certificate)
            through_worker = time.perf_counter() - started
            bare_total += bare
            worker_total += through_worker
            print(
                f"round {number}: bare {count / bare:5.2f}/s, worker {count / through_worker:5.2f}/s, "
                f"ratio {through_worker / bare:.3f}"
            )
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)

    total = count * rounds
    print(f"certificates:            {total} ({rounds} rounds of {count})")
    print(f"bare WeasyPrint render:  {total / bare_total:6.2f} certificates/s ({1000 * bare_total / total:.1f} ms each)")
    print(f"through one worker:      {total / worker_total:6.2f} certificates/s ({1000 * worker_total / total:.1f} ms each)")
    print(f"worker cost / bare cost: {worker_total / bare_total:.3f}  (goal: <= 1.25)")
    print(f"worker rate / bare rate: {100 * bare_total / worker_total:.1f}%")


def wait_issued(pks, Certificate, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Certificate.objects.filter(pk__in=pks).exclude(state=Certificate.State.ISSUED).exists():
            return
        time.sleep(0.05)
    raise SystemExit("timed out waiting for the worker")


if __name__ == "__main__":
    main()
