"""Seeded synthetic crowd: items with a known truth, workers with varied confusion matrices, string ids.

Workers come in five kinds (shares of the pool in `KINDS`): reliable experts, ordinary workers, workers who
confuse two neighbouring classes, uniform spammers (answers drawn uniformly, whatever the truth) and
"hammers" (always the same answer). Worker activity is skewed (a few do much of the work) and each item gets
`answers_per_item` distinct workers. Rows are shuffled, so answers arrive interleaved as they would in a
live campaign.

    python bench/synthetic.py OUT_DIR [--items 200000] [--workers 2000] [--answers-per-item 5] [--classes 4]

writes OUT_DIR/answers.csv (`task,worker,label`) and OUT_DIR/truth.csv (`task,label`).
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KINDS = {"expert": 0.15, "ordinary": 0.50, "confuser": 0.15, "spammer": 0.12, "hammer": 0.08}
CLASS_NAMES = ("cat", "dog", "bird", "horse", "fish", "frog", "bee", "owl")


@dataclass(frozen=True)
class Crowd:
    truth: np.ndarray  # (n_items,) true class index
    items: np.ndarray  # (n_answers,) item index of each answer
    workers: np.ndarray  # (n_answers,) worker index
    labels: np.ndarray  # (n_answers,) answered class index
    confusion: np.ndarray  # (n_workers, n_classes, n_classes) [worker, true, answered], rows sum to 1
    prior: np.ndarray  # (n_classes,) class frequencies the truth was drawn from
    kinds: tuple[str, ...]  # (n_workers,) kind of each worker


def confusion_matrices(rng: np.random.Generator, n_workers: int, n_classes: int) -> tuple[np.ndarray, list[str]]:
    kinds = list(rng.choice(list(KINDS), size=n_workers, p=list(KINDS.values())))
    confusion = np.empty((n_workers, n_classes, n_classes))
    eye = np.eye(n_classes)
    for w, kind in enumerate(kinds):  # one loop over workers (2,000), never over answers
        if kind == "spammer":
            confusion[w] = 1.0 / n_classes
            continue
        if kind == "hammer":
            confusion[w] = 0.02 / max(n_classes - 1, 1)
            confusion[w][:, rng.integers(n_classes)] = 0.98 if n_classes > 1 else 1.0
            continue
        accuracy = rng.uniform(0.85, 0.97, n_classes) if kind == "expert" else rng.uniform(0.55, 0.85, n_classes)
        errors = rng.dirichlet(np.full(n_classes, 0.7), size=n_classes) * (1 - eye)
        errors /= np.maximum(errors.sum(axis=1, keepdims=True), 1e-12)
        matrix = accuracy[:, None] * eye + (1 - accuracy)[:, None] * errors
        if kind == "confuser" and n_classes > 1:
            a = rng.integers(n_classes)
            b = (a + 1) % n_classes
            matrix[a] = 0.0
            matrix[a, a], matrix[a, b] = 0.45, 0.55
        confusion[w] = matrix / matrix.sum(axis=1, keepdims=True)
    return confusion, kinds


def distinct_workers(rng: np.random.Generator, n_items: int, k: int, weights: np.ndarray) -> np.ndarray:
    """(n_items, k) worker indices, distinct within each row, drawn by activity weight (resampling clashes)."""
    n_workers = weights.size
    if k > n_workers:
        raise ValueError("answers_per_item cannot exceed the number of workers")
    cumulative = np.cumsum(weights / weights.sum())
    chosen = np.searchsorted(cumulative, rng.random((n_items, k)), side="right").clip(max=n_workers - 1)
    for _ in range(1000):
        chosen.sort(axis=1)
        clash = np.zeros_like(chosen, dtype=bool)
        clash[:, 1:] = chosen[:, 1:] == chosen[:, :-1]
        if not clash.any():
            return chosen
        redraw = rng.random(int(clash.sum()))
        chosen[clash] = np.searchsorted(cumulative, redraw, side="right").clip(max=n_workers - 1)
    raise RuntimeError("could not draw distinct workers")  # pragma: no cover - needs absurd weights


def generate(
    n_items: int = 200_000, n_workers: int = 2_000, answers_per_item: int = 5, n_classes: int = 4, seed: int = 20240
) -> Crowd:
    rng = np.random.default_rng(seed)
    prior = np.linspace(2.0, 1.0, n_classes)
    prior /= prior.sum()
    truth = rng.choice(n_classes, size=n_items, p=prior)
    confusion, kinds = confusion_matrices(rng, n_workers, n_classes)
    activity = rng.pareto(1.5, n_workers) + 0.2
    workers = distinct_workers(rng, n_items, answers_per_item, activity).ravel()
    items = np.repeat(np.arange(n_items), answers_per_item)
    rows = np.cumsum(confusion[workers, truth[items]], axis=1)
    labels = (rng.random(items.size)[:, None] >= rows[:, :-1]).sum(axis=1)
    order = rng.permutation(items.size)
    return Crowd(truth, items[order], workers[order], labels[order], confusion, prior, tuple(kinds))


def task_ids(n: int) -> list[str]:
    return [f"t{i:07d}" for i in range(n)]


def worker_ids(n: int) -> list[str]:
    return [f"w{i:05d}" for i in range(n)]


def class_names(n: int) -> list[str]:
    return list(CLASS_NAMES[:n]) if n <= len(CLASS_NAMES) else [f"class{i}" for i in range(n)]


def write_csv(crowd: Crowd, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = np.array(task_ids(crowd.truth.size))
    names = np.array(class_names(crowd.confusion.shape[1]))
    workers = np.array(worker_ids(crowd.confusion.shape[0]))
    answers_path, truth_path = out_dir / "answers.csv", out_dir / "truth.csv"
    with answers_path.open("w", encoding="utf-8", newline="") as f:
        f.write("task,worker,label\n")
        step = 200_000
        for start in range(0, crowd.items.size, step):
            part = slice(start, start + step)
            rows = zip(tasks[crowd.items[part]], workers[crowd.workers[part]], names[crowd.labels[part]], strict=True)
            f.write("".join(f"{t},{w},{lab}\n" for t, w, lab in rows))
    with truth_path.open("w", encoding="utf-8", newline="") as f:
        f.write("task,label\n")
        f.write("".join(f"{t},{lab}\n" for t, lab in zip(tasks, names[crowd.truth], strict=True)))
    return answers_path, truth_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2_000)
    parser.add_argument("--answers-per-item", type=int, default=5)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20240)
    args = parser.parse_args(argv)
    crowd = generate(args.items, args.workers, args.answers_per_item, args.classes, args.seed)
    answers, truth = write_csv(crowd, args.out_dir)
    print(f"wrote {answers} ({crowd.items.size:,} answers) and {truth}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
