"""The client in docs/api-client.md, run as published against a live server: create, import, fund, launch, poll
results with ETag (the second poll is a 304), follow cursor pages, and ride out 429s by waiting Retry-After."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from crowd.services.organizations import api_key_create, organization_ensure

DOC = Path(settings.BASE_DIR) / "docs" / "api-client.md"


def _example() -> dict:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    namespace: dict = {"__name__": "api_client_example"}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


@pytest.mark.django_db(transaction=True)
def test_published_client_runs_against_a_live_server(live_server):
    organization, owner = organization_ensure(name="Health NGO", owner_email="owner@ngo.example")
    key = api_key_create(organization_id=organization.id, created_by_id=owner.id)
    example = _example()
    waits: list[int] = []

    def sleep(seconds: int) -> None:
        # Instead of waiting out the window, end it: the live server shares this process's cache.
        waits.append(seconds)
        cache.clear()

    cache.clear()
    rates = {"api_key": "4/min", "worker": "4/min", "user": "4/min", "anon": "4/min"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        outcome = example["run"](example["Crowdloop"](live_server.url, key, sleep=sleep))
    cache.clear()

    assert outcome == {
        "imported": 150,
        "status": "active",
        "results": 150,  # two pages of results, followed by their cursors
        "unchanged": True,
        "campaigns": ["Clinic feedback"],
    }
    assert waits and all(1 <= wait <= 60 for wait in waits)  # 429s came, with Retry-After, and were waited out


def test_published_client_raises_the_error_shape(live_server, db):
    example = _example()
    client = example["Crowdloop"](live_server.url, "clo_not-a-key")
    with pytest.raises(example["ApiError"]) as raised:
        client.request("GET", "/api/v1/campaigns/")
    assert (raised.value.status, raised.value.code) == (401, "authentication_failed")
