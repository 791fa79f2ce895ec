"""Shared pieces of the bench scripts: a closed-loop load generator, a keep-alive JSON client, a gunicorn
runner and a few statistics and database helpers. Standard library plus psycopg 3; no Django imports.

The load generator forks `processes` client processes with `threads` threads each; every thread is one
simulated worker in a closed loop (no think time), so throughput and latency are those of a saturated
server. Clocks: `time.monotonic()` schedules (system-wide on Linux, so comparable across processes),
`time.perf_counter()` times each call.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

# ---------------------------------------------------------------------------------------------------
# statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of `values` (0 < q <= 100); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def fmt_ms(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"  # NaN != NaN


# ---------------------------------------------------------------------------------------------------
# databases


def dsn_for(database_url: str, name: str) -> str:
    """The same server and credentials as `database_url`, another database."""
    parts = urlsplit(database_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def database_recreate(server_url: str, name: str) -> None:
    """Drop (terminating its sessions) and create database `name` on the server of `server_url`."""
    with psycopg.connect(dsn_for(server_url, "postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(server_url: str, name: str) -> None:
    with psycopg.connect(dsn_for(server_url, "postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


# ---------------------------------------------------------------------------------------------------
# HTTP


class JsonHttp:
    """One keep-alive HTTP/1.1 connection (reopened when the server closes it) posting JSON."""

    def __init__(self, host: str, port: int, *, host_header: str | None = None, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.host_header = host_header or host
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def post(self, path: str, body: Any, token: str) -> tuple[int, Any]:
        payload = json.dumps(body, separators=(",", ":")).encode()
        headers = {
            "Host": self.host_header,
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        for attempt in (1, 2):
            try:
                self.conn.request("POST", path, body=payload, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A server that closed an idle keep-alive connection: retry once on a fresh one. (A request
                # the server had already processed would be repeated; the bench checks for duplicates.)
                self.conn.close()
                if attempt == 2:
                    raise
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        data = json.loads(raw) if raw and is_json else None
        return response.status, data

    def close(self) -> None:
        self.conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerConfig:
    """A gunicorn worker setup, written `sync:4` (4 sync workers) or `gthread:3x4` (3 workers x 4 threads)."""

    worker_class: str
    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, text: str) -> ServerConfig:
        kind, _, shape = text.partition(":")
        if kind == "sync":
            return cls("sync", int(shape))
        if kind == "gthread":
            workers, _, threads = shape.partition("x")
            return cls("gthread", int(workers), int(threads))
        raise ValueError(f"Unknown server config {text!r}; use sync:N or gthread:NxT")

    def __str__(self) -> str:
        return f"{self.worker_class}:{self.workers}" + (f"x{self.threads}" if self.worker_class == "gthread" else "")

    @property
    def db_connections(self) -> int:
        return self.workers * self.threads


class Gunicorn:
    """`gunicorn config.wsgi:application` from the project's venv on a free local port, up until stop()."""

    def __init__(self, *, app_dir: str, python_bin: str, config: ServerConfig, env: dict[str, str], log_path: str):
        self.port = free_port()
        self.config = config
        gunicorn = os.path.join(os.path.dirname(python_bin), "gunicorn")
        args = [
            gunicorn,
            "config.wsgi:application",
            "--chdir",
            app_dir,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(config.workers),
            "--worker-class",
            config.worker_class,
            "--backlog",
            "2048",
            "--keep-alive",
            "30",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ]
        if config.worker_class == "gthread":
            args += ["--threads", str(config.threads)]
        self.log = open(log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            args, cwd=app_dir, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_healthy(self, *, host_header: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz/", headers={"Host": host_header})
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz/ within {timeout:.0f}s; see {self.log.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the arbiter stops its own workers
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------------
# CPU accounting from /proc (Linux): who used the cores during a measured window


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ProcSample:
    pid: int
    ppid: int
    cmdline: str
    cpu_seconds: float  # user + system


def processes_snapshot() -> dict[int, ProcSample]:
    """Every visible process with its cumulative CPU time."""
    result: dict[int, ProcSample] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) "
        ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
        result[int(name)] = ProcSample(int(name), ppid, cmdline, (utime + stime) / CLOCK_TICKS)
    return result


def machine_busy_seconds() -> float:
    """CPU seconds spent busy by the whole machine (all cores) since boot."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


@dataclass
class CpuWindow:
    """CPU seconds used during a window, by group (see `cpu_by_group`), and by the whole machine."""

    groups: dict[str, float]
    machine: float
    wall: float


def cpu_by_group(
    before: tuple[float, float, dict[int, ProcSample]],
    after: tuple[float, float, dict[int, ProcSample]],
    classify: Callable[[ProcSample], str | None],
) -> CpuWindow:
    groups: Counter = Counter()
    for pid, sample in after[2].items():
        group = classify(sample)
        if group is None:
            continue
        start = before[2].get(pid)
        groups[group] += sample.cpu_seconds - (start.cpu_seconds if start else 0.0)
    return CpuWindow(dict(groups), after[1] - before[1], after[0] - before[0])


def cpu_sample() -> tuple[float, float, dict[int, ProcSample]]:
    return time.monotonic(), machine_busy_seconds(), processes_snapshot()


# ---------------------------------------------------------------------------------------------------
# closed-loop load


@dataclass
class Outcome:
    """What the simulated workers of one load level did inside the measured window."""

    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    codes: Counter = field(default_factory=Counter)  # ("next", 201) -> count
    submitted: list[tuple[int, int, tuple[int, ...]]] = field(default_factory=list)  # (worker, assignment, items)
    leases: int = 0  # every lease taken, in or out of the window (for verification)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_samples: list[Any] = field(default_factory=list)  # cpu_sample() at the window's start and end

    def merge(self, other: Outcome) -> None:
        self.next_ms += other.next_ms
        self.submit_ms += other.submit_ms
        self.codes.update(other.codes)
        self.submitted += other.submitted
        self.leases += other.leases
        self.errors += other.errors[: max(0, 20 - len(self.errors))]


# One step of a simulated worker: next (returns status and a lease or None), then submit (returns status).
Lease = tuple[int, tuple[int, ...]]  # assignment id, item ids


class Client:
    def next(self, worker: Any) -> tuple[int, Lease | None]:
        raise NotImplementedError

    def submit(self, worker: Any, lease: Lease) -> int:
        raise NotImplementedError

    def holds_next(self, worker: Any) -> bool:
        """True when the client already holds this worker's next lease (a submit-and-next client): the worker then
        goes on with it, as a person working through a campaign would, instead of yielding to the next worker."""
        return False

    def close(self) -> None:
        pass


def _worker_thread(
    make_client: Callable[[], Client],
    workers: Sequence[Any],
    schedule: dict[str, float],
    go: threading.Event,
    ready: threading.Barrier,
    out: Outcome,
    sampled: Any,
    think: float,
) -> None:
    try:
        client = make_client()
    except Exception:
        out.errors.append(traceback.format_exc(limit=3))
        ready.wait()
        return
    ready.wait()
    go.wait()
    start, end = schedule["measure_from"], schedule["end"]
    index = 0
    try:
        while True:
            now = time.monotonic()
            if now >= end:
                break
            counted = now >= start
            worker = workers[index % len(workers)]
            t0 = time.perf_counter()
            try:
                status, lease = client.next(worker)
            except Exception as exc:
                status, lease = 599, None
                out.errors.append(f"next: {exc!r}")
            elapsed = (time.perf_counter() - t0) * 1000
            if counted:
                out.next_ms.append(elapsed)
                out.codes["next", status] += 1
            if lease is None:
                index += 1
                continue
            out.leases += 1
            t0 = time.perf_counter()
            try:
                status = client.submit(worker, lease)
            except Exception as exc:
                status = 599
                out.errors.append(f"submit: {exc!r}")
            elapsed = (time.perf_counter() - t0) * 1000
            if status == 200:
                out.submitted.append((worker.id, lease[0], lease[1]))
            if counted:
                out.submit_ms.append(elapsed)
                out.codes["submit", status] += 1
            if not client.holds_next(worker):
                index += 1
            if think:
                time.sleep(think)
    finally:
        # Connections stay open until the parent has read the CPU counters (a closed backend takes its
        # CPU time with it).
        sampled.wait(timeout=60)
        client.close()


def _client_process(
    make_client: Callable[[], Client],
    thread_workers: list[Sequence[Any]],
    ready_q: mp.Queue,
    go: mp.Event,
    schedule_value: Any,
    result_q: mp.Queue,
    sampled: Any,
    think: float,
) -> None:
    outs = [Outcome() for _ in thread_workers]
    ready = threading.Barrier(len(thread_workers) + 1)
    started = threading.Event()
    schedule: dict[str, float] = {}
    threads = [
        threading.Thread(
            target=_worker_thread,
            args=(make_client, workers, schedule, started, ready, out, sampled, think),
            daemon=True,
        )
        for workers, out in zip(thread_workers, outs, strict=True)
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    ready_q.put(os.getpid())
    go.wait()
    schedule["measure_from"], schedule["end"] = schedule_value[0], schedule_value[1]
    started.set()
    for thread in threads:
        thread.join()
    merged = Outcome()
    for out in outs:
        merged.merge(out)
    result_q.put(merged)


def run_closed_loop(
    *,
    make_client: Callable[[], Client],
    thread_workers: list[Sequence[Any]],
    processes: int,
    warmup: float,
    seconds: float,
    think: float = 0.0,
) -> Outcome:
    """Run len(thread_workers) simulated workers spread over `processes` forked processes.

    Every thread connects first; then all start together, run `warmup` seconds unmeasured and `seconds`
    measured; `think` seconds of pause after each submit (0: a saturating closed loop). Returns the merged
    outcome (calls that started inside the measured window).
    """
    ctx = mp.get_context("fork")
    processes = max(1, min(processes, len(thread_workers)))
    groups = [thread_workers[i::processes] for i in range(processes)]
    ready_q, result_q = ctx.Queue(), ctx.Queue()
    go, sampled = ctx.Event(), ctx.Event()
    schedule_value = ctx.Array("d", 2)
    procs = [
        ctx.Process(
            target=_client_process, args=(make_client, group, ready_q, go, schedule_value, result_q, sampled, think)
        )
        for group in groups
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready_q.get(timeout=120)
    begin = time.monotonic() + 0.05
    schedule_value[0], schedule_value[1] = begin + warmup, begin + warmup + seconds
    go.set()
    merged = Outcome(seconds=seconds)
    for moment in (schedule_value[0], schedule_value[1]):
        time.sleep(max(0.0, moment - time.monotonic()))
        merged.cpu_samples.append(cpu_sample())
    sampled.set()
    for _ in procs:
        merged.merge(result_q.get(timeout=warmup + seconds + 300))
    for proc in procs:
        proc.join(timeout=30)
    return merged
