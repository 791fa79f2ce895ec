from django.urls import path

from workers import language_views, views

urlpatterns = [
    path("work/profile/", views.profile, name="worker-profile"),
    path("language/", language_views.language_set, name="language-set"),
]
