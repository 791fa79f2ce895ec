from django.core.management.base import BaseCommand, CommandError

from crowd.exceptions import DomainError
from crowd.services.organizations import api_key_create, organization_ensure


class Command(BaseCommand):
    help = (
        "Create the organization and its owner if missing, and print a fresh API key on the last line. The owner is "
        "the account that verified --email, or a new account created verified; an account that has not verified "
        "that address is never made an owner."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization name")
        parser.add_argument("--email", required=True, help="Owner's email (the user is created if missing)")
        parser.add_argument("--name", default="cli", help="A label for the key")

    def handle(self, *args, **options):
        if "@" not in options["email"]:
            raise CommandError("--email must be an email address.")
        try:
            organization, owner = organization_ensure(name=options["org"], owner_email=options["email"])
            key = api_key_create(organization_id=organization.id, created_by_id=owner.id, name=options["name"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(f"Organization {organization.name} (id {organization.id}), owner {owner.email}")
        self.stdout.write(key)
