"""Who may work on what: visibility, skills and languages, over a handful of active campaigns.

No queries of its own beyond the prefetched profile relations; the claim turns the result into one
SQL filter over open microtasks.
"""

from dataclasses import dataclass

from crowd.models import Campaign
from workers.models import WorkerProfile


class NoWork:
    """Reason codes for an empty claim, with the sentence the worker sees."""

    NO_PROFILE = ("no_profile", "Add your languages to your profile to get tasks.")
    NO_CAMPAIGNS = ("no_campaigns", "No campaigns are running right now.")
    CAMPAIGN_NOT_ACTIVE = ("campaign_not_active", "This campaign is not running right now.")
    NO_SKILLS = ("missing_skills", "No running campaign matches your skills.")
    NO_LANGUAGE = ("no_language_match", "No tasks in your languages right now.")
    ALL_LEASED = ("all_leased", "Every open task is being worked on; try again in a few minutes.")
    ALL_DONE = ("done_everything", "You have done every task you can. Thank you!")


@dataclass(frozen=True)
class Eligibility:
    """For each campaign the worker may work on, the microtask languages that fit them."""

    languages_by_campaign: dict[int, set[str]]
    reason: tuple[str, str] | None


def worker_eligibility(*, profile: WorkerProfile | None, campaigns: list[Campaign]) -> Eligibility:
    """Pure filtering over a handful of active campaigns: visibility, skills, languages."""
    if profile is None:
        return Eligibility({}, NoWork.NO_PROFILE)
    worker_languages = {language.code for language in profile.languages.all()}
    if not worker_languages:
        return Eligibility({}, NoWork.NO_PROFILE)
    skills = {skill.slug: skill.level for skill in profile.skills.all()}
    visible = [
        c
        for c in campaigns
        if c.visibility == Campaign.Visibility.PUBLIC or c.organization_id == profile.enrolled_by_id
    ]
    if not visible:
        return Eligibility({}, NoWork.NO_CAMPAIGNS)
    skilled = [c for c in visible if all(skills.get(slug, 0) >= level for slug, level in c.required_skills.items())]
    if not skilled:
        return Eligibility({}, NoWork.NO_SKILLS)
    result: dict[int, set[str]] = {}
    for campaign in skilled:
        wanted = set(campaign.languages) & worker_languages if campaign.languages else worker_languages
        if wanted:
            # Items without a language of their own fall back to the campaign's languages.
            result[campaign.id] = wanted | {""}
    if not result:
        return Eligibility({}, NoWork.NO_LANGUAGE)
    return Eligibility(result, None)
