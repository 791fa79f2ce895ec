"""django-filter FilterSets for the API's lists (crowd/api/paging.py applies them and documents them in the schema)."""

import django_filters
from django.utils.translation import gettext_lazy

from crowd.models import Campaign, Item


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices, label=gettext_lazy("Only this status."))
    visibility = django_filters.ChoiceFilter(
        choices=Campaign.Visibility.choices, label=gettext_lazy("Only this visibility.")
    )
    name = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Name contains (any case)."))
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label=gettext_lazy("Created at or after (ISO 8601).")
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label=gettext_lazy("Created before (ISO 8601).")
    )

    class Meta:
        model = Campaign
        fields = ["status", "visibility", "name", "created_after", "created_before"]


class ResultFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Item.Status.choices, label=gettext_lazy("Only items in this status."))
    confidence_below = django_filters.NumberFilter(
        field_name="confidence", lookup_expr="lt", label=gettext_lazy("Confidence below this (0 to 1).")
    )
    confidence_at_least = django_filters.NumberFilter(
        field_name="confidence", lookup_expr="gte", label=gettext_lazy("Confidence of at least this (0 to 1).")
    )
    decided = django_filters.BooleanFilter(
        field_name="expert_label", lookup_expr="isnull", exclude=True, label=gettext_lazy("Decided by a coordinator.")
    )

    class Meta:
        model = Item
        fields = ["status", "confidence_below", "confidence_at_least", "decided"]
