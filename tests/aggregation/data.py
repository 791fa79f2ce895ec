"""Test data for the aggregation tests: the shared real datasets (named by CROWDLOOP_DATASETS) and the seeded
synthetic crowds of bench/synthetic.py."""

import importlib.util
import os
from pathlib import Path

import pytest

from crowd.aggregation.encoding import read_answers, read_gold

ROOT = Path(__file__).resolve().parents[2]
DATASETS = Path(os.environ["CROWDLOOP_DATASETS"]) if os.environ.get("CROWDLOOP_DATASETS") else None
NAMES = ("bluebirds", "d_jn-product", "d_sentiment", "s4_Dog", "s4_Relevance", "snow_rte", "snow_temp")

# CI (.ci/run) always sets CROWDLOOP_DATASETS, so there a missing folder fails loudly; a developer's machine
# without the datasets skips these with the reason shown.
needs_data = pytest.mark.skipif(DATASETS is None, reason="set CROWDLOOP_DATASETS to the shared datasets folder")


def load(name: str):
    """Integer-coded answers and gold (-1 where unknown), as the CLI codes them."""
    answers = read_answers(DATASETS / name / "answers.csv")
    gold = read_gold(DATASETS / name / "gold.csv", answers.tasks, answers.classes)
    n_items, n_workers, n_classes = len(answers.tasks), len(answers.worker_ids), len(answers.classes)
    return answers.items, answers.workers, answers.labels, n_items, n_workers, n_classes, gold.labels


def synthetic():
    """bench/synthetic.py as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("synthetic", ROOT / "bench" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
