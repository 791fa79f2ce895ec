"""django-filter FilterSets for the API's lists (crowd/api/paging.py applies them and documents them in the schema)."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy

from crowd.models import Annotator, Appeal, Campaign, ImportJob, Item, WorkerBlock
from crowd.pseudonymous import worker_from_reference


class IdFilter(django_filters.NumberFilter):
    """An object's id: a whole number, so `1.5` is a 400 rather than a quiet match on id 1 (django-filter's numbers
    are decimals, which the database would truncate)."""

    field_class = forms.IntegerField


class CreatedFilterSet(django_filters.FilterSet):
    """`created_after` and `created_before` on the rows' `created_at`."""

    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label=gettext_lazy("Created at or after (ISO 8601).")
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label=gettext_lazy("Created before (ISO 8601).")
    )


class CampaignFilter(CreatedFilterSet):
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices, label=gettext_lazy("Only this status."))
    visibility = django_filters.ChoiceFilter(
        choices=Campaign.Visibility.choices, label=gettext_lazy("Only this visibility.")
    )
    name = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Name contains (any case)."))

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


# The coordinators' lists: appeals, blocks, background imports, annotators, unsure items.


class AppealFilter(CreatedFilterSet):
    status = django_filters.ChoiceFilter(choices=Appeal.Status.choices, label=gettext_lazy("Only this status."))
    campaign = IdFilter(
        field_name="assignment__campaign_id", label=gettext_lazy("Only appeals of work in this campaign (its id).")
    )

    class Meta:
        model = Appeal
        fields = ["status", "campaign", "created_after", "created_before"]


class BlockFilter(CreatedFilterSet):
    worker = django_filters.CharFilter(
        method="by_worker", label=gettext_lazy("Only this worker (the pseudonym, or the id enrollment returned).")
    )

    class Meta:
        model = WorkerBlock
        fields = ["worker", "created_after", "created_before"]

    def by_worker(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # A pseudonym belongs to one organization: look it up in each organization the blocks belong to (one).
        found = Q(pk__in=[])
        for organization_id in queryset.order_by().values_list("organization_id", flat=True).distinct():
            worker_id = worker_from_reference(organization_id=organization_id, reference=value)
            if worker_id is not None:
                found |= Q(organization_id=organization_id, worker_id=worker_id)
        return queryset.filter(found)


class ImportJobFilter(CreatedFilterSet):
    status = django_filters.ChoiceFilter(choices=ImportJob.Status.choices, label=gettext_lazy("Only this status."))

    class Meta:
        model = ImportJob
        fields = ["status", "created_after", "created_before"]


class AnnotatorFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(
        choices=Annotator.Kind.choices, label=gettext_lazy("Only workers or only models.")
    )

    class Meta:
        model = Annotator
        fields = ["kind"]


class UnsureFilter(django_filters.FilterSet):
    language = django_filters.CharFilter(label=gettext_lazy("Only items in this language (a BCP 47 tag)."))

    class Meta:
        model = Item
        fields = ["language"]
