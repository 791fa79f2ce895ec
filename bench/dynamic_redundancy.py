"""Dynamic redundancy against fixed redundancy, replayed on crowdsourcing datasets with gold ($CROWDLOOP_DATASETS).

Each item's published answers are shuffled (seeded) into the order they "arrive". Fixed redundancy R uses
the first R answers of every item. Dynamic redundancy starts every item at `--start` answers, runs
Dawid-Skene (warm-started, as the service does), and asks one more answer only for items whose posterior
is below `--target`, up to `--max` (or the item's pool), with the service's own decision rule
(crowd/aggregation/redundancy.py). Printed per dataset: answers used and accuracy on the gold items, and
the share of answers dynamic redundancy saves against fixed redundancy at `--max`.

    .venv/bin/python bench/dynamic_redundancy.py [--start 2] [--max 5] [--target 0.95] [--seed 7]
"""

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crowd.aggregation.dawid_skene import dawid_skene
from crowd.aggregation.encoding import read_csv_columns
from crowd.aggregation.redundancy import redundancy_decisions

# The crowdsourcing datasets with gold labels (one folder per dataset: answers.csv, gold.csv), as bench/aggregation.py.
DATASETS = Path(os.environ.get("CROWDLOOP_DATASETS", Path(__file__).resolve().parent.parent / "datasets"))


def dataset_folders() -> list[Path]:
    """The dataset folders, or a clear exit when $CROWDLOOP_DATASETS does not point at them."""
    if not DATASETS.is_dir():
        sys.exit(f"no datasets at {DATASETS}: set CROWDLOOP_DATASETS to the folder of dataset folders")
    return sorted(p for p in DATASETS.iterdir() if (p / "answers.csv").exists())


def load(folder: Path):
    table = read_csv_columns(folder / "answers.csv", ["task", "worker", "label"])
    tasks, workers, labels = (table.columns[name] for name in ("task", "worker", "label"))
    classes = sorted(labels.values)
    class_of = {value: k for k, value in enumerate(classes)}
    label_codes = np.array([class_of[labels.values[c]] for c in labels.codes])
    task_of = {value: i for i, value in enumerate(tasks.values)}
    gold = np.full(len(tasks.values), -1)
    with open(folder / "gold.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["task"] in task_of and row["label"] in class_of:
                gold[task_of[row["task"]]] = class_of[row["label"]]
    n_items, n_workers = len(tasks.values), len(workers.values)
    return np.asarray(tasks.codes), np.asarray(workers.codes), label_codes, n_items, n_workers, len(classes), gold


def pools(items: np.ndarray, workers: np.ndarray, n_items: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Per item, the indices of its answers in a random arrival order (one answer per worker)."""
    order = rng.permutation(items.size)
    _, first = np.unique(np.stack([items[order], workers[order]]), axis=1, return_index=True)
    kept = order[np.sort(first)]
    by_item = [[] for _ in range(n_items)]
    for index in kept:
        by_item[items[index]].append(index)
    return [np.array(p, dtype=np.int64) for p in by_item]


def aggregate(selected, items, workers, labels, n_items, n_workers, n_classes, warm=None):
    return dawid_skene(
        items[selected], workers[selected], labels[selected], n_items, n_workers, n_classes,
        max_iter=100, tol=1e-6, **(warm or {}),
    )  # fmt: skip


def accuracy(result, gold) -> float:
    has = gold >= 0
    return float((result.label[has] == gold[has]).mean())


def fixed(data, pool, redundancy: int):
    items, workers, labels, n_items, n_workers, n_classes, gold = data
    selected = np.concatenate([p[:redundancy] for p in pool])
    return selected.size, accuracy(aggregate(selected, items, workers, labels, n_items, n_workers, n_classes), gold)


def dynamic(data, pool, start: int, maximum: int, target: float):
    items, workers, labels, n_items, n_workers, n_classes, gold = data
    size = np.array([p.size for p in pool])
    redundancy = np.minimum(start, size)
    warm, rounds = None, 0
    while True:
        rounds += 1
        selected = np.concatenate([p[:r] for p, r in zip(pool, redundancy, strict=True)])
        result = aggregate(selected, items, workers, labels, n_items, n_workers, n_classes, warm)
        warm = {"init_confusion": result.confusion, "init_prior": result.prior}
        answered = np.flatnonzero(redundancy > 0)
        decision = redundancy_decisions(
            answers={int(i): int(redundancy[i]) for i in answered},
            redundancy={int(i): int(redundancy[i]) for i in answered},
            confidence={int(i): float(result.confidence[i]) for i in answered},
            target=target,
            maximum=maximum,
        )
        more = [i for i in decision.raise_redundancy if redundancy[i] < size[i]]  # an exhausted pool stops
        if not more:
            return selected.size, accuracy(result, gold), rounds
        redundancy[more] += 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", type=int, default=2)
    parser.add_argument("--max", type=int, default=5)
    parser.add_argument("--target", default="0.95,0.99", help="one or more target confidences, comma-separated")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    targets = [float(t) for t in args.target.split(",")]
    print(f"dynamic: start {args.start} answers, up to {args.max}; seed {args.seed}")
    header = f"{'dataset':<14}{'fixed 3':>18}{f'fixed {args.max}':>18}" + "".join(
        f"{f'dynamic @{t}':>18}{'saved':>8}" for t in targets
    )
    print(header)
    print("-" * len(header))
    for folder in dataset_folders():
        data = load(folder)
        pool = pools(data[0], data[1], data[3], np.random.default_rng(args.seed))
        n3, a3 = fixed(data, pool, 3)
        nmax, amax = fixed(data, pool, args.max)
        row = f"{folder.name:<14}{n3:>9} {a3:>7.3f} {nmax:>9} {amax:>7.3f}"
        for target in targets:
            nd, ad, _ = dynamic(data, pool, args.start, args.max, target)
            row += f" {nd:>9} {ad:>7.3f}{1 - nd / nmax:>8.1%}"
        print(row)
    print(f"columns: answers used, accuracy on gold items; saved = answers saved against fixed {args.max}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
