"""Thin API views: parse, call a selector or service, shape the response."""

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import error_body
from config.limits import answers_check
from config.parsers import LimitedJSONParser
from crowd import selectors
from crowd.answers_export import ANSWER_FORMATS, answer_filters, answers_rows, answers_stream
from crowd.api import serializers as s
from crowd.api.etags import ETagMixin
from crowd.api.filters import (
    AnnotatorFilter,
    AppealFilter,
    BlockFilter,
    CampaignFilter,
    ImportJobFilter,
    ResultFilter,
    UnsureFilter,
)
from crowd.api.paging import cursor_page, cursor_parameters, filter_parameters, filtered, page_serializer
from crowd.campaign_texts import localized_texts
from crowd.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from crowd.exports import FORMATS, export_stream
from crowd.exports_labelstudio import export_labelstudio, export_labelstudio_config
from crowd.import_formats import ImportOptions
from crowd.model_loop.auto_accept import model_of_annotator
from crowd.model_loop.registry import label_models_by_key
from crowd.model_loop.review import suggestion_for
from crowd.models import ImportJob, Item, Membership
from crowd.own_data import own_data_response
from crowd.pseudonymous import worker_from_reference
from crowd.selectors import Actor
from crowd.services import campaigns as campaign_services
from crowd.services.accounts import worker_delete_account, worker_unpaid_balances
from crowd.services.answers import answer_submit
from crowd.services.approvals import (
    appeal_create,
    appeal_decide,
    assignment_approve,
    assignment_reject,
    assignments_decide,
)
from crowd.services.blocks import worker_block, worker_unblock
from crowd.services.expert import item_decide
from crowd.services.import_jobs import import_job_create, import_job_progress
from crowd.services.imports import import_preview, items_import, rows_from_upload
from crowd.services.routing import assignment_claim_next, assignment_heartbeat, assignment_release
from crowd.submissions import submission_body, submission_filters, submission_worker
from crowd.tasks import campaign_aggregate_queue
from payments.models import PayoutBatch
from payments.money import from_minor
from payments.payouts import payout_batch_cancel, payout_batch_confirm, payout_batch_create, payout_batch_csv
from payments.selectors import earnings_summary, payout_batch_for_organizations
from payments.services import funds_deposit
from workers.grants import signin_grant_issue
from workers.models import WorkerToken
from workers.pseudonyms import pseudonym
from workers.services import LanguageLevel, SkillLevel, worker_enroll, worker_token_rotate
from workers.terms import TERMS_SECTIONS, TERMS_VERSION, terms_accept, terms_accepted_at

RESULTS_PAGE = 100
RESULTS_PAGE_MAX = 1000
_TIMESTAMP = serializers.DateTimeField()  # the lease's expires_at, rendered as DRF renders every timestamp


def _campaign_body(campaign, progress: bool = True) -> dict[str, Any]:
    context = {"progress": selectors.campaign_progress(campaign=campaign)} if progress else {}
    return s.CampaignSerializer(campaign, context=context).data


