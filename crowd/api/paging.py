"""Cursor pages and django-filter filters for the API's lists, one shape for all of them:
`{"results": [...], "next_cursor": <id or null>, "next": <url or null>}`.

The cursor is the id of the last row of the page: stable while rows are added (no row is shown twice or skipped, as
offsets would), and one indexed range scan per page whatever its depth.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django_filters import FilterSet
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from crowd.exceptions import ValidationFailed

PAGE = 100
PAGE_MAX = 1000


def cursor_parameters(page: int = PAGE, page_max: int = PAGE_MAX) -> list[OpenApiParameter]:
    return [
        OpenApiParameter("cursor", int, description="The `next_cursor` of the previous page."),
        OpenApiParameter("limit", int, description=f"Page size (default {page}, max {page_max})."),
    ]


def page_serializer(name: str, item: serializers.Serializer) -> type[serializers.Serializer]:
    """The schema of a page of `item`s."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item,
            "next_cursor": serializers.IntegerField(allow_null=True, help_text="Pass as `cursor` for the next page."),
            "next": serializers.URLField(allow_null=True, help_text="The next page's address, or null at the end."),
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
    page: int = PAGE,
    page_max: int = PAGE_MAX,
) -> dict[str, Any]:
    """One page of `queryset` in id order (newest first when `descending`), after the `cursor` id."""
    cursor = _int(request, "cursor", 0, 0, None)
    limit = _int(request, "limit", page, 1, page_max)
    if descending:
        queryset = queryset.order_by("-id")
        if cursor:
            queryset = queryset.filter(id__lt=cursor)
    else:
        queryset = queryset.order_by("id").filter(id__gt=cursor)
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = rows[-1].id if more and rows else None
    next_url = None
    if next_cursor is not None:
        query = request.query_params.copy()
        query["cursor"] = str(next_cursor)
        query["limit"] = str(limit)
        next_url = request.build_absolute_uri("?" + query.urlencode())
    return {"results": render(rows), "next_cursor": next_cursor, "next": next_url}


def filter_parameters(filterset_class: type[FilterSet]) -> list[OpenApiParameter]:
    """The FilterSet's filters as documented query parameters (the API views are plain APIViews, which
    drf-spectacular does not ask django-filter about)."""
    from django_filters import BooleanFilter, ChoiceFilter, NumberFilter

    parameters = []
    for name, spec in filterset_class.base_filters.items():
        kind: Any = str
        if isinstance(spec, BooleanFilter):
            kind = bool
        elif isinstance(spec, NumberFilter):
            kind = int
        enum = [value for value, _label in spec.extra["choices"]] if isinstance(spec, ChoiceFilter) else None
        parameters.append(OpenApiParameter(name, kind, description=str(spec.label or ""), enum=enum))
    return parameters
