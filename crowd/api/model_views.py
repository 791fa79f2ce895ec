"""Models in the loop over the API: the organization's models, a campaign's ML backends and baseline runs."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crowd import selectors
from crowd.api import model_serializers as ms
from crowd.api.filters import BackendFilter, BaselineRunFilter, LabelModelFilter
from crowd.api.paging import cursor_page, cursor_parameters, filter_parameters, filtered, page_serializer
from crowd.api.views import _optional_int
from crowd.model_loop.backends import (
    backend_create,
    backend_delete,
    backend_for_campaign,
    backend_update,
    backends_for_campaign,
)
from crowd.model_loop.baseline_jobs import baseline_runs_for_campaign
from crowd.model_loop.registry import label_models_for_actor
from crowd.selectors import Actor

MODELS_PAGE = 100
MODELS_PAGE_MAX = 1000
BASELINE_PAGE = 20
BASELINE_PAGE_MAX = 200

_UNHEALTHY = OpenApiResponse(
    description='`backend_unhealthy`: GET <url>/health did not answer 200 with `{"status": "UP"}` (or the '
    "address may not be called: private addresses are refused unless the deployment allows them); nothing was "
    "stored. `validation_error` for a bad field."
)
_BACKEND_EXAMPLE = OpenApiExample(
    "A backend",
    value={
        "id": 3,
        "campaign": 12,
        "name": "triage-bert",
        "url": "https://ml.example.org/triage",
        "active": True,
        "batch_size": 20,
        "timeout": 10.0,
        "model_version": "v3",
        "supports_training": True,
        "status": "ok",
        "last_error": "",
        "last_error_at": None,
        "last_success_at": "2026-12-04T10:00:00Z",
        "items_predicted": 950,
        "items_rejected": 4,
        "last_trained_at": None,
        "created_at": "2026-12-04T09:58:00Z",
    },
    response_only=True,
)


def _validated(serializer_class, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class LabelModelListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("organization", int, description="Only this organization's (one you belong to)."),
            *filter_parameters(LabelModelFilter),
            *cursor_parameters(MODELS_PAGE, MODELS_PAGE_MAX),
        ],
        responses=ms.LabelModelPageSerializer,
        operation_id="models_list",  # a page is one object: spectacular would name it `retrieve`
        description="The models of your organizations in id order, one row per version: imported with pre-labels "
        "(`imported`), ML backends (`backend`), the built-in baseline (`builtin`). Each takes part in aggregation "
        "as an annotator named by its `key`.",
    )
    def get(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        models = label_models_for_actor(actor=actor, organization_id=_optional_int(request, "organization"))
        return Response(
            cursor_page(
                request,
                filtered(request, models, LabelModelFilter),
                lambda rows: ms.LabelModelSerializer(rows, many=True).data,
                page=MODELS_PAGE,
                page_max=MODELS_PAGE_MAX,
            )
        )


class CampaignBackendsView(APIView):
    @extend_schema(
        parameters=[*filter_parameters(BackendFilter), *cursor_parameters()],
        responses=page_serializer("BackendPageSerializer", ms.BackendSerializer(many=True)),
        operation_id="campaigns_backends_list",  # a page is one object: spectacular would name it `retrieve`
        examples=[
            OpenApiExample(
                "A page",
                value={"results": [_BACKEND_EXAMPLE.value], "next_cursor": None, "next": None},
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        """The campaign's ML backends in id order with their state: `ok` or `failing` with the last error, counts
        of items predicted and of predictions rejected (a label outside the campaign's)."""
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        backends = filtered(request, backends_for_campaign(campaign=campaign), BackendFilter)
        return Response(cursor_page(request, backends, lambda rows: ms.BackendSerializer(rows, many=True).data))

    @extend_schema(
        request=ms.BackendInSerializer,
        responses={201: ms.BackendSerializer, 400: _UNHEALTHY},
        examples=[
            OpenApiExample(
                "Register", value={"url": "https://ml.example.org/triage", "batch_size": 20}, request_only=True
            ),
            _BACKEND_EXAMPLE,
        ],
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        """Register a Label Studio-compatible ML backend. Its /health is checked first; once saved, the campaign's
        items without a pre-label are sent to its /predict in the background (docs/models.md)."""
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        data = _validated(ms.BackendInSerializer, request.data)
        backend = backend_create(
            campaign_id=campaign.id,
            url=data["url"],
            name=data.get("name", ""),
            active=data.get("active", True),
            batch_size=data.get("batch_size"),
            timeout=data.get("timeout"),
        )
        return Response(ms.BackendSerializer(backend).data, status=status.HTTP_201_CREATED)


class CampaignBackendDetailView(APIView):
    @extend_schema(responses=ms.BackendSerializer, examples=[_BACKEND_EXAMPLE])
    def get(self, request: Request, campaign_id: int, backend_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        return Response(ms.BackendSerializer(backend_for_campaign(campaign=campaign, backend_id=backend_id)).data)

    @extend_schema(request=ms.BackendPatchSerializer, responses={200: ms.BackendSerializer, 400: _UNHEALTHY})
    def patch(self, request: Request, campaign_id: int, backend_id: int) -> Response:
        """Change `url`, `active`, `batch_size` or `timeout`. A new URL, or switching the backend on, checks its
        /health first (400, nothing changed, when it fails)."""
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        backend = backend_for_campaign(campaign=campaign, backend_id=backend_id)
        data = _validated(ms.BackendPatchSerializer, request.data)
        return Response(ms.BackendSerializer(backend_update(backend_id=backend.id, fields=data)).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, campaign_id: int, backend_id: int) -> Response:
        """Remove the backend; the pre-labels it wrote stay."""
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        backend_delete(backend_id=backend_for_campaign(campaign=campaign, backend_id=backend_id).id)
        return Response(status=status.HTTP_204_NO_CONTENT)


BaselineSerializer = page_serializer(
    "BaselineSerializer",
    ms.BaselineRunSerializer(many=True),
    enabled=serializers.BooleanField(help_text="The campaign's `baseline` switch."),
)


class CampaignBaselineView(APIView):
    @extend_schema(
        parameters=[
            *filter_parameters(BaselineRunFilter),
            *cursor_parameters(BASELINE_PAGE, BASELINE_PAGE_MAX),
        ],
        responses=BaselineSerializer,
        examples=[
            OpenApiExample(
                "Two runs of five",
                value={
                    "enabled": True,
                    "results": [
                        {
                            "version": 5,
                            "model": "crowdloop-baseline@5",
                            "trained_on": 400,
                            "held_out": 100,
                            "accuracy": 0.87,
                            "items_labelled": 1200,
                            "created_at": "2026-12-04T10:00:00Z",
                        },
                        {
                            "version": 4,
                            "model": "crowdloop-baseline@4",
                            "trained_on": 320,
                            "held_out": 80,
                            "accuracy": 0.84,
                            "items_labelled": 1280,
                            "created_at": "2026-12-04T09:00:00Z",
                        },
                    ],
                    "next_cursor": 31,
                    "next": "https://crowdloop.example/api/v1/campaigns/12/baseline/?limit=2&cursor=31",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        """The built-in baseline: the campaign's `baseline` switch (`enabled`) and a page of its training runs,
        newest first, each with its accuracy on the held-out 20% of the items it learned from and how many open
        items it labelled."""
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        runs = filtered(request, baseline_runs_for_campaign(campaign=campaign), BaselineRunFilter)
        page = cursor_page(
            request,
            runs,
            lambda rows: ms.BaselineRunSerializer(rows, many=True).data,
            descending=True,  # runs are numbered in the order they are made: newest first is highest id first
            page=BASELINE_PAGE,
            page_max=BASELINE_PAGE_MAX,
        )
        return Response({"enabled": campaign.baseline, **page})
