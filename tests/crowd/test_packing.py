"""Packing items into microtasks: at launch, and for items imported into a live campaign (PostgreSQL packs in SQL,
other databases through the ORM; both must give the same microtasks)."""

from collections import defaultdict

import pytest

from crowd.models import Campaign, Item, MicroTask, MicroTaskItem
from crowd.services.campaigns import campaign_launch
from crowd.services.imports import items_import
from tests import factories

pytestmark = pytest.mark.django_db


def _rows(prefix: str, languages: list[str], count: int) -> list[dict]:
    return [
        {"external_id": f"{prefix}{i}", "data": {"text": f"t{i}"}, "language": languages[i % len(languages)]}
        for i in range(count)
    ]


def _packing(campaign: Campaign) -> dict[int, list[tuple[int, int]]]:
    """microtask id -> [(position, item id)] in position order."""
    packs: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for microtask_id, position, item_id in MicroTaskItem.objects.filter(microtask__campaign=campaign).values_list(
        "microtask_id", "position", "item_id"
    ):
        packs[microtask_id].append((position, item_id))
    return {key: sorted(value) for key, value in packs.items()}


def _check(campaign: Campaign, size: int) -> None:
    items = {item.id: item for item in Item.objects.filter(campaign=campaign, gold__isnull=True)}
    packs = _packing(campaign)
    packed = [item_id for entries in packs.values() for _, item_id in entries]
    assert sorted(packed) == sorted(items)  # every item once
    by_language: dict[str, list[tuple[int, list[int]]]] = defaultdict(list)
    for microtask in MicroTask.objects.filter(campaign=campaign):
        entries = packs[microtask.id]
        ids = [item_id for _, item_id in entries]
        assert [position for position, _ in entries] == list(range(len(ids)))
        assert ids == sorted(ids) and 1 <= len(ids) <= size
        assert {items[i].language.split("-")[0] for i in ids} == {microtask.language}
        assert microtask.target == campaign.redundancy and microtask.is_open
        batch = {items[i].external_id[0] for i in ids}
        assert len(batch) == 1  # one packing never mixes with another's items
        by_language[f"{microtask.language}/{batch.pop()}"].append((microtask.id, ids))
    for runs in by_language.values():
        runs.sort()
        flat = [item_id for _, ids in runs for item_id in ids]
        assert flat == sorted(flat)  # microtask ids follow item order
        assert all(len(ids) == size for _, ids in runs[:-1])  # only a language's last run of a packing may be short


@pytest.mark.parametrize("size", [1, 3])
def test_launch_and_live_imports_pack_runs_by_language_in_item_order(size):
    campaign = factories.campaign(languages=["sw", "ha", "en"], items_per_task=size, redundancy=2)
    items_import(campaign_id=campaign.id, rows=_rows("a", ["sw", "ha-NG", "en", "sw-KE"], 11))
    items_import(campaign_id=campaign.id, rows=[{"external_id": "g", "data": {"text": "g"}, "gold": "pos"}])
    campaign = campaign_launch(campaign_id=campaign.id)
    _check(campaign, size)
    first = set(_packing(campaign))

    items_import(campaign_id=campaign.id, rows=_rows("b", ["ha", "sw"], 7))  # live: packed at once

    _check(campaign, size)
    assert first <= set(_packing(campaign))  # earlier microtasks untouched
    assert not MicroTaskItem.objects.filter(item__gold__isnull=False).exists()
    assert set(Item.objects.filter(campaign=campaign, gold__isnull=True).values_list("redundancy", flat=True)) == {2}
