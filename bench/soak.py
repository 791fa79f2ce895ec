"""Soak: simulated workers through HTTP against the whole stack while Redis restarts and a Celery worker dies.

Budget (DESIGN.md): 200 workers through HTTP for 5 minutes with Redis restarted and a Celery worker killed:
0 answers lost, 0 over-assignment, ledger = approved work x reward + top-ups. Also checked: every campaign's
aggregation is up to date once the stack has settled (its last finished run read every answer, none running).

The stack, all on 127.0.0.1 and all of this script's own: a PostgreSQL database (dropped and created: never
point --database-url at a database you care about), a redis-server on a free port (no persistence, so its
restart loses whatever was queued, as a crash would), gunicorn, one Celery worker (prefork) and Celery beat.
Timeline: load for --seconds; at 35% of it Redis is stopped for --redis-down seconds and started again; at 65%
the Celery worker is killed with SIGKILL (inside an aggregation run when one is running within 20 s) and a new
one started. Then the load stops, and the script waits (at most --settle seconds) for the beat safety net and
the redelivered messages to bring aggregation up to date, checks everything in SQL and prints PASS/FAIL.

    .venv/bin/python bench/soak.py                          # the budget run: 200 workers, 300 s (~9 min in all)
    .venv/bin/python bench/soak.py --workers 20 --seconds 40 --settle 120   # a quick try (~3 min)

Exit status 0 when every check passes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import (  # noqa: E402
    Client,
    Gunicorn,
    JsonHttp,
    Lease,
    ServerConfig,
    database_drop,
    database_recreate,
    dsn_for,
    fmt_ms,
    free_port,
    percentile,
    run_closed_loop,
)
from routing import _django_setup, verify  # noqa: E402

CAMPAIGNS = 3
LABELS = ["urgent", "routine", "not_health"]
REWARD = "0.05"
LEASE_SECONDS = 120
# The soak's jobs take seconds, so "a few times the longest job" is a minute (production: 300 s).
VISIBILITY_TIMEOUT = 60
STALE_SECONDS = 60


@dataclass(frozen=True)
class SimWorker:
    id: int
    token: str
    accuracy: float  # how often this worker picks the item's true label


class SoakClient(Client):
    def __init__(self, port: int):
        self.http = JsonHttp("127.0.0.1", port, timeout=30)

    def next(self, worker: SimWorker) -> tuple[int, Lease | None]:
        status, body = self.http.post("/api/v1/assignments/next/", {}, worker.token)
        if status in (200, 201) and body:
            return status, (body["id"], tuple(item["id"] for item in body["items"]))
        return status, None

    def submit(self, worker: SimWorker, lease: Lease) -> int:
        answers = [{"item": item, "label": _label(worker, item)} for item in lease[1]]
        status, _ = self.http.post(f"/api/v1/assignments/{lease[0]}/submit/", {"answers": answers}, worker.token)
        return status

    def close(self) -> None:
        self.http.close()


def _label(worker: SimWorker, item: int) -> str:
    truth = LABELS[item % len(LABELS)]
    # Deterministic per (worker, item): a retried submit sends the same body, as a real client would.
    if (item * 7919 + worker.id * 104729) % 1000 < worker.accuracy * 1000:
        return truth
    return LABELS[(item + 1) % len(LABELS)]


class Stack:
    """redis-server, Celery worker and beat of this run (gunicorn is the harness's), each stoppable."""

    def __init__(self, *, env: dict[str, str], logs: Path, redis_port: int):
        self.env, self.logs, self.redis_port = env, logs, redis_port
        self.redis: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.beat: subprocess.Popen | None = None
        self.workers_started = 0

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=(self.logs / log).open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a signal reaches the master and its children
        )

    def start_redis(self) -> None:
        self.redis = self._spawn(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "", "--appendonly", "no"],
            "redis.log",
        )
        _wait_port(self.redis_port)

    def start_worker(self) -> None:
        self.workers_started += 1
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        self.worker = self._spawn(
            [*celery, "worker", "-l", "info", "-c", "2", "-n", f"soak{self.workers_started}@%h"], "worker.log"
        )

    def start_beat(self, schedule: Path) -> None:
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        self.beat = self._spawn([*celery, "beat", "-l", "info", "--schedule", str(schedule)], "beat.log")

    @staticmethod
    def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in (self.beat, self.worker, self.redis):
            self.stop(process)


def _wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout:.0f} s")


