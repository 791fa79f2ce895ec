"""Campaign writes: create, edit, launch (split into microtasks), pause and resume."""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, npgettext

from crowd.campaign_texts import translations_normalize
from crowd.exceptions import InvalidState, ValidationFailed
from crowd.models import Assignment, Campaign, FairPayCheck, Item, MicroTask, MicroTaskItem
from crowd.selectors import LIVE, campaign_commitment_minor, worker_pool_countries
from crowd.services.certainty import microtask_certainty_refresh, order_flags
from crowd.services.fairpay import campaign_fair_pay_check
from crowd.services.funds import funds_require
from crowd.services.slots import open_after
from crowd.webhooks.events import CAMPAIGN_COMPLETED, CAMPAIGN_PAUSED, campaign_event
from payments.fairpay import hourly_rate_minor, pay_needed_minor
from payments.money import MoneyError, currency_validate, from_minor, to_minor
from payments.selectors import MissingExchangeRate, highest_floor
from workers.languages import InvalidLanguage, language_base

# Fields a coordinator may still change once workers are labeling.
EDITABLE_WHILE_ACTIVE = frozenset(
    {
        "name",
        "instructions",
        "translations",
        "reward",
        "redundancy",
        "max_redundancy",
        "priority",
        "target_confidence",
        "lease_seconds",  # new leases only
        "gold_ratio",
        "min_quality",
        "min_quality_answers",
        "sensitive_daily_cap",
    }
)


def labels_normalize(labels: Any) -> list[dict[str, str]]:
    """Accept ["a", "b"] or [{"value": "a", "text": "A"}]; return the object form, values unique."""
    if not isinstance(labels, list):
        raise ValidationFailed(_("Labels must be a list."), fields={"labels": _("Must be a list.")})
    result: list[dict[str, str]] = []
    for index, label in enumerate(labels):
        if isinstance(label, str):
            value, text = label, label
        elif isinstance(label, dict) and isinstance(label.get("value"), str):
            value, text = label["value"], str(label.get("text") or label["value"])
        else:
            raise ValidationFailed(
                _("Label %(index)s must be a string or {'value', 'text'}.") % {"index": index},
                fields={"labels": _("Item %(index)s: must be a string or an object with 'value'.") % {"index": index}},
            )
        if not value.strip():
            raise ValidationFailed(
                _("Label values cannot be empty."), fields={"labels": _("Item %(index)s is empty.") % {"index": index}}
            )
        result.append({"value": value, "text": text})
    values = [label["value"] for label in result]
    if len(set(values)) != len(values):
        raise ValidationFailed(_("Label values must be unique."), fields={"labels": _("Duplicate values.")})
    return result


def _languages_normalize(languages: Any) -> list[str]:
    if not isinstance(languages, list):
        raise ValidationFailed(_("Languages must be a list."), fields={"languages": _("Must be a list of tags.")})
    try:
        return sorted({language_base(str(tag)) for tag in languages})
    except InvalidLanguage as exc:
        raise ValidationFailed(str(exc), fields={"languages": str(exc)}) from exc


def _skills_normalize(skills: Any) -> dict[str, int]:
    if not isinstance(skills, dict) or not all(
        isinstance(slug, str) and isinstance(level, int) and 1 <= level <= 5 for slug, level in skills.items()
    ):
        raise ValidationFailed(
            _("Required skills must map a skill slug to a level from 1 to 5."),
            fields={"required_skills": _('Expected {"slug": level} with levels 1-5.')},
        )
    return skills


def _apply_fields(campaign: Campaign, fields: dict[str, Any]) -> None:
    """Copy validated input onto the model, normalizing labels, languages, money."""
    data = dict(fields)
    if "labels" in data:
        data["labels"] = labels_normalize(data["labels"])
    if "languages" in data:
        data["languages"] = _languages_normalize(data["languages"])
    if "required_skills" in data:
        data["required_skills"] = _skills_normalize(data["required_skills"])
    if "currency" in data:
        try:
            data["currency"] = currency_validate(data["currency"])
        except MoneyError as exc:
            raise ValidationFailed(str(exc), fields={"currency": str(exc)}) from exc
    if "currency" in data and "reward" not in data and data["currency"] != campaign.currency:
        # The reward is stored in minor units: keep its decimal amount, not its digits ("0.25" USD is not 25 JPY).
        data["reward"] = from_minor(campaign.reward_minor, campaign.currency)
    if "reward" in data:
        reward = data.pop("reward")
        try:
            data["reward_minor"] = to_minor(reward, data.get("currency", campaign.currency))
        except MoneyError as exc:
            raise ValidationFailed(str(exc), fields={"reward": str(exc)}) from exc
    if "translations" in data or ("labels" in data and campaign.translations):
        # Checked against the labels the campaign will have, so a translation never names a value that is gone.
        data["translations"] = translations_normalize(
            data.get("translations", campaign.translations), data.get("labels", campaign.labels)
        )
    for name, value in data.items():
        setattr(campaign, name, value)
    _check_consistency(campaign)


