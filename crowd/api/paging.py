"""Cursor pages and django-filter filters for the API's lists, one shape for all of them:
`{"results": [...], "next_cursor": <id or null>, "next": <url or null>}`.

The cursor is the id of the last row of the page: stable while rows are added (no row is shown twice or skipped, as
offsets would), and one indexed range scan per page whatever its depth. A list ordered by a field first (the least
sure items first, say) pages in (field, id) order instead, and its cursor is text carrying both, `<value>:<id>`: the
last row's value as it was when the page was read, so a row whose value changes since cannot shift the next page.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from django_filters import FilterSet
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from crowd.exceptions import ValidationFailed
from crowd.query_params import whole_number

PAGE = 100
PAGE_MAX = 1000


def cursor_parameters(
    page: int = PAGE, page_max: int = PAGE_MAX, *, keyed: bool = False, alias: str | None = None
) -> list[OpenApiParameter]:
    """`keyed`: the list pages by a field and id (`cursor_page`'s `key`), so its cursor is text. `alias`: an older
    name of the (id) cursor, still read."""
    parameters = [
        OpenApiParameter("cursor", str if keyed else int, description="The `next_cursor` of the previous page."),
        OpenApiParameter("limit", int, description=f"Page size (default {page}, max {page_max})."),
    ]
    if alias is not None:
        parameters.append(
            OpenApiParameter(alias, int, description="The older name of `cursor`, still read when `cursor` is absent.")
        )
    return parameters


def page_serializer(
    name: str, item: serializers.Serializer, *, keyed: bool = False, **extra: serializers.Field
) -> type[serializers.Serializer]:
    """The schema of a page of `item`s (`keyed`: a text cursor, see `cursor_page`), with any `extra` fields."""
    cursor_field = serializers.CharField if keyed else serializers.IntegerField
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item,
            "next_cursor": cursor_field(allow_null=True, help_text="Pass as `cursor` for the next page."),
            "next": serializers.URLField(allow_null=True, help_text="The next page's address, or null at the end."),
            **extra,
        },
    )


def _int(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    # The same checks as the other query parameters (crowd/api/views.py), imported lazily: views import this module.
    from crowd.api.views import _int_param

    return _int_param(request, name, default, low, high)


def filtered(request: Request, queryset: QuerySet, filterset_class: type[FilterSet]) -> QuerySet:
    """The queryset narrowed by the query's filters; a filter value that does not parse is a 400 naming it."""
    filterset = filterset_class(request.query_params, queryset=queryset, request=request)
    if not filterset.is_valid():
        fields = {name: "; ".join(str(e) for e in errors) for name, errors in filterset.errors.items()}
        raise ValidationFailed(_("Invalid filter: %(names)s.") % {"names": ", ".join(sorted(fields))}, fields=fields)
    return filterset.qs


def cursor_page(
    request: Request,
    queryset: QuerySet,
    render: Callable[[Iterable[Any]], list[dict[str, Any]]],
    *,
    descending: bool = False,
    key: str | None = None,
    page: int = PAGE,
    page_max: int = PAGE_MAX,
    alias: str | None = None,
) -> dict[str, Any]:
    """One page of `queryset` in id order (newest first when `descending`), after the `cursor` id. Rows are model
    instances or named tuples (`values_list(..., named=True)`) holding `id`.

    With `key`, the name of a model field that is never null in `queryset`, the order is (key, id) and the cursor is
    the text `<value>:<id>` of the last row shown (see the module's docstring). `alias` is an older name of the id
    cursor, read when `cursor` is absent (`next` then carries `cursor` alone)."""
    limit = _int(request, "limit", page, 1, page_max)
    sign = "-" if descending else ""
    after = "lt" if descending else "gt"
    if key is None:
        name = alias if alias is not None and "cursor" not in request.query_params else "cursor"
        cursor = _int(request, name, 0, 0, None)
        queryset = queryset.order_by(f"{sign}id")
        if cursor or not descending:
            queryset = queryset.filter(**{f"id__{after}": cursor})
    else:
        queryset = queryset.order_by(f"{sign}{key}", f"{sign}id")
        position = _key_cursor(request, queryset.model, key)
        if position is not None:
            value, last_id = position
            queryset = queryset.filter(Q(**{f"{key}__{after}": value}) | Q(**{key: value, f"id__{after}": last_id}))
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor: int | str | None = None
    if more and rows:
        last = rows[-1]
        next_cursor = last.id if key is None else f"{last._meta.get_field(key).value_to_string(last)}:{last.id}"
    next_url = None
    if next_cursor is not None:
        query = request.query_params.copy()
        if alias is not None:
            query.pop(alias, None)
        query["cursor"] = str(next_cursor)
        query["limit"] = str(limit)
        next_url = request.build_absolute_uri("?" + query.urlencode())
    return {"results": render(rows), "next_cursor": next_cursor, "next": next_url}


def _key_cursor(request: Request, model: type[Model], key: str) -> tuple[Any, int] | None:
    """The (value, id) a keyed cursor names; a 400 naming `cursor` for text no page handed out."""
    raw = request.query_params.get("cursor")
    if raw in (None, ""):
        return None
    value, _colon, last_id = raw.rpartition(":")  # the id has no colon; a value (a timestamp, say) may
    try:
        if whole_number(last_id) is None:
            raise ValidationError("id")
        return model._meta.get_field(key).to_python(value), int(last_id)
    except ValidationError:
        raise ValidationFailed(
            _("`cursor` must be the `next_cursor` of an earlier page."),
            fields={"cursor": _("Pass `next_cursor` as it is.")},
        ) from None


def filter_parameters(filterset_class: type[FilterSet]) -> list[OpenApiParameter]:
    """The FilterSet's filters as documented query parameters (the API views are plain APIViews, which
    drf-spectacular does not ask django-filter about)."""
    from django import forms
    from django_filters import BooleanFilter, ChoiceFilter, IsoDateTimeFilter, NumberFilter
    from drf_spectacular.types import OpenApiTypes

    parameters = []
    for name, spec in filterset_class.base_filters.items():
        kind: Any = str
        if isinstance(spec, BooleanFilter):
            kind = bool
        elif isinstance(spec, NumberFilter):  # django-filter's numbers are decimals; an id's field takes integers
            kind = float if issubclass(spec.field_class, (forms.DecimalField, forms.FloatField)) else int
        elif isinstance(spec, IsoDateTimeFilter):
            kind = OpenApiTypes.DATETIME
        enum = [value for value, _label in spec.extra["choices"]] if isinstance(spec, ChoiceFilter) else None
        parameters.append(OpenApiParameter(name, kind, description=str(spec.label or ""), enum=enum))
    return parameters
