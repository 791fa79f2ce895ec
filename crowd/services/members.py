"""Who acts for an organization: members and their roles, and API keys, managed by its owners. An organization
always keeps an owner: the last one cannot leave or be demoted (checked under the organization's row lock, so two
owners removing each other at the same moment cannot both succeed)."""

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crowd.exceptions import Conflict, NotFound, ValidationFailed
from crowd.models import ApiKey, Membership, Organization


class LastOwner(Conflict):
    code = "last_owner"


def _role_checked(role: str) -> str:
    if role not in Membership.Role.values:
        raise ValidationFailed(
            _("Unknown role."),
            fields={"role": _("One of: %(values)s.") % {"values": ", ".join(Membership.Role.values)}},
        )
    return role


def _lock(organization_id: int) -> None:
    Organization.objects.select_for_update().filter(pk=organization_id).first()


def _keeps_an_owner(organization_id: int, leaving_user_id: int) -> None:
    others = Membership.objects.filter(organization_id=organization_id, role=Membership.Role.OWNER).exclude(
        user_id=leaving_user_id
    )
    if not others.exists():
        raise LastOwner(_("An organization keeps at least one owner: make someone else owner first."))


def member_add(*, organization_id: int, email: str, role: str) -> Membership:
    """Add the account that has confirmed `email` with `role` (or change its role). Raises NotFound when no account
    has confirmed that address: roles go to people whose address is known to be theirs."""
    _role_checked(role)
    address = (
        EmailAddress.objects.filter(email__iexact=(email or "").strip(), verified=True, user__is_active=True)
        .select_related("user")
        .first()
    )
    if address is None:
        raise NotFound(_("No account has confirmed this email address; ask them to sign up and confirm it first."))
    return member_set_role(organization_id=organization_id, user_id=address.user_id, role=role)


def member_set_role(*, organization_id: int, user_id: int, role: str) -> Membership:
    """Give a member a role (adding them if needed). Locks the organization; raises LastOwner when it would leave
    the organization without an owner."""
    _role_checked(role)
    with transaction.atomic():
        _lock(organization_id)
        current = Membership.objects.filter(organization_id=organization_id, user_id=user_id).first()
        if current is not None and current.role == Membership.Role.OWNER and role != Membership.Role.OWNER:
            _keeps_an_owner(organization_id, user_id)
        membership, _created = Membership.objects.update_or_create(
            organization_id=organization_id, user_id=user_id, defaults={"role": role}
        )
    return membership


def member_remove(*, organization_id: int, user_id: int, keys_to: int | None = None) -> None:
    """Remove a member; their keys stop working with their role (checked on every request), unless `keys_to` names
    an owner who takes over their unrevoked keys in the same transaction. Locks the organization; raises NotFound
    (not a member), LastOwner, or ValidationFailed when `keys_to` is not another owner of the organization."""
    with transaction.atomic():
        _lock(organization_id)
        membership = Membership.objects.filter(organization_id=organization_id, user_id=user_id).first()
        if membership is None:
            raise NotFound(_("Not a member."))
        if membership.role == Membership.Role.OWNER:
            _keeps_an_owner(organization_id, user_id)
        if keys_to is not None:
            if keys_to == user_id:
                raise _not_an_owner()
            _require_owner(organization_id, keys_to)
            ApiKey.objects.filter(
                organization_id=organization_id, created_by_id=user_id, revoked_at__isnull=True
            ).update(created_by_id=keys_to)
        membership.delete()


def _not_an_owner() -> ValidationFailed:
    return ValidationFailed(
        _("Keys can only be handed to another owner of the organization."),
        fields={"user": _("Not an owner of this organization.")},
    )


def _require_owner(organization_id: int, user_id: int) -> None:
    if not Membership.objects.filter(
        organization_id=organization_id, user_id=user_id, role=Membership.Role.OWNER, user__is_active=True
    ).exists():
        raise _not_an_owner()


def api_key_reassign(*, organization_id: int, key_id: int, user_id: int) -> ApiKey:
    """Hand a key to another owner of its organization: it then lives and dies with their membership, not its
    creator's. Locks the organization (so the owner cannot leave meanwhile) and the key; raises NotFound for a key of
    another organization, Conflict for a revoked key, ValidationFailed when `user_id` is not an owner here."""
    with transaction.atomic():
        _lock(organization_id)
        key = ApiKey.objects.select_for_update().filter(pk=key_id, organization_id=organization_id).first()
        if key is None:
            raise NotFound(_("No such key."))
        if key.revoked_at is not None:
            raise Conflict(_("This key was revoked; issue a new one instead."))
        _require_owner(organization_id, user_id)
        if key.created_by_id != user_id:
            key.created_by_id = user_id
            key.save(update_fields=["created_by"])
    return key


def api_key_revoke(*, organization_id: int, key_id: int) -> ApiKey:
    """Revoke a key at once (idempotent). Raises NotFound for a key of another organization."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(pk=key_id, organization_id=organization_id).first()
        if key is None:
            raise NotFound(_("No such key."))
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
    return key
