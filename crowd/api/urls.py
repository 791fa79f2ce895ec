from django.urls import path, re_path

from crowd.api import anchoring_views, data_views, keys_views, model_views, views, webhook_views

urlpatterns = [
    path("campaigns/", views.CampaignListView.as_view(), name="api-campaigns"),
    path("campaigns/<int:campaign_id>/", views.CampaignDetailView.as_view(), name="api-campaign"),
    path("campaigns/<int:campaign_id>/items/", views.CampaignItemsView.as_view(), name="api-campaign-items"),
    path(
        "campaigns/<int:campaign_id>/submissions/",
        views.CampaignSubmissionsView.as_view(),
        name="api-campaign-submissions",
    ),
    path(
        "campaigns/<int:campaign_id>/submissions/decide/",
        views.CampaignSubmissionsDecideView.as_view(),
        name="api-campaign-submissions-decide",
    ),
    path("campaigns/<int:campaign_id>/imports/", views.CampaignImportsView.as_view(), name="api-campaign-imports"),
    path(
        "campaigns/<int:campaign_id>/imports/preview/",
        views.CampaignImportPreviewView.as_view(),
        name="api-campaign-import-preview",
    ),
    path("campaigns/<int:campaign_id>/unsure/", views.CampaignUnsureView.as_view(), name="api-campaign-unsure"),
    path(
        "campaigns/<int:campaign_id>/items/<int:item_id>/decide/",
        views.ItemDecideView.as_view(),
        name="api-item-decide",
    ),
    path("imports/<int:job_id>/", views.ImportJobView.as_view(), name="api-import-job"),
    path("campaigns/<int:campaign_id>/launch/", views.CampaignLaunchView.as_view(), name="api-campaign-launch"),
    path(
        "campaigns/<int:campaign_id>/pause/",
        views.CampaignMoveView.as_view(),
        {"move": "pause"},
        name="api-campaign-pause",
    ),
    path(
        "campaigns/<int:campaign_id>/resume/",
        views.CampaignMoveView.as_view(),
        {"move": "resume"},
        name="api-campaign-resume",
    ),
    path(
        "campaigns/<int:campaign_id>/close/",
        views.CampaignMoveView.as_view(),
        {"move": "close"},
        name="api-campaign-close",
    ),
    path(
        "campaigns/<int:campaign_id>/archive/",
        views.CampaignMoveView.as_view(),
        {"move": "archive"},
        name="api-campaign-archive",
    ),
    path(
        "campaigns/<int:campaign_id>/aggregate/", views.CampaignAggregateView.as_view(), name="api-campaign-aggregate"
    ),
    path("campaigns/<int:campaign_id>/results/", views.CampaignResultsView.as_view(), name="api-campaign-results"),
    path("campaigns/<int:campaign_id>/export/", views.CampaignExportView.as_view(), name="api-campaign-export"),
    path("workers/", data_views.WorkerPoolView.as_view(), name="api-workers"),
    path("workers/<str:worker_id>/login-link/", views.WorkerLoginLinkView.as_view(), name="api-worker-login-link"),
    path("workers/<str:worker_id>/token/", views.WorkerTokenRotateView.as_view(), name="api-worker-token"),
    path("assignments/next/", views.AssignmentNextView.as_view(), name="api-assignment-next"),
    path("assignments/<int:assignment_id>/submit/", views.AssignmentSubmitView.as_view(), name="api-assignment-submit"),
    path(
        "assignments/<int:assignment_id>/release/", views.AssignmentReleaseView.as_view(), name="api-assignment-release"
    ),
    path(
        "assignments/<int:assignment_id>/heartbeat/",
        views.AssignmentHeartbeatView.as_view(),
        name="api-assignment-heartbeat",
    ),
    path("campaigns/<int:campaign_id>/blocks/", views.CampaignBlocksView.as_view(), name="api-campaign-blocks"),
    path(
        "campaigns/<int:campaign_id>/blocks/<str:worker_id>/",
        views.CampaignBlockDetailView.as_view(),
        name="api-campaign-block",
    ),
    path("blocks/", views.OrganizationBlocksView.as_view(), name="api-blocks"),
    path("blocks/<str:worker_id>/", views.OrganizationBlockDetailView.as_view(), name="api-block"),
    path(
        "campaigns/<int:campaign_id>/annotators/",
        views.CampaignAnnotatorsView.as_view(),
        name="api-campaign-annotators",
    ),
    path(
        "assignments/<int:assignment_id>/approve/", views.AssignmentApproveView.as_view(), name="api-assignment-approve"
    ),
    path("assignments/<int:assignment_id>/reject/", views.AssignmentRejectView.as_view(), name="api-assignment-reject"),
    path("assignments/<int:assignment_id>/appeal/", views.AssignmentAppealView.as_view(), name="api-assignment-appeal"),
    path("appeals/", views.AppealListView.as_view(), name="api-appeals"),
    path("appeals/<int:appeal_id>/decide/", views.AppealDecideView.as_view(), name="api-appeal-decide"),
    path("reviews/stats/", views.ReviewStatsView.as_view(), name="api-review-stats"),
    path("campaigns/<int:campaign_id>/fairness/", views.CampaignFairnessView.as_view(), name="api-campaign-fairness"),
    path(
        "campaigns/<int:campaign_id>/anchoring/",
        anchoring_views.CampaignAnchoringView.as_view(),
        name="api-campaign-anchoring",
    ),
    path("payouts/", views.PayoutBatchView.as_view(), name="api-payouts"),
    path("payouts/<int:batch_id>/export/", views.PayoutExportView.as_view(), name="api-payout-export"),
    path(
        "payouts/<int:batch_id>/confirm/",
        views.PayoutSettleView.as_view(),
        {"action": "confirm"},
        name="api-payout-confirm",
    ),
    path(
        "payouts/<int:batch_id>/cancel/",
        views.PayoutSettleView.as_view(),
        {"action": "cancel"},
        name="api-payout-cancel",
    ),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("me/export/", views.MyExportView.as_view(), name="api-my-export"),
    path("me/terms/", views.MyTermsView.as_view(), name="api-my-terms"),
    path("me/quality/", views.MyQualityView.as_view(), name="api-my-quality"),
    path("me/earnings/", views.MyEarningsView.as_view(), name="api-my-earnings"),
    path("funds/", views.FundsView.as_view(), name="api-funds"),
    path("funds/deposits/", views.DepositView.as_view(), name="api-funds-deposits"),
    path("campaigns/<int:campaign_id>/answers/", data_views.CampaignAnswersView.as_view(), name="api-campaign-answers"),
    path("archive/", data_views.ArchiveView.as_view(), name="api-archive"),
    path("archive/<int:job_id>/", data_views.ArchiveJobView.as_view(), name="api-archive-job"),
    path("archive/<int:job_id>/download/", data_views.ArchiveDownloadView.as_view(), name="api-archive-download"),
    path("webhooks/", webhook_views.WebhookListView.as_view(), name="api-webhooks"),
    path("webhooks/<int:webhook_id>/", webhook_views.WebhookDetailView.as_view(), name="api-webhook"),
    path(
        "webhooks/<int:webhook_id>/deliveries/",
        webhook_views.WebhookDeliveriesView.as_view(),
        name="api-webhook-deliveries",
    ),
    path("webhooks/<int:webhook_id>/test/", webhook_views.WebhookTestView.as_view(), name="api-webhook-test"),
    path("keys/", keys_views.KeyListView.as_view(), name="api-keys"),
    path("keys/<int:key_id>/", keys_views.KeyDetailView.as_view(), name="api-key"),
    path("keys/<int:key_id>/reassign/", keys_views.KeyReassignView.as_view(), name="api-key-reassign"),
    # Models in the loop: the organization's models, a campaign's ML backends and built-in baseline.
    path("models/", model_views.LabelModelListView.as_view(), name="api-models"),
    path(
        "campaigns/<int:campaign_id>/backends/",
        model_views.CampaignBackendsView.as_view(),
        name="api-campaign-backends",
    ),
    path(
        "campaigns/<int:campaign_id>/backends/<int:backend_id>/",
        model_views.CampaignBackendDetailView.as_view(),
        name="api-campaign-backend",
    ),
    path(
        "campaigns/<int:campaign_id>/baseline/",
        model_views.CampaignBaselineView.as_view(),
        name="api-campaign-baseline",
    ),
    # Last: any other path is a JSON 404 (a known endpoint without its slash is redirected to it there). [\s\S], not
    # ".": a path parameter holding a newline is a JSON 404 too, not an HTML page.
    re_path(r"^[\s\S]*$", views.api_not_found, name="api-not-found"),
]
