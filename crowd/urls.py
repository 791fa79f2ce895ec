from django.urls import path

from crowd import own_data_views, views, why_views

urlpatterns = [
    path("", views.home, name="home"),
    path("work/", views.work_home, name="work-home"),
    path("work/next/", views.work_next, name="work-next"),
    path("work/assignments/<int:assignment_id>/", views.work_assignment, name="work-assignment"),
    path("work/assignments/<int:assignment_id>/ahead/", views.work_ahead, name="work-ahead"),
    path("work/assignments/<int:assignment_id>/release/", views.work_release, name="work-release"),
    path("work/assignments/<int:assignment_id>/appeal/", views.work_appeal, name="work-appeal"),
    path("work/earnings/", views.work_earnings, name="work-earnings"),
    path("work/why/", why_views.work_why, name="work-why"),
    path("work/profile/data/", own_data_views.work_my_data, name="work-my-data"),
    path("work/profile/delete/", own_data_views.work_delete_account, name="work-delete-account"),
]
