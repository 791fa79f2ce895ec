"""`make run` loads the demo on every start, so this command is idempotent: what exists is left alone."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crowd import demo
from crowd.models import Campaign, Membership, Organization
from crowd.services.campaigns import campaign_create, campaign_launch
from crowd.services.imports import items_import
from crowd.services.organizations import membership_set, organization_ensure
from payments.models import LedgerEntry
from payments.services import funds_deposit
from workers.models import User
from workers.services import LanguageLevel, user_email_verify, worker_enroll
from workers.terms import terms_accept


def coordinator_ensure() -> tuple[User, bool]:
    """The coordinator signs in to the admin too, so they are staff and superuser (a demo-only shortcut)."""
    user = User.objects.filter(username=demo.COORDINATOR.username).first()
    if user is not None:
        return user, False
    # Created before the organization so that organization_ensure finds them by email instead of making
    # an owner whose username is the email address.
    user = User.objects.create_superuser(
        username=demo.COORDINATOR.username, email=demo.COORDINATOR.email, password=demo.COORDINATOR.password
    )
    return user, True


def organization_with_owner(coordinator: User) -> tuple[Organization, bool]:
    created = not Organization.objects.filter(name=demo.ORGANIZATION_NAME).exists()
    user_email_verify(user=coordinator)  # the demo vouches for its own coordinator; owners need a verified address
    organization, owner = organization_ensure(name=demo.ORGANIZATION_NAME, owner_email=demo.COORDINATOR.email)
    if owner.pk != coordinator.pk:
        # Another account already had the coordinator's email; the demo coordinator must still own the org.
        membership_set(organization_id=organization.id, user_id=coordinator.id, role=Membership.Role.OWNER)
    return organization, created


def worker_ensure(*, organization: Organization, spec: demo.DemoWorker) -> bool:
    """Enroll the worker unless the username is taken; the demo worker signs in with a password."""
    if User.objects.filter(username=spec.username).exists():
        return False
    profile, _token = worker_enroll(
        organization_id=organization.id,
        username=spec.username,
        email=spec.email,
        country=spec.country,
        languages=[LanguageLevel(code, level) for code, level in spec.languages],
        skills=[],
    )
    user = profile.user
    user.set_password(spec.password)  # enrollment leaves API-only workers without one
    user.save(update_fields=["password"])
    terms_accept(user=user)  # the demo's people have read the terms: the demo opens on work, not on them
    return True


def funds_ensure(*, organization: Organization, coordinator: User) -> bool:
    exists = LedgerEntry.objects.filter(
        organization=organization, kind=LedgerEntry.Kind.DEPOSIT, reference=demo.DEPOSIT["reference"]
    ).exists()
    if not exists:
        funds_deposit(organization_id=organization.id, created_by_id=coordinator.id, **demo.DEPOSIT)
    return not exists


def campaign_ensure(*, organization: Organization, coordinator: User) -> tuple[Campaign, bool]:
    """Create, fill and launch the demo campaign. A draft left by someone else is filled and launched too;
    a campaign past draft is left as the coordinator left it (paused, completed...)."""
    campaign = Campaign.objects.filter(organization=organization, name=demo.CAMPAIGN_NAME).order_by("id").first()
    if campaign is not None and campaign.status != Campaign.Status.DRAFT:
        return campaign, False
    if campaign is None:
        campaign = campaign_create(
            organization_id=organization.id, created_by_id=coordinator.id, fields=demo.campaign_fields()
        )
    items_import(campaign_id=campaign.id, rows=demo.items_rows())  # idempotent on external_id
    return campaign_launch(campaign_id=campaign.id), True


def campaign_summary(campaign: Campaign) -> str:
    items = campaign.items.count()
    gold = campaign.items.filter(gold__isnull=False).count()
    return f"{campaign.status}, {items} items ({gold} gold), {campaign.microtasks.count()} microtasks"


def status(created: bool) -> str:
    return "created" if created else "exists, left unchanged"


class Command(BaseCommand):
    help = "Load the bundled demo: an organization, its coordinator, three workers and an active campaign."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Load even when DEBUG is off (the demo has printed passwords)."
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Refusing to load demo accounts with DEBUG off; pass --force if you really mean it.")
        # All or nothing: a failed load leaves no half-made demo behind, and the next run starts clean.
        with transaction.atomic():
            coordinator, coordinator_created = coordinator_ensure()
            organization, organization_created = organization_with_owner(coordinator)
            workers = [(spec, worker_ensure(organization=organization, spec=spec)) for spec in demo.WORKERS]
            funds_created = funds_ensure(organization=organization, coordinator=coordinator)
            campaign, campaign_created = campaign_ensure(organization=organization, coordinator=coordinator)
        deposit = f"funds {demo.DEPOSIT['amount']} {demo.DEPOSIT['currency']}"
        rows = [
            ("organization", status(organization_created)),
            (f"coordinator {coordinator.username}", status(coordinator_created)),
            *((f"worker {spec.username}", status(created)) for spec, created in workers),
            (deposit, status(funds_created)),
            (f"campaign {campaign.name!r}", f"{status(campaign_created)}: {campaign_summary(campaign)}"),
        ]
        self.stdout.write(f"Demo data for {demo.ORGANIZATION_NAME!r}:")
        for label, text in rows:
            self.stdout.write(f"  {label:<28} {text}")
