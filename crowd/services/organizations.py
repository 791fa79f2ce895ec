"""Organizations, memberships and API keys."""

from django.db import transaction

from crowd.models import ApiKey, Membership, Organization
from workers.models import User
from workers.tokens import token_digest, token_new


def organization_ensure(*, name: str, owner_email: str) -> tuple[Organization, User]:
    """Get or create the organization and the owner user, and make them an owner. Idempotent."""
    with transaction.atomic():
        organization, _ = Organization.objects.get_or_create(name=name)
        owner = User.objects.filter(email__iexact=owner_email).order_by("id").first()
        if owner is None:
            owner = User.objects.create_user(username=owner_email, email=owner_email)
        Membership.objects.update_or_create(
            organization=organization, user=owner, defaults={"role": Membership.Role.OWNER}
        )
    return organization, owner


def membership_set(*, organization_id: int, user_id: int, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        organization_id=organization_id, user_id=user_id, defaults={"role": role}
    )
    return membership


def api_key_create(
    *, organization_id: int, created_by_id: int, name: str = "", role: str = Membership.Role.OWNER
) -> str:
    """Issue an API key; the plain key is returned once and only its digest is stored."""
    key = token_new("clo")
    ApiKey.objects.create(
        organization_id=organization_id, created_by_id=created_by_id, name=name, role=role, digest=token_digest(key)
    )
    return key