def _check_consistency(campaign: Campaign) -> None:
    # Labels are checked at launch, not here, so a draft can be built up step by step.
    if campaign.max_redundancy < campaign.redundancy:
        raise ValidationFailed(
            _("Invalid campaign settings."), fields={"max_redundancy": _("Must be at least the redundancy.")}
        )


def campaign_create(*, organization_id: int, created_by_id: int | None, fields: dict[str, Any]) -> Campaign:
    """Create a draft campaign from validated fields (reward as a decimal string)."""
    campaign = Campaign(organization_id=organization_id, created_by_id=created_by_id, status=Campaign.Status.DRAFT)
    fields = {k: v for k, v in fields.items() if k != "status"}
    _apply_fields(campaign, fields)
    campaign.save()
    return campaign


def campaign_update(*, campaign_id: int, fields: dict[str, Any]) -> Campaign:
    """Edit a campaign: any field while draft; only EDITABLE_WHILE_ACTIVE once launched; nothing once archived
    (InvalidState). A higher redundancy, max_redundancy or reward of a launched campaign (a higher redundancy reopens
    a completed one) must be covered by the organization's funds. Locks the campaign, then the funds; raises
    InsufficientFunds (nothing changes).
    """
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        if "status" in fields:
            raise ValidationFailed(
                _("Status changes through launch, pause and resume, not by editing."),
                fields={"status": _("Read-only here.")},
            )
        if campaign.status == Campaign.Status.ARCHIVED:  # archived is read-only (campaign_archive)
            raise InvalidState(_("The campaign is archived: it can no longer be edited."))
        if campaign.status != Campaign.Status.DRAFT:
            locked = sorted(set(fields) - EDITABLE_WHILE_ACTIVE)
            if locked:
                raise InvalidState(
                    _("These fields cannot change after launch: %(fields)s.") % {"fields": ", ".join(locked)},
                    fields={name: _("Cannot change after launch.") for name in locked},
                )
            if "currency" in fields:
                raise InvalidState(_("The currency cannot change after launch."))
            if "redundancy" in fields and fields["redundancy"] < campaign.redundancy:
                raise InvalidState(
                    _("Redundancy can only rise after launch."), fields={"redundancy": _("Cannot decrease.")}
                )
        old_redundancy, old_reward, old_maximum = campaign.redundancy, campaign.reward_minor, campaign.max_redundancy
        launched = campaign.status != Campaign.Status.DRAFT
        before = campaign_commitment_minor(campaign=campaign) if launched and COSTLY_FIELDS & set(fields) else 0
        _apply_fields(campaign, fields)
        campaign.save()
        if launched and campaign.reward_minor < old_reward:
            # A lower reward must still pay the floor, for the estimated and the measured time, as at launch
            # and resume; a refusal rolls the edit back.
            floor_problem = _reward_floor_problem(campaign)
            if floor_problem:
                raise ValidationFailed(floor_problem, fields={"reward": floor_problem})
        if launched and campaign.redundancy > old_redundancy:
            _raise_open_targets(campaign, campaign.redundancy - old_redundancy)
        costs_more = (
            campaign.reward_minor > old_reward
            or campaign.max_redundancy > old_maximum
            or campaign.redundancy > old_redundancy
        )
        if costs_more and campaign.status in LIVE:
            # After the edit, so the reserve counts it; a refusal rolls the edit back.
            _reserve(campaign, campaign_commitment_minor(campaign=campaign) - before, "This change")
    return campaign


# The fields whose rise can make a launched campaign cost more.
COSTLY_FIELDS = frozenset({"reward", "redundancy", "max_redundancy"})


