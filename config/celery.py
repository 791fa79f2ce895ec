import os
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("crowdloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class RuntimeDirScheduler(PersistentScheduler):
    """Beat's default scheduler, creating the directory of its schedule file first: the file lives in a runtime
    directory outside the checkout (CELERY_BEAT_SCHEDULE_FILENAME), which may not exist yet."""

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        super().setup_schedule()
