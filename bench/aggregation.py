"""Aggregation budgets (DESIGN.md), measured against crowd-kit in the same run.

    python bench/aggregation.py [--quick] [--datasets DIR] [--work DIR]

1. Accuracy (fraction of items with a known truth labelled correctly): our Dawid-Skene with its defaults next to
   plain maximum-likelihood Dawid-Skene (`PLAIN_ML`) and crowd-kit's DawidSkene(n_iter=100, tol=-inf), with the
   differences, on every shared dataset (folder from --datasets or $CROWDLOOP_DATASETS), on the same datasets
   thinned to 3 and 6 answers per item, and on the synthetic scenario crowds of bench/synthetic.py (seeds 0-4).
   Rule: default >= plain ML - 0.005 everywhere, and >= crowd-kit DS - 0.005 where crowd-kit ran. Then a
   leave-one-dataset-out check: each candidate default is chosen on six datasets and judged on the seventh.
2. Scale: a seeded synthetic crowd (bench/synthetic.py: 200,000 items, 2,000 workers with varied confusion
   matrices including spammers, 5 answers each = 1,000,000 answers, 4 classes, string ids) written to CSV; then,
   each as a separate process on that file, our CLI (`python -m crowd.aggregation --method ds --max-iter 50
   --tol 0`) and crowd-kit (pandas read_csv, DawidSkene(n_iter=50, tol=-inf).fit_predict, to_csv), 50 EM
   iterations each, no early stop. Budgets: whole-process time >= 20x faster at equal accuracy (within 0.005,
   against the generator's truth) and our peak RSS <= 300 MB above a bare `python -c pass`. Peak RSS is each
   child's own ru_maxrss from wait4.

--quick: crowd-kit references from the datasets README, two seeds per scenario, no leave-one-dataset-out, and a
100,000-answer crowd with 10 iterations per side: a smoke test, not the budget configuration.
crowd-kit is a benchmark-only dependency: pip install 'crowd-kit' 'pandas<3' 'scikit-learn<1.7'.
Exit status 0 when every budget passes.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import synthetic  # noqa: E402

from crowd.aggregation.dawid_skene import PLAIN_ML, dawid_skene  # noqa: E402
from crowd.aggregation.encoding import read_answers, read_csv_columns, read_gold  # noqa: E402

DATASETS = Path(os.environ.get("CROWDLOOP_DATASETS", ROOT / "datasets"))  # --datasets DIR overrides
# The datasets' README: crowd-kit 1.4.2, DawidSkene(n_iter=100, tol=-inf) and MajorityVote
README_DS = {
    "bluebirds": 0.898,
    "d_jn-product": 0.940,
    "d_sentiment": 0.960,
    "s4_Dog": 0.843,
    "s4_Relevance": 0.616,
    "snow_rte": 0.928,
    "snow_temp": 0.942,
}
ACCURACY_MARGIN = 0.005
SPEED_BUDGET = 20.0
MEMORY_BUDGET_MB = 300.0

CROWD_KIT_SCRIPT = """
import sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from crowdkit.aggregation import DawidSkene
answers = pd.read_csv(sys.argv[1])
labels = DawidSkene(n_iter=int(sys.argv[3]), tol=float("-inf")).fit_predict(answers)
labels.to_csv(sys.argv[2])
"""


def crowd_kit_available() -> bool:
    try:
        import crowdkit  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Case:
    """One crowd to judge: integer-coded answers and the truth (-1 where unknown)."""

    name: str
    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    shape: tuple[int, int, int]  # items, workers, classes
    truth: np.ndarray
    source: Path | None = None  # the dataset folder, for crowd-kit

    def accuracy(self, **options) -> float:
        result = dawid_skene(self.items, self.workers, self.labels, *self.shape, **options)
        scored = self.truth >= 0
        return float((result.label[scored] == self.truth[scored]).mean())


def dataset_cases() -> list[Case]:
    cases = []
    for name in sorted(README_DS):
        answers = read_answers(DATASETS / name / "answers.csv")
        gold = read_gold(DATASETS / name / "gold.csv", answers.tasks, answers.classes).labels
        shape = (len(answers.tasks), len(answers.worker_ids), len(answers.classes))
        cases.append(Case(name, answers.items, answers.workers, answers.labels, shape, gold, DATASETS / name))
    return cases


def thinned(case: Case, per_item: int, seed: int) -> Case:
    """The same real answers, `per_item` random ones kept per item: a real crowd whose workers answer less."""
    key = np.random.default_rng([seed, per_item]).random(case.items.size)
    order = np.lexsort((key, case.items))
    sorted_items = case.items[order]
    first = np.r_[0, np.flatnonzero(np.diff(sorted_items)) + 1]
    rank = np.empty(case.items.size, dtype=np.intp)
    rank[order] = np.arange(case.items.size) - np.repeat(first, np.diff(np.r_[first, sorted_items.size]))
    keep = rank < per_item
    return Case(f"{case.name}/{per_item}/{seed}", case.items[keep], case.workers[keep], case.labels[keep],
                case.shape, case.truth)  # fmt: skip


def thinned_group(case: Case) -> list[Case]:
    most = int(np.bincount(case.items).max())  # d_jn-product has 3 answers per item: nothing to thin
    return [thinned(case, per_item, seed) for per_item in (3, 6) if per_item < most for seed in range(3)]


def synthetic_cases(seeds: range) -> list[Case]:
    cases = []
    for scenario in synthetic.SCENARIOS.values():
        for seed in seeds:
            crowd = synthetic.scenario_crowd(scenario, seed)
            shape = (crowd.truth.size, crowd.confusion.shape[0], crowd.confusion.shape[1])
            cases.append(Case(f"{scenario.name}/{seed}", crowd.items, crowd.workers, crowd.labels, shape, crowd.truth))
    return cases


def crowd_kit_accuracy(case: Case) -> float:
    """crowd-kit DawidSkene(n_iter=100, tol=-inf) on the case's answers (string ids as published, if any)."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    warnings.simplefilter("ignore")  # pandas deprecation notices from inside crowd-kit
    model = DawidSkene(n_iter=100, tol=float("-inf"))
    if case.source is not None:
        frame = pd.read_csv(case.source / "answers.csv", dtype=str)
        truth = pd.read_csv(case.source / "gold.csv", dtype=str).set_index("task")["label"]
        return float((model.fit_predict(frame).reindex(truth.index) == truth).mean())
    frame = pd.DataFrame({"task": case.items, "worker": case.workers, "label": case.labels})
    predicted = model.fit_predict(frame).reindex(np.arange(case.shape[0])).to_numpy()
    scored = case.truth >= 0
    return float((predicted[scored] == case.truth[scored]).mean())


