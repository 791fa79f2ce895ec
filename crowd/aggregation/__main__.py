"""Aggregate crowd answers from the command line (pure NumPy; never imports Django).

    python -m crowd.aggregation ANSWERS.csv [--method ds|mv|onecoin] [--gold GOLD.csv] [--clamp-gold]
                                [--max-iter N] [--tol T] [--smoothing S] [--pool-below N] [--duplicates all|last]
                                [--out OUT.csv]

ANSWERS.csv (or - for stdin) has a header and the columns `task,worker,label` (string ids; other columns
are ignored). Writes `task,label,confidence` — one row per task, in order of first appearance — to OUT.csv or stdout.
Classes are ordered naturally (integers by value, then text), which decides majority-vote ties.
Confidence is the posterior probability of the label (ds, onecoin) or the label's share of the votes (mv).

With --gold GOLD.csv (`task,label`) the accuracy on the tasks that have gold is printed to stderr; gold is
used only for scoring unless --clamp-gold also pins those tasks' labels during estimation (the printed
accuracy is then 1 by construction). --duplicates last keeps only the last answer of a worker who answered
a task more than once (default: every answer counts). A one-line run summary goes to stderr.
Exit status: 0 on success, 2 for a bad command line or a bad file (the message names the file and line).
"""

import argparse
import csv
import io
import sys
import time

import numpy as np

from crowd.aggregation.dawid_skene import AggregationInputError, dawid_skene
from crowd.aggregation.encoding import CsvFormatError, drop_repeats, read_answers, read_gold
from crowd.aggregation.majority import majority_vote
from crowd.aggregation.one_coin import one_coin

METHODS = ("ds", "mv", "onecoin")


class UsageError(Exception):
    """A problem to report as `error: …` with exit status 2."""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m crowd.aggregation",
        description="Aggregate crowd answers (task,worker,label CSV) into one label and confidence per task.",
    )
    parser.add_argument("answers", help="CSV file with a header and columns task,worker,label (- for stdin)")
    parser.add_argument("--method", choices=METHODS, default="ds", help="ds (Dawid-Skene, default), mv, onecoin")
    parser.add_argument("--gold", help="CSV file task,label: print accuracy on the tasks that have gold")
    parser.add_argument("--clamp-gold", action="store_true", help="also pin gold tasks' labels during estimation")
    parser.add_argument("--max-iter", type=int, default=100, help="maximum EM iterations (default 100)")
    parser.add_argument(
        "--tol", type=float, default=1e-7, help="stop when log-likelihood per answer moves less (0: never stop early)"
    )
    parser.add_argument(
        "--smoothing", type=float, help="Dirichlet pseudo-counts per cell (default 0 for ds: maximum likelihood)"
    )
    parser.add_argument(
        "--pool-below",
        type=int,
        help="ds: workers with fewer answers share one matrix (default 2: one-answer workers; 0: never)",
    )
    parser.add_argument("--duplicates", choices=("all", "last"), default="all", help="repeated (task, worker) pairs")
    parser.add_argument("--out", help="output CSV (default: stdout)")
    args = parser.parse_args(argv)
    if args.max_iter < 1:
        parser.error("--max-iter must be at least 1")
    if args.clamp_gold and not args.gold:
        parser.error("--clamp-gold needs --gold")
    if args.pool_below is not None and args.method != "ds":
        parser.error("--pool-below applies to --method ds only")
    return args


def read(path: str, reader, *args, **kwargs):
    try:
        return reader(sys.stdin.buffer if path == "-" else path, *args, **kwargs)
    except CsvFormatError as error:
        raise UsageError(f"{path}: {error}") from None
    except OSError as error:
        raise UsageError(f"{path}: {error.strerror or error}") from None


def run(args) -> None:
    started = time.perf_counter()
    answers = read(args.answers, read_answers)
    classes, gold = answers.classes, None
    if args.gold:
        gold = read(args.gold, read_gold, answers.tasks, classes, add_classes=args.clamp_gold)
        classes = gold.classes
    items, workers, labels = answers.items, answers.workers, answers.labels
    if args.duplicates == "last":
        keep = drop_repeats(items, workers, len(answers.worker_ids))
        items, workers, labels = items[keep], workers[keep], labels[keep]
    n_items, n_workers, n_classes = len(answers.tasks), len(answers.worker_ids), max(len(classes), 1)
    summary = f"{args.method}: {items.size:,} answers, {n_items:,} tasks, {n_workers:,} workers, {n_classes} classes"
    if args.method == "mv":
        result = majority_vote(items, labels, n_items, n_classes)
    else:
        estimate = dawid_skene if args.method == "ds" else one_coin
        options = {"smoothing": args.smoothing} if args.smoothing is not None else {}  # else each method's default
        if args.pool_below is not None:
            options["pool_below"] = args.pool_below
        result = estimate(
            items,
            workers,
            labels,
            n_items,
            n_workers,
            n_classes,
            gold=gold.labels if (gold is not None and args.clamp_gold) else None,
            max_iter=args.max_iter,
            tol=args.tol,
            **options,
        )
        state = "converged" if result.converged else "not converged"
        summary += f"; {result.iterations} iterations ({state}), log-likelihood {result.log_likelihood:.6g}"
    write(args.out, answers.tasks, classes, result.label, result.confidence)
    print(f"{summary}; {time.perf_counter() - started:.2f} s", file=sys.stderr)
    if gold is not None:
        scored = gold.labels != -1
        total = int(scored.sum())
        accuracy = int((result.label[scored] == gold.labels[scored]).sum()) / total if total else float("nan")
        note = " (gold clamped)" if args.clamp_gold else ""
        extra = f"; {gold.unmatched} gold rows name tasks without answers" if gold.unmatched else ""
        print(f"accuracy {accuracy:.4f} on {total:,} tasks with gold{note}{extra}", file=sys.stderr)


def write(path: str | None, tasks: list[str], classes: list[str], label: np.ndarray, confidence: np.ndarray) -> None:
    names = [*classes, ""]  # label -1 (no answers) prints as an empty field
    label_text = [names[code] for code in label.tolist()]
    text = io.StringIO()
    if _needs_quoting(tasks) or _needs_quoting(classes):
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(("task", "label", "confidence"))
        writer.writerows(zip(tasks, label_text, (f"{c:.6f}" for c in confidence.tolist()), strict=True))
    else:
        text.write("task,label,confidence\n")
        text.writelines(map("{},{},{:.6f}\n".format, tasks, label_text, confidence.tolist()))
    data = text.getvalue().encode("utf-8")
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as error:
            raise UsageError(f"{path}: {error.strerror or error}") from None


def _needs_quoting(values: list[str]) -> bool:
    joined = "".join(values)
    return any(ch in joined for ch in ',"\r\n')


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except (UsageError, AggregationInputError) as error:
        print(f"python -m crowd.aggregation: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
