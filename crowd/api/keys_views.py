"""Organization API keys through the API, for the organization's owners: issue (the key is shown once), list (with a
non-secret prefix, never the key), revoke, and hand a key over to another owner. The people page
(crowd/coordinator/people_views.py) calls the same services."""

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crowd import selectors
from crowd.api.filters import BooleanFilter
from crowd.api.paging import cursor_page, cursor_parameters, filter_parameters, filtered, page_serializer
from crowd.exceptions import PermissionDenied, ValidationFailed
from crowd.models import ApiKey, Membership
from crowd.query_params import whole_number
from crowd.selectors import Actor, roles_at_least
from crowd.services.members import api_key_reassign, api_key_revoke
from crowd.services.organizations import api_key_issue


class KeyCreatorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class KeySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    organization = serializers.IntegerField(source="organization_id")
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    prefix = serializers.CharField(help_text="The key's first characters: not secret, enough to recognise it.")
    created_by = KeyCreatorSerializer(help_text="The member the key acts for; it stops working if they leave.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="To the minute.")
    revoked_at = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField(help_text="Whether the key works now.")


class KeyCreatedSerializer(KeySerializer):
    key = serializers.CharField(help_text="The key itself, shown in this answer only: store it now.")


class KeyCreateSerializer(serializers.Serializer):
    organization = serializers.IntegerField(required=False, help_text="Needed when you own several organizations.")
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.VIEWER)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="In the future; null: no end.")


class KeyReassignSerializer(serializers.Serializer):
    user = serializers.IntegerField(help_text="An owner of the key's organization.")


KeysPageSerializer = page_serializer("KeysPageSerializer", KeySerializer(many=True))


def _active_q() -> Q:
    """Keys that work now, as a query: the rule of crowd/api/auth.py (and `selectors.api_keys_active`)."""
    holds = Q()
    for role in Membership.Role.values:
        creator_holds_role = Membership.objects.filter(
            organization_id=OuterRef("organization_id"),
            user_id=OuterRef("created_by_id"),
            user__is_active=True,
            role__in=roles_at_least(role),
        )
        holds |= Q(role=role) & Exists(creator_holds_role)
    not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    return Q(revoked_at__isnull=True) & not_expired & holds


class KeyFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Membership.Role.choices, label=gettext_lazy("Only keys of this role."))
    active = BooleanFilter(method="filter_active", label=gettext_lazy("Only keys that work (or not)."))
    name = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Name contains (any case)."))

    class Meta:
        model = ApiKey
        fields = ["role", "active", "name"]

    def filter_active(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(_active_q()) if value else queryset.exclude(_active_q())


def _bodies(keys: list[ApiKey]) -> list[dict[str, Any]]:
    active = selectors.api_keys_active(keys)
    for key in keys:
        key.active = active[key.id]
    return KeySerializer(keys, many=True).data


def _owned_organization(actor: Actor, requested: int | None) -> int:
    """The organization named, or the actor's only owned one."""
    if requested is not None:
        actor.require_role(requested, (Membership.Role.OWNER,))
        return requested
    owned = [organization for organization, role in actor.roles.items() if role == Membership.Role.OWNER]
    if len(owned) == 1:
        return owned[0]
    if not owned:
        raise PermissionDenied(_("Only owners of an organization manage its API keys."))
    raise ValidationFailed(
        _("You own several organizations: name one."), fields={"organization": _("This field is required.")}
    )


def _organization_param(request: Request, actor: Actor) -> int | None:
    raw = request.query_params.get("organization")
    if raw in (None, ""):
        return None
    if whole_number(raw) is None:
        raise ValidationFailed(
            _("`%(name)s` must be an integer.") % {"name": "organization"},
            fields={"organization": _("Must be an integer.")},
        )
    return int(raw)


KEY_EXAMPLE = {
    "id": 7,
    "organization": 1,
    "name": "nightly export",
    "role": "viewer",
    "prefix": "clo_Xy3kQ9aB",
    "created_by": {"id": 2, "username": "amina"},
    "created_at": "2026-01-05T09:00:00Z",
    "expires_at": "2026-07-05T09:00:00Z",
    "last_used_at": None,
    "revoked_at": None,
    "active": True,
}


class KeyListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("organization", int, description="Needed when you own several organizations."),
            *filter_parameters(KeyFilter),
            *cursor_parameters(),
        ],
        responses={200: KeysPageSerializer},
        description="Owners only. The organization's keys, newest first, without the keys themselves.",
    )
    def get(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        organization_id = _owned_organization(actor, _organization_param(request, actor))
        keys = filtered(request, selectors.api_keys_for_owner(actor=actor, organization_id=organization_id), KeyFilter)
        return Response(cursor_page(request, keys, _bodies, descending=True))

    @extend_schema(
        request=KeyCreateSerializer,
        responses={201: KeyCreatedSerializer},
        description="Owners only. Issues a key acting with `role` for you: the key is in this answer only (only its "
        "digest is stored). It stops working when revoked, at `expires_at`, or when you leave the organization or "
        "lose that role, unless it was handed to another owner first.",
        examples=[
            OpenApiExample(
                "A viewer key for a year",
                value={"name": "nightly export", "role": "viewer", "expires_at": "2026-07-05T09:00:00Z"},
                request_only=True,
            ),
            OpenApiExample(
                "Issued", value={**KEY_EXAMPLE, "key": "clo_Xy3kQ9aB…"}, response_only=True, status_codes=["201"]
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        body = KeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        organization_id = _owned_organization(actor, data.get("organization"))
        api_key, key = api_key_issue(
            organization_id=organization_id,
            created_by_id=request.user.id,
            name=data["name"],
            role=data["role"],
            expires_at=data.get("expires_at"),
        )
        api_key = selectors.api_key_for_owner(actor=actor, key_id=api_key.id)
        response = Response({**_bodies([api_key])[0], "key": key}, status=status.HTTP_201_CREATED)
        # Shown once: no cache along the way may keep it.
        response["Cache-Control"] = "no-store"
        return response


class KeyDetailView(APIView):
    @extend_schema(request=None, responses={204: None}, description="Owners only. Revokes the key at once.")
    def delete(self, request: Request, key_id: int) -> Response:
        key = selectors.api_key_for_owner(actor=Actor.for_request(request), key_id=key_id)
        api_key_revoke(organization_id=key.organization_id, key_id=key.id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class KeyReassignView(APIView):
    @extend_schema(
        request=KeyReassignSerializer,
        responses={200: KeySerializer},
        description="Owners only. Hands the key to another owner of its organization (`user`): it then keeps "
        "working when its creator leaves. 400 when `user` is not an owner there; 409 for a revoked key.",
    )
    def post(self, request: Request, key_id: int) -> Response:
        actor = Actor.for_request(request)
        key = selectors.api_key_for_owner(actor=actor, key_id=key_id)
        body = KeyReassignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        api_key_reassign(organization_id=key.organization_id, key_id=key.id, user_id=body.validated_data["user"])
        key = selectors.api_key_for_owner(actor=actor, key_id=key.id)
        return Response(_bodies([key])[0])
