from django.urls import path

from workers import language_views, signin_views, views

urlpatterns = [
    path("work/profile/", views.profile, name="worker-profile"),
    path("language/", language_views.language_set, name="language-set"),
    path("accounts/code/", signin_views.signin_code, name="signin-code"),
    path("accounts/link/<str:token>/", signin_views.signin_link, name="signin-link"),
    path("accounts/welcome/", signin_views.signin_welcome, name="signin-welcome"),
    path("accounts/recovery-codes/", signin_views.recovery_codes, name="recovery-codes"),
    path("accounts/recover/", signin_views.recover, name="recover"),
]
