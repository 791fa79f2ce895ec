"""ML backends: HTTP endpoints speaking Label Studio's ML backend protocol that pre-label a campaign's items.

`GET <url>/health` → `{"status": "UP", "model_version"?, "supports_training"?}`; `POST <url>/predict` with
`{"tasks": [{"id", "data"}], "label_config", "project"}` → `{"results": [{"result": [...], "score",
"model_version"}]}` or a bare list of those, in the order of the tasks; `POST <url>/train` with the campaign's final
labels. Every call goes through the outbound door (config/outbound.py): no private address unless the deployment
allows it (CROWDLOOP_WEBHOOKS_ALLOW_PRIVATE=1), no redirect followed, a capped answer, a short timeout.

Failures are split like the outbound door's: transient (unreachable, timed out, 5xx, 429) are retried by the Celery
task with backoff; permanent (refused address, other 4xx, an answer that is not the protocol) are not. Either way
the backend is marked `failing` with its last error, which the API and the campaign page show: never silent.
"""

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from config.outbound import OutboundFailed, OutboundRefused, outbound_request
from crowd.exceptions import ValidationFailed
from crowd.exports_labelstudio import export_labelstudio_config, labelstudio_config, layout_for
from crowd.model_loop.registry import label_model_register, model_key
from crowd.models import Campaign, Item, LabelModel, MLBackend

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 5.0
PREDICT_MAX_BYTES = 4 * 1024 * 1024
TRAIN_MAX_TASKS = 10_000  # the most recent final labels sent to /train; a backend wanting more keeps its own
ERROR_MAX = 500
LIVE = (Campaign.Status.DRAFT, Campaign.Status.ACTIVE, Campaign.Status.PAUSED)


class BackendError(Exception):
    """A call to a backend failed; `transient` says whether trying again later can help."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.message = message
        self.transient = transient


@dataclass(frozen=True)
class Health:
    model_version: str
    supports_training: bool


@dataclass(frozen=True)
class Prediction:
    label: str | list[str]  # a sorted set of values in a multi-choice campaign, as its answers are stored
    score: float | None
    model_version: str


# --- The protocol (no database) ----------------------------------------------------------------------------------


def _endpoint(url: str, path: str) -> str:
    return url.rstrip("/") + path


def _call(method: str, url: str, *, body: Any = None, timeout: float, max_bytes: int = PREDICT_MAX_BYTES) -> Any:
    """One call; the decoded JSON answer of a 2xx, else BackendError."""
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": "application/json"}
    if payload is not None:
        headers["Content-Type"] = "application/json"
    try:
        response = outbound_request(method, url, body=payload, headers=headers, timeout=timeout, max_bytes=max_bytes)
    except OutboundRefused as exc:
        message = _("%(url)s cannot be called: %(reason)s") % {"url": url, "reason": exc}
        raise BackendError(message, transient=False) from exc
    except OutboundFailed as exc:
        cause = exc.__cause__
        reason = _("timed out") if "timeout" in type(cause).__name__.lower() else str(exc)
        message = _("%(url)s did not answer: %(reason)s") % {"url": url, "reason": reason}
        raise BackendError(message, transient=True) from exc
    if response.status != 200:
        transient = response.status >= 500 or response.status == 429
        raise BackendError(
            _("%(url)s answered HTTP %(status)s.") % {"url": url, "status": response.status}, transient=transient
        )
    try:
        return json.loads(response.body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        raise BackendError(_("%(url)s did not answer with JSON.") % {"url": url}, transient=False) from None


def _text(value: Any, limit: int) -> str:
    """A string a backend sent, made storable: PostgreSQL's text refuses NUL and UTF-8 cannot encode a lone
    surrogate (which JSON's \\ud800 escapes can carry)."""
    return str(value).replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:limit]