def _validated(serializer_class, data: Any, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _campaign_fields(data: dict[str, Any]) -> dict[str, Any]:
    data.pop("organization_id", None)
    return data


class CampaignListView(APIView):
    @extend_schema(
        parameters=[*filter_parameters(CampaignFilter), *cursor_parameters()],
        responses=page_serializer("CampaignPageSerializer", s.CampaignSerializer(many=True)),
        description="Your organizations' campaigns, newest first, in cursor pages, without progress counts.",
    )
    def get(self, request: Request) -> Response:
        campaigns = filtered(request, selectors.campaigns_for_actor(actor=Actor.for_request(request)), CampaignFilter)
        return Response(
            cursor_page(
                request, campaigns, lambda page: [_campaign_body(c, progress=False) for c in page], descending=True
            )
        )

    @extend_schema(request=s.CampaignSerializer, responses={201: s.CampaignSerializer})
    def post(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        data = _validated(s.CampaignSerializer, request.data)
        organization_id = actor.organization_for_write(data.get("organization_id"))
        campaign = campaign_services.campaign_create(
            organization_id=organization_id, created_by_id=request.user.id, fields=_campaign_fields(data)
        )
        return Response(_campaign_body(campaign), status=status.HTTP_201_CREATED)


class CampaignDetailView(ETagMixin, APIView):
    @extend_schema(responses=s.CampaignSerializer)
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        return Response(_campaign_body(campaign))

    @extend_schema(request=s.CampaignSerializer, responses=s.CampaignSerializer)
    def patch(self, request: Request, campaign_id: int) -> Response:
        actor = Actor.for_request(request)
        campaign = selectors.campaign_for_actor(actor=actor, campaign_id=campaign_id, write=True)
        if isinstance(request.data, dict) and "status" in request.data:
            raise ValidationFailed(
                _("Status changes through launch, not by editing."), fields={"status": _("Read-only.")}
            )
        data = _validated(s.CampaignSerializer, request.data, partial=True)
        if "organization_id" in data:
            raise ValidationFailed(
                _("A campaign cannot move between organizations."), fields={"organization": _("Read-only.")}
            )
        campaign = campaign_services.campaign_update(campaign_id=campaign.id, fields=data)
        return Response(_campaign_body(campaign))


class UploadTooLarge(ValidationFailed):
    code = "too_large"
    status = 413


class CampaignItemsView(APIView):
    parser_classes = [LimitedJSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={"application/json": s.ItemImportSerializer(many=True), "multipart/form-data": s.ItemFileSerializer},
        responses={201: s.ImportReportSerializer},
        description="Import items: a JSON array, or a multipart `file` (.csv, .json, .jsonl). All or nothing; "
        "existing external_ids are skipped.",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        upload = request.FILES.get("file")
        if upload is not None:
            if upload.size > settings.IMPORT_SYNC_MAX_BYTES:
                values = {
                    "most": settings.IMPORT_SYNC_MAX_BYTES,
                    "path": f"/api/v1/campaigns/{campaign.id}/imports/",
                    "background_most": settings.IMPORT_MAX_BYTES,
                }
                raise UploadTooLarge(
                    _(
                        # Translators: %(path)s is an API address: keep it as it is, after POST.
                        "The file is larger than %(most)s bytes, the most this endpoint imports within one request; "
                        "send it to POST %(path)s, which imports up to %(background_most)s bytes in the background "
                        "and reports its progress."
                    )
                    % values,
                    fields={"file": _("At most %(most)s bytes here.") % values},
                )
            rows = rows_from_upload(upload.file, upload.name, campaign, _import_options(request))
        elif isinstance(request.data, list):
            rows = request.data
        else:
            raise ValidationFailed(
                _("Send a JSON array of items or a multipart `file`."),
                fields={"file": _("Expected an array or a file.")},
            )
        report = items_import(campaign_id=campaign.id, rows=rows)
        return Response(report.as_dict(), status=status.HTTP_201_CREATED)


def _upload_file(request: Request):
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationFailed(_("Send the file as the multipart field `file`."), fields={"file": _("Required.")})
    return upload


def _import_options(request: Request) -> ImportOptions:
    """The multipart field `options`: a JSON object (column mapping, ignored columns, trusted, from_name)."""
    raw = request.data.get("options") if hasattr(request.data, "get") else None
    if raw in (None, ""):
        return ImportOptions()
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise ValidationFailed(_("`options` must be a JSON object."), fields={"options": _("Invalid JSON.")}) from None
    return ImportOptions.from_dict(parsed)


def _import_job_body(job: ImportJob) -> dict[str, Any]:
    rows_read, bytes_read = import_job_progress(job)
    return {
        "id": job.id,
        "campaign": job.campaign_id,
        "status": job.status,
        "filename": job.filename,
        "size": job.size,
        "rows_read": rows_read,
        "bytes_read": bytes_read,
        "created": job.created,
        "skipped": job.skipped,
        "error_count": job.error_count,
        "errors": job.errors,
        "error_code": job.error_code or None,
        "message": job.message or None,
        "note_count": job.note_count,
        "notes": job.notes,
        "options": job.options,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


class CampaignImportsView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        parameters=[*filter_parameters(ImportJobFilter), *cursor_parameters()],
        responses=page_serializer("ImportJobPageSerializer", s.ImportJobSerializer(many=True)),
        description="The campaign's background imports, newest first, in cursor pages.",
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        jobs = filtered(request, selectors.import_jobs_for_campaign(campaign=campaign), ImportJobFilter)
        render = lambda page: [_import_job_body(job) for job in page]  # noqa: E731
        return Response(cursor_page(request, jobs, render, descending=True))

    @extend_schema(
        request={"multipart/form-data": s.ItemFileSerializer},
        responses={202: s.ImportJobSerializer},
        description="Import a file (.csv, .json, .jsonl) in the background: 202 with the job; follow it at "
        "`GET /api/v1/imports/{id}/`. All or nothing, as the synchronous import; existing external_ids are skipped.",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        upload = _upload_file(request)
        job = import_job_create(
            campaign_id=campaign.id, created_by_id=request.user.id, upload=upload, options=_import_options(request)
        )
        job.refresh_from_db()  # run already when Celery runs in process
        response = Response(_import_job_body(job), status=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse("api-import-job", args=[job.id])
        return response


class CampaignImportPreviewView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.ItemFileSerializer},
        responses={200: s.ImportPreviewSerializer},
        description="Read the first rows of a file as an import would, storing nothing: the format it was read as, "
        "its columns and the mapping in force, the first 20 rows as they would be stored, and the row errors among "
        "the first 1,000 with their row numbers.",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        upload = _upload_file(request)
        preview = import_preview(
            binary=upload.file, filename=upload.name, campaign=campaign, options=_import_options(request)
        )
        return Response(dataclasses.asdict(preview))


class ImportJobView(APIView):
    @extend_schema(responses={200: s.ImportJobSerializer})
    def get(self, request: Request, job_id: int) -> Response:
        """A background import: status (queued, running, finished, failed), rows read so far, created, skipped, and
        the first row errors of a failed one (nothing of a failed import is stored)."""
        job = selectors.import_job_for_actor(actor=Actor.for_request(request), job_id=job_id)
        return Response(_import_job_body(job))


SUBMISSION_FILTERS = [
    OpenApiParameter("status", str, enum=["submitted", "approved", "rejected"]),
    OpenApiParameter(
        "worker", str, description="The worker's pseudonym (or the id the organization enrolled them with)."
    ),
    OpenApiParameter("submitted_after", OpenApiTypes.DATETIME),
    OpenApiParameter("submitted_before", OpenApiTypes.DATETIME),
    OpenApiParameter("failed_gold", bool),
]
SUBMISSIONS_PAGE, SUBMISSIONS_PAGE_MAX = 50, 200


class CampaignSubmissionsView(APIView):
    @extend_schema(
        parameters=[
            *SUBMISSION_FILTERS,
            *cursor_parameters(SUBMISSIONS_PAGE, SUBMISSIONS_PAGE_MAX, alias="after"),
        ],
        responses={200: s.SubmissionPageSerializer},
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        """Submitted work with its answers, the items' current labels and confidences and the worker's quality, in
        id order, in cursor pages (`after` is an older name of `cursor`)."""
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        filters = submission_filters(request.query_params)
        worker = submission_worker(campaign, filters.pop("worker", None))
        queryset = selectors.submissions_query(campaign=campaign, worker_id=worker, **filters)
        body = cursor_page(
            request,
            queryset,
            lambda rows: [submission_body(a) for a in rows],
            page=SUBMISSIONS_PAGE,
            page_max=SUBMISSIONS_PAGE_MAX,
            alias="after",
        )
        return Response(body)


class CampaignSubmissionsDecideView(APIView):
    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "properties": {
                    "ids": {"type": "array", "items": {"type": "integer"}},
                    "decision": {"type": "string", "enum": ["approve", "reject"]},
                    "reason": {"type": "string"},
                },
                "required": ["ids", "decision"],
            }
        },
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        """Approve or reject many submissions at once (one reason for a rejected batch): all of them or none."""
        actor = Actor.for_request(request)
        campaign = selectors.campaign_for_actor(actor=actor, campaign_id=campaign_id, write=True)
        data = request.data if isinstance(request.data, dict) else {}
        ids = data.get("ids")
        if not isinstance(ids, list):
            raise ValidationFailed(_("`ids` lists assignment ids."), fields={"ids": _("A list of assignment ids.")})
        reason = data.get("reason", "")
        if not isinstance(reason, str):
            raise ValidationFailed(_("`reason` is text."), fields={"reason": _("Text.")})
        decided = assignments_decide(
            campaign_id=campaign.id,
            assignment_ids=ids,
            decision=str(data.get("decision", "")),
            reason=reason,
            decided_by_id=request.user.id,
            organization_ids=actor.writable_organizations(),
        )
        return Response({"decided": [{"id": a.id, "status": a.status} for a in decided]})


class CampaignLaunchView(APIView):
    @extend_schema(request=None, responses=s.CampaignSerializer)
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        campaign = campaign_services.campaign_launch(campaign_id=campaign.id)
        return Response(_campaign_body(campaign))


class CampaignMoveView(APIView):
    """Lifecycle moves of a campaign (owner or coordinator): pause (active -> paused; held leases can still be
    submitted), resume (paused -> active, once the reward meets the pay floor, no fair-pay top-up is owed and the
    funds cover what the campaign can still cost; 400 `not_ready` or `insufficient_funds` says what to fix), close
    (active or paused -> completed before every item is done: no new work, held leases still paid, the funds stop
    holding unstarted work) and archive (completed or draft -> archived; 409 `work_pending` while answers wait
    for approval). All idempotent."""

    moves = {
        "pause": campaign_services.campaign_pause,
        "resume": campaign_services.campaign_resume,
        "close": campaign_services.campaign_close,
        "archive": campaign_services.campaign_archive,
    }

    @extend_schema(
        request=None,
        responses={
            200: s.CampaignSerializer,
            400: OpenApiResponse(
                description="`not_ready` (reward below the floor, top-ups owed) or `insufficient_funds`."
            ),
            409: OpenApiResponse(description="`invalid_state`: not a move from this status."),
        },
    )
    def post(self, request: Request, campaign_id: int, move: str) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        return Response(_campaign_body(self.moves[move](campaign_id=campaign.id)))


class CampaignAggregateView(APIView):
    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(description="Aggregation queued."),
            503: OpenApiResponse(description="The task queue is unavailable; nothing was queued."),
        },
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        campaign_aggregate_queue(campaign_id=campaign.id)
        return Response({"status": "queued", "campaign": campaign.id}, status=status.HTTP_202_ACCEPTED)


class CampaignResultsView(ETagMixin, APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", int, description="The `next_cursor` value of the previous page."),
            OpenApiParameter("limit", int, description=f"Page size (default {RESULTS_PAGE}, max {RESULTS_PAGE_MAX})."),
            *filter_parameters(ResultFilter),
        ],
        responses=s.ResultsPageSerializer,
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        results = filtered(request, selectors.results_for_campaign(campaign=campaign), ResultFilter)
        render = lambda page: s.ResultSerializer(page, many=True).data  # noqa: E731
        return Response(cursor_page(request, results, render, page=RESULTS_PAGE, page_max=RESULTS_PAGE_MAX))


UNSURE_PAGE = 50
UNSURE_PAGE_MAX = 200


class CampaignUnsureView(APIView):
    @extend_schema(
        parameters=[*filter_parameters(UnsureFilter), *cursor_parameters(UNSURE_PAGE, UNSURE_PAGE_MAX, keyed=True)],
        responses={200: s.UnsurePageSerializer},
        description="Answered items below the campaign's target confidence that nobody has decided yet, the least "
        "sure first (then by id), with their data and votes, in cursor pages, and how many match in all (`count`). "
        "The cursor is text (the last row's confidence and id); the list shrinks as items are decided.",
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        unsure = filtered(request, selectors.unsure_items_for_campaign(campaign=campaign), UnsureFilter)
        render = lambda page: s.UnsureItemSerializer(page, many=True).data  # noqa: E731
        body = cursor_page(request, unsure, render, key="confidence", page=UNSURE_PAGE, page_max=UNSURE_PAGE_MAX)
        return Response({**body, "count": unsure.count()})


class ItemDecideView(APIView):
    @extend_schema(request=s.ItemDecideSerializer, responses={200: s.ResultSerializer})
    def post(self, request: Request, campaign_id: int, item_id: int) -> Response:
        """Set an item's final label: it becomes the item's result (confidence 1, `decided_by` you) and a known
        label that Dawid-Skene scores the item's workers against, as gold. Deciding again replaces it. 400 for a
        label outside the campaign's labels; 409 for a gold item or an archived campaign."""
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        if not Item.objects.filter(pk=item_id, campaign=campaign).exists():
            raise NotFound(_("No such item in this campaign."))
        body = s.ItemDecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = item_decide(item_id=item_id, label=body.validated_data["label"], decided_by_id=request.user.id)
        item = selectors.results_for_campaign(campaign=campaign).get(pk=item.pk)
        return Response(s.ResultSerializer(item).data)


_TRUE, _FALSE = frozenset({"1", "true", "yes"}), frozenset({"0", "false", "no"})


def _flag_param(request: Request, name: str) -> bool:
    """A yes/no query parameter: absent or empty is no; anything but the usual spellings is a 400."""
    raw = (request.query_params.get(name) or "").strip().lower()
    if raw in _TRUE or raw in _FALSE or not raw:
        return raw in _TRUE
    raise ValidationFailed(
        _("`%(name)s` must be true or false.") % {"name": name}, fields={name: _("Must be true or false.")}
    )


def _int_param(request: Request, name: str, default: int | None, low: int, high: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(
            _("`%(name)s` must be an integer.") % {"name": name}, fields={name: _("Must be an integer.")}
        ) from None
    if value < low or (high is not None and value > high):
        # Two sentences, not "any" filled in: a translator words an open range their own way.
        allowed = (
            _("From %(low)s to %(high)s.") % {"low": low, "high": high}
            if high
            else _("From %(low)s to any.") % {"low": low}
        )
        raise ValidationFailed(_("`%(name)s` is out of range.") % {"name": name}, fields={name: allowed})
    return value


EXPORT_FORMATS = {**FORMATS, **ANSWER_FORMATS}


class CampaignExportView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=list(EXPORT_FORMATS),
                description="Default csv. `answers` (CSV) and `answers-jsonl`: every raw answer, workers by pseudonym "
                "(filters as `GET …/answers/`: annotator, gold, since, until).",
            ),
            OpenApiParameter(
                "answers",
                bool,
                description="labelstudio only: every raw answer as an annotation with ground_truth false.",
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/x-ndjson"): OpenApiTypes.BINARY,
            (200, "application/json"): s.ExportRecordSerializer(many=True),
            (200, "application/xml"): OpenApiTypes.STR,
        },
    )
    def get(self, request: Request, campaign_id: int) -> HttpResponseBase:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        fmt = request.query_params.get("format", "csv")
        if fmt not in EXPORT_FORMATS:
            raise ValidationFailed(
                _("Unknown export format '%(format)s'.") % {"format": fmt},
                fields={"format": _("One of: %(values)s.") % {"values": ", ".join(EXPORT_FORMATS)}},
            )
        content_type, extension = EXPORT_FORMATS[fmt]
        if fmt in ANSWER_FORMATS:
            rows = answers_rows(campaign=campaign, filters=answer_filters(request.query_params, campaign))
            response = StreamingHttpResponse(answers_stream(fmt, rows), content_type=content_type)
            name = f"campaign-{campaign.id}-answers.{extension}"
        elif fmt == "labelstudio-config":
            response: HttpResponseBase = HttpResponse(export_labelstudio_config(campaign), content_type=content_type)
            name = f"campaign-{campaign.id}-labelstudio-config.xml"
        elif fmt == "labelstudio":
            with_answers = _flag_param(request, "answers")
            response = StreamingHttpResponse(
                export_labelstudio(campaign, with_answers=with_answers), content_type=content_type
            )
            name = f"campaign-{campaign.id}-labelstudio.json"
        else:
            response = StreamingHttpResponse(
                export_stream(fmt, selectors.results_iter(campaign=campaign)), content_type=content_type
            )
            name = f"campaign-{campaign.id}-results.{extension}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    # `format` is our query parameter, not DRF's renderer override.
    def perform_content_negotiation(self, request: Request, force: bool = False):
        return super().perform_content_negotiation(request, force=True)


class WorkerEnrollView(APIView):
    @extend_schema(request=s.WorkerEnrollSerializer, responses={201: s.WorkerEnrolledSerializer})
    def post(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        data = _validated(s.WorkerEnrollSerializer, request.data)
        organization_id = actor.organization_for_write(data.get("organization"))
        profile, token = worker_enroll(
            organization_id=organization_id,
            username=data["username"],
            email=data.get("email", ""),
            country=data.get("country", ""),
            languages=[LanguageLevel(**entry) for entry in data["languages"]],
            skills=[SkillLevel(**entry) for entry in data.get("skills", [])],
        )
        return Response(
            {"id": profile.user_id, "username": profile.user.username, "token": token}, status=status.HTTP_201_CREATED
        )


class WorkerTokenRotateView(APIView):
    @extend_schema(request=None, responses={201: s.WorkerTokenSerializer})
    def post(self, request: Request, worker_id: str) -> Response:
        """A new API token for a worker the organization enrolled (by id or pseudonym); every earlier token stops
        working at once."""
        organization_id = Actor.for_request(request).organization_for_write(_optional_int(request, "organization"))
        worker = _worker_named(organization_id, worker_id)
        token = worker_token_rotate(organization_id=organization_id, worker_id=worker)
        return Response({"id": worker, "token": token}, status=status.HTTP_201_CREATED)


class WorkerLoginLinkView(APIView):
    @extend_schema(request=None, responses={201: s.LoginLinkSerializer})
    def post(self, request: Request, worker_id: str) -> Response:
        """A one-time sign-in link and code for a worker the organization enrolled (by id or pseudonym; to send by
        SMS or chat); the worker's earlier unused links and codes stop working."""
        organization_id = Actor.for_request(request).organization_for_write(_optional_int(request, "organization"))
        grant = signin_grant_issue(organization_id=organization_id, worker_id=_worker_named(organization_id, worker_id))
        url = request.build_absolute_uri(reverse("signin-link", args=[grant.link_token]))
        return Response(
            {"url": url, "code": grant.code, "expires_at": grant.expires_at}, status=status.HTTP_201_CREATED
        )


def _require_worker(request: Request) -> None:
    if isinstance(request.auth, WorkerToken):
        return
    if request.auth is None and hasattr(request.user, "worker_profile"):
        return
    raise PermissionDenied(_("Only workers can do this; use a worker token."))


class AssignmentNextView(APIView):
    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "properties": {
                    "campaign": {"type": "integer"},
                    "ahead": {
                        "type": "boolean",
                        "description": "Fetch the next lease while the worker answers the current one (needs "
                        "`campaign`); at most one waits behind the current lease.",
                    },
                },
            }
        },
        responses={
            201: s.AssignmentSerializer,
            200: s.AssignmentSerializer,
            204: OpenApiResponse(description="Nothing for this worker; see the Crowdloop-Reason header."),
        },
    )
    def post(self, request: Request) -> Response:
        _require_worker(request)
        data = request.data if isinstance(request.data, dict) else {}
        campaign_id = data.get("campaign")
        if campaign_id is not None and (not isinstance(campaign_id, int) or isinstance(campaign_id, bool)):
            raise ValidationFailed(
                _("`campaign` must be a campaign id."), fields={"campaign": _("Must be an integer.")}
            )
        ahead = data.get("ahead", False)
        if not isinstance(ahead, bool):
            raise ValidationFailed(_("`ahead` must be true or false."), fields={"ahead": _("Must be a boolean.")})
        result = assignment_claim_next(worker=request.user, campaign_id=campaign_id, ahead=ahead)
        if result.assignment is None:
            code, message = result.reason or ("none", "")
            response = Response(status=status.HTTP_204_NO_CONTENT)
            response["Crowdloop-Reason"] = code
            response["Crowdloop-Reason-Message"] = message
            return response
        return Response(
            _assignment_body(result.assignment, result.items),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


def _assignment_body(assignment, items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The lease as a worker client sees it (schema: `AssignmentSerializer`). Built by hand: it answers every
    request for work, and the claim already returns the items' payload."""
    campaign = assignment.campaign
    if items is None:
        items = selectors.assignment_items_payload(assignment_id=assignment.id)
    shown = []
    for item in items:
        entry: dict[str, Any] = {"id": item["id"], "data": item["data"]}
        suggestion = suggestion_for(campaign, item)
        if suggestion is not None:
            entry["prelabel"] = suggestion
        image = item.get("image")  # the phone-friendly copy, once its job has made one
        entry["image"] = image and {
            "url": default_storage.url(image["path"]),
            "width": image["width"],
            "height": image["height"],
            "bytes": image["bytes"],
        }
        shown.append(entry)
    # Texts in the language the client asked for (Accept-Language), when the campaign has them.
    instructions, labels, language = localized_texts(
        instructions=campaign.instructions,
        labels=campaign.labels,
        translations=campaign.translations,
        language=translation.get_language() or "",
    )
    return {
        "id": assignment.id,
        "campaign": assignment.campaign_id,
        "status": assignment.status,
        "expires_at": _TIMESTAMP.to_representation(assignment.expires_at),
        "reward": from_minor(assignment.reward_minor, assignment.currency),
        "currency": assignment.currency,
        "instructions": instructions,
        "task_type": campaign.task_type,
        "labels": labels,
        "language": language or None,
        "items": shown,
        "queued": assignment.queued,
    }


class AssignmentSubmitView(APIView):
    @extend_schema(request=s.SubmitSerializer, responses={200: s.SubmitResultSerializer})
    def post(self, request: Request, assignment_id: int) -> Response:
        """Store the answers (idempotent). With `"next": true` the same response carries the worker's next lease
        in the same campaign, or why there is none: one round trip per microtask for apps on slow links."""
        _require_worker(request)
        data = request.data if isinstance(request.data, dict) else {}
        raw = data.get("answers")
        want_next = data.get("next", False)
        if not isinstance(want_next, bool):
            raise ValidationFailed(_("`next` must be true or false."), fields={"next": _("Must be a boolean.")})
        answers_check(raw)
        result = answer_submit(worker=request.user, assignment_id=assignment_id, raw_answers=raw)
        body: dict[str, Any] = {"id": result.assignment.id, "status": result.assignment.status}
        body["replayed"] = result.replayed
        body["late"] = result.late
        if want_next:
            claimed = assignment_claim_next(worker=request.user, campaign_id=result.assignment.campaign_id)
            if claimed.assignment is None:
                code, message = claimed.reason or ("none", "")
                body["next"], body["reason"] = None, {"code": code, "message": message}
            else:
                body["next"], body["reason"] = _assignment_body(claimed.assignment, claimed.items), None
        return Response(body)


class AssignmentReleaseView(APIView):
    @extend_schema(request=s.ReleaseSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, assignment_id: int) -> Response:
        _require_worker(request)
        data = _validated(s.ReleaseSerializer, request.data if isinstance(request.data, dict) else {})
        assignment = assignment_release(worker=request.user, assignment_id=assignment_id, reason=data.get("reason", ""))
        return Response({"id": assignment.id, "status": assignment.status})


class AssignmentHeartbeatView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, assignment_id: int) -> Response:
        """The worker is still working: extends the lease and counts active time."""
        _require_worker(request)
        assignment = assignment_heartbeat(worker=request.user, assignment_id=assignment_id)
        body = {"id": assignment.id, "status": assignment.status, "expires_at": assignment.expires_at}
        return Response(body | {"queued": assignment.queued})


def _block_body(block) -> dict[str, Any]:
    return {
        "worker": pseudonym(block.organization_id, block.worker_id),
        "campaign": block.campaign_id,
        "organization": block.organization_id,
        "reason": block.reason,
        "created_at": block.created_at,
    }


class CampaignBlocksView(APIView):
    @extend_schema(request=s.BlockSerializer, responses={201: s.BlockOutSerializer})
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        data = _validated(s.BlockSerializer, request.data)
        block = worker_block(
            organization_id=campaign.organization_id,
            campaign_id=campaign.id,
            worker_id=_worker_named(campaign.organization_id, data["worker"]),
            reason=data["reason"],
            created_by_id=request.user.id,
        )
        return Response(_block_body(block), status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[*filter_parameters(BlockFilter), *cursor_parameters()],
        responses=page_serializer("BlockPageSerializer", s.BlockOutSerializer(many=True)),
        description="The blocks that keep workers from this campaign, its own and its organization's, newest first, "
        "in cursor pages.",
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        blocks = filtered(request, selectors.blocks_for_campaign(campaign=campaign), BlockFilter)
        return Response(cursor_page(request, blocks, lambda page: [_block_body(b) for b in page], descending=True))


class CampaignBlockDetailView(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, campaign_id: int, worker_id: str) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id, write=True)
        worker_unblock(
            organization_id=campaign.organization_id,
            campaign_id=campaign.id,
            worker_id=_worker_named(campaign.organization_id, worker_id),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrganizationBlocksView(APIView):
    @extend_schema(request=s.BlockSerializer, responses={201: s.BlockOutSerializer})
    def post(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        data = _validated(s.BlockSerializer, request.data)
        organization_id = actor.organization_for_write(data.get("organization"))
        block = worker_block(
            organization_id=organization_id,
            worker_id=_worker_named(organization_id, data["worker"]),
            reason=data["reason"],
            created_by_id=request.user.id,
        )
        return Response(_block_body(block), status=status.HTTP_201_CREATED)


class OrganizationBlockDetailView(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, worker_id: str) -> Response:
        actor = Actor.for_request(request)
        organization_id = actor.organization_for_write(_optional_int(request, "organization"))
        worker_unblock(organization_id=organization_id, worker_id=_worker_named(organization_id, worker_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _worker_named(organization_id: int, reference: str) -> int:
    """The worker a block names, by pseudonym or id; a pseudonym the organization does not know is a 404."""
    worker_id = worker_from_reference(organization_id=organization_id, reference=reference)
    if worker_id is None:
        raise NotFound(_("No such worker."))
    return worker_id


def _optional_int(request: Request, name: str) -> int | None:
    return _int_param(request, name, 0, 1, None) if request.query_params.get(name) else None


class CampaignAnnotatorsView(ETagMixin, APIView):
    @extend_schema(
        parameters=[*filter_parameters(AnnotatorFilter), *cursor_parameters()],
        responses=page_serializer("AnnotatorPageSerializer", s.AnnotatorSerializer(many=True)),
        description="Workers and models in the campaign's model: kind, estimated accuracy, answers, confusion "
        "matrix; in cursor pages in id order (an annotator keeps its row, and so its place, as aggregation runs).",
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        annotators = filtered(request, selectors.annotators_for_campaign(campaign=campaign), AnnotatorFilter)

        def render(page: Iterable[Any]) -> list[dict[str, Any]]:
            page = list(page)
            keys = [model_of_annotator(a.model_name) for a in page]
            context = {
                "organization_id": campaign.organization_id,
                "models": label_models_by_key(organization_id=campaign.organization_id, keys=keys),
            }
            return s.AnnotatorSerializer(page, many=True, context=context).data

        return Response(cursor_page(request, annotators, render))


class MyQualityView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        """The worker's own estimated quality per campaign (gold accuracy, then Dawid-Skene's estimate)."""
        _require_worker(request)
        return Response({"campaigns": selectors.quality_for_worker(worker_id=request.user.id)})


class AssignmentApproveView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, assignment_id: int) -> Response:
        """Approve submitted work before the approval window ends (the reward becomes available)."""
        actor = Actor.for_request(request)
        assignment = assignment_approve(
            assignment_id=assignment_id, decided_by_id=request.user.id, organization_ids=actor.writable_organizations()
        )
        return Response({"id": assignment.id, "status": assignment.status})


class AssignmentRejectView(APIView):
    @extend_schema(request=s.RejectSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, assignment_id: int) -> Response:
        """Reject submitted work with a reason the worker sees; the pending reward is reversed."""
        actor = Actor.for_request(request)
        data = _validated(s.RejectSerializer, request.data)
        assignment = assignment_reject(
            assignment_id=assignment_id,
            decided_by_id=request.user.id,
            organization_ids=actor.writable_organizations(),
            reason=data["reason"],
        )
        return Response({"id": assignment.id, "status": assignment.status, "reason": assignment.reject_reason})


class AssignmentAppealView(APIView):
    @extend_schema(request=s.AppealSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, assignment_id: int) -> Response:
        """A worker appeals a rejection, once, with a message for the coordinators."""
        _require_worker(request)
        data = _validated(s.AppealSerializer, request.data)
        appeal = appeal_create(worker=request.user, assignment_id=assignment_id, message=data["message"])
        return Response({"id": appeal.id, "status": appeal.status}, status=status.HTTP_201_CREATED)


class AppealListView(APIView):
    @extend_schema(
        parameters=[*filter_parameters(AppealFilter), *cursor_parameters()],
        responses=page_serializer("AppealPageSerializer", s.AppealOutSerializer(many=True)),
        description="The coordinators' queue of appeals in your organizations, newest first, in cursor pages; "
        "`status=open` is the queue still to decide.",
    )
    def get(self, request: Request) -> Response:
        appeals = filtered(request, selectors.appeals_for_actor(actor=Actor.for_request(request)), AppealFilter)
        return Response(cursor_page(request, appeals, lambda page: [_appeal_body(a) for a in page], descending=True))


def _appeal_body(appeal) -> dict[str, Any]:
    return {
        "id": appeal.id,
        "assignment": appeal.assignment_id,
        "campaign": appeal.assignment.campaign_id,
        "worker": pseudonym(appeal.assignment.campaign.organization_id, appeal.assignment.worker_id),
        "reject_reason": appeal.assignment.reject_reason,
        "message": appeal.message,
        "status": appeal.status,
        "decision_note": appeal.decision_note,
        "created_at": appeal.created_at,
    }


class AppealDecideView(APIView):
    @extend_schema(request=s.AppealDecisionSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, appeal_id: int) -> Response:
        actor = Actor.for_request(request)
        data = _validated(s.AppealDecisionSerializer, request.data)
        appeal = appeal_decide(
            appeal_id=appeal_id,
            decided_by_id=request.user.id,
            organization_ids=actor.writable_organizations(),
            overturn=data["overturn"],
            note=data.get("note", ""),
        )
        return Response({"id": appeal.id, "status": appeal.status})


class ReviewStatsView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        """Each reviewer's decisions and rejection rate, for the organization to see."""
        actor = Actor.for_request(request)
        return Response({"reviewers": selectors.rejection_rates(actor=actor)})


class CampaignFairnessView(ETagMixin, APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, campaign_id: int) -> Response:
        """Effective hourly wages against the floor, unpaid time, cost to date and forecast (minor units)."""
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        return Response(selectors.fairness_report(campaign=campaign))


def _payout_body(batch: PayoutBatch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "reference": batch.reference,
        "status": batch.status,
        "workers": batch.workers,
        "total": from_minor(batch.total_minor, batch.currency),
        "currency": batch.currency,
        "threshold": from_minor(batch.threshold_minor, batch.currency),
        "created_at": batch.created_at,
        "decided_at": batch.decided_at,
    }


class PayoutBatchView(APIView):
    @extend_schema(
        request=s.PayoutSerializer,
        responses={201: s.PayoutBatchSerializer, 200: s.PayoutBatchSerializer},
        description="Owner only. Every worker's available balance with the organization, when at least `threshold`, "
        "moves to payout_pending in a new batch (`exported`) whose CSV the organization executes. The same "
        "`reference` again answers 200 with the same batch; with another currency or threshold, 409.",
    )
    def post(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        data = _validated(s.PayoutSerializer, request.data)
        organization_id = actor.organization_for_write(data.get("organization"))
        actor.require_role(organization_id, (Membership.Role.OWNER,))
        batch, created = payout_batch_create(
            organization_id=organization_id,
            created_by_id=request.user.id,
            currency=data["currency"],
            threshold=data["threshold"],
            reference=data["reference"],
        )
        return Response(_payout_body(batch), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PayoutSettleView(APIView):
    """Owner only: confirm a batch paid (payout_pending -> paid) or cancel it (payout_pending -> available)."""

    settle = {"confirm": payout_batch_confirm, "cancel": payout_batch_cancel}

    @extend_schema(request=None, responses={200: s.PayoutBatchSerializer})
    def post(self, request: Request, batch_id: int, action: str) -> Response:
        actor = Actor.for_request(request)
        batch = payout_batch_for_organizations(batch_id=batch_id, organization_ids=list(actor.roles))
        actor.require_role(batch.organization_id, (Membership.Role.OWNER,))
        batch = self.settle[action](
            batch_id=batch.id, organization_ids=[batch.organization_id], decided_by_id=request.user.id
        )
        return Response(_payout_body(batch))


class PayoutExportView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("method", str, enum=["mobile_money", "bank"], required=False)],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, batch_id: int) -> StreamingHttpResponse:
        """The batch as CSV for the organization to execute, optionally one payout method only."""
        actor = Actor.for_request(request)
        batch = PayoutBatch.objects.filter(pk=batch_id, organization_id__in=list(actor.roles)).first()
        if batch is None:
            raise NotFound(_("No such payout batch."))
        actor.require_role(batch.organization_id, (Membership.Role.OWNER,))  # the CSV holds workers' accounts
        method = request.query_params.get("method") or None
        if method not in (None, "mobile_money", "bank"):
            raise ValidationFailed(
                _("Unknown payout method."),
                # Translators: mobile_money and bank are the values the query takes: keep them as they are.
                fields={"method": _("mobile_money or bank.")},
            )
        response = StreamingHttpResponse(payout_batch_csv(batch=batch, method=method), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="payout-{batch.reference}-{method or "all"}.csv"'
        return response


class MyEarningsView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        _require_worker(request)
        return Response(earnings_summary(worker_id=request.user.id))


class MyExportView(APIView):
    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    def get(self, request: Request) -> StreamingHttpResponse:
        """Everything held about the worker as one JSON document, streamed (docs/privacy.md)."""
        _require_worker(request)
        return own_data_response(request.user)


class MyTermsView(APIView):
    """The terms, for apps that sign workers up themselves: show them, then accept them with the worker's token.
    Until the current version is accepted, `next` answers 204 with the reason `terms_not_accepted`."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        _require_worker(request)
        return Response(_terms_body(request.user))

    @extend_schema(
        request={"application/json": {"type": "object", "properties": {"version": {"type": "string"}}}},
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        """Accept the terms. `version` must name the version the app showed, so nobody accepts unseen terms."""
        _require_worker(request)
        version = request.data.get("version") if isinstance(request.data, dict) else None
        if not isinstance(version, str) or not version:
            raise ValidationFailed(_("`version` names the terms shown."), fields={"version": _("Required.")})
        if version != TERMS_VERSION:
            raise Conflict(
                _("The terms are now at version %(version)s; show them again.") % {"version": TERMS_VERSION},
                code="terms_changed",
            )
        terms_accept(user=request.user)
        return Response(_terms_body(request.user))


def _terms_body(user) -> dict[str, Any]:
    accepted_at = terms_accepted_at(user)
    return {
        "version": TERMS_VERSION,
        "accepted": accepted_at is not None,
        "accepted_at": accepted_at,
        "language": translation.get_language(),
        "sections": [{"key": key, "text": str(text)} for key, text in TERMS_SECTIONS],
    }


class MeView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def delete(self, request: Request) -> Response:
        """Delete the worker's account: personal data erased, work and money records kept under a pseudonym."""
        _require_worker(request)
        owed = worker_unpaid_balances(worker_id=request.user.id)
        done = worker_delete_account(worker_id=request.user.id)
        return Response({"deleted": True, "pseudonym": done.pseudonym, "still_owed": owed})


class FundsView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        if not actor.roles:
            raise PermissionDenied(_("Only organization members can see funds."))
        organization_id = _organization_param(request, actor)
        funds = selectors.funds_summary(organization_id=organization_id)
        return Response(
            {
                "organization": organization_id,
                "funds": {
                    currency: {name: from_minor(amount, currency) for name, amount in sums.items()}
                    for currency, sums in funds.items()
                },
            }
        )


def _organization_param(request: Request, actor: Actor) -> int:
    raw = request.query_params.get("organization")
    if raw is None:
        if len(actor.roles) == 1:
            return next(iter(actor.roles))
        raise ValidationFailed(_("Name an organization."), fields={"organization": _("This field is required.")})
    organization_id = _int_param(request, "organization", 0, 1, None)
    actor.require_role(organization_id, tuple(Membership.Role))
    return organization_id


class DepositView(APIView):
    @extend_schema(
        request=s.DepositSerializer,
        responses={201: s.DepositResultSerializer, 200: s.DepositResultSerializer},
        description="Owner only. Records money the organization set aside to pay workers: its own record, no money "
        "moves through Crowdloop. At most 10,000,000 in the currency per deposit. The same `reference` with the same "
        "amount answers 200 with the first entry; with another amount or currency, 409.",
    )
    def post(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        data = _validated(s.DepositSerializer, request.data)
        organization_id = actor.organization_for_write(data.get("organization"))
        actor.require_role(organization_id, (Membership.Role.OWNER,))
        entry, created = funds_deposit(
            organization_id=organization_id,
            amount=data["amount"],
            currency=data["currency"],
            reference=data["reference"],
            created_by_id=request.user.id,
        )
        return Response(
            {
                "id": entry.id,
                "amount": from_minor(entry.amount_minor, entry.currency),
                "currency": entry.currency,
                "reference": entry.reference,
            },
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@csrf_exempt  # it only ever answers 404; a CSRF refusal here would be an HTML page in place of the error shape
def api_not_found(request: HttpRequest) -> HttpResponse:
    """Unknown paths under /api/v1/ answer in the API's error shape, not with an HTML page, whatever the method and
    with or without a trailing slash. A known endpoint asked for without its slash is still redirected to it, as
    APPEND_SLASH did before this view caught every path."""
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "api-not-found":
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(request.path + "/" + (f"?{query}" if query else ""))
    return JsonResponse(error_body("not_found", _("No API endpoint at %(path)s.") % {"path": request.path}), status=404)
