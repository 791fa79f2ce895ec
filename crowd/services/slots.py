"""SQL expressions that keep a microtask's slot counters and `is_open` flag consistent in one UPDATE."""

from django.db.models import Case, F, Q, Value, When
from django.db.models.fields import BooleanField


def open_after(*, active_delta: int = 0, done_delta: int = 0, target_delta: int = 0) -> Case:
    """`is_open` as it will be after the counters move by the given deltas (evaluated on the old row)."""
    still_open = Q(target__gt=F("active_count") + F("done_count") + (active_delta + done_delta - target_delta))
    return Case(When(still_open, then=Value(True)), default=Value(False), output_field=BooleanField())


def slot_update(*, active_delta: int = 0, done_delta: int = 0) -> dict[str, object]:
    """Keyword arguments for `MicroTask.objects.filter(...).update(**slot_update(...))`."""
    fields: dict[str, object] = {"is_open": open_after(active_delta=active_delta, done_delta=done_delta)}
    if active_delta:
        fields["active_count"] = F("active_count") + active_delta
    if done_delta:
        fields["done_count"] = F("done_count") + done_delta
    return fields
