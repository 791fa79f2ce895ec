from django.core.management.base import BaseCommand, CommandError

from crowd.services.organizations import api_key_create, organization_ensure


class Command(BaseCommand):
    help = "Create the organization and its owner if missing, and print a fresh API key on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization name")
        parser.add_argument("--email", required=True, help="Owner's email (the user is created if missing)")
        parser.add_argument("--name", default="cli", help="A label for the key")

    def handle(self, *args, **options):
        if "@" not in options["email"]:
            raise CommandError("--email must be an email address.")
        organization, owner = organization_ensure(name=options["org"], owner_email=options["email"])
        key = api_key_create(organization_id=organization.id, created_by_id=owner.id, name=options["name"])
        self.stderr.write(f"Organization {organization.name} (id {organization.id}), owner {owner.email}")
        self.stdout.write(key)
