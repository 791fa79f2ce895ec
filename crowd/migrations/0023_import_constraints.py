"""What an import writes a million times is checked once, where a check is needed at all.

- Microtask entries keep no foreign-key constraints (the reasons are on MicroTaskItem in crowd/models.py).
- The foreign keys of items and microtasks are checked as each statement ends, not at commit. Django makes every
  foreign key on PostgreSQL DEFERRABLE INITIALLY DEFERRED, which queues one check per new row until commit; firing
  that queue cost more than the same checks as the statements end (docs/performance.md). Nothing writes these rows
  out of order (campaigns exist before their items and microtasks), so checking them at once loses nothing. Other
  databases have no deferred constraints here.
"""

import django.db.models.deletion
from django.db import migrations, models

IMMEDIATE = (
    ("crowd_item", "campaign_id"),
    ("crowd_item", "expert_by_id"),  # null on import, but every inserted row still queues its check
    ("crowd_microtask", "campaign_id"),
)
FIND = """SELECT con.conname FROM pg_constraint con
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)
WHERE con.conrelid = %s::regclass AND con.contype = 'f' AND a.attname = %s"""


def _set(schema_editor, timing: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, column in IMMEDIATE:
            cursor.execute(FIND, [table, column])
            for (name,) in cursor.fetchall():
                cursor.execute(f'ALTER TABLE {table} ALTER CONSTRAINT "{name}" {timing}')


def immediate(apps, schema_editor) -> None:
    _set(schema_editor, "NOT DEFERRABLE")


def deferred(apps, schema_editor) -> None:
    _set(schema_editor, "DEFERRABLE INITIALLY DEFERRED")


class Migration(migrations.Migration):
    dependencies = [
        ("crowd", "0022_api_key_last_used"),
    ]

    operations = [
        migrations.AlterField(
            model_name="microtaskitem",
            name="item",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="crowd.item",
            ),
        ),
        migrations.AlterField(
            model_name="microtaskitem",
            name="microtask",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="entries",
                to="crowd.microtask",
            ),
        ),
        migrations.RunPython(immediate, deferred),
    ]
