from django.urls import path, re_path

from crowd.coordinator import (
    archive_views,
    campaign_views,
    import_views,
    invitation_views,
    organization_views,
    people_views,
    pool_views,
    results_views,
    review_views,
    unsure_views,
    webhook_views,
)
from crowd.coordinator import views as coordinator_views

urlpatterns = [
    path("", coordinator_views.manage_home, name="manage-home"),
    path("organizations/new/", organization_views.organization_new, name="manage-organization-new"),
    path("organizations/<int:organization_id>/workers/", pool_views.organization_pool, name="manage-pool"),
    path(
        "organizations/<int:organization_id>/people/",
        people_views.organization_people,
        name="manage-people",
    ),
    path("campaigns/new/", campaign_views.campaign_new, name="manage-campaign-new"),
    path("campaigns/<int:campaign_id>/", campaign_views.campaign_detail, name="manage-campaign"),
    path("campaigns/<int:campaign_id>/edit/", campaign_views.campaign_edit, name="manage-campaign-edit"),
    re_path(
        r"^campaigns/(?P<campaign_id>[0-9]+)/(?P<move>launch|pause|resume|close|archive)/$",
        campaign_views.campaign_move,
        name="manage-campaign-move",
    ),
    path("campaigns/<int:campaign_id>/review/", review_views.campaign_review, name="manage-review"),
    path("campaigns/<int:campaign_id>/results/", results_views.campaign_results, name="manage-results"),
    path("campaigns/<int:campaign_id>/unsure/", unsure_views.campaign_unsure, name="manage-unsure"),
    path("campaigns/<int:campaign_id>/imports/", import_views.import_start, name="manage-import-start"),
    path("imports/<int:job_id>/", import_views.import_detail, name="manage-import"),
    path("imports/<int:job_id>/start/", import_views.import_confirm, name="manage-import-confirm"),
    path("campaigns/<int:campaign_id>/fairness/", coordinator_views.campaign_fairness, name="manage-fairness"),
    path("appeals/", coordinator_views.appeal_queue, name="manage-appeals"),
    path("appeals/<int:appeal_id>/decide/", coordinator_views.appeal_decide_form, name="manage-appeal-decide"),
    path("organizations/<int:organization_id>/archive/", archive_views.organization_archive, name="manage-archive"),
    path("archives/<int:job_id>/download/", archive_views.archive_download, name="manage-archive-download"),
    path(
        "organizations/<int:organization_id>/webhooks/",
        webhook_views.organization_webhooks,
        name="manage-webhooks",
    ),
    path("webhooks/<int:webhook_id>/", webhook_views.webhook_detail, name="manage-webhook"),
]

# Outside /manage/: the people an invitation is for are not members yet (config/urls.py mounts these at the root).
public_urlpatterns = [
    path("invitations/<str:token>/", invitation_views.invitation_accept_page, name="invitation-accept"),
]
