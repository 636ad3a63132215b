"""A burst of claims through the single-machine worker: from the first claim to the last
certificate issued (and mailed), against the ideal of the bare render rate times the
number of worker processes.

Runs outside the test suite, on PostgreSQL and Redis (started by `make test` or already up):

    .venv/bin/python bench/burst.py [--claims 1000] [--workers 2] [--rounds 3]

It uses its own database (`lms_bench`) and Redis database 13, like bench/certificates.py.
  1. for each of `rounds` rounds, `claims` learners who have watched, evaluated and
     passed an activity of the round's own;
  2. the worker as the README starts it on one machine (`celery -A lms worker -B`, with
     `--concurrency=workers` pool processes: beat inside, both queues), warmed up;
  3. a bare WeasyPrint render of the same certificate, 60 times, in a process of its own
     (benchenv.BareRenderer), the worker idle, before the first round and after each: the
     machine's own rate; and as many bare renders side by side as the worker has pool
     processes, which run a little slower each than one alone (reported, not the ideal);
  4. in each round, every learner claims, from 4 threads, through the same service the
     claim page calls;
  5. it reports, for the median round by ratio, when the last claim was saved, the last
     certificate issued and the last e-mail recorded, the ratio to claims / (bare rate ×
     workers) with the bare rate measured before and after that round, how many
     certificates the sweep queued twice, where the machine's CPU went (claims, worker,
     PostgreSQL, Redis, anything else, idle); every round's ratio; and the worker's peak
     memory.
The ideal counts rendering only: the claims (about 3 ms of CPU each, and the database's
share) and the e-mail tasks run on the same cores, so they are part of what the ratio
measures.
"""

import argparse
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor

try:  # imported as bench.burst (bench/run.py)
    from . import benchenv
except ImportError:  # run as a script
    import benchenv

BARE_RENDERS = 60


