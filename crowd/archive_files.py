"""The files of an organization archive and their columns, declared once: the archive's writers
(crowd/archive_contents.py) take their headers from here, and the README.md inside the zip is written from here, so
the two cannot drift (a test checks every CSV header against the README)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ArchiveFile:
    name: str
    description: str
    columns: dict[str, str]  # column (or JSON key) -> what it holds; empty for files described as a whole


ANSWER_COLUMN_TEXT = {
    "answer": "The answer's id.",
    "campaign": "The campaign's id (campaigns.jsonl).",
    "item": "The item's id (items.csv).",
    "external_id": "The item's id in your own data, as imported.",
    "annotator": "The worker's pseudonym in this organization (w_ and 26 characters; see below).",
    "label": "The label the worker gave (JSON text for a list or an object).",
    "created_at": "When the answer was stored (ISO 8601, UTC).",
    "seconds_on_task": "Seconds the worker spent on the microtask the answer belongs to.",
    "gold": "true when the item was a gold (check) item.",
    "correct": "For gold items: true when the label equals the gold label; empty otherwise.",
    "prelabel": "The item's pre-label (a model's label) when it had one.",
    "prelabel_model": "The model that made the pre-label.",
    "prelabel_score": "The model's score for its pre-label.",
}

FILES = [
    ArchiveFile(
        "organization.json",
        "The organization: `id`, `name`, `created_at`, and `archived_at` (when this archive was built).",
        {},
    ),
    ArchiveFile(
        "campaigns.jsonl",
        "One JSON object a line per campaign: every setting as stored (name, instructions, task_type, labels, "
        "redundancy, max_redundancy, target_confidence, items_per_task, reward_minor and currency, "
        "estimated_seconds, languages, required_skills, lease_seconds, gold_ratio, visibility, priority, the routing "
        "and approval rules, status, created_at, launched_at) and `translations` "
        "(`{language: {instructions, labels: {value: text}}}`). Money is in minor units (cents).",
        {},
    ),
    ArchiveFile(
        "items.csv",
        "Every item of every campaign, gold items included.",
        {
            "campaign": "The campaign's id.",
            "item": "The item's id.",
            "external_id": "The item's id in your own data.",
            "language": "The item's language (BCP 47), if given.",
            "data": "The item's data as imported (JSON).",
            "prelabel": "A model's label for the item, if imported with one.",
            "prelabel_model": "The model that made it.",
            "prelabel_score": "The model's score.",
            "gold": "The known label of a gold item (empty for others).",
            "redundancy": "How many answers the item was to collect at the end.",
            "status": "open or complete.",
            "created_at": "When the item was imported.",
        },
    ),
    ArchiveFile("answers.csv", "Every raw answer, in id order.", ANSWER_COLUMN_TEXT),
    ArchiveFile(
        "results.csv",
        "Each non-gold item's final result, as the results export gives it.",
        {
            "campaign": "The campaign's id.",
            "item": "The item's id.",
            "external_id": "The item's id in your own data.",
            "label": "The final label (Dawid-Skene's, or a coordinator's decision).",
            "confidence": "The posterior probability of that label (0 to 1).",
            "answers": "How many answers the item has.",
            "status": "open or complete.",
            "votes": "Answers per label (JSON).",
            "language": "The item's language.",
            "decided_by": "The member who set the final label by hand, if one did.",
        },
    ),
    ArchiveFile(
        "annotators.csv",
        "Each campaign's annotators (workers and models) from its last aggregation.",
        {
            "campaign": "The campaign's id.",
            "kind": "worker or model.",
            "annotator": "A worker's pseudonym in this organization, or the model's name.",
            "accuracy": "Estimated share of right answers (0 to 1).",
            "answers": "Answers the estimate rests on.",
            "confusion": "Confusion matrix (JSON list of rows: true label by given label, in the campaign's label "
            "order), as Dawid-Skene estimated it.",
            "updated_at": "When it was estimated.",
        },
    ),
    ArchiveFile(
        "ledger.csv",
        "Every ledger entry of the organization: deposits, rewards, bonuses, fair-pay top-ups, adjustments and "
        "payouts. Append-only: a change of status is a pair of entries.",
        {
            "entry": "The entry's id.",
            "created_at": "When it was recorded.",
            "kind": "deposit, reward, bonus, fair_pay_topup, adjustment or payout.",
            "status": "The balance it moves: pending, available, payout_pending, paid, or the organization's funds.",
            "amount": "Decimal amount (negative leaves that balance).",
            "currency": "ISO 4217.",
            "worker": "The worker's pseudonym (empty for the organization's own entries).",
            "campaign": "The campaign's id, if any.",
            "assignment": "The assignment's id, if any.",
            "payout_batch": "The payout batch's id, if any (payouts.csv).",
            "reference": "Your reference (deposits).",
            "reason": "Why it was recorded.",
        },
    ),
    ArchiveFile(
        "payouts.csv",
        "Payout batches: each worker's share is in ledger.csv (kind payout, with the batch's id).",
        {
            "batch": "The batch's id.",
            "reference": "Your reference.",
            "status": "exported, paid or cancelled.",
            "workers": "Workers in the batch.",
            "total": "Decimal total.",
            "currency": "ISO 4217.",
            "threshold": "Smallest balance paid.",
            "created_at": "When it was made.",
            "decided_at": "When it was confirmed paid or cancelled.",
        },
    ),
    ArchiveFile(
        "fairness/campaign-<id>.json",
        "Each campaign's fairness report: effective hourly pay (median, p10, p25, share below the floor, by "
        "country), unpaid time, cost to date and forecast, in minor units.",
        {},
    ),
    ArchiveFile(
        "labelstudio/campaign-<id>.json",
        "Each campaign's items as Label Studio tasks: pre-labels and aggregated labels as predictions, gold as "
        "ground truth.",
        {},
    ),
    ArchiveFile(
        "labelstudio/campaign-<id>-config.xml",
        "The Label Studio labeling config that matches those tasks.",
        {},
    ),
]
COLUMNS = {f.name: list(f.columns) for f in FILES if f.columns}

PSEUDONYM_TEXT = (
    "Workers appear only by pseudonym: `w_` followed by 26 characters, derived with a keyed hash from this "
    "organization and the worker. A worker has the same pseudonym in everything this organization receives "
    "(exports, API, this archive) and a different one in every other organization; it cannot be turned back into "
    "a person without the service's key. The workers your organization enrolled itself are mapped to their "
    "pseudonyms by the pool listing (`GET /api/v1/workers/`)."
)


def readme() -> str:
    lines = [
        "# Organization archive",
        "",
        "Everything this organization holds in Crowdloop, as it was when the archive was built. CSV files are UTF-8 "
        "with a header row; text that a spreadsheet would run as a formula starts with an apostrophe. Times are ISO "
        "8601 in UTC.",
        "",
        PSEUDONYM_TEXT,
        "",
        "## Files",
    ]
    for spec in FILES:
        lines += ["", f"### {spec.name}", "", spec.description]
        if spec.columns:
            lines += ["", "| column | meaning |", "| --- | --- |"]
            lines += [f"| `{column}` | {text} |" for column, text in spec.columns.items()]
    return "\n".join(lines) + "\n"
