"""Seeded synthetic crowd: items with a known truth, workers with varied confusion matrices, string ids.

Workers come in five kinds (shares of the pool in `KINDS`): reliable experts, ordinary workers, workers who
confuse two neighbouring classes, uniform spammers (answers drawn uniformly, whatever the truth) and
"hammers" (always the same answer). Worker activity is skewed (a few do much of the work) and each item gets
`answers_per_item` distinct workers. Rows are shuffled, so answers arrive interleaved as they would in a
live campaign.

    python bench/synthetic.py OUT_DIR [--items 200000] [--workers 2000] [--answers-per-item 5] [--classes 4]

writes OUT_DIR/answers.csv (`task,worker,label`) and OUT_DIR/truth.csv (`task,label`).

`SCENARIOS` are smaller crowds built to differ from the shared real datasets, for judging aggregation defaults
on data nothing was tuned on: many one-answer workers, adversarial workers (who answer a fixed wrong class),
heavy class imbalance, five to eight classes, ordinal classes (errors go to neighbouring classes), and mixes.
`scenario_crowd(scenario, seed)` draws one; every seed gives a different crowd of the same kind.

    python bench/synthetic.py OUT_DIR --scenario NAME [--seed N]
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KINDS = {"expert": 0.15, "ordinary": 0.50, "confuser": 0.15, "spammer": 0.12, "hammer": 0.08}
# Kinds only the scenarios use: "adversarial" answers a fixed other class (a derangement of the classes) most of
# the time; "ordinal" is right with probability 0.45-0.85 and otherwise picks a neighbouring class (classes are
# ordered, as relevance grades are), rarely one two steps away.
EXTRA_KINDS = ("adversarial", "ordinal")
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


def confusion_matrices(
    rng: np.random.Generator, n_workers: int, n_classes: int, shares: dict[str, float] = KINDS
) -> tuple[np.ndarray, list[str]]:
    """(n_workers, K, K) matrices and each worker's kind, drawn by `shares` (kind -> share of the pool)."""
    kinds = list(rng.choice(list(shares), size=n_workers, p=np.array(list(shares.values())) / sum(shares.values())))
    confusion = np.empty((n_workers, n_classes, n_classes))
    eye = np.eye(n_classes)
    for w, kind in enumerate(kinds):  # one loop over workers (2,000), never over answers
        if kind in EXTRA_KINDS:
            confusion[w] = extra_kind_matrix(rng, kind, n_classes)
            continue
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


def extra_kind_matrix(rng: np.random.Generator, kind: str, n_classes: int) -> np.ndarray:
    if n_classes == 1:
        return np.ones((1, 1))
    if kind == "adversarial":
        wrong = (np.arange(n_classes) + rng.integers(1, n_classes)) % n_classes  # never the true class
        strength = rng.uniform(0.6, 0.9)
        matrix = np.full((n_classes, n_classes), (1 - strength) / (n_classes - 1))
        matrix[np.arange(n_classes), wrong] = strength
        return matrix
    accuracy = rng.uniform(0.45, 0.85)
    distance = np.abs(np.subtract.outer(np.arange(n_classes), np.arange(n_classes)))
    weight = np.where(distance == 0, 0.0, 0.15 ** (distance - 1.0))  # neighbours first, far classes rarely
    return accuracy * np.eye(n_classes) + (1 - accuracy) * weight / weight.sum(axis=1, keepdims=True)


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


@dataclass(frozen=True)
class Scenario:
    """A kind of crowd. Items get `answers_per_item` answers on average (1 + Poisson, so counts vary), from
    workers whose activity is Pareto(`skew`) distributed (smaller: a few workers do most of the work); a share
    `singletons` of the answers comes from workers who give exactly one answer each."""

    name: str
    n_items: int
    n_workers: int
    answers_per_item: float
    n_classes: int
    kinds: dict[str, float]
    prior: tuple[float, ...] | None = None  # class frequencies; None: falling linearly from 2 to 1
    skew: float = 1.5
    singletons: float = 0.0


