"""The load side of bench/run.py: the processes it starts (gunicorn, wrk, helper scripts),
wrk measurements with exact figures from a Lua `done` hook, and the alternating rounds
that set each page against the bare view measured next to it.

Every process is started in a session of its own and registered here; `processes_stop`
(called from run.py's finally, atexit and its SIGINT/SIGTERM handlers) ends each group,
so a run leaves nothing behind, even when interrupted."""

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRK_THREADS, WRK_CONNECTIONS = 1, 8
_started = []  # every Popen this run started, for processes_stop
started_pids = []  # their pids and their children's, for the report and the leak test

DONE_HOOK = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

POOL_HOOK = r"""
local n = 0
local headers = nil
request = function()
  if headers == nil then
    headers = {}
    for k, v in pairs(wrk.headers) do headers[k] = v end
  end
  n = n % #entries + 1
  local entry = entries[n]
  headers["Cookie"] = entry[1]
  return wrk.format("POST", entry[2], headers, entry[3])
end
"""


def popen(command, **kwargs):
    """Start `command` in a session of its own, registered for processes_stop."""
    process = subprocess.Popen(command, start_new_session=True, **kwargs)
    _started.append(process)
    started_pids.append(process.pid)
    return process


def processes_stop():
    """End every process this run started, with its whole process group: SIGINT first
    (Python scripts run their own clean-up, e.g. stopping their Celery workers), then
    SIGTERM, then SIGKILL for what still runs."""
    running = [p for p in _started if p.poll() is None]
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        for process in running:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        running = [p for p in running if p.poll() is None]
        if not running:
            break
    _started.clear()


