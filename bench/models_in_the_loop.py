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
  auto-accept  items arrive in --batches batches, an aggregation run before each; a class is accepted once the
               model's estimated precision on its confident labels is >= --threshold on at least --min-evidence
               items (--rule estimate; --rule lower_bound, the service's default, asks its 95% Wilson lower
               bound to reach it).
               --evidence dawid-skene (the service's rule) estimates it from the model's confusion matrix in
               Dawid-Skene as the service runs it: the model's confident labels one annotator and its less sure
               ones another, over the items people answered so far and the campaign's gold items (5% of the
               items, gold clamped), which the service counts from the start;
               --evidence people counts plain agreement with campaign gold and items people settled on their
               own, for comparison. An accepted item with a score >= --min-score gets --confirmations human
               answers (1: accepted when the person agrees, else it goes to full redundancy) and --audit of such
               items get full redundancy anyway (crowd/model_loop/acceptance.py decides all of it). Items not
               accepted get 3 answers, as the fixed-3 baseline;
  accept+dyn   the same, but items not accepted get the service's dynamic redundancy (--dynamic: start,
               maximum, target), re-judged at every aggregation run with the model counting in the posterior.
Then the anchoring check (crowd/model_loop/anchoring.py) on the review arm: the pull it measures, with its 95%
interval, against the pull simulated, and whether it warns: "overall" when the shown arm is not significantly more
accurate on gold, "misled on" the suggested labels on whose gold items it is significantly less accurate or the
suggestion itself is right significantly less often than the blind arm.

Budget: with the good model, auto-accept is within 0.01 of fixed 3's accuracy with at least 40% fewer answers;
with the biased model, the anchoring check warns. Judged per dataset over the seeds together (--seeds, five by
default, run two at a time): answers summed over the seeds, accuracy differences averaged, the biased model
warned on every seed; each seed's rows are printed too. A verdict is printed for auto-accept and for accept+dyn;
the exit status is 1 when auto-accept's is missed. Judged on the datasets of at least --min-items items: on
fewer, the blind arm (10% of the answers) is too small for any interval to tell a pull of 0.1 from none, and
acceptance never gathers --min-evidence items per class before the campaign is over.

    .venv/bin/python bench/models_in_the_loop.py [--rule lower_bound] [--threshold 0.85] [--seeds 7] [--dataset s4_Dog]
