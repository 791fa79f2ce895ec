"""Organization archive: 1,000,000 answers archived in <= 60 s, memory flat.

What one run does:

1. Drops and creates its own database (`--database-url`; never point it at one you care about) and migrates it
   (settings `config.settings.test` unless DJANGO_SETTINGS_MODULE says otherwise).
2. Seeds two organizations, each with one campaign of `answers / 5` items (5% gold, a third pre-labelled) answered
   5 times each by 2,000 workers: `--answers` (1,000,000) and a tenth of it. A template row of each table is made
   with the ORM; the bulk is one `INSERT ... SELECT ... FROM generate_series` per table, so seeding takes seconds.
3. Baseline, in this process: a plain `COPY crowd_answer TO STDOUT (FORMAT csv)` of the large organization's
   answers into a file: what reading these rows out of PostgreSQL costs on this machine at the least.
4. Builds each organization's archive with `crowd.services.archives.archive_job_run` in a child process (this
   script with `--child`), so its memory is its own: the child times the call alone and reports its peak resident
   set (VmHWM). The seconds cover every file of the archive: campaigns, items, answers, results, annotators,
   ledger, payouts, fairness reports, the Label Studio export and config, and the README, into one deflated zip.
5. Checks the zip: answers.csv holds every answer, items.csv every item.

Memory is flat when the peak at the large size is about the peak at the small size.

    .venv/bin/python bench/archive.py            # the budget run (~1-2 min)
    .venv/bin/python bench/archive.py --answers 100000

Exit status 0 when every check and budget passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _harness  # noqa: E402 (needs the bench folder on the path)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/crowdloop_archivebench"
BUDGET_ANSWERS = 1_000_000
BUDGET_SECONDS = 60.0
WORKERS = 2000
PER_ITEM = 5


def _status_kb(name: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id' "
        "ORDER BY ordinal_position",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def _clone(cursor, table: str, template_id: int, count: int, replaced: dict[str, str]) -> None:
    """Insert `count` copies of one row, with the columns in `replaced` computed from `n` (1..count)."""
    columns = _columns(cursor, table)
    select = ", ".join(replaced.get(column, f"t.{column}").replace("%", "%%") for column in columns)
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM {table} t, generate_series(1, %s) n "
        "WHERE t.id = %s",
        [count, template_id],
    )


def seed(answers: int, name: str, workers: list[int]) -> int:
    """An organization with one campaign of answers / PER_ITEM items, each answered PER_ITEM times; its id."""
    from django.db import connection, transaction
    from django.utils import timezone

    from crowd.models import Answer, Assignment, Item, MicroTask
    from crowd.services.campaigns import campaign_create
    from crowd.services.organizations import organization_ensure

    items = answers // PER_ITEM
    organization, _ = organization_ensure(name=name, owner_email=f"owner@{name.lower()}.example")
    campaign = campaign_create(
        organization_id=organization.id,
        created_by_id=None,
        fields={"name": f"{name} campaign", "labels": ["pos", "neg", "neutral", "other"], "reward": "0.10"},
    )
    now = timezone.now()
    with transaction.atomic():
        template = Item.objects.create(campaign=campaign, external_id="seed", data={"text": "seed"}, status="open")
        microtask = MicroTask.objects.create(campaign=campaign, target=PER_ITEM)
        leases = Assignment.objects.bulk_create(
            Assignment(
                campaign=campaign,
                microtask=microtask,
                worker_id=worker,
                status="approved",
                leased_at=now,
                expires_at=now,
                submitted_at=now,
                reward_minor=10,
                currency="USD",
                seconds_on_task=30,
            )
            for worker in workers
        )
        first = Answer.objects.create(
            assignment=leases[0], item=template, worker_id=workers[0], campaign=campaign, label="pos", seconds_on_task=1
        )
        with connection.cursor() as cursor:
            _clone(
                cursor,
                "crowd_item",
                template.id,
                items,
                {
                    "external_id": "'ext-' || n",
                    "data": "jsonb_build_object('text', 'Huduma ilikuwa nzuri sana number ' || n, 'source', 'sms')",
                    "gold": "CASE WHEN n % 20 = 0 THEN '\"pos\"'::jsonb END",
                    "prelabel": "CASE WHEN n % 3 = 0 THEN '\"neg\"'::jsonb END",
                    "prelabel_model": "CASE WHEN n % 3 = 0 THEN 'triage-v2' ELSE '' END",
                    "prelabel_score": "CASE WHEN n % 3 = 0 THEN 0.7 END",
                    "result_label": "'\"pos\"'::jsonb",
                    "confidence": "0.5 + (n % 50) / 100.0",
                    "answer_count": str(PER_ITEM),
                    "status": "'complete'",
                },
            )
            cursor.execute("DELETE FROM crowd_answer WHERE id = %s", [first.id])
            cursor.execute(
                "SELECT min(id) FROM crowd_item WHERE campaign_id = %s AND id <> %s", [campaign.id, template.id]
            )
            base_item = cursor.fetchone()[0]
            cursor.execute("SELECT id, worker_id FROM crowd_assignment WHERE campaign_id = %s", [campaign.id])
            lease_of = dict((worker, lease) for lease, worker in cursor.fetchall())
            cursor.execute("CREATE TEMP TABLE bench_lease (k int PRIMARY KEY, worker int, lease bigint)")
            cursor.executemany(
                "INSERT INTO bench_lease VALUES (%s, %s, %s)",
                [(k, worker, lease_of[worker]) for k, worker in enumerate(workers)],
            )
            # Answer n: item n / PER_ITEM, worker (n / PER_ITEM * PER_ITEM + n % PER_ITEM) % WORKERS: five distinct
            # workers per item.
            columns = _columns(cursor, "crowd_answer")
            values = {
                "assignment_id": "l.lease",
                "item_id": f"{base_item} + n / {PER_ITEM}",
                "worker_id": "l.worker",
                "campaign_id": str(campaign.id),
                "label": "CASE WHEN n % 4 = 0 THEN '\"neg\"'::jsonb ELSE '\"pos\"'::jsonb END",
                "is_gold": f"(n / {PER_ITEM} + 1) % 20 = 0",
                "seconds_on_task": "5 + n % 40",
                "created_at": "now() - (n || ' seconds')::interval",
            }
            select = ", ".join(values[c] for c in columns)
            join = f"(n / {PER_ITEM} * {PER_ITEM} + n % {PER_ITEM}) % {len(workers)}"
            cursor.execute(
                f"INSERT INTO crowd_answer ({', '.join(columns)}) SELECT {select} "
                f"FROM generate_series(0, {int(answers)} - 1) n JOIN bench_lease l ON l.k = {join}"
            )
            cursor.execute("DROP TABLE bench_lease")
            cursor.execute("DELETE FROM crowd_item WHERE id = %s", [template.id])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crowd_answer")
        cursor.execute("ANALYZE crowd_item")
    return organization.id


def copy_baseline(database_url: str, organization_id: int, target: Path) -> float:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(database_url) as conn, target.open("wb") as out:
        sql = (
            "COPY (SELECT a.* FROM crowd_answer a JOIN crowd_campaign c ON c.id = a.campaign_id "
            f"WHERE c.organization_id = {int(organization_id)}) TO STDOUT (FORMAT csv, HEADER true)"
        )
        with conn.cursor().copy(sql) as copy:
            for chunk in copy:
                out.write(chunk)
    return time.perf_counter() - started


def child_main(job_id: int) -> int:
    import django

    django.setup()
    from crowd.services.archives import archive_job_run

    rss_before = _status_kb("VmRSS")
    started = time.perf_counter()
    if os.environ.get("ARCHIVE_BENCH_PROFILE"):
        import cProfile

        cProfile.runctx("archive_job_run(job_id=job_id)", globals(), locals(), os.environ["ARCHIVE_BENCH_PROFILE"])
    status = archive_job_run(job_id=job_id)
    seconds = time.perf_counter() - started
    print(
        json.dumps({"status": status, "seconds": seconds, "peak_kb": _status_kb("VmHWM"), "rss_before_kb": rss_before})
    )
    return 0


def measure(organization_id: int, answers: int) -> dict:
    from crowd.models import ArchiveJob
    from crowd.services.archives import archive_path

    job = ArchiveJob.objects.create(organization_id=organization_id)
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(job.id)],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    job.refresh_from_db()
    with zipfile.ZipFile(archive_path(job)) as archive:
        with archive.open("answers.csv") as handle:
            rows = sum(1 for _ in csv.reader(io.TextIOWrapper(handle, encoding="utf-8", newline=""))) - 1
        with archive.open("items.csv") as handle:
            items = sum(1 for _ in io.TextIOWrapper(handle, encoding="utf-8")) - 1
    result.update(answers=answers, rows=rows, items=items, size=job.size, status=job.status)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--answers", type=int, default=BUDGET_ANSWERS)
    parser.add_argument("--child", type=int)
    parser.add_argument("--keep", action="store_true", help="keep the database and the archives afterwards")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    if args.child:
        return child_main(args.child)
    database = urlsplit(args.database_url).path.lstrip("/")
    os.environ["DATABASE_URL"] = args.database_url
    workdir = Path(tempfile.mkdtemp(prefix="archive-bench-"))
    os.environ["ARCHIVE_ROOT"] = str(workdir / "archives")
    print(f"database {database}; archives under {workdir}")
    _harness.database_recreate(args.database_url, database)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=os.environ.copy(), check=True
    )
    import django

    django.setup()
    from workers.models import User

    users = User.objects.bulk_create(User(username=f"bench-worker-{n}", password="!") for n in range(WORKERS))
    workers = [u.id for u in users]
    sizes = [max(args.answers // 10, PER_ITEM), args.answers]
    started = time.perf_counter()
    organizations = [seed(size, f"Bench{index}", workers) for index, size in enumerate(sizes)]
    print(f"seeded {sum(sizes):,} answers in {time.perf_counter() - started:.1f} s")
    baseline = copy_baseline(args.database_url, organizations[-1], workdir / "answers-copy.csv")
    print(f"baseline: COPY of {sizes[-1]:,} answers to CSV in {baseline:.2f} s")
    results = [measure(org, size) for org, size in zip(organizations, sizes, strict=True)]
    print("\n| answers | archive s | answers/s | peak RSS MB | RSS after setup MB | zip MB | archive / COPY |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        ratio = f"{r['seconds'] / baseline:.1f}x" if r is results[-1] else "-"
        rate = r["answers"] / r["seconds"]
        print(
            f"| {r['answers']:,} | {r['seconds']:.2f} | {rate:,.0f} | {r['peak_kb'] / 1024:.1f} | "
            f"{r['rss_before_kb'] / 1024:.1f} | {r['size'] / 2**20:.1f} | {ratio} |"
        )
    small, large = results
    checks = [
        ("every answer in answers.csv", all(r["rows"] == r["answers"] for r in results)),
        ("every item in items.csv", all(r["items"] == r["answers"] // PER_ITEM for r in results)),
        (f"{large['answers']:,} answers in <= {BUDGET_SECONDS:.0f} s", large["seconds"] <= BUDGET_SECONDS),
        (
            "memory flat: peak at 10x the answers within 25% of the small run's",
            large["peak_kb"] <= small["peak_kb"] * 1.25,
        ),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
    if not args.keep:
        _harness.database_drop(args.database_url, database)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