def health_parse(body: Any) -> Health:
    """The health answer: `status` must be "UP"; `model_version` and `supports_training` are optional."""
    if not isinstance(body, dict) or str(body.get("status", "")).upper() != "UP":
        raise BackendError(_('The health check did not say {"status": "UP"}.'), transient=False)
    version = body.get("model_version") or body.get("model_class_version") or ""
    return Health(model_version=_text(version, 99), supports_training=body.get("supports_training") is True)


def backend_health(*, url: str, timeout: float = HEALTH_TIMEOUT_SECONDS) -> Health:
    """GET <url>/health; BackendError when it is not a healthy backend."""
    return health_parse(_call("GET", _endpoint(url, "/health"), timeout=timeout, max_bytes=64 * 1024))


def _choices(result: Any) -> list[Any] | None:
    """The choices of the first `choices` region of one task's result."""
    regions = result.get("result") if isinstance(result, dict) else None
    if not isinstance(regions, list):
        return None
    for region in regions:
        if not isinstance(region, dict) or region.get("type", "choices") != "choices":
            continue
        value = region.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if isinstance(choices, list) and choices and isinstance(choices[0], str):
            return choices
    return None


def _choice(result: Any, *, labels: set[str], multi: bool) -> str | list[str] | None:
    """The label one task's result gives, if it is the campaign's: its first choice, or in a multi-choice campaign
    the sorted set of its choices (every one of them a label)."""
    choices = _choices(result)
    if choices is None:
        return None
    if not multi:
        return choices[0] if choices[0] in labels else None
    if not all(isinstance(choice, str) and choice in labels for choice in choices):
        return None
    return sorted(set(choices))


def predictions_parse(
    body: Any, *, tasks: int, labels: set[str], default_version: str, multi: bool = False
) -> list[Prediction | None]:
    """One entry per task, in order: its prediction, or None when there is none or its label is not one of the
    campaign's (rejected). Accepts `{"results": [...]}` and a bare list, as backends vary; anything else is a
    BackendError. `multi`: the campaign is multi-choice, and a prediction is the set of a region's choices."""
    results = body.get("results") if isinstance(body, dict) else body
    if not isinstance(results, list):
        raise BackendError(_('The prediction answer has no "results" list.'), transient=False)
    parsed: list[Prediction | None] = []
    for index in range(tasks):
        result = results[index] if index < len(results) else None
        label = _choice(result, labels=labels, multi=multi)
        if label is None:
            parsed.append(None)
            continue
        score = result.get("score")
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            score = None
        version = result.get("model_version") or default_version
        score = None if score is None else float(score)
        parsed.append(Prediction(label=label, score=score, model_version=_text(version, 99)))
    return parsed


# --- Registering, changing, removing ------------------------------------------------------------------------------