def _reserve(campaign: Campaign, needed_minor: int, action: str) -> None:
    funds_require(
        organization_id=campaign.organization_id, currency=campaign.currency, needed_minor=needed_minor, action=action
    )


def _raise_open_targets(campaign: Campaign, extra: int) -> None:
    """A higher redundancy applies at once to every microtask and item: each needs `extra` more answers,
    so items already complete reopen and routing offers their microtasks again (a completed campaign too).
    """
    MicroTask.objects.filter(campaign=campaign).update(
        target=F("target") + extra, is_open=open_after(target_delta=extra)
    )
    Item.objects.filter(campaign=campaign, gold__isnull=True).update(
        redundancy=F("redundancy") + extra, status=Item.Status.OPEN
    )
    if campaign.status == Campaign.Status.COMPLETED:
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ACTIVE)
        campaign.status = Campaign.Status.ACTIVE


def _stranded_languages(campaign: Campaign) -> list[str]:
    """Item languages no eligible worker could ever get (the campaign's languages were narrowed after import)."""
    if not campaign.languages:
        return []
    tags = Item.objects.filter(campaign=campaign).exclude(language="").values_list("language", flat=True).distinct()
    return sorted({tag for tag in tags if language_base(tag) not in campaign.languages})


def campaign_pay_floor_problem(campaign: Campaign, *, seconds: float | None = None) -> str | None:
    """Why the reward per microtask, over `seconds` of work (default: the estimated time), pays below the highest
    floor of its worker pool."""
    seconds = campaign.estimated_seconds if seconds is None else seconds
    try:
        floor = highest_floor(countries=worker_pool_countries(campaign), currency=campaign.currency)
    except MissingExchangeRate as exc:
        return str(exc)
    if floor is None:
        return None
    rate = hourly_rate_minor(pay_minor=campaign.reward_minor, seconds=seconds)
    if rate >= floor.hourly_minor:
        return None
    needed = pay_needed_minor(hourly_minor=floor.hourly_minor, seconds=seconds)
    values = {
        "reward": from_minor(campaign.reward_minor, campaign.currency),
        "currency": campaign.currency,
        "seconds": round(seconds),
        "rate": from_minor(int(rate), campaign.currency),
        "country": floor.country,
        "floor": from_minor(floor.hourly_minor, campaign.currency),
        "source": floor.source,
        "needed": from_minor(needed, campaign.currency),
    }
    # Whole sentences, one for a country's floor and one for the global floor, so a translator can place the
    # country (a two-letter code) where their grammar needs it; `source` is data (where the floor comes from).
    if floor.country:
        return (
            _(
                # Translators: %(country)s is a two-letter country code; %(source)s says where the floor comes from.
                "%(reward)s %(currency)s for about %(seconds)s s pays %(rate)s %(currency)s/hour, below the in "
                "%(country)s floor of %(floor)s %(currency)s/hour (%(source)s). Pay at least %(needed)s "
                "%(currency)s per microtask."
            )
            % values
        )
    return (
        _(
            # Translators: %(source)s says where the floor comes from.
            "%(reward)s %(currency)s for about %(seconds)s s pays %(rate)s %(currency)s/hour, below the global floor "
            "of %(floor)s %(currency)s/hour (%(source)s). Pay at least %(needed)s %(currency)s per microtask."
        )
        % values
    )


def _launch_problems(campaign: Campaign) -> dict[str, str]:
    problems: dict[str, str] = {}
    floor_problem = campaign_pay_floor_problem(campaign)
    if floor_problem:
        problems["reward"] = floor_problem
    stranded = _stranded_languages(campaign)
    if stranded:
        problems["languages"] = _(
            "Some items are in %(languages)s, which the campaign's languages do not include: "
            "add those languages or remove the items."
        ) % {"languages": ", ".join(stranded)}
    if campaign.task_type != Campaign.TaskType.FREE_TEXT and len(campaign.labels) < 2:
        problems["labels"] = _("A choice campaign needs at least two labels.")
    if campaign.reward_minor <= 0:
        problems["reward"] = _("Every microtask must pay something.")
    return problems