"""

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dynamic_redundancy import accuracy, aggregate, dataset_folders, dynamic, fixed, load, pools

from crowd.aggregation.dawid_skene import dawid_skene
from crowd.aggregation.redundancy import redundancy_decisions
from crowd.model_loop.acceptance import (
    RULES,
    AcceptancePolicy,
    accepted_classes,
    answers_needed,
    class_precision,
    estimated_precision,
    in_audit,
)
from crowd.model_loop.anchoring import Proportion, SuggestionCounts, anchoring_report

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
            c: SuggestionCounts(
                shown=arm(correct, shown & on_gold & (suggestion == c)),
                blind=arm(correct, ~shown & on_gold & (suggestion == c)),
                suggestion=arm(suggestion == gold[items[selected]], shown & on_gold & (suggestion == c)),
            )
            for c in range(n_classes)
        },
    )
    return selected.size, accuracy(result, gold), report, simulated_pull


def auto_accept(
    data,
    pool,
    model_label,
    score,
    policy: AcceptancePolicy,
    rng,
    batches=20,
    gold_share=0.05,
    evidence="dawid-skene",
    dynamic_rule: tuple[int, int, float] | None = None,
):
    """Answers used, accuracy on gold and the share accepted on the model. Items not accepted get 3 answers, or
    with `dynamic_rule` (start, maximum, target) the service's dynamic redundancy: `start` answers, then one more
    while the posterior (the model counting in it, as in the service) is below `target`, up to `maximum`."""
    items, workers, labels, n_items, n_workers, n_classes, gold = data
    campaign_gold = (gold >= 0) & (rng.random(n_items) < gold_share)  # the campaign's own gold items
    clamped = np.where(campaign_gold, gold, -1)
    order = rng.permutation(n_items)
    taken = np.zeros(n_items, dtype=np.int64)  # human answers used per item
    accepted_on_model = np.zeros(n_items, dtype=bool)
    done = np.zeros(n_items, dtype=bool)
    sure = score >= policy.min_score
    redundancy = dynamic_rule[0] if dynamic_rule else 3
    warm: dict = {}

    def service_dawid_skene(answered):
        """As the service aggregates: people's answers on the items they answered, and the model's pre-labels
        on those and on the campaign's gold items (gold clamped, known from the start), its confident labels
        as one annotator and its less sure ones as another."""
        selected = np.concatenate([np.zeros(0, dtype=np.int64), *(pool[i][: taken[i]] for i in answered)])
        evidence_items = np.union1d(answered, np.flatnonzero(campaign_gold))
        result = dawid_skene(
            np.concatenate([items[selected], evidence_items]),
            np.concatenate([workers[selected], np.where(sure[evidence_items], n_workers, n_workers + 1)]),
            np.concatenate([labels[selected], model_label[evidence_items]]),
            n_items, n_workers + 2, n_classes, gold=clamped, max_iter=100, tol=1e-6, **warm,
        )  # fmt: skip
        warm.update(init_confusion=result.confusion, init_prior=result.prior)
        return result, evidence_items

    def aggregation_run():
        """One aggregation with what people answered so far; with the dynamic rule, more answers where it asks
        for them (as runs do after every submission) until it asks for none."""
        while True:
            answered = np.flatnonzero(done & (taken > 0))
            result, evidence_items = service_dawid_skene(answered)
            if dynamic_rule is None:
                return result, evidence_items
            pending = answered[~accepted_on_model[answered]]
            decision = redundancy_decisions(
                answers={int(i): int(taken[i]) for i in pending},
                redundancy={int(i): int(taken[i]) for i in pending},
                confidence={int(i): float(result.confidence[i]) for i in pending},
                target=dynamic_rule[2],
                maximum=dynamic_rule[1],
            )
            more = [i for i in decision.raise_redundancy if taken[i] < pool[i].size]  # an exhausted pool stops
            if not more:
                return result, evidence_items
            taken[more] += 1

    for batch in np.array_split(order, batches):
        result, evidence_items = aggregation_run()
        # Evidence, as the service counts it: the model's confident labels on the items people answered and on
        # the campaign's gold items. Only the confident ones: they are what acceptance would take, and they are
        # more often right than the model's average, which a confusion matrix over all its labels would blur.
        confident = evidence_items[sure[evidence_items]]
        accepted: set = set()
        if evidence == "people" and confident.size:
            # For comparison: plain agreement with what is known, on campaign gold and on items people
            # completed on their own (Dawid-Skene over people, at >= 0.95).
            known = np.full(n_items, -1)
            known[campaign_gold] = gold[campaign_gold]
            seen = np.flatnonzero(done & (taken > 0))
            people = seen[~accepted_on_model[seen] & (taken[seen] >= 3)]
            if people.size:
                selected = np.concatenate([pool[i][: taken[i]] for i in people])
                by_people = aggregate(selected, items, workers, labels, n_items, n_workers, n_classes)
                settled = people[(by_people.confidence[people] >= 0.95) & ~campaign_gold[people]]
                known[settled] = by_people.label[settled]
            counted = confident[known[confident] >= 0]
            pairs = zip(model_label[counted].tolist(), known[counted].tolist(), strict=True)
            accepted = accepted_classes(class_precision(pairs), policy)
        elif confident.size:
            # The model's Dawid-Skene confusion matrix gives its precision per class.
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
                redundancy=redundancy,
                audited=campaign_gold[i] or in_audit(int(i), policy.audit_share, "bench"),
            )
            available = pool[i].size
            if need == 0:
                accepted_on_model[i] = True
            elif need == 1 < redundancy and available and labels[pool[i][0]] == model_label[i]:
                # Accepted with one confirmation (as the service, only where acceptance lowered what the item
                # needs: a campaign that starts every item at one answer confirms nothing by it).
                taken[i], accepted_on_model[i] = 1, True
            else:
                taken[i] = min(redundancy, available)
            done[i] = True
    aggregation_run()  # the last batch's answers, and the dynamic rule's last raises
    selected = np.concatenate([pool[i][: taken[i]] for i in range(n_items)])
    result = with_model(data, selected, model_label)
    final = result.label.copy()
    final[accepted_on_model] = model_label[accepted_on_model]
    has = gold >= 0
    return selected.size, float((final[has] == gold[has]).mean()), float(accepted_on_model.mean())


def warned(report) -> str:
    """WARN, and why: not more accurate on gold overall, and/or misled on the gold items of named suggestions."""
    if not report.warning:
        return "-"
    why = [] if report.gold_accuracy_difference.significantly_positive else ["overall"]
    if report.misleading_suggestions:
        why.append("misled on " + ",".join(str(label) for label in report.misleading_suggestions))
    return "WARN " + "; ".join(why)


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
    parser.add_argument(
        "--rule",
        default="estimate",
        choices=list(RULES),
        help="auto-accept: the estimated precision at or above --threshold, or its 95%% lower bound (lower_bound, "
        "the service's default)",
    )
    parser.add_argument(
        "--dynamic",
        default="2,5,0.95",
        help="start,maximum,target of the dynamic rule for the items auto-accept+dynamic does not accept",
    )
    parser.add_argument("--min-items", type=int, default=400, help="smallest dataset the budget is judged on")
    parser.add_argument(
        "--seeds", default="3,7,11,23,42", help="comma-separated; the budget is judged over them together"
    )
    parser.add_argument("--dataset", action="append", help="only this dataset folder (repeatable); default all")
    args = parser.parse_args(argv)
    policy = AcceptancePolicy(
        threshold=args.threshold,
        min_evidence=args.min_evidence,
        min_score=args.min_score,
        confirmations=args.confirmations,
        audit_share=args.audit,
        rule=args.rule,
    )
    folders = dataset_folders()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    start, maximum, target = args.dynamic.split(",")
    dynamic_rule = (int(start), int(maximum), float(target))
    print(
        f"auto-accept: {policy}, evidence {args.evidence};"
        f" review: follow {args.follow}, blind {args.blind}; seeds {args.seeds}"
    )
    header = (
        f"{'seed':<5}{'dataset':<14}{'model':<10}{'fixed 3':>15}{'dynamic':>15}{'review':>15}{'auto-accept':>15}"
        f"{'saved':>7}{'Δacc':>7}{'accept+dyn':>15}{'saved':>7}{'Δacc':>7}"
        "  anchoring: simulated / measured [95% CI] warn"
    )
    print(header)
    print("-" * len(header))
    work = [(args, policy, dynamic_rule, [f for f in folders if not args.dataset or f.name in args.dataset], seed)
            for seed in seeds]  # fmt: skip
    with ProcessPoolExecutor(max_workers=min(len(seeds), os.cpu_count() or 1)) as executor:
        runs = list(executor.map(run_seed, *zip(*work, strict=True)))
    for seed, rows in zip(seeds, runs, strict=True):
        for row in rows:
            print(f"{seed:<5}{row['line']}")
    print(
        "columns: seed; human answers used and accuracy on gold; saved and Δacc against fixed 3: auto-accept (items "
        f"it does not accept get 3 answers) and accept+dyn (they get the dynamic rule {args.dynamic})"
    )
    return judge([row for rows in runs for row in rows], seeds, args.min_items)


def run_seed(args, policy: AcceptancePolicy, dynamic_rule, folders: list[Path], seed: int) -> list[dict]:
    """Every strategy on every dataset and model for one seed: a printed line and the figures the budget reads."""
    rows = []
    for folder in folders:
        data = load(folder)
        items, workers, labels, n_items, n_workers, n_classes, gold = data
        rng = np.random.default_rng(seed)
        pool = pools(items, workers, n_items, rng)
        n3, a3 = fixed(data, pool, 3)
        nd, ad, _ = dynamic(data, pool, 2, 5, 0.95)
        # Truth for the simulation: gold where published, otherwise what all the published answers say.
        truth = gold.copy()
        everyone = aggregate(np.arange(items.size), items, workers, labels, n_items, n_workers, n_classes)
        truth[truth < 0] = everyone.label[truth < 0]
        for kind in MODELS:
            model_rng = np.random.default_rng(seed + MODELS.index(kind) + 1)
            model_label, score = simulate_model(kind, truth, n_classes, model_rng)
            nr, ar, report, pull = review(data, pool, model_label, args.follow, args.blind, model_rng)
            # Both acceptance runs see the same campaign gold and arrival order.
            campaign_seed = int(model_rng.integers(2**32))
            na, aa, _share = auto_accept(
                data, pool, model_label, score, policy, np.random.default_rng(campaign_seed), args.batches,
                evidence=args.evidence,
            )  # fmt: skip
            nad, aad, _share = auto_accept(
                data, pool, model_label, score, policy, np.random.default_rng(campaign_seed), args.batches,
                evidence=args.evidence, dynamic_rule=dynamic_rule,
            )  # fmt: skip
            d = report.agreement_difference
            measured = f"{d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}]" if d.estimate is not None else "n/a"
            line = (
                f"{folder.name:<14}{kind:<10}{n3:>8} {a3:.3f}{nd:>8} {ad:.3f}{nr:>8} {ar:.3f}{na:>8} {aa:.3f}"
                f"{1 - na / n3:>7.0%}{aa - a3:>+7.3f}{nad:>8} {aad:.3f}{1 - nad / n3:>7.0%}{aad - a3:>+7.3f}"
                f"  {pull:+.3f} / {measured} {warned(report)}"
            )
            rows.append(
                {"dataset": folder.name, "items": n_items, "kind": kind, "line": line, "warning": report.warning,
                 "fixed": (n3, a3), "auto-accept": (na, aa), "accept+dyn": (nad, aad)}
            )  # fmt: skip
    return rows


def judge(rows: list[dict], seeds: list[int], min_items: int) -> int:
    """The budget per dataset of at least `min_items` items, over the seeds: with the good model, answers saved
    against fixed 3 over all seeds together at least 40% and the mean accuracy difference at least -0.01; the
    biased model warned on every seed. Seeds move a dataset's figures by several points (which items arrive
    first, which are gold, the model's draws), so one seed alone does not judge the method."""
    print(f"\nbudget over seeds {', '.join(map(str, seeds))}, datasets of >= {min_items} items:")
    verdict = {"auto-accept": True, "accept+dyn": True}
    for dataset in dict.fromkeys(row["dataset"] for row in rows if row["items"] >= min_items):
        good = [row for row in rows if row["dataset"] == dataset and row["kind"] == "good"]
        biased = [row for row in rows if row["dataset"] == dataset and row["kind"] == "biased"]
        flagged = sum(row["warning"] for row in biased)
        parts = []
        for name in verdict:
            saved = 1 - sum(row[name][0] for row in good) / sum(row["fixed"][0] for row in good)
            delta = float(np.mean([row[name][1] - row["fixed"][1] for row in good]))
            ok = saved >= 0.4 and delta >= -0.01 and flagged == len(biased)
            verdict[name] &= ok
            parts.append(f"{name} saved {saved:.0%}, Δacc {delta:+.3f}")
        print(f"  {dataset:<14}good: {'; '.join(parts)}; biased flagged on {flagged} of {len(biased)} seeds")
    for name, ok in verdict.items():
        print(f"budget (good: saved >= 40%, Δacc >= -0.01; biased: warned on every seed), {name}: "
              f"{'met' if ok else 'NOT met'}")  # fmt: skip
    return 0 if verdict["auto-accept"] else 1  # the budget is auto-accept's; accept+dyn for comparison


if __name__ == "__main__":
    sys.exit(main())
