"""Budget guard: the worker pages stay under 8 KB gzip with no external requests (sizes do not vary)."""

import re

import pytest

from bench.page_weight import BUDGET_BYTES, measure

pytestmark = pytest.mark.django_db


def test_worker_pages_fit_the_budget_and_request_nothing_else(client):
    sizes = measure()
    assert set(sizes) == {"task", "home", "earnings"}
    assert all(0 < size <= BUDGET_BYTES for size in sizes.values()), sizes


def test_task_page_makes_no_external_requests(client):
    from crowd.models import Assignment
    from tests import factories

    user, _ = factories.worker(languages=(("en", 4),))
    client.force_login(user)
    campaign = factories.campaign(launch=True, items=2, items_per_task=2)
    client.post("/work/next/", {"campaign": campaign.id})
    page = client.get(f"/work/assignments/{Assignment.objects.get(worker=user).id}/").content.decode()
    # Nothing the browser would fetch by itself: no scripts, stylesheets or fonts from elsewhere.
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(https?:)?//', page)
    assert "<script src" not in page and 'rel="stylesheet"' not in page
