"""Aggregation budgets (DESIGN.md), measured against crowd-kit in the same run.

    python bench/aggregation.py [--quick] [--datasets DIR] [--work DIR]

1. Accuracy on every dataset in ../shared/datasets (fraction of gold items labelled correctly): our Dawid-Skene
   (defaults), majority vote and one-coin next to crowd-kit's DawidSkene(n_iter=100, tol=-inf) and MajorityVote.
   Budget: ours DS >= crowd-kit DS - 0.005 on every dataset.
2. Scale: a seeded synthetic crowd (bench/synthetic.py: 200,000 items, 2,000 workers with varied confusion
   matrices including spammers, 5 answers each = 1,000,000 answers, 4 classes, string ids) written to CSV; then,
   each as a separate process on that file, our CLI (`python -m crowd.aggregation --method ds --max-iter 50
   --tol 0`) and crowd-kit (pandas read_csv, DawidSkene(n_iter=50, tol=-inf).fit_predict, to_csv), 50 EM
   iterations each, no early stop. Budgets: whole-process time >= 20x faster at equal accuracy (within 0.005,
   against the generator's truth) and our peak RSS <= 300 MB above a bare `python -c pass`. Peak RSS is each
   child's own ru_maxrss from wait4.

--quick: references from the datasets README instead of running crowd-kit on the datasets, and a 100,000-answer
crowd with 10 iterations per side: a smoke test, not the budget configuration.
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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import synthetic  # noqa: E402

from crowd.aggregation.dawid_skene import dawid_skene  # noqa: E402
from crowd.aggregation.encoding import read_answers, read_csv_columns, read_gold  # noqa: E402
from crowd.aggregation.majority import majority_vote  # noqa: E402
from crowd.aggregation.one_coin import one_coin  # noqa: E402

DATASETS = Path(os.environ.get("CROWDLOOP_DATASETS", ROOT.parent / "shared" / "datasets"))
# ../shared/datasets/README.md: crowd-kit 1.4.2, DawidSkene(n_iter=100, tol=-inf) and MajorityVote
README_DS = {
    "bluebirds": 0.898,
    "d_jn-product": 0.940,
    "d_sentiment": 0.960,
    "s4_Dog": 0.843,
    "s4_Relevance": 0.616,
    "snow_rte": 0.928,
    "snow_temp": 0.942,
}
README_MV = {
    "bluebirds": 0.759,
    "d_jn-product": 0.897,
    "d_sentiment": 0.932,
    "s4_Dog": 0.818,
    "s4_Relevance": 0.536,
    "snow_rte": 0.919,
    "snow_temp": 0.939,
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


def accuracy_section(quick: bool) -> bool:
    use_crowd_kit = not quick and crowd_kit_available()
    if use_crowd_kit:
        import pandas as pd
        from crowdkit.aggregation import DawidSkene, MajorityVote

        warnings.simplefilter("ignore")
    source = "crowd-kit, this run" if use_crowd_kit else "datasets README (crowd-kit 1.4.2)"
    print(f"\n## Accuracy on {DATASETS} (gold items; reference: {source})")
    header = (
        f"{'dataset':14} {'answers':>8} | {'our DS':>7} {'DS ml':>7} {'our MV':>7} {'1-coin':>7} | "
        f"{'ck DS':>7} {'ck MV':>7} | {'DS - ck':>7} {'our s':>6} {'ck s':>6} | budget"
    )
    print(header)
    print("-" * len(header))
    passed = True
    for name in sorted(README_DS):
        folder = DATASETS / name
        answers = read_answers(folder / "answers.csv")
        gold = read_gold(folder / "gold.csv", answers.tasks, answers.classes).labels
        scored = gold >= 0
        shape = (len(answers.tasks), len(answers.worker_ids), len(answers.classes))
        started = time.perf_counter()
        ours = dawid_skene(answers.items, answers.workers, answers.labels, *shape)
        our_seconds = time.perf_counter() - started
        mv = majority_vote(answers.items, answers.labels, shape[0], shape[2])
        coin = one_coin(answers.items, answers.workers, answers.labels, *shape)
        ml = dawid_skene(
            answers.items, answers.workers, answers.labels, *shape, smoothing=0, prior_smoothing=0, tol=0
        )  # plain maximum likelihood, 100 iterations: crowd-kit's estimator
        ours_acc, ml_acc, mv_acc, coin_acc = (
            float((r.label[scored] == gold[scored]).mean()) for r in (ours, ml, mv, coin)
        )
        if use_crowd_kit:
            frame = pd.read_csv(folder / "answers.csv", dtype=str)
            truth = pd.read_csv(folder / "gold.csv", dtype=str).set_index("task")["label"]
            started = time.perf_counter()
            ck_labels = DawidSkene(n_iter=100, tol=float("-inf")).fit_predict(frame)
            ck_seconds = time.perf_counter() - started
            ck_ds = float((ck_labels.reindex(truth.index) == truth).mean())
            ck_mv = float((MajorityVote().fit_predict(frame).reindex(truth.index) == truth).mean())
            ck_time = f"{ck_seconds:6.2f}"
        else:
            ck_ds, ck_mv, ck_time = README_DS[name], README_MV[name], f"{'-':>6}"
        ok = ours_acc >= ck_ds - ACCURACY_MARGIN
        passed &= ok
        print(
            f"{name:14} {answers.items.size:8,} | {ours_acc:7.4f} {ml_acc:7.4f} {mv_acc:7.4f} {coin_acc:7.4f} | "
            f"{ck_ds:7.4f} {ck_mv:7.4f} | {ours_acc - ck_ds:+7.4f} {our_seconds:6.2f} {ck_time} | "
            f"{'PASS' if ok else 'FAIL'}"
        )
    print(f"accuracy budget (our DS >= crowd-kit DS - {ACCURACY_MARGIN} on every dataset): {verdict(passed)}")
    print("our DS: defaults (smoothing 1 toward the crowd's matrix, tol 1e-7); DS ml: smoothing 0, 100 iterations;")
    print("our MV tie rule: lowest class index, classes in natural order (integers by value, then text)")
    return passed


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
    args = parser.parse_args(argv)
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
