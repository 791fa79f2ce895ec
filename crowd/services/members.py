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


def member_remove(*, organization_id: int, user_id: int) -> None:
    """Remove a member; their keys stop working with their role (checked on every request). Locks the organization;
    raises NotFound (not a member) or LastOwner."""
    with transaction.atomic():
        _lock(organization_id)
        membership = Membership.objects.filter(organization_id=organization_id, user_id=user_id).first()
        if membership is None:
            raise NotFound(_("Not a member."))
        if membership.role == Membership.Role.OWNER:
            _keeps_an_owner(organization_id, user_id)
        membership.delete()


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
