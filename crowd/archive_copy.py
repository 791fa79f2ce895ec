"""The archive's three big tables (items, answers, results) written by PostgreSQL itself: one
`COPY (SELECT …) TO STDOUT (FORMAT csv)` per campaign, its bytes copied straight into the zip member. The same rows
as the Python writers in crowd/archive_contents.py (which other databases use), without turning each value into a
Python object and back: reading a million answers this way costs about what a bare COPY of the table costs.

Workers' pseudonyms go in as two arrays (worker ids and their pseudonyms, one HMAC per worker in Python); text that
came from people is made inert for spreadsheets in SQL exactly as config/spreadsheet.py does it.
"""

from typing import IO

from django.db import connection

from crowd.models import Answer, Campaign
from workers.pseudonyms import pseudonyms


def available() -> bool:
    return connection.vendor == "postgresql"


def _safe(text: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (config/spreadsheet.py)."""
    return f"CASE WHEN {text} ~ '^[-=+@\\t\\r]' THEN '''' || {text} ELSE {text} END"


def _json(value: str) -> str:
    """A JSON value as its CSV cell: a string as itself (made safe), null as empty, anything else as JSON text."""
    inner = f"({value} #>> '{{}}')"
    return f"CASE jsonb_typeof({value}) WHEN 'string' THEN {_safe(inner)} WHEN 'null' THEN NULL ELSE {value}::text END"


def _iso(moment: str) -> str:
    return f"to_char({moment} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def _bool(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 'true' ELSE 'false' END"


ANSWERS_SQL = f"""
COPY (
  SELECT a.id, a.campaign_id, a.item_id, {_safe("i.external_id")}, p.name, {_json("a.label")}, {_iso("a.created_at")},
         a.seconds_on_task, {_bool("a.is_gold")},
         CASE WHEN a.is_gold THEN {_bool("a.label = i.gold")} END,
         {_json("i.prelabel")}, {_safe("NULLIF(i.prelabel_model, '')")}, i.prelabel_score
  FROM crowd_answer a
  JOIN crowd_item i ON i.id = a.item_id
  LEFT JOIN unnest(%s::bigint[], %s::text[]) AS p(worker_id, name) ON p.worker_id = a.worker_id
  WHERE a.campaign_id = %s
  ORDER BY a.id
) TO STDOUT (FORMAT csv)
"""

ITEMS_SQL = f"""
COPY (
  SELECT i.campaign_id, i.id, {_safe("i.external_id")}, {_safe("i.language")}, i.data::text, {_json("i.prelabel")},
         {_safe("i.prelabel_model")}, i.prelabel_score, {_json("i.gold")}, i.redundancy, i.status,
         {_iso("i.created_at")}
  FROM crowd_item i WHERE i.campaign_id = %s ORDER BY i.id
) TO STDOUT (FORMAT csv)
"""

# decided_by as crowd/exports.py::decided_by has it: the member's email, else username, for a hand-set label.
RESULTS_SQL = f"""
COPY (
  SELECT i.campaign_id, i.id, {_safe("i.external_id")}, {_json("i.result_label")}, i.confidence, i.answer_count,
         i.status, i.votes::text, {_safe("i.language")},
         CASE WHEN i.expert_label IS NULL OR jsonb_typeof(i.expert_label) = 'null' THEN NULL
              WHEN u.id IS NULL THEN '(deleted account)'
              ELSE {_safe("COALESCE(NULLIF(u.email, ''), u.username)")} END
  FROM crowd_item i LEFT JOIN workers_user u ON u.id = i.expert_by_id
  WHERE i.campaign_id = %s AND i.gold IS NULL ORDER BY i.id
) TO STDOUT (FORMAT csv)
"""


def _copy(handle: IO[bytes], sql: str, params: list) -> int:
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with cursor.copy(sql, params) as copy:
            for chunk in copy:
                handle.write(chunk)
        return max(cursor.rowcount, 0)


def copy_answers(handle: IO[bytes], campaign: Campaign) -> int:
    workers = list(Answer.objects.filter(campaign=campaign).values_list("worker_id", flat=True).distinct().order_by())
    names = pseudonyms(campaign.organization_id, workers)
    ids = list(names)
    return _copy(handle, ANSWERS_SQL, [ids, [names[i] for i in ids], campaign.id])


def copy_items(handle: IO[bytes], campaign: Campaign) -> int:
    return _copy(handle, ITEMS_SQL, [campaign.id])


def copy_results(handle: IO[bytes], campaign: Campaign) -> int:
    return _copy(handle, RESULTS_SQL, [campaign.id])
