from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from config.health import healthz
from config.schema_view import SchemaView
from crowd.coordinator import urls as coordinator_urls
from crowd.views import SignInView

# Database lost anywhere in a request: 503; any other unexpected error: 500 in our own shape (config/unavailable.py).
handler500 = "config.unavailable.server_error"

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Sign-in answers with the work home itself (crowd/views.py); everything else of allauth as it comes.
    path("accounts/login/", SignInView.as_view(), name="account_login"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("crowd.api.urls")),
    path("manage/", include("crowd.coordinator.urls")),
    path("", include(coordinator_urls.public_urlpatterns)),
    path("", include("workers.urls")),
    path("", include("crowd.urls")),
]
