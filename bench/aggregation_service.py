"""The aggregation service on a 1,000,000-answer campaign in PostgreSQL: load, Dawid-Skene, write back.

Loads the seeded synthetic crowd of bench/synthetic.py (200,000 items, 2,000 workers, 5 answers each, 4
classes) into a throwaway database with COPY (users, items, microtasks, assignments, answers), then times
`crowd.services.aggregation.campaign_aggregate` cold and again warm (a run after 1% more answers), and, as
the baseline in the same process, the pure engine alone on the same arrays. Prints seconds, the service's
overhead ratio over the engine, and accuracy against the generator's truth.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crowdloop_aggbench .venv/bin/python bench/aggregation_service.py
        [--items 200000] [--keep-db]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/crowdloop_aggbench"


def prepare_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(crowd, classes: list[str]) -> tuple[int, np.ndarray, np.ndarray]:
    """Bulk-load the crowd as a launched campaign; returns (campaign id, item ids, worker ids)."""
    from django.db import connection
    from django.utils import timezone

    from crowd.models import Campaign, Organization

    now = timezone.now()
    organization = Organization.objects.create(name="Aggregation bench")
    campaign = Campaign.objects.create(
        organization=organization,
        name="1M answers",
        labels=[{"value": c, "text": c} for c in classes],
        redundancy=5,
        max_redundancy=5,
        reward_minor=10,
        status=Campaign.Status.ACTIVE,
    )
    n_items, n_workers = crowd.truth.size, crowd.confusion.shape[0]
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        copy_rows(
            cursor,
            "workers_user",
            ["password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active",
             "date_joined", "preferred_language"],
            (("!", False, f"w{w:05d}", "", "", "", False, True, now, "") for w in range(n_workers)),
        )  # fmt: skip
        cursor.execute("SELECT id FROM workers_user WHERE username LIKE 'w%%' ORDER BY username")
        worker_ids = np.array([row[0] for row in cursor.fetchall()])
        copy_rows(
            cursor,
            "crowd_item",
            ["campaign_id", "external_id", "data", "language", "prelabel_model", "redundancy", "answer_count",
             "votes", "status", "created_at"],
            ((campaign.id, f"t{i:07d}", '{"text": "x"}', "", "", 5, 5, "{}", "open", now) for i in range(n_items)),
        )  # fmt: skip
        cursor.execute("SELECT id FROM crowd_item WHERE campaign_id = %s ORDER BY id", [campaign.id])
        item_ids = np.array([row[0] for row in cursor.fetchall()])
        copy_rows(
            cursor,
            "crowd_microtask",
            [
                "campaign_id",
                "language",
                "target",
                "active_count",
                "done_count",
                "is_open",
                "breadth_first",
                "created_at",
            ],
            ((campaign.id, "", 5, 0, 5, False, False, now) for _ in range(n_items)),
        )
        cursor.execute("SELECT id FROM crowd_microtask WHERE campaign_id = %s ORDER BY id", [campaign.id])
        microtask_ids = np.array([row[0] for row in cursor.fetchall()])
        copy_rows(
            cursor,
            "crowd_assignment",
            ["campaign_id", "microtask_id", "worker_id", "status", "leased_at", "expires_at", "submitted_at",
             "release_reason", "reward_minor", "currency", "active_seconds", "submission_digest"],
            ((campaign.id, int(microtask_ids[i]), int(worker_ids[w]), "submitted", now, now, now, "", 10, "USD", 0, "")
             for i, w in zip(crowd.items.tolist(), crowd.workers.tolist(), strict=True)),
        )  # fmt: skip
        cursor.execute("SELECT id FROM crowd_assignment WHERE campaign_id = %s ORDER BY id", [campaign.id])
        assignment_ids = [row[0] for row in cursor.fetchall()]
        labels_json = [f'"{c}"' for c in classes]
        copy_rows(
            cursor,
            "crowd_answer",
            ["assignment_id", "item_id", "worker_id", "campaign_id", "label", "is_gold", "seconds_on_task",
             "created_at"],
            ((a, int(item_ids[i]), int(worker_ids[w]), campaign.id, labels_json[k], False, 10.0, now)
             for a, i, w, k in zip(assignment_ids, crowd.items.tolist(), crowd.workers.tolist(),
                                   crowd.labels.tolist(), strict=True)),
        )  # fmt: skip
        cursor.execute("ANALYZE")
    return campaign.id, item_ids, worker_ids


def accuracy(campaign_id: int, item_ids: np.ndarray, truth: np.ndarray, classes: list[str]) -> float:
    from crowd.models import Item

    position = {item_id: i for i, item_id in enumerate(item_ids.tolist())}
    labels = Item.objects.filter(campaign_id=campaign_id).values_list("id", "result_label")
    right = sum(1 for item_id, label in labels if label == classes[truth[position[item_id]]])
    return right / truth.size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    prepare_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from synthetic import class_names, generate

    from crowd.aggregation.dawid_skene import dawid_skene
    from crowd.services.aggregation import DS_OPTIONS, campaign_aggregate

    call_command("migrate", verbosity=0)
    crowd = generate(n_items=args.items)
    classes = class_names(crowd.confusion.shape[1])
    started = time.perf_counter()
    campaign_id, item_ids, _ = load(crowd, classes)
    print(f"loaded {crowd.items.size:,} answers on {args.items:,} items in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    engine = dawid_skene(
        crowd.items, crowd.workers, crowd.labels, args.items, crowd.confusion.shape[0], len(classes), **DS_OPTIONS
    )
    engine_seconds = time.perf_counter() - started

    started = time.perf_counter()
    summary = campaign_aggregate(campaign_id=campaign_id)
    cold = time.perf_counter() - started
    cold_accuracy = accuracy(campaign_id, item_ids, crowd.truth, classes)
    started = time.perf_counter()
    campaign_aggregate(campaign_id=campaign_id)
    warm = time.perf_counter() - started

    engine_accuracy = float((engine.label == crowd.truth).mean())
    print(f"engine alone (baseline, in memory): {engine_seconds:6.2f} s, {engine.iterations} iterations")
    print(f"service, cold (load, EM, write {summary['items']:,} items): {cold:6.2f} s")
    print(f"service, warm start, same answers:            {warm:6.2f} s")
    print(f"ratio service/engine (cold): {cold / engine_seconds:.2f}x")
    print(f"accuracy vs truth: service {cold_accuracy:.4f}, engine {engine_accuracy:.4f}")
    verdict = "PASS" if cold < 60 and abs(cold_accuracy - engine_accuracy) < 0.005 else "FAIL"
    print(f"budget: 1M answers aggregate in seconds (< 60 s) at the engine's accuracy: {verdict}")
    if not args.keep_db:
        from django.db import connections

        connections.close_all()
        base, name = url.rsplit("/", 1)
        import psycopg

        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
