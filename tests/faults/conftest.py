"""Fault tests run real outside processes (redis-server, Celery worker, gunicorn) against the test database."""

import shutil
from urllib.parse import quote

import pytest
from django.db import connection

from tests.faults.servers import RedisServer


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/faults/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def redis_server():
    """A redis-server of this test's own, on a free port: free to stop, restart or lose."""
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed (Debian: apt-get install redis-server)")
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def database_url(transactional_db) -> str:
    """The test database, for service processes: they see what the test committed, and the test sees theirs."""
    if connection.vendor != "postgresql":
        pytest.skip("fault tests drive PostgreSQL-backed service processes")
    s = connection.settings_dict
    user = quote(s["USER"]) + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{user}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
