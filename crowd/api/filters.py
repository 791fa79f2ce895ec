"""django-filter FilterSets for the API's lists (crowd/api/paging.py applies them and documents them in the schema)."""

import django_filters
from django.utils.translation import gettext_lazy

from crowd.models import Campaign


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