def rule_section(title: str, cases: list[Case], crowd_kit: bool, budget_bars: dict | None = None) -> bool:
    """Default vs plain maximum likelihood (and crowd-kit) per case; the rule: default >= plain ML - margin."""
    print(f"\n## {title}")
    header = f"{'crowd':24} {'answers':>8} | {'default':>7} {'plain ML':>8} {'ck DS':>7} | {'-ML':>7} {'-ck':>7} | rule"
    print(header)
    print("-" * len(header))
    differences, passed = [], True
    for case in cases:
        ours, plain = case.accuracy(), case.accuracy(**PLAIN_ML)
        reference = crowd_kit_accuracy(case) if crowd_kit else (budget_bars or {}).get(case.name)
        ok = ours >= plain - ACCURACY_MARGIN and (reference is None or ours >= reference - ACCURACY_MARGIN)
        passed &= ok
        differences.append(ours - plain)
        ck = f"{reference:7.4f}" if reference is not None else f"{'-':>7}"
        versus_ck = f"{ours - reference:+7.4f}" if reference is not None else f"{'-':>7}"
        print(f"{case.name:24} {case.items.size:8,} | {ours:7.4f} {plain:8.4f} {ck} | {ours - plain:+7.4f} "
              f"{versus_ck} | {verdict(ok)}")  # fmt: skip
    print(f"{len(cases)} crowds: default - plain ML mean {np.mean(differences):+.4f}, worst {min(differences):+.4f}; "
          f"rule (default >= plain ML - {ACCURACY_MARGIN}, and >= crowd-kit - {ACCURACY_MARGIN} where shown): "
          f"{verdict(passed)}")  # fmt: skip
    return passed