def _seed(workers: int, items_per_campaign: int) -> list[SimWorker]:
    """Organization, funds, campaigns with items (launched), and enrolled workers, through the services."""
    from crowd.services.campaigns import campaign_create, campaign_launch
    from crowd.services.imports import items_import
    from crowd.services.organizations import organization_ensure
    from payments.services import funds_deposit
    from workers.services import LanguageLevel, SkillLevel, worker_enroll
    from workers.terms import terms_accept

    organization, owner = organization_ensure(name="Soak NGO", owner_email="owner@soak.example")
    funds_deposit(
        organization_id=organization.id, amount="1000000", currency="USD", reference="soak", created_by_id=owner.id
    )
    for index in range(CAMPAIGNS):
        campaign = campaign_create(
            organization_id=organization.id,
            created_by_id=owner.id,
            fields={
                "name": f"Soak {index}",
                "instructions": "Is this message about a health emergency?",
                "task_type": "single_choice",
                "labels": LABELS,
                "redundancy": 2,
                "max_redundancy": 4,
                "target_confidence": 0.9,
                "items_per_task": 2,
                "reward": REWARD,
                "currency": "USD",
                "estimated_seconds": 10,
                "languages": ["en"],
                "lease_seconds": LEASE_SECONDS,
                "visibility": "public",
            },
        )
        items_import(
            campaign_id=campaign.id,
            rows=[
                {"external_id": f"c{index}-{n}", "data": {"text": f"message {n}"}, "language": "en"}
                for n in range(items_per_campaign)
            ],
        )
        campaign_launch(campaign_id=campaign.id)
    simulated = []
    for index in range(workers):
        profile, token = worker_enroll(
            organization_id=organization.id,
            username=f"soak-worker-{index}",
            country="KE",
            languages=[LanguageLevel("en", 5)],
            skills=[SkillLevel("triage", 3)],
        )
        terms_accept(user=profile.user)  # consent is an act: a worker who has not accepted gets no work
        simulated.append(SimWorker(profile.user_id, token, accuracy=0.6 + 0.35 * (index % 7) / 6))
    return simulated


def _scalar(dsn: str, sql: str) -> Any:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql).fetchone()[0]


AGGREGATION_BEHIND = """
    SELECT count(*) FROM crowd_campaign c
    WHERE EXISTS (SELECT 1 FROM crowd_answer a WHERE a.campaign_id = c.id) AND (
        EXISTS (SELECT 1 FROM crowd_aggregationrun r WHERE r.campaign_id = c.id AND r.status = 'running')
        OR coalesce((SELECT r.answer_rows FROM crowd_aggregationrun r WHERE r.campaign_id = c.id
                     AND r.status = 'finished' ORDER BY r.started_at DESC LIMIT 1), -1)
           <> (SELECT count(*) FROM crowd_answer a WHERE a.campaign_id = c.id))"""

# Money: every submitted or approved lease carries exactly its reward (pending or available: the pairs that
# move it between statuses sum to zero), nothing else earns a reward, and the workers' ledger is those rewards
# plus the fair-pay top-ups.
LEDGER_CHECKS = {
    "lease whose net reward differs from its price": """
        SELECT count(*) FROM crowd_assignment a
        LEFT JOIN (SELECT assignment_id, sum(amount_minor) AS net FROM payments_ledgerentry
                   WHERE kind = 'reward' AND worker_id IS NOT NULL GROUP BY assignment_id) l
          ON l.assignment_id = a.id
        WHERE coalesce(l.net, 0) <> CASE WHEN a.status IN ('submitted', 'approved') THEN a.reward_minor ELSE 0 END""",
    "workers' ledger minus (submitted and approved work x reward + top-ups), minor units": """
        SELECT (SELECT coalesce(sum(amount_minor), 0) FROM payments_ledgerentry
                WHERE worker_id IS NOT NULL AND kind <> 'payout')
             - (SELECT coalesce(sum(reward_minor), 0) FROM crowd_assignment WHERE status IN ('submitted', 'approved'))
             - (SELECT coalesce(sum(amount_minor), 0) FROM payments_ledgerentry
                WHERE worker_id IS NOT NULL AND kind = 'fair_pay_topup')""",
}


def _kill_worker_mid_run(stack: Stack, dsn: str, events: list[str], started: float) -> None:
    """SIGKILL the Celery worker, inside an aggregation run if one starts within 20 s."""
    deadline = time.monotonic() + 20
    running = 0
    while time.monotonic() < deadline:
        running = _scalar(dsn, "SELECT count(*) FROM crowd_aggregationrun WHERE status = 'running'")
        if running:
            break
        time.sleep(0.05)
    stack.stop(stack.worker, signal.SIGKILL)
    events.append(f"{time.monotonic() - started:6.1f} s  Celery worker SIGKILLed ({running} run(s) in flight)")
    stack.start_worker()
    events.append(f"{time.monotonic() - started:6.1f} s  a new Celery worker started")


