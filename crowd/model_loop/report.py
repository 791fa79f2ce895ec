"""The anchoring check as the API and the campaign page show it: one body for both."""

from typing import Any

from django.utils.translation import gettext as _

from crowd.model_loop.anchoring import AnchoringReport, Difference, Proportion
from crowd.models import Campaign


def _arm(counted: Proportion, hit_name: str) -> dict[str, Any]:
    return {hit_name: counted.hits, "answers": counted.total, "rate": counted.rate}


def _difference(difference: Difference) -> dict[str, float | None]:
    return {"estimate": difference.estimate, "low": difference.low, "high": difference.high}


def anchoring_body(campaign: Campaign, report: AnchoringReport) -> dict[str, Any]:
    if campaign.mode != Campaign.Mode.REVIEW:
        verdict = _("This campaign is in label mode: workers see no suggestion, so there is nothing to measure.")
    elif report.agreement_difference.estimate is None:
        verdict = _("Not enough answers yet: both shown and blind items need answers.")
    elif report.warning and report.gold_accuracy_difference.significantly_positive:
        # More accurate overall, yet misled where the model suggests these labels: a bias the gain elsewhere hides.
        verdict = _(
            "Workers agree with the model significantly more when they see its suggestion, and on check items where "
            "it suggests %(labels)s following it costs accuracy: there the suggestion is right less often than "
            "workers are without it, or workers are less accurate with it. Consider label mode for this campaign."
        ) % {"labels": ", ".join(str(label) for label in report.misleading_suggestions)}
    elif report.warning:
        verdict = _(
            "Workers agree with the model significantly more when they see its suggestion, and they are not more "
            "accurate on check items for it: the suggestion sways them. Consider label mode for this campaign."
        )
    else:
        verdict = _("No sign that the model's suggestion sways workers beyond what it helps them get right.")
    misleading = report.misleading_suggestions
    return {
        "mode": campaign.mode,
        "blind_share": campaign.blind_share,
        "agreement": {
            "shown": _arm(report.agreement_shown, "agree"),
            "blind": _arm(report.agreement_blind, "agree"),
            "difference": _difference(report.agreement_difference),
        },
        "gold_accuracy": {
            "shown": _arm(report.gold_accuracy_shown, "correct"),
            "blind": _arm(report.gold_accuracy_blind, "correct"),
            "difference": _difference(report.gold_accuracy_difference),
        },
        "gold_accuracy_by_suggestion": [
            {
                "suggestion": arms.suggestion,
                "shown": _arm(arms.gold_accuracy_shown, "correct"),
                "blind": _arm(arms.gold_accuracy_blind, "correct"),
                "difference": _difference(arms.difference),
                "suggestion_right": _arm(arms.suggestion_accuracy, "correct"),
                "suggestion_difference": _difference(arms.suggestion_difference),
                "misleading": arms.suggestion in misleading,
            }
            for arms in report.by_suggestion
        ],
        "warning": report.warning,
        "message": verdict,
    }
