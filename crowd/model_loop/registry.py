"""The organization's models (LabelModel): registered when their pre-labels arrive, listed for its members.

A model's pre-labels name it in `Item.prelabel_model` as `name@version` (or just `name` when an import gave no
version). Aggregation keys its annotators by that string, so each version is estimated apart; the rows here say
what kind of model each string is (imported, an ML backend, the built-in baseline).
"""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from crowd.models import LabelModel
from crowd.selectors import Actor

NAME_MAX = 200
VERSION_MAX = 100


def model_key(name: str, version: str) -> str:
    """The string items and annotators carry for this model version (at most 200 characters, like the column)."""
    version = version[:VERSION_MAX]
    if not version:
        return name[:NAME_MAX]
    return f"{name[: NAME_MAX - len(version) - 1]}@{version}"


def model_key_split(key: str) -> tuple[str, str]:
    """(name, version) of a pre-label's model string: the version is what follows the last `@`, if anything."""
    name, at, version = key.rpartition("@")
    if not at or not name or not version:
        return key, ""
    return name, version[:VERSION_MAX]


def label_model_register(*, organization_id: int, name: str, version: str, kind: str) -> LabelModel:
    """The organization's row for this model version, created the first time it is seen. A version already known
    keeps the kind it was first registered with. Safe to call concurrently (the unique constraint decides)."""
    name, version = name[:NAME_MAX], version[:VERSION_MAX]
    try:
        with transaction.atomic():
            model, _ = LabelModel.objects.get_or_create(
                organization_id=organization_id, name=name, version=version, defaults={"kind": kind}
            )
    except IntegrityError:  # another transaction created it between our read and our insert
        model = LabelModel.objects.get(organization_id=organization_id, name=name, version=version)
    return model


def label_models_register_imported(*, organization_id: int, keys: Iterable[str]) -> int:
    """Register the distinct models an import's pre-labels name (kind `imported`): one statement per model, not
    per row. Returns how many distinct models were named."""
    distinct = {key for key in keys if key}
    for key in sorted(distinct):
        name, version = model_key_split(key)
        label_model_register(organization_id=organization_id, name=name, version=version, kind=LabelModel.Kind.IMPORTED)
    return len(distinct)


# --- Reads, scoped to who asks -----------------------------------------------------------------------------------


def label_models_for_actor(*, actor: Actor, organization_id: int | None = None) -> QuerySet[LabelModel]:
    """The models of the actor's organizations (or of the one named, if the actor belongs to it), unordered."""
    organizations = list(actor.roles)
    if organization_id is not None:
        organizations = [organization_id] if organization_id in actor.roles else []
    return LabelModel.objects.filter(organization_id__in=organizations)


def label_models_by_key(*, organization_id: int, keys: Iterable[str]) -> dict[str, LabelModel]:
    """The organization's registered models among these pre-label strings, by string (one query)."""
    wanted = {key: model_key_split(key) for key in keys if key}
    if not wanted:
        return {}
    names = {name for name, _ in wanted.values()}
    rows = LabelModel.objects.filter(organization_id=organization_id, name__in=names)
    found = {model.key: model for model in rows}
    return {key: found[key] for key in wanted if key in found}