def process_stop(process):
    """End one process started by popen, with its process group: SIGTERM, then SIGKILL
    after 30 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid):
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces and parentheses: fields follow the last ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def memory_mb(pid, key):
    """VmRSS (now) or VmHWM (peak since start or the last reset) of `pid`, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """The processor time `pid` has used, user and system, in seconds (bench/benchenv.py
    sums a process group's; importing it would repoint this process's database)."""
    try:
        # The fields after the command name, which may hold spaces, in parentheses.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_reset(pid):
    """Start VmHWM over from the current RSS (Linux clear_refs, value 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class RssSampler:
    """The highest VmRSS of `pids` while the block runs, sampled every 10 ms: a check on
    VmHWM where resetting it is not allowed."""

    def __init__(self, pids):
        self.pids, self.peak, self._stop = pids, {pid: 0.0 for pid in pids}, threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], memory_mb(pid, "VmRSS") or 0)
            time.sleep(0.01)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@dataclass
class Server:
    """gunicorn serving lms.wsgi with the production settings in `env`."""

    env: dict
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen = None
    log: Path = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, bare_path):
        self.log = Path(tempfile.mkstemp(prefix="lms-bench-gunicorn-", suffix=".log")[1])
        self.process = popen(
            [sys.executable, "-m", "gunicorn", "lms.wsgi", "--workers", str(self.workers),
             "--bind", f"127.0.0.1:{self.port}", "--error-logfile", str(self.log),
             # Its default path is one per user: two benches at once would share it.
             "--no-control-socket"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited at start:\n{self.log.read_text()[-3000:]}")
            try:
                # Production redirects plain http to https: this is the proxy's word for it.
                request = urllib.request.Request(self.base + bare_path, headers={"X-Forwarded-Proto": "https"})
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        started_pids.extend(self.worker_pids())
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within 60 s:\n{self.log.read_text()[-3000:]}")

    def worker_pids(self):
        return children_of(self.process.pid)

    def stop(self):
        if self.process:
            process_stop(self.process)
        if self.log:
            self.log.unlink(missing_ok=True)


@dataclass
class Target:
    """One thing to measure: a GET of `path` (with `cookie`), or POSTs drawn in turn from
    `pool`, a list of (cookie, path, form body)."""

    name: str
    path: str = ""
    cookie: str = ""
    pool: list = None
    target: float = None  # the share of the bare view's rate the issue asks for
    # Called after each measurement of a pool target (puts the pool back for the next round).
    after: object = None


@dataclass
class Measure:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _lua_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_script(target, directory, number):
    path = Path(directory) / f"target-{number}.lua"
    parts = [DONE_HOOK]
    if target.pool:
        rows = ",\n".join(
            "{" + ", ".join(_lua_string(value) for value in entry) + "}" for entry in target.pool
        )
        parts.insert(0, f"entries = {{\n{rows}\n}}\n" + POOL_HOOK)
    path.write_text("\n".join(parts))
    return path


def wrk_run(server, target, *, seconds, headers, script):
    """Run wrk against `target` for `seconds`; its figures, from the Lua done hook."""
    command = ["wrk", "-t", str(WRK_THREADS), "-c", str(WRK_CONNECTIONS), "-d", f"{seconds}s",
               "--latency", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if target.cookie:
        command += ["-H", f"Cookie: {target.cookie}"]
    if target.pool:
        command += ["-H", "Content-Type: application/x-www-form-urlencoded"]
    url = server.base + (target.pool[0][1] if target.pool else target.path)
    process = popen(command + [url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=seconds + 60)
    line = next((line for line in out.splitlines() if line.startswith("WRK-JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no figures for {target.name}:\n{out}\n{err}")
    figures = json.loads(line.removeprefix("WRK-JSON "))
    errors = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Measure(
        requests_per_s=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        requests=figures["requests"],
        errors=errors,
    )


@dataclass
class PageResult:
    target: Target
    rounds: list = field(default_factory=list)  # (Measure, bare req/s next to it)
    notes: list = field(default_factory=list)

    @property
    def ratios(self):
        return [m.requests_per_s / bare for m, bare in self.rounds]

    def median(self, attribute):
        return statistics.median(getattr(m, attribute) for m, _ in self.rounds)

    @property
    def bare(self):
        return statistics.median(bare for _, bare in self.rounds)


def rounds_run(server, targets, *, rounds, seconds, headers, bare_path, log=print):
    """Alternate bare and page measurements: bare, page 1, bare, page 2, … bare, in
    `rounds` rounds; each page's rate is set against the mean of the two bare
    measurements beside it. Returns (page results, every bare rate)."""
    results = [PageResult(target) for target in targets]
    bare_target = Target("bare view", path=bare_path)
    bare_rates = []
    with tempfile.TemporaryDirectory(prefix="lms-bench-wrk-") as directory:
        scripts = {t.name: wrk_script(t, directory, n) for n, t in enumerate([bare_target, *targets])}

        def bare():
            measure = wrk_run(server, bare_target, seconds=seconds, headers=headers, script=scripts[bare_target.name])
            if measure.errors:
                raise SystemExit(f"The bare view answered {measure.errors} errors: the harness is broken.")
            bare_rates.append(measure.requests_per_s)
            return measure.requests_per_s

        for number in range(1, rounds + 1):
            before = bare()
            for result in results:
                target = result.target
                measure = wrk_run(server, target, seconds=seconds, headers=headers, script=scripts[target.name])
                if target.after:
                    note = target.after(measure)
                    if note and note not in result.notes:
                        result.notes.append(note)
                if measure.errors:
                    result.notes.append(f"round {number}: {measure.errors} error responses or socket errors")
                after = bare()
                result.rounds.append((measure, (before + after) / 2))
                log(f"  round {number}  {target.name:<34} {measure.requests_per_s:8.1f} req/s  "
                    f"p50 {measure.p50_ms:7.1f} ms  p99 {measure.p99_ms:7.1f} ms  "
                    f"{100 * measure.requests_per_s / ((before + after) / 2):5.1f}% of bare ({after:.0f} req/s)")
                before = after
    return results, bare_rates