def campaign_launch(*, campaign_id: int) -> Campaign:
    """draft -> active: split non-gold items into microtasks of `items_per_task`, grouped by language.

    Locks the campaign row; raises InvalidState if not a draft, ValidationFailed if nothing to label.
    """
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        if campaign.status != Campaign.Status.DRAFT:
            raise InvalidState(
                _("Only a draft campaign can be launched; this one is %(status)s.") % {"status": campaign.status}
            )
        problems = _launch_problems(campaign)
        if problems:
            raise ValidationFailed(_("The campaign is not ready to launch."), fields=problems)
        if not Item.objects.filter(campaign=campaign, gold__isnull=True).exists():
            raise ValidationFailed(
                _("The campaign has no items to label: import items before launching."),
                fields={"items": _("No items.")},
                code="no_items",
            )
        microtask_split(campaign=campaign)
        campaign.status = Campaign.Status.ACTIVE
        campaign.launched_at = timezone.now()
        campaign.save(update_fields=["status", "launched_at"])
        # Now live, the campaign is in the reserve; a refusal rolls the split and the launch back.
        _reserve(campaign, campaign_commitment_minor(campaign=campaign), "Launching")
    return campaign


def campaign_pause(*, campaign_id: int) -> Campaign:
    """active -> paused: routing offers no new work; held leases can still be submitted and the reserve stays,
    so resuming needs no new funds unless the campaign got dearer. Locks the campaign. Idempotent; raises
    InvalidState for any other status."""
    return _move(
        campaign_id,
        Campaign.Status.ACTIVE,
        Campaign.Status.PAUSED,
        _("Only active campaigns can be paused; this one is %(status)s."),
    )


def campaign_resume(*, campaign_id: int) -> Campaign:
    """paused -> active, once the reward meets the pay floor (for the estimated time, and for the measured median
    time once the fair-pay check has measured it), no fair-pay top-up is owed and the funds cover what the
    campaign can still cost. Runs the fair-pay check first, in its own transaction (it pays owed top-ups and
    raises the reward when the funds allow). Locks the campaign, then the funds. Idempotent; raises InvalidState
    (not paused), ValidationFailed (`not_ready`, naming what to fix) or InsufficientFunds.
    """
    if Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.PAUSED).exists():
        campaign_fair_pay_check(campaign_id=campaign_id)
    return _move(
        campaign_id,
        Campaign.Status.PAUSED,
        Campaign.Status.ACTIVE,
        _("Only paused campaigns can be resumed; this one is %(status)s."),
        check=_resume_check,
    )


def campaign_close(*, campaign_id: int) -> Campaign:
    """active or paused -> completed, before every item is done: routing offers no new work, held leases can still
    be submitted (and are paid), results keep what was answered, and the funds stop holding the unstarted work.
    Locks the campaign. Idempotent; raises InvalidState for a draft or an archived campaign."""
    return _move(
        campaign_id,
        (Campaign.Status.ACTIVE, Campaign.Status.PAUSED),
        Campaign.Status.COMPLETED,
        _("Only active or paused campaigns can be closed; this one is %(status)s."),
    )


def campaign_archive(*, campaign_id: int) -> Campaign:
    """completed or draft -> archived: out of the lists, read-only; results and exports stay. Refused while a
    submitted answer still waits for approval, so no worker's pay is left hanging. Locks the campaign."""
    return _move(
        campaign_id,
        (Campaign.Status.COMPLETED, Campaign.Status.DRAFT),
        Campaign.Status.ARCHIVED,
        _("Only completed or draft campaigns can be archived; this one is %(status)s."),
        check=_archive_check,
    )


def _archive_check(campaign: Campaign) -> None:
    waiting = Assignment.objects.filter(
        campaign=campaign, status__in=[Assignment.Status.ACTIVE, Assignment.Status.SUBMITTED]
    ).count()
    if waiting:
        raise InvalidState(
            ngettext(
                "%(count)s assignment is still open or waiting for approval; approve or reject it first.",
                "%(count)s assignments are still open or waiting for approval; approve or reject them first.",
                waiting,
            )
            % {"count": waiting},
            code="work_pending",
        )


def _move(
    campaign_id: int,
    source: str | tuple[str, ...],
    target: str,
    refusal: str,
    check: Callable[[Campaign], None] | None = None,
) -> Campaign:
    """Move a campaign from `source` (one status or several) to `target` under its row lock; already at `target`
    is a no-op. `refusal` is the sentence for a campaign in another status, already translated, with a
    %(status)s placeholder (a whole sentence per move: pieces joined in English would not translate). `check` runs
    after the move, in its transaction: raising refuses the move and rolls it back."""
    sources = (source,) if isinstance(source, str) else source
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        if campaign.status == target:
            return campaign
        if campaign.status not in sources:
            raise InvalidState(refusal % {"status": campaign.status})
        campaign.status = target
        campaign.save(update_fields=["status"])
        if check is not None:
            check(campaign)
        if target in _MOVE_EVENTS:
            event_type, reason = _MOVE_EVENTS[target]
            campaign_event(campaign=campaign, event_type=event_type, reason=reason)
    return campaign