def _chaos(stack: Stack, dsn: str, *, seconds: float, redis_down: float, events: list[str]) -> None:
    started = time.monotonic()
    time.sleep(seconds * 0.35)
    stack.stop(stack.redis)
    events.append(f"{time.monotonic() - started:6.1f} s  Redis stopped")
    time.sleep(redis_down)
    stack.start_redis()
    events.append(f"{time.monotonic() - started:6.1f} s  Redis started again (empty)")
    time.sleep(max(0.0, started + seconds * 0.65 - time.monotonic()))
    _kill_worker_mid_run(stack, dsn, events, started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=200, help="simulated workers (default 200)")
    parser.add_argument("--seconds", type=float, default=300, help="load duration (default 300)")
    parser.add_argument("--think", type=float, default=0.5, help="pause after each submit, seconds (default 0.5)")
    parser.add_argument("--items", type=int, default=6000, help="items per campaign (3 campaigns; default 6000)")
    parser.add_argument("--processes", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--server", default="gthread:2x4", help="gunicorn setup (default gthread:2x4)")
    parser.add_argument("--redis-down", type=float, default=5, help="seconds Redis stays down (default 5)")
    parser.add_argument("--settle", type=float, default=300, help="max seconds to wait for aggregation after load")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/crowdloop_soak")
    parser.add_argument("--keep-db", action="store_true", help="keep the soak database afterwards")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        print("redis-server is not installed", file=sys.stderr)
        return 2

    db_name = args.database_url.rsplit("/", 1)[1]
    dsn = dsn_for(args.database_url, db_name)
    redis_port = free_port()
    runtime = Path(tempfile.mkdtemp(prefix="crowdloop-soak-"))
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": dsn,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "AGGREGATION_STALE_SECONDS": str(STALE_SECONDS),
        "CROWDLOOP_RUNTIME_DIR": str(runtime),
        "LOG_LEVEL": "WARNING",
        # Simulated workers ask far faster than people do: the budgets stay counted (their cost is measured) but
        # high enough never to refuse a request (config/throttling.py).
        "API_RATE_WORKER": "10000000/min",
        "API_RATE_KEY": "10000000/min",
        "API_RATE_USER": "10000000/min",
    }
    print(f"logs and runtime state: {runtime}")
    database_recreate(args.database_url, db_name)
    stack = Stack(env=env, logs=runtime, redis_port=redis_port)
    web = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
        )
        _django_setup(env)
        t0 = time.perf_counter()
        workers = _seed(args.workers, args.items)
        from django.db import connections

        connections.close_all()  # before the client processes fork
        print(
            f"seeded {CAMPAIGNS} campaigns x {args.items:,} items and {len(workers)} workers"
            f" in {time.perf_counter() - t0:.1f} s"
        )
        stack.start_redis()
        stack.start_worker()
        stack.start_beat(runtime / "celerybeat-schedule")
        web = Gunicorn(
            app_dir=str(ROOT),
            python_bin=sys.executable,
            config=ServerConfig.parse(args.server),
            env=env,
            log_path=str(runtime / "gunicorn.log"),
        )
        web.wait_healthy(host_header="127.0.0.1")

        events: list[str] = []
        chaos = threading.Thread(
            target=_chaos,
            args=(stack, dsn),
            kwargs={"seconds": args.seconds, "redis_down": args.redis_down, "events": events},
            daemon=True,
        )
        port = web.port
        chaos.start()
        outcome = run_closed_loop(
            make_client=lambda: SoakClient(port),
            thread_workers=[workers[i :: args.workers] for i in range(args.workers)],
            processes=args.processes,
            warmup=0.0,
            seconds=args.seconds,
            think=args.think,
        )
        chaos.join(timeout=60)
        for event in events:
            print(event)

        # Settle: the beat safety net (every minute) and redelivered messages bring aggregation up to date.
        t0 = time.monotonic()
        behind = _scalar(dsn, AGGREGATION_BEHIND)
        while behind and time.monotonic() - t0 < args.settle:
            time.sleep(5)
            behind = _scalar(dsn, AGGREGATION_BEHIND)
        print(f"aggregation settled in {time.monotonic() - t0:.0f} s after the load" if not behind else "")

        codes = sorted(outcome.codes.items())
        print(f"\n{args.workers} workers, {args.seconds:.0f} s, think {args.think} s, server {args.server}")
        print("responses:", ", ".join(f"{kind} {code}: {count:,}" for (kind, code), count in codes))
        print(
            f"next p50/p99 {fmt_ms(percentile(outcome.next_ms, 50))}/{fmt_ms(percentile(outcome.next_ms, 99))} ms,"
            f" submit p50/p99 {fmt_ms(percentile(outcome.submit_ms, 50))}/{fmt_ms(percentile(outcome.submit_ms, 99))}"
            f" ms; 200 submits: {len(outcome.submitted):,}"
        )
        for error in outcome.errors[:5]:
            print("client error:", error.strip().splitlines()[-1])
        runs = _scalar(dsn, "SELECT count(*) FROM crowd_aggregationrun WHERE status = 'finished'")
        failed = _scalar(dsn, "SELECT count(*) FROM crowd_aggregationrun WHERE status = 'failed'")
        print(f"aggregation runs: {runs} finished, {failed} failed (retried)")

        results = verify(dsn, outcome.submitted)
        results += [(name, _scalar(dsn, sql)) for name, sql in LEDGER_CHECKS.items()]
        results.append(("campaigns whose aggregation is not up to date", behind))
        results.append(("5xx answers", sum(n for (_, code), n in outcome.codes.items() if code >= 500)))
        print()
        for name, violations in results:
            print(f"{'PASS' if violations == 0 else 'FAIL'}  {name}: {violations}")
        return 0 if all(violations == 0 for _, violations in results) else 1
    finally:
        if web is not None:
            web.stop()
        stack.stop_all()
        if not args.keep_db:
            database_drop(args.database_url, db_name)


if __name__ == "__main__":
    sys.exit(main())
