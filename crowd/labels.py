"""Label validation shared by imports (gold, pre-labels) and submissions (answers)."""

import json
import unicodedata
from typing import Any

from django.utils.translation import gettext as _

from crowd.models import Campaign


class RowError(Exception):
    """One bad field of one row or answer; collected and reported with its position. `message` is in the language
    active when it was raised (an upload's preview page shows it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# Unicode categories that draw nothing: controls, format characters (zero-width space and joiners, BOM,
# direction marks) and separators. A free-text answer made only of these says nothing.
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def has_visible_text(value: str) -> bool:
    return any(unicodedata.category(char) not in _INVISIBLE for char in value)


class LabelChecker:
    """Validates a label against the campaign's task type and label set."""

    def __init__(self, campaign: Campaign):
        self.task_type = campaign.task_type
        self.values = set(campaign.label_values())

    def check(self, value: Any, field_name: str) -> Any:
        if self.task_type == Campaign.TaskType.FREE_TEXT:
            if not isinstance(value, str) or not has_visible_text(value):
                raise RowError(field_name, _("Must be non-empty text."))
            return value
        if self.task_type == Campaign.TaskType.MULTI_CHOICE:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise RowError(field_name, _("Must be a list of labels."))
            unknown = [v for v in value if self.values and v not in self.values]
            if unknown:
                raise RowError(
                    field_name, _("Unknown label(s): %(labels)s.") % {"labels": ", ".join(map(repr, unknown))}
                )
            return sorted(set(value))
        if not isinstance(value, str):
            raise RowError(field_name, _("Must be one label (a string)."))
        if self.values and value not in self.values:
            raise RowError(
                field_name,
                _("Unknown label %(label)s; expected one of %(labels)s.")
                % {"label": repr(value), "labels": sorted(self.values)},
            )
        return value


def label_key(label: Any, task_type: str) -> str:
    """Canonical class key. Free text: trimmed, case-folded, inner whitespace collapsed."""
    if task_type == Campaign.TaskType.FREE_TEXT and isinstance(label, str):
        return " ".join(label.split()).casefold()
    if isinstance(label, list):
        return json.dumps(sorted(label))
    return label if isinstance(label, str) else json.dumps(label, sort_keys=True)
