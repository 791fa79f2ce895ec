"""GET /api/v1/campaigns/{id}/anchoring/: does the model's suggestion sway the people who review it?"""

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crowd import selectors
from crowd.model_loop.report import anchoring_body
from crowd.model_loop.selectors import anchoring_for_campaign
from crowd.selectors import Actor


def _arm(name: str, hit: str) -> serializers.Serializer:
    return inline_serializer(
        name=name,
        fields={
            hit: serializers.IntegerField(),
            "answers": serializers.IntegerField(),
            "rate": serializers.FloatField(allow_null=True),
        },
    )


def _difference(name: str) -> serializers.Serializer:
    return inline_serializer(
        name=name,
        fields={
            "estimate": serializers.FloatField(allow_null=True),
            "low": serializers.FloatField(allow_null=True),
            "high": serializers.FloatField(allow_null=True),
        },
    )


def _comparison_fields(name: str, hit: str) -> dict[str, serializers.Field]:
    return {
        "shown": _arm(f"{name}Shown", hit),
        "blind": _arm(f"{name}Blind", hit),
        "difference": _difference(f"{name}Difference"),
    }


def _comparison(name: str, hit: str) -> serializers.Serializer:
    return inline_serializer(name=name, fields=_comparison_fields(name, hit))


AnchoringSerializer = inline_serializer(
    name="Anchoring",
    fields={
        "mode": serializers.ChoiceField(choices=["label", "review"]),
        "blind_share": serializers.FloatField(),
        "agreement": _comparison("AnchoringAgreement", "agree"),
        "gold_accuracy": _comparison("AnchoringGoldAccuracy", "correct"),
        "gold_accuracy_by_suggestion": inline_serializer(
            name="AnchoringBySuggestion",
            many=True,
            fields={
                "suggestion": serializers.CharField(),
                **_comparison_fields("AnchoringBySuggestion", "correct"),
                "suggestion_right": _arm("AnchoringSuggestionRight", "correct"),
                "suggestion_difference": _difference("AnchoringSuggestionDifference"),
                "misleading": serializers.BooleanField(),
            },
        ),
        "warning": serializers.BooleanField(),
        "message": serializers.CharField(),
    },
)


class CampaignAnchoringView(APIView):
    @extend_schema(
        responses=AnchoringSerializer,
        description="Review mode's anchoring check. Agreement of workers' answers with the model's suggestion on "
        "items served blind (no suggestion, at random) against items where it was shown; the difference "
        "(shown - blind) with a 95% interval (Newcombe's hybrid score interval); the accuracy of each arm on "
        "gold items, overall and per suggested label (`gold_accuracy_by_suggestion`, its intervals simultaneous "
        "over the labels, Bonferroni), with how often the suggestion itself was right on the shown arm's gold "
        "answers (`suggestion_right`) and its difference from the blind arm (`suggestion_difference`); "
        "`misleading` when the shown arm is significantly less accurate there or the suggestion is right "
        "significantly less often than the blind arm. `warning` is true when the shown arm agrees significantly "
        "more while not being significantly more accurate on gold, or while some suggestion is misleading.",
        examples=[
            OpenApiExample(
                "Swayed",
                value={
                    "mode": "review",
                    "blind_share": 0.1,
                    "agreement": {
                        "shown": {"agree": 850, "answers": 900, "rate": 0.944},
                        "blind": {"agree": 70, "answers": 100, "rate": 0.7},
                        "difference": {"estimate": 0.244, "low": 0.158, "high": 0.337},
                    },
                    "gold_accuracy": {
                        "shown": {"correct": 60, "answers": 90, "rate": 0.667},
                        "blind": {"correct": 8, "answers": 10, "rate": 0.8},
                        "difference": {"estimate": -0.133, "low": -0.329, "high": 0.168},
                    },
                    "gold_accuracy_by_suggestion": [
                        {
                            "suggestion": "neg",
                            "shown": {"correct": 25, "answers": 45, "rate": 0.556},
                            "blind": {"correct": 4, "answers": 5, "rate": 0.8},
                            "difference": {"estimate": -0.244, "low": -0.496, "high": 0.29},
                            "suggestion_right": {"correct": 20, "answers": 45, "rate": 0.444},
                            "suggestion_difference": {"estimate": -0.356, "low": -0.597, "high": 0.183},
                            "misleading": False,
                        },
                        {
                            "suggestion": "pos",
                            "shown": {"correct": 35, "answers": 45, "rate": 0.778},
                            "blind": {"correct": 4, "answers": 5, "rate": 0.8},
                            "difference": {"estimate": -0.022, "low": -0.275, "high": 0.499},
                            "suggestion_right": {"correct": 40, "answers": 45, "rate": 0.889},
                            "suggestion_difference": {"estimate": 0.089, "low": -0.153, "high": 0.602},
                            "misleading": False,
                        },
                    ],
                    "warning": True,
                    "message": "Workers agree with the model significantly more when they see its suggestion…",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for_actor(actor=Actor.for_request(request), campaign_id=campaign_id)
        return Response(anchoring_body(campaign, anchoring_for_campaign(campaign=campaign)))