# Webhook events of the moves a member makes (aggregation and the fair-pay check emit their own).
_MOVE_EVENTS = {
    Campaign.Status.PAUSED: (CAMPAIGN_PAUSED, "paused"),
    Campaign.Status.COMPLETED: (CAMPAIGN_COMPLETED, "closed"),
}


def _resume_check(campaign: Campaign) -> None:
    problems = _resume_problems(campaign)
    if problems:
        raise ValidationFailed(_("The campaign cannot resume yet."), fields=problems, code="not_ready")
    _reserve(campaign, campaign_commitment_minor(campaign=campaign), "Resuming")


def _latest_fair_pay_check(campaign: Campaign) -> FairPayCheck | None:
    return FairPayCheck.objects.filter(campaign=campaign).order_by("-checked_at", "-id").first()


def _reward_floor_problem(campaign: Campaign, latest: FairPayCheck | None = None) -> str | None:
    """The pay floor problem for the estimated time, then for the time the work really takes once measured."""
    latest = latest or _latest_fair_pay_check(campaign)
    floor_problem = campaign_pay_floor_problem(campaign)
    if latest is not None:
        floor_problem = floor_problem or campaign_pay_floor_problem(campaign, seconds=latest.median_seconds)
    return floor_problem


def _resume_problems(campaign: Campaign) -> dict[str, str]:
    problems: dict[str, str] = {}
    latest = _latest_fair_pay_check(campaign)
    floor_problem = _reward_floor_problem(campaign, latest)
    if floor_problem:
        problems["reward"] = floor_problem
    if latest is not None and latest.topup_owed_minor > 0:
        owed = from_minor(latest.topup_owed_minor, campaign.currency)
        problems["funds"] = _(
            "Fair-pay top-ups of %(owed)s %(currency)s are still owed for work already done: record a deposit, "
            "then resume (the owed top-ups are paid first)."
        ) % {"owed": owed, "currency": campaign.currency}
    return problems


def items_reserve(*, campaign: Campaign, created: int, after_id: int = 0) -> None:
    """Pack items just added to a live campaign (those with ids above `after_id`, when given) into microtasks and
    reserve what they can cost (every one at up to max_redundancy answers). Caller holds the campaign lock; takes
    the funds lock; raises InsufficientFunds."""
    microtask_split(campaign=campaign, after_id=after_id)
    # Translated here, with its count: funds_require shows an action it does not know (ACTION_NAMES) as it is.
    action = npgettext(
        "funds: the change, starting the sentence", "Importing %(count)s item", "Importing %(count)s items", created
    ) % {"count": created}
    _reserve(campaign, created * campaign.max_redundancy * campaign.reward_minor, action)


def microtask_split(*, campaign: Campaign, batch_size: int = 5000, after_id: int = 0) -> int:
    """Pack every open, unpacked, non-gold item into microtasks by base language. Caller holds the campaign lock.
    `after_id`: every unpacked item has a higher id (items just imported into a live campaign, whose others are
    all packed), so the packed ones need not be looked up. Returns how many microtasks were made."""
    Item.objects.filter(campaign=campaign, gold__isnull=True, redundancy=0, id__gt=after_id).update(
        redundancy=campaign.redundancy
    )
    if connection.vendor == "postgresql":
        return _microtask_split_sql(campaign, after_id)
    packed = MicroTaskItem.objects.filter(microtask__campaign=campaign).values("item_id")
    items = (
        Item.objects.filter(campaign=campaign, gold__isnull=True, status=Item.Status.OPEN)
        .exclude(id__in=packed)
        .order_by("id")
        .values_list("id", "language")
    )
    groups: dict[str, list[int]] = defaultdict(list)
    for item_id, language in items.iterator(chunk_size=batch_size):
        groups[language_base(language) if language else ""].append(item_id)
    created = 0
    size = campaign.items_per_task
    flags = order_flags(campaign)
    for language, ids in groups.items():
        chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
        for start in range(0, len(chunks), batch_size):
            batch = chunks[start : start + batch_size]
            microtasks = MicroTask.objects.bulk_create(
                MicroTask(campaign=campaign, language=language, target=campaign.redundancy, **flags)
                for _chunk in batch  # not `_`: that name is gettext here
            )
            MicroTaskItem.objects.bulk_create(
                MicroTaskItem(microtask=microtask, item_id=item_id, position=position)
                for microtask, chunk in zip(microtasks, batch, strict=True)
                for position, item_id in enumerate(chunk)
            )
            if flags["by_certainty"]:
                microtask_certainty_refresh(campaign_id=campaign.id, microtask_ids=[m.pk for m in microtasks])
            created += len(batch)
    return created


