"""Models in the loop, replayed on crowdsourcing datasets with gold ($CROWDLOOP_DATASETS).

A simulated model labels every item first, with a known accuracy and a score that is its probability of being
right (a calibrated model):
  good      90% accurate on average;
  mediocre  70% accurate;
  biased    right on the rarest class, but says the rarest class for half of the other items.
The published answers stand for the people, in a seeded arrival order (as bench/dynamic_redundancy.py).

Strategies, each printed as answers used and accuracy on the gold items:
  fixed 3      the first 3 answers of every item, Dawid-Skene over people only (the baseline);
  dynamic      start at 2, one more answer where the posterior is below 0.95, up to 5 (the service's rule);
  review       3 answers per item; the model's suggestion is shown on all but a blind share (10%) of the answers,
               drawn per answer as the service's claim draws it per leased item, and a person follows a shown
               suggestion with probability --follow instead of answering on their own; the model joins
               Dawid-Skene as one more annotator;
  auto-accept  items arrive in batches; a class is accepted once the model's precision on its confident labels
               has a Wilson lower bound >= --threshold on at least --min-evidence items. --evidence dawid-skene
               (the service's rule) estimates it from its confusion matrix, its confident labels being one more
               annotator over the items people answered so far and the campaign's gold items, which the service
               counts from the start (gold clamped); --evidence people counts plain
               agreement with campaign gold and items people settled on their own, for comparison. An
               accepted item with a score >= --min-score gets --confirmations human answers (1: accepted
               when the person agrees, else it goes to full redundancy) and --audit of such items get full
               redundancy anyway (crowd/model_loop/acceptance.py decides all of it).
Then the anchoring check (crowd/model_loop/anchoring.py) on the review arm: the pull it measures, with its 95%
interval, against the pull simulated, and whether it warns: "overall" when the shown arm is not significantly more
accurate on gold, "misled on" the suggested labels on whose gold items it is significantly less accurate.

Budget: with the good model, auto-accept is within 0.01 of fixed 3's accuracy with at least 40% fewer answers;
with the biased model, the anchoring check warns. Judged on the datasets of at least --min-items items: on fewer,
the blind arm (10% of the items) is too small for any interval to tell a pull of 0.1 from none, and acceptance
never gathers --min-evidence items per class before the campaign is over.

    .venv/bin/python bench/models_in_the_loop.py [--follow 0.3] [--threshold 0.85] [--seed 7] [--dataset s4_Dog]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dynamic_redundancy import DATASETS, accuracy, aggregate, dynamic, fixed, load, pools

from crowd.aggregation.dawid_skene import dawid_skene
from crowd.model_loop.acceptance import (
    AcceptancePolicy,
    accepted_classes,
    answers_needed,
    class_precision,
    estimated_precision,
    in_audit,
)
from crowd.model_loop.anchoring import Proportion, anchoring_report

MODELS = ("good", "mediocre", "biased")


def simulate_model(kind: str, truth: np.ndarray, n_classes: int, rng: np.random.Generator):
    """(labels, scores): a calibrated model, each item right with probability equal to its score."""
    n = truth.size
    if kind == "biased":
        # Toward the rarest class: where a bias hurts most, and where it hides best behind a high accuracy.
        rarest = int(np.argmin(np.bincount(truth[truth >= 0], minlength=n_classes)))
        says_it = (truth != rarest) & (rng.random(n) < 0.5)
        label = np.where(says_it, rarest, truth)
        score = rng.beta(8, 2, n)  # as confident when wrong as when right: what makes a bias dangerous
        return label, score
    a, b = {"good": (9, 1), "mediocre": (7, 3)}[kind]
    score = rng.beta(a, b, n)
    right = rng.random(n) < score
    wrong = (truth + rng.integers(1, n_classes, n)) % n_classes
    return np.where(right, truth, wrong), score


def with_model(data, selected, model_label, labels_override=None, model_items=None):
    """Dawid-Skene over the selected human answers plus the model as one more annotator."""
    items, workers, labels, n_items, n_workers, n_classes, _gold = data
    human_labels = labels if labels_override is None else labels_override
    model_items = np.arange(n_items) if model_items is None else model_items
    all_items = np.concatenate([items[selected], model_items])
    all_workers = np.concatenate([workers[selected], np.full(model_items.size, n_workers)])
    all_labels = np.concatenate([human_labels[selected], model_label[model_items]])
    return aggregate(np.arange(all_items.size), all_items, all_workers, all_labels, n_items, n_workers + 1, n_classes)


def review(data, pool, model_label, follow: float, blind_share: float, rng):
    items, _workers, labels, _n_items, _n_workers, n_classes, gold = data
    selected = np.concatenate([p[:3] for p in pool])
    # Blind is drawn per answer (per leased item), as the claim statement does: one item's answers fall in both arms.
    shown = rng.random(selected.size) >= blind_share
    answered = labels.copy()
    follows = shown & (rng.random(selected.size) < follow)
    suggestion = model_label[items[selected]]
    answered[selected[follows]] = suggestion[follows]
    result = with_model(data, selected, model_label, labels_override=answered)
    # The anchoring check sees what the service would: answers, the suggestion, blindness, gold.
    agree = answered[selected] == suggestion
    on_gold = gold[items[selected]] >= 0
    correct = answered[selected] == gold[items[selected]]
    own_agree = labels[selected] == suggestion
    simulated_pull = follow * (1 - own_agree[shown].mean())

    def arm(hit, where):
        return Proportion(int(hit[where].sum()), int(where.sum()))

    report = anchoring_report(
        agreement_shown=arm(agree, shown),
        agreement_blind=arm(agree, ~shown),
        gold_accuracy_shown=arm(correct, shown & on_gold),
        gold_accuracy_blind=arm(correct, ~shown & on_gold),
        gold_accuracy_by_suggestion={
            c: (arm(correct, shown & on_gold & (suggestion == c)), arm(correct, ~shown & on_gold & (suggestion == c)))
            for c in range(n_classes)
        },
    )
    return selected.size, accuracy(result, gold), report, simulated_pull


def auto_accept(
    data, pool, model_label, score, policy: AcceptancePolicy, rng, batches=10, gold_share=0.05, evidence="dawid-skene"
):
    items, workers, labels, n_items, n_workers, n_classes, gold = data
    campaign_gold = (gold >= 0) & (rng.random(n_items) < gold_share)  # the campaign's own gold items
    order = rng.permutation(n_items)
    taken = np.zeros(n_items, dtype=np.int64)  # human answers used per item
    accepted_on_model = np.zeros(n_items, dtype=bool)
    done = np.zeros(n_items, dtype=bool)
    for batch in np.array_split(order, batches):
        # The model is one more annotator in Dawid-Skene over the evidence (gold clamped); its confusion matrix
        # gives its precision per class (acceptance.estimated_precision).
        accepted: set = set()
        seen = np.flatnonzero(done & (taken > 0))
        # As the service counts it: items people answered, and the campaign's gold items from the start (their
        # pre-labels join Dawid-Skene with gold clamped before anyone answers them). Only the model's confident
        # labels: they are what acceptance would take, and they are more often right than the model's average,
        # which a confusion matrix over all its labels would blur.
        evidence_items = np.union1d(seen, np.flatnonzero(campaign_gold))
        confident = evidence_items[score[evidence_items] >= policy.min_score]
        if evidence == "people" and confident.size:
            # For comparison: plain agreement with what is known, on campaign gold and on items people
            # completed on their own (Dawid-Skene over people, at >= 0.95).
            known = np.full(n_items, -1)
            known[campaign_gold] = gold[campaign_gold]
            people = seen[~accepted_on_model[seen] & (taken[seen] >= 3)]
            if people.size:
                selected = np.concatenate([pool[i][: taken[i]] for i in people])
                result = aggregate(selected, items, workers, labels, n_items, n_workers, n_classes)
                settled = people[(result.confidence[people] >= 0.95) & ~campaign_gold[people]]
                known[settled] = result.label[settled]
            counted = confident[known[confident] >= 0]
            pairs = zip(model_label[counted].tolist(), known[counted].tolist(), strict=True)
            accepted = accepted_classes(class_precision(pairs), policy)
        elif confident.size:
            selected = np.concatenate([np.zeros(0, dtype=np.int64), *(pool[i][: taken[i]] for i in seen)])
            result = dawid_skene(
                np.concatenate([items[selected], confident]),
                np.concatenate([workers[selected], np.full(confident.size, n_workers)]),
                np.concatenate([labels[selected], model_label[confident]]),
                n_items, n_workers + 1, n_classes,
                gold=np.where(campaign_gold, gold, -1), max_iter=100, tol=1e-6,
            )  # fmt: skip
            counts = np.bincount(model_label[confident], minlength=n_classes)
            precision = estimated_precision(
                result.confusion[n_workers], result.prior, {c: int(n) for c, n in enumerate(counts) if n}
            )
            accepted = accepted_classes(precision, policy)
        for i in batch:
            need = answers_needed(
                prelabel=int(model_label[i]),
                score=float(score[i]),
                accepted=accepted,
                policy=policy,
                redundancy=3,
                audited=campaign_gold[i] or in_audit(int(i), policy.audit_share, "bench"),
            )
            available = pool[i].size
            if need == 0:
                accepted_on_model[i] = True
            elif need == 1 and available and labels[pool[i][0]] == model_label[i]:
                taken[i], accepted_on_model[i] = 1, True
            else:
                taken[i] = min(3, available)
            done[i] = True
    selected = np.concatenate([pool[i][: taken[i]] for i in range(n_items)])
    result = with_model(data, selected, model_label)
    final = result.label.copy()
    final[accepted_on_model] = model_label[accepted_on_model]
    has = gold >= 0
    return selected.size, float((final[has] == gold[has]).mean()), float(accepted_on_model.mean())


def warned(report) -> str:
    """WARN, and why: not more accurate on gold overall, or misled on the gold items of named suggestions."""
    if not report.warning:
        return "-"
    if not report.gold_accuracy_difference.significantly_positive:
        return "WARN overall"
    return "WARN misled on " + ",".join(str(label) for label in report.misleading_suggestions)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--follow", type=float, default=0.3, help="probability a person follows a shown suggestion")
    parser.add_argument("--blind", type=float, default=0.1, help="share of review items served blind")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--min-evidence", type=int, default=50)
    parser.add_argument("--min-score", type=float, default=0.8)
    parser.add_argument("--confirmations", type=int, default=0)
    parser.add_argument("--audit", type=float, default=0.05)
    parser.add_argument("--batches", type=int, default=20, help="auto-accept: arrival batches, evidence between")
    parser.add_argument(
        "--evidence",
        default="dawid-skene",
        choices=["dawid-skene", "people"],
        help="auto-accept's precision: the model's Dawid-Skene confusion with people (the service's rule), or plain "
        "agreement on gold and people-settled items",
    )
    parser.add_argument("--min-items", type=int, default=400, help="smallest dataset the budget is judged on")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dataset", action="append", help="only this dataset folder (repeatable); default all")
    args = parser.parse_args(argv)
    policy = AcceptancePolicy(
        threshold=args.threshold,
        min_evidence=args.min_evidence,
        min_score=args.min_score,
        confirmations=args.confirmations,
        audit_share=args.audit,
    )
    print(
        f"auto-accept: {policy}, evidence {args.evidence}; review: follow {args.follow}, blind {args.blind};"
        f" seed {args.seed}"
    )
    header = (
        f"{'dataset':<14}{'model':<10}{'fixed 3':>15}{'dynamic':>15}{'review':>15}{'auto-accept':>15}"
        f"{'saved':>7}{'Δacc':>7}  anchoring: simulated / measured [95% CI] warn"
    )
    print(header)
    print("-" * len(header))
    budget_ok = True
    folders = sorted(p for p in DATASETS.iterdir() if (p / "answers.csv").exists())
    for folder in (f for f in folders if not args.dataset or f.name in args.dataset):
        data = load(folder)
        items, workers, labels, n_items, n_workers, n_classes, gold = data
        rng = np.random.default_rng(args.seed)
        pool = pools(items, workers, n_items, rng)
        n3, a3 = fixed(data, pool, 3)
        nd, ad, _ = dynamic(data, pool, 2, 5, 0.95)
        # Truth for the simulation: gold where published, otherwise what all the published answers say.
        truth = gold.copy()
        everyone = aggregate(np.arange(items.size), items, workers, labels, n_items, n_workers, n_classes)
        truth[truth < 0] = everyone.label[truth < 0]
        for kind in MODELS:
            model_rng = np.random.default_rng(args.seed + MODELS.index(kind) + 1)
            model_label, score = simulate_model(kind, truth, n_classes, model_rng)
            nr, ar, report, pull = review(data, pool, model_label, args.follow, args.blind, model_rng)
            na, aa, _share = auto_accept(
                data, pool, model_label, score, policy, model_rng, args.batches, evidence=args.evidence
            )
            d = report.agreement_difference
            measured = f"{d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}]" if d.estimate is not None else "n/a"
            print(
                f"{folder.name:<14}{kind:<10}{n3:>8} {a3:.3f}{nd:>8} {ad:.3f}{nr:>8} {ar:.3f}{na:>8} {aa:.3f}"
                f"{1 - na / n3:>7.0%}{aa - a3:>+7.3f}  {pull:+.3f} / {measured} {warned(report)}"
            )
            judged = n_items >= args.min_items
            if judged and kind == "good" and not (aa >= a3 - 0.01 and na <= 0.6 * n3):
                budget_ok = False
            if judged and kind == "biased" and not report.warning:
                budget_ok = False
    print("columns: human answers used and accuracy on gold; saved and Δacc: auto-accept against fixed 3")
    verdict = "met" if budget_ok else "NOT met"
    rule = "good: Δacc >= -0.01, saved >= 40%; biased: warned"
    print(f"budget on datasets of >= {args.min_items} items ({rule}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
