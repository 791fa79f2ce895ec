"""django-filter FilterSets for the API's lists (crowd/api/paging.py applies them and documents them in the schema)."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy

from crowd.models import (
    Annotator,
    Appeal,
    BaselineRun,
    Campaign,
    ImportJob,
    Item,
    LabelModel,
    MLBackend,
    WebhookDelivery,
    WebhookSubscription,
    WorkerBlock,
)
from crowd.pseudonymous import worker_from_reference
from crowd.query_params import boolean_value
from crowd.webhooks.events import EVENT_TYPES
from workers.models import User, WorkerLanguage


class IdFilter(django_filters.NumberFilter):
    """An object's id: a whole number, so `1.5` is a 400 rather than a quiet match on id 1 (django-filter's numbers
    are decimals, which the database would truncate)."""

    field_class = forms.IntegerField


class _StrictBooleanField(forms.NullBooleanField):
    """`true`/`false` (or `1`/`0`, any case); anything else is an error, not a quietly ignored filter."""

    widget = forms.TextInput  # the default select widget turns any unknown value into "unknown" before we see it

    def to_python(self, value):
        try:
            return boolean_value(value)
        except ValueError:
            raise forms.ValidationError(gettext_lazy("Must be true or false."), code="invalid") from None

    def validate(self, value):
        pass


class BooleanFilter(django_filters.BooleanFilter):
    """django-filter's boolean filter reads `active=maybe` as no filter at all; a client that mistyped it would get
    every row and believe them filtered. This one answers 400 naming the filter."""

    field_class = _StrictBooleanField


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
    decided = BooleanFilter(
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


# Webhooks, delivery logs, models, ML backends, baseline runs, the pool of enrolled workers.


class WebhookFilter(django_filters.FilterSet):
    active = BooleanFilter(label=gettext_lazy("Only webhooks that are on (or off)."))
    event = django_filters.ChoiceFilter(
        choices=[(name, name) for name in EVENT_TYPES],
        method="filter_event",
        label=gettext_lazy("Only webhooks subscribed to this event."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["active", "event"]

    def filter_event(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(events__contains=[value])  # JSON array containment: one of the subscribed names


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=WebhookDelivery.Status.choices, label=gettext_lazy("Only deliveries in this state.")
    )

    class Meta:
        model = WebhookDelivery
        fields = ["status"]


class LabelModelFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=LabelModel.Kind.choices, label=gettext_lazy("Only models of this kind."))
    name = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Name contains (any case)."))

    class Meta:
        model = LabelModel
        fields = ["kind", "name"]


class BackendFilter(django_filters.FilterSet):
    active = BooleanFilter(label=gettext_lazy("Only backends that are on (or off)."))
    status = django_filters.ChoiceFilter(
        choices=MLBackend.Status.choices, label=gettext_lazy("Only backends in this state.")
    )

    class Meta:
        model = MLBackend
        fields = ["active", "status"]


class BaselineRunFilter(CreatedFilterSet):
    accuracy_below = django_filters.NumberFilter(
        field_name="accuracy", lookup_expr="lt", label=gettext_lazy("Held-out accuracy below this (0 to 1).")
    )
    accuracy_at_least = django_filters.NumberFilter(
        field_name="accuracy", lookup_expr="gte", label=gettext_lazy("Held-out accuracy of at least this (0 to 1).")
    )

    class Meta:
        model = BaselineRun
        fields = ["accuracy_below", "accuracy_at_least", "created_after", "created_before"]


class WorkerFilter(django_filters.FilterSet):
    """On the users the organization enrolled: the pool pages by the user id it shows. `created` is the enrolment."""

    created_after = django_filters.IsoDateTimeFilter(
        field_name="worker_profile__created_at",
        lookup_expr="gte",
        label=gettext_lazy("Created at or after (ISO 8601)."),
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="worker_profile__created_at", lookup_expr="lt", label=gettext_lazy("Created before (ISO 8601).")
    )
    username = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Username contains (any case)."))
    language = django_filters.CharFilter(
        method="filter_language", label=gettext_lazy("Only workers with this language code.")
    )

    class Meta:
        model = User
        fields = ["username", "language", "created_after", "created_before"]

    def filter_language(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # EXISTS, not a join: codes differing only in case would repeat a worker on the page.
        spoken = WorkerLanguage.objects.filter(profile__user=OuterRef("pk"), code__iexact=value)
        return queryset.filter(Exists(spoken))
