"""The organization's data going out: its pool of enrolled workers (the one place their usernames meet their
pseudonyms), every raw answer of a campaign, and the archive of everything it holds."""

from typing import Any

from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crowd import selectors
from crowd.answers_export import ANSWER_FIELDS, answer_bodies, answer_filters, answers_query
from crowd.api.filters import WorkerFilter
from crowd.api.paging import cursor_page, cursor_parameters, filter_parameters, filtered, page_serializer
from crowd.api.views import WorkerEnrollView, _organization_param
from crowd.exceptions import InvalidState, NotFound, PermissionDenied, ValidationFailed
from crowd.models import ArchiveJob, Membership
from crowd.selectors import Actor
from crowd.services.archives import archive_job_create, archive_path
from workers.models import User
from workers.pseudonyms import pseudonym

PAGE, PAGE_MAX = 100, 1000
ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="A bad parameter: the error shape names it in `fields`."),
    403: OpenApiResponse(OpenApiTypes.OBJECT, description="The caller's role does not allow this."),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description="Not in the caller's organizations."),
}
CURSOR = cursor_parameters(PAGE, PAGE_MAX, alias="after")  # `after`: these lists' cursor before `cursor`


class PoolWorkerSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The id enrollment returned (for login links, tokens and blocks).")
    username = serializers.CharField()
    pseudonym = serializers.CharField(help_text="How every other organization-facing output names this worker.")
    languages = serializers.JSONField(help_text='[{"code": "sw", "level": 1-5}]')
    created = serializers.DateTimeField(help_text="When the worker was enrolled.")


PoolPageSerializer = page_serializer("PoolPageSerializer", PoolWorkerSerializer(many=True))


class AnswerSerializer(serializers.Serializer):
    answer = serializers.IntegerField()
    campaign = serializers.IntegerField()
    item = serializers.IntegerField()
    external_id = serializers.CharField()
    annotator = serializers.CharField(help_text="The worker's pseudonym in this organization.")
    label = serializers.JSONField()
    created_at = serializers.DateTimeField()
    seconds_on_task = serializers.FloatField()
    gold = serializers.BooleanField(help_text="The item was a gold (check) item.")
    correct = serializers.BooleanField(allow_null=True, help_text="Gold items: the label equals the gold label.")
    prelabel = serializers.JSONField(allow_null=True)
    prelabel_model = serializers.CharField(allow_null=True)
    prelabel_score = serializers.FloatField(allow_null=True)


AnswerPageSerializer = page_serializer("AnswerPageSerializer", AnswerSerializer(many=True))


class ArchiveJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    organization = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ArchiveJob.Status.values)
    campaigns_total = serializers.IntegerField()
    campaigns_done = serializers.IntegerField(help_text="Campaigns whose answers are written.")
    rows_written = serializers.IntegerField()
    size = serializers.IntegerField(help_text="Bytes of the zip, once done.")
    error = serializers.CharField(allow_null=True)
    download = serializers.URLField(allow_null=True, help_text="Where to get the zip, once done (owners only).")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ArchiveRequestSerializer(serializers.Serializer):
    organization = serializers.IntegerField(required=False, help_text="Needed when the caller owns several.")


class WorkerPoolView(WorkerEnrollView):
    """`POST` enrolls a worker (WorkerEnrollView); `GET` lists the workers the organization enrolled."""

    @extend_schema(
        parameters=[
            OpenApiParameter("organization", int, description="Needed when the caller is in several."),
            *filter_parameters(WorkerFilter),
            *CURSOR,
        ],
        responses={200: PoolPageSerializer, **ERRORS},
        description="The workers this organization enrolled itself, in id order: the only place their usernames "
        "are shown next to the pseudonyms every other output uses. Workers who found the organization's public "
        "campaigns on their own are not listed. `next_cursor` is the last worker's `id`.",
    )
    def get(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        if not actor.roles:
            raise PermissionDenied(_("Only organization members can see their workers."))
        organization_id = _organization_param(request, actor)
        # Users, not profiles: the page's `id`, its cursor and `after` are all the user id.
        users = filtered(
            request,
            User.objects.filter(worker_profile__enrolled_by_id=organization_id)
            .select_related("worker_profile")
            .prefetch_related("worker_profile__languages"),
            WorkerFilter,
        )

        def render(rows: list[User]) -> list[dict[str, Any]]:
            return [
                {
                    "id": user.id,
                    "username": user.username,
                    "pseudonym": pseudonym(organization_id, user.id),
                    "languages": [
                        {"code": lang.code, "level": lang.level} for lang in user.worker_profile.languages.all()
                    ],
                    "created": user.worker_profile.created_at,
                }
                for user in rows
            ]

        return Response(cursor_page(request, users, render, page=PAGE, page_max=PAGE_MAX, alias="after"))


ANSWER_FILTERS = [
    OpenApiParameter("annotator", str, description="Only this worker's answers (their pseudonym)."),
    OpenApiParameter("gold", bool, description="true: gold items only; false: the others."),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Answers stored at or after this time."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Answers stored before this time."),
]


