"""The campaign page's models panel: its ML backends' state and the built-in baseline's last runs."""

from typing import Any

from crowd.model_loop.backends import backends_for_campaign
from crowd.model_loop.baseline_jobs import baseline_runs_for_campaign
from crowd.models import Campaign

BASELINE_RUNS_SHOWN = 3


def models_panel(campaign: Campaign) -> dict[str, Any]:
    """Context for coordinator/models_panel.html (the caller has already checked the campaign is the reader's)."""
    return {
        "ml_backends": backends_for_campaign(campaign=campaign),
        "baseline_runs": baseline_runs_for_campaign(campaign=campaign)[:BASELINE_RUNS_SHOWN]
        if campaign.baseline
        else [],
    }
