"""The task page on a phone: answer groups named by item, errors tied to inputs, time left, a hook for a script."""

import base64
import hashlib
import re

import pytest

from crowd.models import Answer, Assignment
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def leased(client):
    user, _ = factories.worker(languages=(("sw", 5), ("en", 4)))
    client.force_login(user)
    campaign = factories.campaign(launch=True, items=2, items_per_task=2)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    return client, assignment


def test_task_page_shows_time_left_with_its_expiry_and_an_inline_icon(leased):
    client, assignment = leased
    page = client.get(f"/work/assignments/{assignment.id}/").content.decode()
    assert 'id="lease-time-left"' in page
    assert f'data-expires-at="{assignment.expires_at.isoformat()}"' in page
    assert '<link rel="icon" href="data:image/svg+xml' in page  # no extra request for a favicon
    assert 'aria-invalid="true"' not in page and "autofocus" not in page


def test_task_page_missing_answer_is_tied_to_its_input_and_focused(leased):
    client, assignment = leased
    first, second = sorted(assignment.entries.values_list("item_id", flat=True))
    response = client.post(f"/work/assignments/{assignment.id}/", {f"item-{first}": "neg", "then": "next"})
    assert response.status_code == 400
    page = response.content.decode()
    assert f'<p class="error" id="item-{second}-error">' in page
    assert page.count(f'aria-describedby="item-{second}-error"') == 2  # both choices of the unanswered item
    assert page.count('aria-invalid="true"') == 2
    assert page.count("autofocus") == 1  # the first choice of the missing item, so the page scrolls there
    assert f'aria-describedby="item-{first}-error"' not in page
    assert not Answer.objects.exists()


def test_the_task_script_is_allowed_by_its_hash_so_a_page_swapped_in_by_it_keeps_working(leased):
    """The script writes the next task's page into the document, which keeps the first response's policy and nonce;
    the policy also names the script's hash, computed from what the page really carries."""
    client, assignment = leased
    response = client.get(f"/work/assignments/{assignment.id}/")
    page = response.content.decode()
    script = re.search(r'<script nonce="[^"]+">(.*?)</script>', page, flags=re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in response["Content-Security-Policy"]