# Candidate defaults for leave-one-dataset-out: options for dawid_skene given the number of classes K.
CANDIDATES = {
    "ML, pool < 2 (default)": lambda k: {},
    "ML, pool < K": lambda k: {"pool_below": k},
    "ML, pool < 2K": lambda k: {"pool_below": 2 * k},
    "smoothing 1/K, pool < K": lambda k: {"smoothing": 1.0 / k, "pool_below": k},
    "smoothing 1 (old default)": lambda k: {"smoothing": 1.0, "prior_smoothing": 1.0, "pool_below": 0},
}


def leave_one_dataset_out(datasets: list[Case]) -> None:
    """Pick the candidate default on six datasets (and their thinned versions) by its worst, then mean, margin over
    plain ML; judge it on the seventh. Nothing is chosen on the set it is judged on."""
    print("\n## Leave one dataset out: the candidate chosen without a dataset, judged on it (accuracy - plain ML)")
    groups = {case.name: [case, *thinned_group(case)] for case in datasets}
    margin = {}  # (candidate, dataset) -> accuracy - plain ML on each crowd of the dataset's group
    for name, group in groups.items():
        plain = [case.accuracy(**PLAIN_ML) for case in group]
        for candidate, options in CANDIDATES.items():
            margin[candidate, name] = [c.accuracy(**options(c.shape[2])) - p for c, p in zip(group, plain, strict=True)]
    print(f"{'held out':14} | {'chosen on the other six':26} | {'held-out full':>13} {'held-out worst':>14} | default")
    for held_out in groups:
        others = [name for name in groups if name != held_out]
        pooled = {c: [value for name in others for value in margin[c, name]] for c in CANDIDATES}
        chosen = max(CANDIDATES, key=lambda c: (min(pooled[c]), np.mean(pooled[c])))  # worst case first
        full, worst = margin[chosen, held_out][0], min(margin[chosen, held_out])
        default = min(margin["ML, pool < 2 (default)", held_out])
        print(f"{held_out:14} | {chosen:26} | {full:+13.4f} {worst:+14.4f} | worst {default:+.4f}")
    for candidate in CANDIDATES:
        values = [v for name in groups for v in margin[candidate, name]]
        print(f"  {candidate:26} on {len(values)} real crowds: mean {np.mean(values):+.4f}, worst {min(values):+.4f}")