def machine_cpu_seconds():
    """(busy, idle): CPU time of the whole machine since boot, in use by any process and
    idle (waiting for I/O included), from /proc/stat."""
    fields = [int(field) for field in open("/proc/stat").readline().split()[1:9]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / benchenv.CLOCK_TICKS, idle / benchenv.CLOCK_TICKS


def cpu_of_services(before, after):
    """CPU seconds PostgreSQL's and Redis's processes used between two readings of
    benchenv.cpu_seconds_by_command()."""
    used = {"postgres": 0.0, "redis-server": 0.0}
    for (name, pid), seconds in after.items():
        service = "postgres" if name.startswith("postgres") else name
        if service in used:
            used[service] += seconds - before.get((name, pid), 0.0)
    return used["postgres"], used["redis-server"]


def side_by_side(renderers, count):
    """Certificates per second of `renderers` rendering `count` each at the same time."""
    for renderer in renderers:
        renderer.begin(count)
    return sum(count / renderer.end()[0] for renderer in renderers)


def measure(*, claims=1000, workers=2, rounds=3, verbose=False):
    """`rounds` bursts of `claims` claims, one after the other on the same worker, each
    between two measurements of the bare render (before it and after it, the worker idle).
    The figures of the median round by ratio: {"seconds": first claim to last issued,
    "ideal_seconds", "ratio", "ratios": every round's, "duplicates": certificates the sweep
    queued again, "celery_peak_rss_mb" after every round, "claims_seconds",
    "mailed_seconds", "bare_per_s", "claims_cpu_ms": CPU per claim in this process,
    "worker_cpu_ms": worker CPU per certificate, "bare_cpu_ms", "cpu_ratio", "other_load":
    CPU the rest of the machine used during the burst, in cores, and of it
    "postgres_cpu_ms", "redis_cpu_ms" and "rest_cpu_ms" per certificate, "idle_share" of
    the machine, "parallel_per_s": bare renders side by side, "parallel_ratio"}."""
    say = print if verbose else (lambda *args: None)
    benchenv.fresh_database()
    from django.db import close_old_connections, connection
    from django.db.models import Max
    from django.utils import timezone

    from certificates.models import Certificate
    from certificates.services import certificate_claim
    from courses.models import provider_in_use
    from tests.factories import ProviderFactory, complete_activity, learner_ready_to_claim

    ProviderFactory()
    # An activity for the warm-up and one for each round: a round's certificates are then
    # those of its activity, found by an indexed column, not by a list of a thousand users.
    warm_up = complete_activity()
    warm_up_learners = [learner_ready_to_claim(activity=warm_up) for _ in range(workers * 2)]
    started = time.perf_counter()
    bursts = []
    for _ in range(rounds):
        activity = complete_activity()
        bursts.append((activity, [learner_ready_to_claim(activity=activity) for _ in range(claims)]))
    say(f"{rounds} x {claims} learners ready to claim in {time.perf_counter() - started:.1f} s")
    # Statistics of the tables as they now are, as autovacuum keeps them on a real site
    # (it is off on this machine kind): the plans of the claims' and the worker's
    # statements are then made for thousands of learners, not for the emptied database.
    # The checkpoint writes out what making them dirtied, which PostgreSQL would otherwise
    # write while the bare render is measured.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("CHECKPOINT")

    def claim(user, activity):
        try:
            with provider_in_use():
                return certificate_claim(user=user, activity=activity, credits="1", attested=True).pk
        finally:
            close_old_connections()

    def wait_until(condition, timeout=900):
        # Four times a second, without reading /proc: a poll costs CPU and a query on the
        # machine being measured (ten a second with the memory read cost about 1% of the
        # burst), and the times reported are the ones the worker recorded, not when a
        # poll saw them.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.25)
        raise SystemExit("timed out waiting for the worker")

    def ceiling(renderers):
        """(seconds and CPU seconds of BARE_RENDERS bare renders, the rate of as many
        side by side as the worker has pool processes), the worker idle."""
        seconds, cpu = renderers[0].seconds(BARE_RENDERS)
        return seconds, cpu, side_by_side(renderers, BARE_RENDERS)

    def burst(activity, learners, before, measure_after):
        """One round: every learner claims, from 4 threads, through the same service the
        claim page calls. Returns the ceiling measure_after() measured once every
        certificate is issued and mailed, and the round's figures."""
        certificates = Certificate.objects.filter(activity=activity)
        services = benchenv.cpu_seconds_by_command()
        (machine_cpu, machine_idle), worker_cpu = machine_cpu_seconds(), benchenv.group_cpu_seconds(worker.pid)
        claims_cpu = time.process_time()
        started = timezone.now()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda user: claim(user, activity), learners))
        claimed = (timezone.now() - started).total_seconds()
        claims_cpu = time.process_time() - claims_cpu
        wait_until(lambda: certificates.filter(state=Certificate.State.ISSUED).count() == claims)
        # The CPU figures run to when the poll saw the last issue, a fraction of a second
        # after it.
        issued = (certificates.aggregate(last=Max("issued_at"))["last"] - started).total_seconds()
        waited = (timezone.now() - started).total_seconds()
        worker_cpu = benchenv.group_cpu_seconds(worker.pid) - worker_cpu
        busy, idle = machine_cpu_seconds()
        machine_cpu, machine_idle = busy - machine_cpu, idle - machine_idle
        postgres_cpu, redis_cpu = cpu_of_services(services, benchenv.cpu_seconds_by_command())
        wait_until(lambda: certificates.filter(emailed_at__isnull=False).count() == claims)
        mailed = (certificates.aggregate(last=Max("emailed_at"))["last"] - started).total_seconds()
        # The ceiling before and after the burst, averaged, as each page is set against
        # the bare view before and after it: the render rate of this machine moved by a
        # tenth within minutes.
        after = measure_after()
        bare_rate = 2 * BARE_RENDERS / (before[0] + after[0])
        # As many bare renders side by side as the worker has pool processes: what this
        # machine's cores give together, short of `workers` times the bare rate by what
        # they share (caches, memory bandwidth). Reported beside the ideal, not instead.
        parallel_rate = (before[2] + after[2]) / 2
        bare_cpu = (before[1] + after[1]) / (2 * BARE_RENDERS)
        ideal = claims / (bare_rate * workers)
        return after, {
            "seconds": issued,
            "ideal_seconds": ideal,
            "ratio": issued / ideal,
            "duplicates": certificates.filter(events__action="requeued").distinct().count(),
            "claims_seconds": claimed,
            "mailed_seconds": mailed,
            "bare_per_s": bare_rate,
            "bare_before_per_s": BARE_RENDERS / before[0],
            "bare_after_per_s": BARE_RENDERS / after[0],
            "bare_cpu_ms": 1000 * bare_cpu,
            "claims_cpu_ms": 1000 * claims_cpu / claims,
            "worker_cpu_ms": 1000 * worker_cpu / claims,
            # What the platform spent per certificate (claim and worker, not the database)
            # against the bare render, in CPU time: the ratio a machine of its own would
            # approach, whatever else shares this one.
            "cpu_ratio": (claims_cpu + worker_cpu) / claims / bare_cpu,
            # Cores busy with anything but the claims and the worker until the last issue
            # (PostgreSQL and Redis included, and whatever else shares the machine).
            "other_load": (machine_cpu - claims_cpu - worker_cpu) / waited,
            # Where the rest went, per certificate, and the share of the machine left idle:
            # with the claims and the worker, the profile that explains the ratio.
            "postgres_cpu_ms": 1000 * postgres_cpu / claims,
            "redis_cpu_ms": 1000 * redis_cpu / claims,
            "rest_cpu_ms": 1000 * (machine_cpu - claims_cpu - worker_cpu - postgres_cpu - redis_cpu) / claims,
            "idle_share": machine_idle / (machine_cpu + machine_idle),
            "parallel_per_s": parallel_rate,
            "parallel_ratio": issued / (claims / parallel_rate),
        }

    worker = benchenv.worker_start(f"--concurrency={workers}", "-B")
    try:
        for user in warm_up_learners:
            claim(user, warm_up)
        warmed = Certificate.objects.filter(activity=warm_up, emailed_at__isnull=False)
        wait_until(lambda: warmed.count() == len(warm_up_learners))
        sample = warmed.first()
        results = []
        with contextlib.ExitStack() as stack:
            renderers = [stack.enter_context(benchenv.BareRenderer(sample)) for _ in range(workers)]
            # Bare, burst, bare, burst, …, bare: each burst against the ceiling measured
            # just before and just after it.
            measured = ceiling(renderers)
            for number, (activity, learners) in enumerate(bursts, 1):
                measured, figures = burst(activity, learners, measured, lambda: ceiling(renderers))
                say(f"round {number}: {figures['seconds']:.1f} s against an ideal of {figures['ideal_seconds']:.1f} s: {figures['ratio']:.2f}")
                results.append(figures)
        # VmHWM is each process's own high-water mark: read once, before the worker stops.
        peak_rss = benchenv.group_peak_rss_mb(worker.pid)
    finally:
        benchenv.workers_stop([worker])

    median = sorted(results, key=lambda figures: figures["ratio"])[len(results) // 2]
    return {**median, "ratios": [figures["ratio"] for figures in results], "celery_peak_rss_mb": peak_rss}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    claims, workers = arguments.claims, arguments.workers
    result = measure(claims=claims, workers=workers, rounds=arguments.rounds, verbose=True)
    print(f"the median of {arguments.rounds} rounds (issued / ideal: {' / '.join(f'{ratio:.2f}' for ratio in result['ratios'])}):")
    print(f"bare render:             {result['bare_per_s']:.1f} certificates/s, {result['bare_before_per_s']:.1f} before the burst and {result['bare_after_per_s']:.1f} after ({result['bare_cpu_ms']:.1f} ms of CPU each)")
    print(f"all {claims} claims saved:   {result['claims_seconds']:.1f} s ({result['claims_cpu_ms']:.1f} ms of CPU each in this process)")
    print(f"last certificate issued: {result['seconds']:.1f} s  (ideal {result['ideal_seconds']:.1f} s = {claims} / ({result['bare_per_s']:.1f}/s x {workers}))")
    print(f"last e-mail recorded:    {result['mailed_seconds']:.1f} s")
    print(f"issued / ideal:          {result['ratio']:.2f}  (goal <= 1.2)")
    print(f"worker CPU:              {result['worker_cpu_ms']:.1f} ms per certificate (render, e-mail, beat and sweep)")
    print(f"claim + worker CPU / bare render CPU: {result['cpu_ratio']:.2f}")
    print(f"rest of the machine:     {result['other_load']:.2f} cores busy (database, Redis, anything else running)")
    print(f"per certificate:         PostgreSQL {result['postgres_cpu_ms']:.1f} ms, Redis {result['redis_cpu_ms']:.1f} ms, "
          f"anything else {result['rest_cpu_ms']:.1f} ms of CPU; the machine {100 * result['idle_share']:.1f}% idle")
    print(f"{workers} bare renders side by side: {result['parallel_per_s']:.1f} certificates/s together "
          f"({result['parallel_per_s'] / (workers * result['bare_per_s']):.2f} of {workers} x the bare rate); "
          f"issued / the time they would take: {result['parallel_ratio']:.2f}")
    print(f"queued again by the sweep: {result['duplicates']}")
    print(f"worker peak RSS:         {result['celery_peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
