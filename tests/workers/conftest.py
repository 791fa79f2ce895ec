import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Sign-in throttles count per address in the cache; every test here starts from zero, as a new minute would."""
    cache.clear()
