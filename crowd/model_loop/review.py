"""Review mode: which model suggestion a person sees on a leased item, the same for the API and the page."""

from typing import Any

from crowd.models import Campaign


def suggestion_for(campaign: Campaign, item: Any) -> dict[str, Any] | None:
    """The model's suggestion to show with `item` (a claim payload dict or an Item with `blind`), or None: in label
    mode never, in review mode unless the item was served blind or has no pre-label."""
    get = item.get if isinstance(item, dict) else lambda name: getattr(item, name, None)
    if campaign.mode != Campaign.Mode.REVIEW or get("blind") or get("prelabel") is None:
        return None
    return {"model": get("prelabel_model"), "label": get("prelabel"), "score": get("prelabel_score")}