def _microtask_split_sql(campaign: Campaign, after_id: int) -> int:
    """The same packing in three statements, for imports of a million items: number the unpacked items within
    their base language (items are stored with normalized tags, whose first subtag is the base language) in item
    order, drawing a microtask id from the table's own sequence for the first item of every run of
    `items_per_task`; then insert the microtasks, and the entries (each item under its run's first item's id).
    Returns how many microtasks were made."""
    item, microtask, entry = Item._meta.db_table, MicroTask._meta.db_table, MicroTaskItem._meta.db_table
    size = campaign.items_per_task
    params = {
        "campaign": campaign.id,
        "open": Item.Status.OPEN,
        "target": campaign.redundancy,
        **order_flags(campaign),
        "size": size,
        "after": after_id,
    }
    unpacked = "" if after_id else f"AND NOT EXISTS (SELECT 1 FROM {entry} e WHERE e.item_id = i.id)"
    # One item per microtask (the default) needs no numbering: each item opens its own run, in item order.
    numbered = (
        "0::bigint AS n"
        if size == 1
        else "row_number() OVER (PARTITION BY split_part(i.language, '-', 1) ORDER BY i.id) - 1 AS n"
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pack_items")
        cursor.execute(
            f"""CREATE TEMPORARY TABLE pack_items ON COMMIT DROP AS
            SELECT item_id, language, n,
                   CASE WHEN n %% %(size)s = 0
                        THEN nextval(pg_get_serial_sequence('{microtask}', 'id')) END AS microtask_id
            FROM (SELECT i.id AS item_id, split_part(i.language, '-', 1) AS language, {numbered}
                  FROM {item} i
                  WHERE i.campaign_id = %(campaign)s AND i.id > %(after)s AND i.gold IS NULL
                    AND i.status = %(open)s {unpacked}
                  ORDER BY i.id) numbered""",
            params,
        )
        cursor.execute(
            f"""INSERT INTO {microtask}
                (id, campaign_id, language, target, active_count, done_count, is_open, breadth_first, by_certainty,
                 certainty, created_at)
            SELECT microtask_id, %(campaign)s, language, %(target)s, 0, 0, true, %(breadth_first)s, %(by_certainty)s,
                0, now()
            FROM pack_items WHERE microtask_id IS NOT NULL""",
            params,
        )
        created = cursor.rowcount
        if size == 1:  # every item opens its own run: no pairing needed
            cursor.execute(
                f"INSERT INTO {entry} (microtask_id, item_id, position) SELECT microtask_id, item_id, 0 FROM pack_items"
            )
        else:
            cursor.execute("ANALYZE pack_items")  # a scratch table has no statistics: the self-join needs them
            cursor.execute(
                f"""INSERT INTO {entry} (microtask_id, item_id, position)
                SELECT first.microtask_id, p.item_id, p.n %% %(size)s FROM pack_items p
                JOIN pack_items first ON first.language = p.language AND first.n = p.n - p.n %% %(size)s""",
                params,
            )
        if params["by_certainty"]:
            # Each new microtask starts at its least certain item's model score (0 without one); rows made
            # in this transaction, so nobody else holds them.
            cursor.execute(
                f"""UPDATE {microtask} m SET certainty = s.least
                FROM (SELECT e.microtask_id, MIN(COALESCE(i.confidence, i.prelabel_score, 0)) AS least
                      FROM {entry} e JOIN pack_items p ON p.item_id = e.item_id JOIN {item} i ON i.id = e.item_id
                      GROUP BY e.microtask_id) s
                WHERE m.id = s.microtask_id AND s.least <> 0""",
            )
        cursor.execute("DROP TABLE pack_items")
    return created
