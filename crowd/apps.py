from django.apps import AppConfig


class CrowdConfig(AppConfig):
    name = "crowd"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crowd.selectors import languages_in_demand, skills_in_demand
        from workers import demand

        demand.register("skills", skills_in_demand)
        demand.register("languages", languages_in_demand)
