"""Worker page weight: bytes over the wire (gzip level 6, as a typical server sends) of the task page and the
worker's other pages, HTML with its own inline CSS and JS, excluding the item's image. Prints each size and
its ratio to the 8 KB budget. Byte sizes do not vary between runs, so tests/crowd/test_page_weight.py guards them.

Run from the project root: `python bench/page_weight.py` (creates and drops its own test database).
"""

from __future__ import annotations

import gzip
import os
import sys
from pathlib import Path

BUDGET_BYTES = 8 * 1024

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def gzip_size(body: bytes) -> int:
    """Bytes the body takes gzip-compressed at level 6."""
    return len(gzip.compress(body, compresslevel=6, mtime=0))


def measure() -> dict[str, int]:
    """Leases one two-item microtask for a new worker and returns {page: gzip bytes} (needs a database)."""
    from django.test import Client

    from crowd.models import Assignment
    from tests import factories

    user, _ = factories.worker(languages=(("sw", 5), ("en", 4)))
    client = Client()
    client.force_login(user)
    campaign = factories.campaign(launch=True, items=4, items_per_task=2, instructions="Read each message. " * 10)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user, status=Assignment.Status.ACTIVE)
    pages = {
        "task": f"/work/assignments/{assignment.id}/",
        "home": "/work/",
        "earnings": "/work/earnings/",
    }
    return {name: gzip_size(client.get(path).content) for name, path in pages.items()}


def main() -> None:
    import django
    from django.db import connection
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        sizes = measure()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    for name, size in sizes.items():
        print(f"{name:10s} {size:6d} B gzip   {size / BUDGET_BYTES:.2f} of the 8 KB budget")


if __name__ == "__main__":
    main()
