from django.core.management.base import BaseCommand, CommandError

from crowd.models import Campaign
from crowd.services.images import items_images_backfill


class Command(BaseCommand):
    help = (
        "Queue phone-friendly copies of item images for items imported before copies were made (the Celery workers "
        "make them). Safe to run again. --retry-failed also retries copies that failed, e.g. after a server was down."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", type=int, help="Only this campaign's items")
        parser.add_argument("--retry-failed", action="store_true", help="Retry copies recorded as failed too")

    def handle(self, *args, **options):
        campaign_id = options.get("campaign")
        if campaign_id is not None and not Campaign.objects.filter(pk=campaign_id).exists():
            raise CommandError(f"No campaign {campaign_id}.")
        queued = items_images_backfill(campaign_id=campaign_id, retry_failed=options["retry_failed"])
        self.stdout.write(f"{queued} image copies queued.")
