"""The bundled demo: who and what `load_demo` creates, shared with `demo_banner` so the two never disagree.

Demo passwords are public on purpose (they are printed on every `make run`); never load this into a
production database.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crowd.import_formats import jsonl_records

ITEMS_PATH = Path(__file__).with_name("items.jsonl")

ORGANIZATION_NAME = "Demo Health NGO"


@dataclass(frozen=True)
class DemoUser:
    username: str
    email: str
    password: str


@dataclass(frozen=True)
class DemoWorker(DemoUser):
    country: str  # ISO 3166-1 alpha-2
    languages: tuple[tuple[str, int], ...]  # (BCP 47 tag, level 1-5)


COORDINATOR = DemoUser(username="coordinator", email="coordinator@demo.crowdloop.org", password="demo-coordinator")

# Three workers whose languages overlap differently, so routing by language is visible in the demo.
WORKERS = (
    DemoWorker(
        username="amina",
        email="amina@demo.crowdloop.org",
        password="demo-amina",
        country="KE",
        languages=(("sw", 5), ("en", 4)),
    ),
    DemoWorker(
        username="jean",
        email="jean@demo.crowdloop.org",
        password="demo-jean",
        country="CD",
        languages=(("fr", 5), ("en", 3)),
    ),
    DemoWorker(
        username="grace",
        email="grace@demo.crowdloop.org",
        password="demo-grace",
        country="UG",
        languages=(("en", 5),),
    ),
)

LABELS = (
    {"value": "symptom", "text": "Reports a symptom"},
    {"value": "question", "text": "Asks for health information"},
    {"value": "other", "text": "Other (greeting, thanks, off-topic)"},
)

INSTRUCTIONS = """\
These are SMS messages sent to a community-health hotline. Read each message and choose what it is:

- Reports a symptom: the sender, or someone they care for, is ill, hurt or has a symptom
  ("my child has a fever"), even if the message also asks what to do.
- Asks for health information: a question about services, opening hours, vaccines, medicines or
  prevention, with no illness reported.
- Other: greetings, thanks, wrong numbers and anything not about health.

Messages are in English, Kiswahili or French; you only see messages in your languages.
"""

CAMPAIGN_NAME = "SMS triage (demo)"


def campaign_fields() -> dict[str, Any]:
    """The campaign's settings as `campaign_create` takes them (a fresh dict: the service may keep it)."""
    return {
        "name": CAMPAIGN_NAME,
        "instructions": INSTRUCTIONS,
        "task_type": "single_choice",
        "labels": [dict(label) for label in LABELS],
        "redundancy": 3,
        "max_redundancy": 5,
        "target_confidence": 0.9,
        "items_per_task": 5,
        "reward": "0.10",
        "currency": "USD",
        "estimated_seconds": 40,
        "languages": ["en", "sw", "fr"],
        "gold_ratio": 0.1,
        "mode": "label",
        "lease_seconds": 900,
    }


# Launches reserve their budget from deposited funds (DESIGN.md), so the demo organization starts with more
# than the campaign can cost at its maximum redundancy (40 microtasks x 0.10 USD x 5 = 20 USD).
DEPOSIT = {"amount": "100.00", "currency": "USD", "reference": "demo-funds"}


def items_rows(path: Path = ITEMS_PATH) -> list[dict[str, Any]]:
    """The bundled items as import rows (the JSONL import format, one object per line)."""
    # The product's own JSONL parser, so the demo file goes through exactly what an upload would.
    with path.open(encoding="utf-8") as stream:
        return list(jsonl_records(stream))
