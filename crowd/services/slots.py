"""SQL expressions that keep a microtask's slot counters and `is_open` flag consistent in one UPDATE."""

from django.db import connection
from django.db.models import Case, F, Q, Value, When
from django.db.models.fields import BooleanField


def open_after(*, target_delta: int) -> Case:
    """`is_open` as it will be after the target rises by `target_delta` (evaluated on the old row), for
    bulk updates of many microtasks; one microtask's counters move through `slots_move`."""
    still_open = Q(target__gt=F("active_count") + F("done_count") - target_delta)
    return Case(When(still_open, then=Value(True)), default=Value(False), output_field=BooleanField())


def slots_move(*, microtask_id: int, active_delta: int = 0, done_delta: int = 0) -> None:
    """Move one microtask's slot counters in one statement; `is_open` follows from the new values (both sides
    of SET read the old row). Plain SQL: this runs on every claim, submit, release and expiry."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE crowd_microtask SET active_count = active_count + %s, done_count = done_count + %s,"
            " is_open = (target > active_count + done_count + %s) WHERE id = %s",
            [active_delta, done_delta, active_delta + done_delta, microtask_id],
        )