class CampaignAnswersView(APIView):
    @extend_schema(
        parameters=[*ANSWER_FILTERS, *CURSOR],
        responses={200: AnswerPageSerializer, **ERRORS},
        description="Every raw answer of the campaign in id order, workers by pseudonym; `next` is the following "
        "page (null at the end), `next_cursor` the last `answer` id. The whole set streams from "
        "`GET …/export/?format=answers` (CSV) or `answers-jsonl`.",
        examples=[
            OpenApiExample(
                "A page",
                response_only=True,
                value={
                    "results": [
                        {
                            "answer": 812,
                            "campaign": 4,
                            "item": 77,
                            "external_id": "msg-0042",
                            "annotator": "w_k3n2q7x4m5b6c7d2e3f4g5h6i7",
                            "label": "urgent",
                            "created_at": "2026-11-30T10:02:11Z",
                            "seconds_on_task": 14.2,
                            "gold": False,
                            "correct": None,
                            "prelabel": "urgent",
                            "prelabel_model": "triage-v2",
                            "prelabel_score": 0.81,
                        }
                    ],
                    "next_cursor": None,
                    "next": None,
                },
            )
        ],
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        answers = answers_query(campaign=campaign, filters=answer_filters(request.query_params, campaign))
        rows = answers.values_list(*ANSWER_FIELDS, named=True)  # named: cursor_page reads each row's `id`
        return Response(
            cursor_page(
                request,
                rows,
                lambda page: list(answer_bodies(campaign, page)),
                page=PAGE,
                page_max=PAGE_MAX,
                alias="after",
            )
        )


def _archive_body(request: Request, job: ArchiveJob) -> dict[str, Any]:
    download = None
    if job.status == ArchiveJob.Status.DONE and job.path:
        download = request.build_absolute_uri(reverse("api-archive-download", args=[job.id]))
    return {
        "id": job.id,
        "organization": job.organization_id,
        "status": job.status,
        "campaigns_total": job.campaigns_total,
        "campaigns_done": job.campaigns_done,
        "rows_written": job.rows_written,
        "size": job.size,
        "error": job.error or None,
        "download": download,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def archive_for_owner(actor: Actor, job_id: int) -> ArchiveJob:
    """An archive of one of the actor's organizations (NotFound otherwise), for its owners (PermissionDenied)."""
    job = ArchiveJob.objects.filter(pk=job_id, organization_id__in=list(actor.roles)).first()
    if job is None:
        raise NotFound(_("No such archive."))
    actor.require_role(job.organization_id, (Membership.Role.OWNER,))
    return job


class ArchiveView(APIView):
    @extend_schema(
        request=ArchiveRequestSerializer,
        responses={
            202: ArchiveJobSerializer,
            409: OpenApiResponse(OpenApiTypes.OBJECT, description="Another archive is being built."),
            **ERRORS,
        },
        description="Owners only. Starts building one zip of everything the organization holds (campaigns, items, "
        "answers, results, annotators, ledger, payouts, fairness reports, Label Studio exports, and a README.md "
        "describing every file and column); follow it at `GET /archive/{id}/`. Workers appear by pseudonym only.",
    )
    def post(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        data = request.data if isinstance(request.data, dict) else {}
        serializer = ArchiveRequestSerializer(data=data)
        if not serializer.is_valid():
            raise ValidationFailed(_("The request is not valid."), fields={"organization": _("An organization id.")})
        organization_id = actor.organization_for_write(serializer.validated_data.get("organization"))
        actor.require_role(organization_id, (Membership.Role.OWNER,))
        job = archive_job_create(organization_id=organization_id, created_by_id=request.user.id)
        job.refresh_from_db()
        return Response(_archive_body(request, job), status=status.HTTP_202_ACCEPTED)


class ArchiveJobView(APIView):
    @extend_schema(responses={200: ArchiveJobSerializer, **ERRORS})
    def get(self, request: Request, job_id: int) -> Response:
        """Owners only: the archive's progress and, once `done`, its `download` address."""
        return Response(_archive_body(request, archive_for_owner(Actor.for_request(request), job_id)))


class ArchiveDownloadView(APIView):
    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            409: OpenApiResponse(OpenApiTypes.OBJECT, description="Not built yet, failed, or already removed."),
            **ERRORS,
        }
    )
    def get(self, request: Request, job_id: int) -> FileResponse:
        """Owners only: the zip, streamed from disk."""
        job = archive_for_owner(Actor.for_request(request), job_id)
        return archive_file_response(job)

    def perform_content_negotiation(self, request: Request, force: bool = False):
        return super().perform_content_negotiation(request, force=True)


def archive_file_response(job: ArchiveJob) -> FileResponse:
    """The job's zip as a streamed download; InvalidState while it is not there."""
    path = archive_path(job) if job.path else None
    if job.status != ArchiveJob.Status.DONE or path is None or not path.exists():
        raise InvalidState(_("This archive is not ready, failed, or has been removed; start a new one."))
    name = f"crowdloop-organization-{job.organization_id}-archive-{job.id}.zip"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="application/zip")
