"""Who may work on what: visibility, blocks, skills, languages, sensitive content and quality.

Pure over a handful of active campaigns and one worker's context (loaded by `worker_context`); the
claim turns the result into index probes over open microtasks. When nothing fits, the reason given
is the one of the campaign that came closest, so the worker hears the most useful sentence.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_noop

from crowd.models import Campaign, CampaignWorker

UNSPECIFIED = ""  # microtasks whose items carry no language: the campaign's languages apply


class NoWork:
    """Reason codes for an empty claim, with the sentence the worker sees."""

    NO_PROFILE = ("no_profile", gettext_noop("Add your languages to your profile to get tasks."))
    TERMS_NOT_ACCEPTED = (
        "terms_not_accepted",
        gettext_noop("Please read and accept the terms before your first task."),
    )
    NO_CAMPAIGNS = ("no_campaigns", gettext_noop("No campaigns are running right now."))
    CAMPAIGN_NOT_ACTIVE = ("campaign_paused", gettext_noop("This campaign is paused or finished right now."))
    BLOCKED = ("blocked", gettext_noop("A coordinator has paused your access to this work."))
    NO_SKILLS = ("missing_skills", gettext_noop("No running campaign matches your skills."))
    NO_LANGUAGE = ("no_language_match", gettext_noop("No tasks in your languages right now."))
    SENSITIVE_OPT_IN = (
        "sensitive_opt_in_required",
        gettext_noop("This work has sensitive content; opt in on your profile first."),
    )
    SENSITIVE_CAP = (
        "sensitive_daily_cap",
        gettext_noop("You reached today's limit for sensitive content. Take care; see you tomorrow."),
    )
    LOW_QUALITY = (
        "low_quality",
        gettext_noop("Your recent answers did not match the checks closely enough for this campaign."),
    )
    ALL_LEASED = ("all_leased", gettext_noop("Every open task is being worked on; try again in a few minutes."))
    ALL_DONE = ("done_everything", gettext_noop("You have done every task you can. Thank you!"))


# Checked in this order; a campaign that fails a later check came closer to fitting.
STAGES = (
    NoWork.NO_CAMPAIGNS,
    NoWork.BLOCKED,
    NoWork.NO_SKILLS,
    NoWork.NO_LANGUAGE,
    NoWork.SENSITIVE_OPT_IN,
    NoWork.SENSITIVE_CAP,
    NoWork.LOW_QUALITY,
)


@dataclass(frozen=True)
class WorkerContext:
    has_profile: bool
    enrolled_by_id: int | None = None
    languages: dict[str, int] = field(default_factory=dict)  # base tag -> level 1..5
    skills: dict[str, int] = field(default_factory=dict)
    sensitive_opt_in: bool = False
    terms_accepted: bool = False  # the current terms (workers/terms.py)
    sensitive_today: int = 0  # leases in sensitive campaigns since midnight UTC
    blocked_campaigns: frozenset[int] = frozenset()
    blocked_organizations: frozenset[int] = frozenset()
    stats: dict[int, CampaignWorker] = field(default_factory=dict)  # campaign id -> stats
    held: dict[int, int] = field(default_factory=dict)  # campaign id -> the current lease held there
    queued: dict[int, int] = field(default_factory=dict)  # campaign id -> the lease fetched ahead there


@dataclass(frozen=True)
class Eligibility:
    """For each campaign the worker may work on, the microtask languages to try, best first."""

    languages_by_campaign: dict[int, list[str]]
    reason: tuple[str, str] | None


def _failed_stage(campaign: Campaign, worker: WorkerContext) -> int | None:
    if campaign.visibility != Campaign.Visibility.PUBLIC and campaign.organization_id != worker.enrolled_by_id:
        return 0
    if campaign.id in worker.blocked_campaigns or campaign.organization_id in worker.blocked_organizations:
        return 1
    if any(worker.skills.get(slug, 0) < level for slug, level in campaign.required_skills.items()):
        return 2
    if not _languages_for(campaign, worker):
        return 3
    if campaign.sensitive and not worker.sensitive_opt_in:
        return 4
    if campaign.sensitive and worker.sensitive_today >= campaign.sensitive_daily_cap:
        return 5
    stats = worker.stats.get(campaign.id)
    if (
        campaign.min_quality is not None
        and stats is not None
        and stats.quality is not None
        and stats.quality_answers >= campaign.min_quality_answers
        and stats.quality < campaign.min_quality
    ):
        return 6
    return None


def _languages_for(campaign: Campaign, worker: WorkerContext) -> list[str]:
    """The worker's languages that this campaign accepts at its minimum level, strongest first."""
    fitting = [
        code
        for code, level in worker.languages.items()
        if level >= campaign.min_language_level and (not campaign.languages or code in campaign.languages)
    ]
    fitting.sort(key=lambda code: (-worker.languages[code], code))
    return [*fitting, UNSPECIFIED] if fitting else []


def worker_eligibility(*, worker: WorkerContext, campaigns: list[Campaign]) -> Eligibility:
    if not worker.has_profile or not worker.languages:
        return Eligibility({}, NoWork.NO_PROFILE)
    if not worker.terms_accepted:
        # Consent is an act (workers/terms.py): no work, through the pages or the API, before it.
        return Eligibility({}, NoWork.TERMS_NOT_ACCEPTED)
    result: dict[int, list[str]] = {}
    furthest = -1
    for campaign in campaigns:
        stage = _failed_stage(campaign, worker)
        if stage is None:
            result[campaign.id] = _languages_for(campaign, worker)
        else:
            furthest = max(furthest, stage)
    if result:
        return Eligibility(result, None)
    return Eligibility({}, STAGES[max(furthest, 0)])


def campaign_barrier(*, campaign: Campaign, worker: WorkerContext) -> tuple[str, str] | None:
    """Why this worker cannot work on this campaign (the first rule it fails, as a NoWork reason), or None.

    None too for a campaign the worker may not even see (another organization's private campaign): that is
    nothing to explain."""
    stage = _failed_stage(campaign, worker)
    return None if stage in (None, 0) else STAGES[stage]
