from django.urls import path

from crowd.coordinator import views as coordinator_views

urlpatterns = [
    path("", coordinator_views.manage_home, name="manage-home"),
    path("campaigns/<int:campaign_id>/fairness/", coordinator_views.campaign_fairness, name="manage-fairness"),
    path("appeals/", coordinator_views.appeal_queue, name="manage-appeals"),
    path("appeals/<int:appeal_id>/decide/", coordinator_views.appeal_decide_form, name="manage-appeal-decide"),
]
