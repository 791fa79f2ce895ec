from django.urls import path

from workers import views

urlpatterns = [path("work/profile/", views.profile, name="worker-profile")]