def _url_check(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port out of range or not a number is a ValueError, like a bad IPv6 bracket
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(_("The backend's URL must be http(s) with a host."), fields={"url": _("Invalid URL.")})
    return url


def _health_or_400(url: str) -> Health:
    try:
        return backend_health(url=url)
    except BackendError as exc:
        message = _("The backend failed its health check, so nothing was saved: %(error)s") % {"error": exc.message}
        raise ValidationFailed(message, fields={"url": exc.message}, code="backend_unhealthy") from exc


def backend_create(
    *,
    campaign_id: int,
    url: str,
    name: str = "",
    active: bool = True,
    batch_size: int | None = None,
    timeout: float | None = None,
) -> MLBackend:
    """Register a backend on a campaign once its /health answers UP (ValidationFailed `backend_unhealthy`, nothing
    stored, otherwise), then queue the prediction of the campaign's items without a pre-label."""
    url = _url_check(url)
    name = (name or urlsplit(url).hostname or "backend").strip()[:100]
    health = _health_or_400(url)
    fields: dict[str, Any] = {"batch_size": batch_size} if batch_size else {}
    if timeout:
        fields["timeout_seconds"] = timeout
    try:
        with transaction.atomic():
            backend = MLBackend.objects.create(
                campaign_id=campaign_id,
                url=url,
                name=name,
                active=active,
                model_version=health.model_version,
                supports_training=health.supports_training,
                **fields,
            )
            if active:
                backend_predict_soon(backend_id=backend.id)
    except IntegrityError:
        raise ValidationFailed(
            _("This campaign already has a backend named %(name)s.") % {"name": name},
            fields={"name": _("Already taken.")},
        ) from None
    return backend


def backend_update(*, backend_id: int, fields: dict[str, Any]) -> MLBackend:
    """Change a backend. A new URL, or switching it on, checks /health first (ValidationFailed, nothing changed);
    switching it on also queues the prediction of what it has not labelled yet. Locks the backend row."""
    with transaction.atomic():
        backend = MLBackend.objects.select_for_update().get(pk=backend_id)
        url = _url_check(fields["url"]) if "url" in fields else backend.url
        switched_on = fields.get("active") is True and not backend.active
        if url != backend.url or switched_on:
            health = _health_or_400(url)
            backend.model_version, backend.supports_training = health.model_version, health.supports_training
            backend.status, backend.last_error = MLBackend.Status.OK, ""
        backend.url = url
        for name in ("active", "batch_size"):
            if name in fields:
                setattr(backend, name, fields[name])
        if fields.get("timeout"):
            backend.timeout_seconds = fields["timeout"]
        backend.save()
        if backend.active and (switched_on or "url" in fields):
            backend_predict_soon(backend_id=backend.id)
    return backend


def backend_delete(*, backend_id: int) -> None:
    """Remove a backend. The pre-labels it wrote stay: they are part of the campaign's evidence."""
    MLBackend.objects.filter(pk=backend_id).delete()


# --- Predicting ---------------------------------------------------------------------------------------------------


def backend_predict_soon(*, backend_id: int) -> None:
    """Queue the backend's prediction job after the caller's transaction commits; a broker outage is logged and
    left to the beat check (`backends_check`), which queues every healthy backend with work."""
    from crowd import tasks

    def send() -> None:
        try:
            tasks.backend_predict.delay(backend_id)
        except tasks.BROKER_ERRORS as exc:
            logger.warning("Prediction by backend %s left to the beat check: %s", backend_id, exc)

    transaction.on_commit(send, robust=True)


def backends_predict_soon(*, campaign_id: int) -> None:
    """After new items arrive (imports): queue each active backend of the campaign."""
    for backend_id in MLBackend.objects.filter(campaign_id=campaign_id, active=True).values_list("id", flat=True):
        backend_predict_soon(backend_id=backend_id)


def _pending(backend: MLBackend):
    """Items this backend has still to label: those without a pre-label, and open items pre-labelled by an older
    version of it. Items pre-labelled by another model keep theirs (one pre-label per item)."""
    current = model_key(backend.name, backend.model_version)
    older_version = Q(prelabel_model__startswith=f"{backend.name}@") | Q(prelabel_model=backend.name)
    stale = Q(status=Item.Status.OPEN) & older_version & ~Q(prelabel_model=current)
    return Item.objects.filter(Q(prelabel__isnull=True) | stale, campaign_id=backend.campaign_id)


def _record_failure(backend_id: int, message: str) -> None:
    logger.warning("ML backend %s failing: %s", backend_id, message)
    MLBackend.objects.filter(pk=backend_id).update(
        status=MLBackend.Status.FAILING, last_error=message[:ERROR_MAX], last_error_at=timezone.now()
    )


def _store(backend: MLBackend, items: list[dict[str, Any]], predictions: list[Prediction | None]) -> tuple[int, int]:
    """Write one batch's predictions onto items still waiting for them; (stored, rejected). Locks those items."""
    chosen = {item["id"]: p for item, p in zip(items, predictions, strict=True) if p is not None}
    rejected = len(items) - len(chosen)
    with transaction.atomic():
        rows = list(_pending(backend).filter(id__in=list(chosen)).select_for_update(no_key=True).only("id"))
        for version in sorted({chosen[row.id].model_version for row in rows}):
            label_model_register(
                organization_id=backend.campaign.organization_id,
                name=backend.name,
                version=version,
                kind=LabelModel.Kind.BACKEND,
            )
        for row in rows:
            prediction = chosen[row.id]
            row.prelabel = prediction.label
            row.prelabel_score = prediction.score
            row.prelabel_model = model_key(backend.name, prediction.model_version)
        Item.objects.bulk_update(rows, ["prelabel", "prelabel_score", "prelabel_model"], batch_size=1000)
        MLBackend.objects.filter(pk=backend.pk).update(
            items_predicted=F("items_predicted") + len(rows),
            items_rejected=F("items_rejected") + rejected,
            scanned_through_id=items[-1]["id"],
            scanned_version=backend.model_version,
        )
    return len(rows), rejected


def _resume_from(backend: MLBackend) -> int:
    """The item id a run starts after: where this model version got to, or the beginning for a new version."""
    return backend.scanned_through_id if backend.scanned_version == backend.model_version else 0


def backend_predict(*, backend_id: int) -> dict[str, Any]:
    """Send the items the backend has still to label, in batches of its `batch_size`, and store what comes back.

    Idempotent: an item labelled by this version is not sent again, and a run resumes after the last item this
    version was sent (a refused prediction is not asked for again until the version changes). Each batch is its
    own transaction. A failure
    marks the backend failing with its error and raises BackendError (the task retries transient ones); a run
    that gets through marks it `ok`."""
    backend = MLBackend.objects.select_related("campaign").filter(pk=backend_id).first()
    if backend is None or not backend.active or backend.campaign.status not in LIVE:
        return {"status": "skipped"}
    campaign = backend.campaign
    labels = set(campaign.label_values())
    label_config = export_labelstudio_config(campaign)
    after_id, predicted, rejected = _resume_from(backend), 0, 0
    while True:
        items = list(
            _pending(backend).filter(id__gt=after_id).order_by("id").values("id", "data")[: backend.batch_size]
        )
        if not items:
            break
        body = {"tasks": items, "label_config": label_config, "project": str(campaign.id)}
        try:
            answer = _call("POST", _endpoint(backend.url, "/predict"), body=body, timeout=backend.timeout_seconds)
            predictions = predictions_parse(
                answer,
                tasks=len(items),
                labels=labels,
                default_version=backend.model_version,
                multi=campaign.task_type == Campaign.TaskType.MULTI_CHOICE,
            )
        except BackendError as exc:
            _record_failure(backend.id, exc.message)
            raise
        stored, refused = _store(backend, items, predictions)
        predicted, rejected = predicted + stored, rejected + refused
        after_id = items[-1]["id"]
    MLBackend.objects.filter(pk=backend.pk).update(
        status=MLBackend.Status.OK, last_error="", last_success_at=timezone.now()
    )
    if predicted and campaign.order == Campaign.Order.UNCERTAINTY_FIRST:
        from crowd.services.certainty import microtask_certainty_refresh

        microtask_certainty_refresh(campaign_id=campaign.id)  # the new scores order the open work
    return {"status": "ok", "predicted": predicted, "rejected": rejected}


# --- The beat check: versions, recovery, training ----------------------------------------------------------------


def _final_labels(campaign_id: int):
    return Item.objects.filter(campaign_id=campaign_id, status=Item.Status.COMPLETE, result_label__isnull=False)


def _train_choices(label: Any) -> list[str]:
    """A final label as Label Studio's choices: a multi-choice label is already a list of them."""
    return [str(value) for value in label] if isinstance(label, list) else [str(label)]


def backend_train_maybe(*, backend_id: int) -> bool:
    """POST <url>/train with the campaign's final labels (the most recent TRAIN_MAX_TASKS, as Label Studio tasks
    with one annotation each) when the backend supports training and at least BACKEND_TRAIN_MIN_LABELS new final
    labels exist since the last call. Returns whether it was called; a failure marks the backend failing."""
    backend = MLBackend.objects.select_related("campaign").filter(pk=backend_id).first()
    if backend is None or not (backend.active and backend.supports_training):
        return False
    final = _final_labels(backend.campaign_id)
    count = final.count()
    if count - backend.trained_labels < settings.BACKEND_TRAIN_MIN_LABELS:
        return False
    campaign = backend.campaign
    rows = list(final.order_by("-id").values("id", "data", "result_label")[:TRAIN_MAX_TASKS])
    layout = layout_for({key for row in rows for key in row["data"]})
    config = labelstudio_config(campaign, layout)
    tasks = [
        {
            "id": row["id"],
            "data": row["data"],
            "annotations": [
                {
                    "result": [
                        {
                            "from_name": layout.control,
                            "to_name": layout.to_name,
                            "type": "choices",
                            "value": {"choices": _train_choices(row["result_label"])},
                        }
                    ]
                }
            ],
        }
        for row in rows
    ]
    body = {"project": str(campaign.id), "label_config": config, "tasks": tasks}
    try:
        _call("POST", _endpoint(backend.url, "/train"), body=body, timeout=backend.timeout_seconds)
    except BackendError as exc:
        _record_failure(backend.id, exc.message)
        return False
    MLBackend.objects.filter(pk=backend.pk).update(trained_labels=count, last_trained_at=timezone.now())
    return True


def backend_check(*, backend_id: int) -> str:
    """Ask one backend's /health: a new model version becomes the backend's and its open items are predicted
    again; a healthy backend with items still to label (new imports, a run that ran out of retries) is queued;
    then training, if due. Returns what it found: `failing`, `new_version`, `queued`, `ok`, or `gone` when the
    backend was removed before or during the check (the beat's other backends are still checked)."""
    backend = MLBackend.objects.filter(pk=backend_id).first()
    if backend is None:
        return "gone"
    try:
        health = backend_health(url=backend.url, timeout=min(backend.timeout_seconds, HEALTH_TIMEOUT_SECONDS))
    except BackendError as exc:
        _record_failure(backend.id, exc.message)
        return "failing"
    outcome = "ok"
    with transaction.atomic():
        backend = MLBackend.objects.select_for_update().filter(pk=backend_id).first()
        if backend is None:
            return "gone"
        if health.model_version and health.model_version != backend.model_version:
            backend.model_version = health.model_version
            outcome = "new_version"
        backend.supports_training = health.supports_training
        backend.save(update_fields=["model_version", "supports_training"])
        if outcome == "new_version" or _pending(backend).filter(id__gt=_resume_from(backend)).exists():
            outcome = "queued" if outcome == "ok" else outcome
            backend_predict_soon(backend_id=backend.id)
    backend_train_maybe(backend_id=backend.id)
    return outcome


def backends_check() -> dict[str, int]:
    """Beat: check every active backend of a live campaign (one at a time; each call has its own timeout)."""
    counts: dict[str, int] = {}
    ids = MLBackend.objects.filter(active=True, campaign__status__in=LIVE).order_by("id").values_list("id", flat=True)
    for backend_id in list(ids):
        outcome = backend_check(backend_id=backend_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


# --- Reads --------------------------------------------------------------------------------------------------------


def backends_for_campaign(*, campaign: Campaign) -> QuerySet[MLBackend]:
    """The campaign's backends in id order (the caller has already checked the campaign is the reader's)."""
    return MLBackend.objects.filter(campaign=campaign).order_by("id")


def backend_for_campaign(*, campaign: Campaign, backend_id: int) -> MLBackend:
    from crowd.exceptions import NotFound

    backend = MLBackend.objects.filter(campaign=campaign, pk=backend_id).first()
    if backend is None:
        raise NotFound(_("No such backend on this campaign."))
    return backend
