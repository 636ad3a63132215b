"""Certificates per second through one Celery worker, against a bare WeasyPrint render.

Runs outside the test suite, on PostgreSQL and Redis (started by `make test` or already up):

    .venv/bin/python bench/certificates.py [--count 60] [--rounds 3]

It uses its own database (`lms_bench`, created and migrated if missing) and Redis
database 13. In one run, in rounds where both sides take turns in chunks of 20, so they
see the same machine load (the order flips every round, so neither always goes first):
  1. bare: WeasyPrint rendering the same certificate HTML, with the same stylesheet, fonts
     and PDF options (PDF/UA), in a process of its own (benchenv.BareRenderer), `count` times;
  2. worker: one worker process (concurrency 1, consuming the certificate queue; the
     "certificate ready" e-mails wait in their own queue) issuing `count` pending
     certificates, from the first enqueue until the last is issued, as the worker
     records it (warmed up first).
It prints both rates per round and overall, and the ratio of the platform's
per-certificate cost to the bare one, by the clock and by CPU time (the worker's
processes against this one's): on a machine shared with other work the clock ratio
moves with the load, the CPU ratio much less.
"""

import argparse
import time

try:  # imported as bench.certificates (bench/run.py)
    from . import benchenv
except ImportError:  # run as a script
    import benchenv


CHUNK = 20


def measure(*, rounds=3, per_round=60, verbose=False):
    """{"ratios": [worker / bare cost per round, by the clock], "cpu_ratios": [the same by
    CPU time], "bare_per_s", "worker_per_s", "ratio", "cpu_ratio"} over all rounds."""
    benchenv.fresh_database()
    from django.db.models import Max
    from django.utils import timezone

    from certificates.models import Certificate
    from certificates.tasks import render_certificate
    from tests.factories import ProviderFactory, UserFactory, complete_activity, credit_line_for

    ProviderFactory()
    activity = complete_activity()

    def pending_certificates(n):
        users = [UserFactory() for _ in range(n)]
        certificates = Certificate.objects.bulk_create(
            Certificate(
                user=user, activity=activity, kind=Certificate.Kind.AMA_CREDIT,
                credits_claimed=activity.credits, completed_on=activity.release_date,
                learner_name=user.certificate_name, learner_degree=user.degree,
                activity_title=activity.title, activity_release_date=activity.release_date,
                activity_credits=activity.credits, provider_name="Test Medical School",
                accreditation_statement="Accredited.", designation_statement=activity.designation_statement(),
            )
            for user in users
        )
        # The credit line a claim freezes, which the PDF prints.
        for certificate in certificates:
            credit_line_for(certificate)
        return certificates

    warm_up = pending_certificates(5)
    batches = [pending_certificates(per_round) for _ in range(rounds)]

    bare = benchenv.BareRenderer(batches[0][0])

    def bare_chunk(size):
        return bare.seconds(size)

    def worker_chunk(chunk):
        cpu = benchenv.group_cpu_seconds(worker.pid)
        started = timezone.now()
        for certificate in chunk:
            render_certificate.delay(certificate.pk)
        wait_issued([c.pk for c in chunk], Certificate)
        # Until the last one was issued, as the worker recorded it: polling adds nothing.
        finished = Certificate.objects.filter(pk__in=[c.pk for c in chunk]).aggregate(last=Max("issued_at"))["last"]
        return (finished - started).total_seconds(), benchenv.group_cpu_seconds(worker.pid) - cpu

    def alternating_round(batch, bare_first):
        """Both sides in chunks of CHUNK, taking turns, so a load that comes and goes
        during the round falls on both alike."""
        clock = {"bare": 0.0, "worker": 0.0}
        cpu = {"bare": 0.0, "worker": 0.0}
        for start in range(0, len(batch), CHUNK):
            chunk = batch[start : start + CHUNK]
            sides = [("bare", lambda: bare_chunk(len(chunk))), ("worker", lambda: worker_chunk(chunk))]
            for side, run in sides if bare_first else reversed(sides):
                seconds, used = run()
                clock[side] += seconds
                cpu[side] += used
        return clock, cpu

    bare_chunk(CHUNK)
    worker = benchenv.worker_start("--concurrency=1", "-Q", "celery")
    ratios, cpu_ratios = [], []
    bare_total = worker_total = 0.0
    try:
        for certificate in warm_up:
            render_certificate.delay(certificate.pk)
        wait_issued([c.pk for c in warm_up], Certificate)
        for number, batch in enumerate(batches, 1):
            clock, cpu = alternating_round(batch, bare_first=bool(number % 2))
            bare_total += clock["bare"]
            worker_total += clock["worker"]
            ratios.append(clock["worker"] / clock["bare"])
            cpu_ratios.append(cpu["worker"] / cpu["bare"])
            if verbose:
                print(
                    f"round {number}: bare {per_round / clock['bare']:5.2f}/s, worker {per_round / clock['worker']:5.2f}/s, "
                    f"ratio {ratios[-1]:.3f} (CPU {cpu_ratios[-1]:.3f})"
                )
    finally:
        benchenv.workers_stop([worker])
        bare.close()

    total = per_round * rounds
    return {
        "ratios": ratios,
        "cpu_ratios": cpu_ratios,
        "bare_per_s": total / bare_total,
        "worker_per_s": total / worker_total,
        "ratio": worker_total / bare_total,
        "cpu_ratio": sum(cpu_ratios) / len(cpu_ratios),
    }


def wait_issued(pks, Certificate, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Certificate.objects.filter(pk__in=pks).exclude(state=Certificate.State.ISSUED).exists():
            return
        time.sleep(0.02)
    raise SystemExit("timed out waiting for the worker")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60, help="certificates per round")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    result = measure(rounds=arguments.rounds, per_round=arguments.count, verbose=True)
    spread = f"{min(result['ratios']):.3f}–{max(result['ratios']):.3f}"
    print(f"certificates:            {arguments.count * arguments.rounds} ({arguments.rounds} rounds of {arguments.count})")
    print(f"bare WeasyPrint render:  {result['bare_per_s']:6.2f} certificates/s ({1000 / result['bare_per_s']:.1f} ms each)")
    print(f"through one worker:      {result['worker_per_s']:6.2f} certificates/s ({1000 / result['worker_per_s']:.1f} ms each)")
    print(f"worker cost / bare cost: {result['ratio']:.3f} (rounds {spread}; goal <= 1.25, stretch <= 1.10)")
    print(f"by CPU time:             {result['cpu_ratio']:.3f} (rounds {', '.join(f'{r:.3f}' for r in result['cpu_ratios'])})")


if __name__ == "__main__":
    main()
