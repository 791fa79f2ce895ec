"""What campaigns ask of workers, for the profile's suggestions. `workers` never imports `crowd`: the crowd app
registers a provider here when it starts (crowd/apps.py)."""

from collections.abc import Callable

_providers: dict[str, Callable[[], list[str]]] = {}


def register(kind: str, provider: Callable[[], list[str]]) -> None:
    _providers[kind] = provider


def wanted(kind: str) -> list[str]:
    """e.g. wanted("skills"): the skill slugs running campaigns require; [] when nothing is registered."""
    provider = _providers.get(kind)
    return provider() if provider else []
