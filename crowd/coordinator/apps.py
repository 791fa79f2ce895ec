from django.apps import AppConfig


class CoordinatorConfig(AppConfig):
    """An app only so that its templates sit beside its views (no models)."""

    name = "crowd.coordinator"
    label = "coordinator"