def accuracy_section(quick: bool) -> bool:
    crowd_kit = not quick and crowd_kit_available()
    source = "crowd-kit DawidSkene(n_iter=100), this run" if crowd_kit else "crowd-kit: datasets README (1.4.2)"
    datasets = dataset_cases()
    ok = rule_section(f"Shared datasets ({source})", datasets, crowd_kit, README_DS)
    real = [crowd for case in datasets for crowd in thinned_group(case)]
    ok &= rule_section(
        "Shared datasets thinned to 3 and 6 answers per item (real answers, fewer per worker)", real, False
    )
    seeds = range(2) if quick else range(5)
    ok &= rule_section(f"Synthetic crowds (bench/synthetic.py SCENARIOS, seeds {seeds.start}-{seeds.stop - 1})",
                       synthetic_cases(seeds), crowd_kit)  # fmt: skip
    if not quick:
        leave_one_dataset_out(datasets)
    print("default: dawid_skene() as the service and the CLI run it (maximum likelihood; one-answer annotators "
          "share one matrix; tol 1e-7); plain ML: PLAIN_ML (crowd-kit's estimator)")  # fmt: skip
    return ok


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# A small launcher process starts each measured child: on Linux a child's ru_maxrss includes the memory image
# it was forked from (kept across exec), so forking from this process (NumPy, pandas) would inflate every figure.
LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as f:
    f.write(f"{seconds} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run_child(command: list[str], log: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one child process, its output going to `log`."""
    report = log.with_suffix(".rusage")
    with log.open("wb") as out:
        subprocess.run([sys.executable, "-c", LAUNCHER, str(report), *command], stdout=out, stderr=out, cwd=ROOT)
    seconds, max_rss_kib, code = report.read_text().split()
    return float(seconds), int(max_rss_kib) / 1024, int(code)  # ru_maxrss is in KiB on Linux


def output_accuracy(path: Path, label_column: str, truth: dict[str, str]) -> float:
    table = read_csv_columns(path, ("task", label_column))
    tasks, labels = table.columns["task"], table.columns[label_column]
    predicted = np.array(labels.values, dtype=object)[labels.codes]
    task_names = np.array(tasks.values, dtype=object)[tasks.codes]
    expected = np.array([truth[t] for t in task_names.tolist()], dtype=object)
    return float((predicted == expected).sum() / len(truth))


def scale_section(quick: bool, work: Path) -> bool:
    if quick:
        n_items, n_workers, iterations = 20_000, 400, 10
    else:
        n_items, n_workers, iterations = 200_000, 2_000, 50
    print(f"\n## Scale: {n_items * 5:,} answers ({n_items:,} items, {n_workers:,} workers, 5 each, 4 classes)")
    started = time.perf_counter()
    crowd = synthetic.generate(n_items=n_items, n_workers=n_workers, answers_per_item=5, n_classes=4)
    answers_path, truth_path = synthetic.write_csv(crowd, work)
    kinds = {kind: crowd.kinds.count(kind) for kind in synthetic.KINDS}
    size_mb = answers_path.stat().st_size / 2**20
    print(f"generated {answers_path} ({size_mb:.1f} MB) in {time.perf_counter() - started:.1f} s; workers: {kinds}")
    truth_table = read_csv_columns(truth_path, ("task", "label"))
    truth = dict(
        zip(
            np.array(truth_table.columns["task"].values, dtype=object)[truth_table.columns["task"].codes].tolist(),
            np.array(truth_table.columns["label"].values, dtype=object)[truth_table.columns["label"].codes].tolist(),
            strict=True,
        )
    )

    python = sys.executable
    baseline = min(run_child([python, "-c", "pass"], work / "baseline.log")[1] for _ in range(3))
    ours_out = work / "ours.csv"
    ours_command = [
        python, "-m", "crowd.aggregation", str(answers_path), "--method", "ds",
        "--max-iter", str(iterations), "--tol", "0", "--out", str(ours_out),
    ]  # fmt: skip
    runs = [run_child(ours_command, work / "ours.log") for _ in range(3)]
    if any(code for _, _, code in runs):
        print((work / "ours.log").read_text(), file=sys.stderr)
        return False
    our_seconds = statistics.median(seconds for seconds, _, _ in runs)
    our_peak = max(peak for _, peak, _ in runs)
    our_accuracy = output_accuracy(ours_out, "label", truth)
    print(f"ours:      {our_seconds:7.2f} s (median of 3: {', '.join(f'{s:.2f}' for s, _, _ in runs)}), "
          f"peak RSS {our_peak:6.1f} MB, accuracy {our_accuracy:.4f}")  # fmt: skip
    print(f"           {(work / 'ours.log').read_text().strip().splitlines()[0]}")

    if not crowd_kit_available():
        print("crowd-kit is not installed: pip install 'crowd-kit' 'pandas<3' 'scikit-learn<1.7'  -> speed budget FAIL")
        return False
    ck_out = work / "crowdkit.csv"
    ck_command = [python, "-c", CROWD_KIT_SCRIPT, str(answers_path), str(ck_out), str(iterations)]
    ck_seconds, ck_peak, code = run_child(ck_command, work / "crowdkit.log")
    if code:
        print((work / "crowdkit.log").read_text(), file=sys.stderr)
        return False
    ck_accuracy = output_accuracy(ck_out, "agg_label", truth)
    print(f"crowd-kit: {ck_seconds:7.2f} s, peak RSS {ck_peak:6.1f} MB, accuracy {ck_accuracy:.4f}")
    print(f"baseline `python -c pass`: peak RSS {baseline:.1f} MB")

    ratio = ck_seconds / our_seconds
    above = our_peak - baseline
    fast = ratio >= SPEED_BUDGET and our_accuracy >= ck_accuracy - ACCURACY_MARGIN
    lean = above <= MEMORY_BUDGET_MB
    speed_verdict, memory_verdict = verdict(fast), verdict(lean)
    if quick:  # a small crowd and 10 iterations: fixed costs (interpreter, imports) dominate; not the budget
        speed_verdict = memory_verdict = "info only (--quick is not the budget configuration)"
    print(f"speed: crowd-kit / ours = {ratio:.1f}x (budget >= {SPEED_BUDGET:.0f}x at equal accuracy: "
          f"{our_accuracy:.4f} vs {ck_accuracy:.4f}): {speed_verdict}")  # fmt: skip
    print(f"memory: ours {above:.1f} MB above the interpreter (budget <= {MEMORY_BUDGET_MB:.0f} MB; "
          f"crowd-kit {ck_peak - baseline:.1f} MB): {memory_verdict}")  # fmt: skip
    return quick or (fast and lean)


def incremental_section(quick: bool) -> None:
    """Warm start: a campaign's answers grow by 1%; re-estimate from the previous run's matrices and prior."""
    n_items, n_workers = (20_000, 400) if quick else (200_000, 2_000)
    crowd = synthetic.generate(n_items=n_items, n_workers=n_workers, answers_per_item=5, n_classes=4)
    before = int(crowd.items.size * 0.99)
    shape = (n_items, n_workers, 4)
    previous = dawid_skene(crowd.items[:before], crowd.workers[:before], crowd.labels[:before], *shape)
    timings = {}
    for name, warm in (("cold", {}), ("warm", {"init_confusion": previous.confusion, "init_prior": previous.prior})):
        started = time.perf_counter()
        result = dawid_skene(crowd.items, crowd.workers, crowd.labels, *shape, **warm)
        timings[name] = (time.perf_counter() - started, result)
    (cold_s, cold), (warm_s, warm) = timings["cold"], timings["warm"]
    same = float((cold.label == warm.label).mean())
    print(f"\n## Incremental update: {crowd.items.size - before:,} new answers on top of {before:,} (in process)")
    print(f"cold start: {cold.iterations} iterations, {cold_s:.2f} s; warm start from the previous run: "
          f"{warm.iterations} iterations, {warm_s:.2f} s; same label on {same:.2%} of items")  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Aggregation budgets against crowd-kit.")
    parser.add_argument("--quick", action="store_true", help="README references and a small crowd (smoke test)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "aggregation", help="scratch folder")
    parser.add_argument("--datasets", type=Path, help="the shared datasets folder (default: $CROWDLOOP_DATASETS)")
    args = parser.parse_args(argv)
    global DATASETS
    DATASETS = args.datasets or DATASETS
    if not DATASETS.is_dir():
        parser.error(f"datasets folder {DATASETS} not found: pass --datasets DIR or set CROWDLOOP_DATASETS")
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"# Aggregation benchmark ({'quick' if args.quick else 'full'}), numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")  # fmt: skip
    accuracy_ok = accuracy_section(args.quick)
    scale_ok = scale_section(args.quick, args.work)
    incremental_section(args.quick)
    print(f"\nRESULT: accuracy {verdict(accuracy_ok)}, scale {verdict(scale_ok)}")
    return 0 if accuracy_ok and scale_ok else 1


if __name__ == "__main__":
    sys.exit(main())