# Shares of worker kinds used by the scenarios.
_MIXED = {"expert": 0.15, "ordinary": 0.45, "confuser": 0.15, "spammer": 0.15, "hammer": 0.10}
_ORDINAL = {"expert": 0.10, "ordinal": 0.55, "spammer": 0.20, "hammer": 0.10, "adversarial": 0.05}
_HOSTILE = {"expert": 0.15, "ordinary": 0.40, "spammer": 0.10, "adversarial": 0.35}
_PLAIN = {"ordinary": 0.85, "expert": 0.15}

SCENARIOS = {
    s.name: s
    for s in (
        # Five ordered classes, ~180 workers, 5.8 answers per item, very uneven activity: like a real web-search
        # relevance crowd on which the old default lost to plain maximum likelihood.
        Scenario("five-class-180", 2_600, 180, 5.8, 5, _ORDINAL, (0.1, 0.25, 0.35, 0.2, 0.1), skew=0.8),
        Scenario("one-answer-workers", 3_000, 60, 3.0, 4, _MIXED, singletons=0.6),
        Scenario("adversarial", 1_500, 60, 5.0, 3, _HOSTILE),
        Scenario("imbalanced", 4_000, 100, 4.0, 2, _MIXED, (0.95, 0.05)),
        Scenario("imbalanced-five", 3_000, 120, 5.0, 5, _MIXED, (0.70, 0.15, 0.08, 0.05, 0.02)),
        Scenario("eight-classes", 2_000, 120, 6.0, 8, _MIXED),
        Scenario("few-dense-workers", 400, 15, 8.0, 3, _MIXED),
        Scenario("sparse-homogeneous", 3_000, 1_000, 3.0, 4, _PLAIN, skew=3.0, singletons=0.3),
        Scenario("mix", 3_000, 150, 4.5, 6, {**_ORDINAL, **_HOSTILE}, (0.4, 0.25, 0.15, 0.1, 0.06, 0.04), 1.0, 0.3),
    )
}


def scenario_crowd(scenario: Scenario, seed: int) -> Crowd:
    """One crowd of the scenario's kind; one-answer workers are numbered after the regular ones."""
    rng = np.random.default_rng([seed, *scenario.name.encode()])
    k = scenario.n_classes
    prior = np.array(scenario.prior if scenario.prior else np.linspace(2.0, 1.0, k), dtype=np.float64)
    prior /= prior.sum()
    truth = rng.choice(k, size=scenario.n_items, p=prior)
    counts = np.minimum(1 + rng.poisson(scenario.answers_per_item - 1, scenario.n_items), scenario.n_workers)
    n_answers = int(counts.sum())
    n_single = round(scenario.singletons * n_answers)
    confusion, kinds = confusion_matrices(rng, scenario.n_workers + n_single, k, scenario.kinds)
    activity = rng.pareto(scenario.skew, scenario.n_workers) + 0.2
    items_parts, workers_parts = [], []
    for count in np.unique(counts):  # items with the same number of answers draw their workers together
        group = np.flatnonzero(counts == count)
        items_parts.append(np.repeat(group, count))
        workers_parts.append(distinct_workers(rng, group.size, int(count), activity).ravel())
    items, workers = np.concatenate(items_parts), np.concatenate(workers_parts)
    single = rng.choice(n_answers, size=n_single, replace=False)  # these answers go to one-answer workers
    workers[single] = scenario.n_workers + np.arange(n_single)
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
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help="a scenario crowd (its own sizes)")
    args = parser.parse_args(argv)
    if args.scenario:
        crowd = scenario_crowd(SCENARIOS[args.scenario], args.seed)
    else:
        crowd = generate(args.items, args.workers, args.answers_per_item, args.classes, args.seed)
    answers, truth = write_csv(crowd, args.out_dir)
    print(f"wrote {answers} ({crowd.items.size:,} answers) and {truth}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
