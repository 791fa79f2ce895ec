"""Organizations, memberships and API keys."""

from datetime import datetime

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crowd.exceptions import Conflict, PermissionDenied, ValidationFailed
from crowd.models import ApiKey, Membership, Organization
from crowd.selectors import roles_at_least
from workers.models import User
from workers.services import user_email_verify
from workers.tokens import token_digest, token_new


class OwnerNotVerified(Conflict):
    code = "owner_not_verified"


class OrganizationNameTaken(ValidationFailed):
    """The name belongs to another organization. A class of its own so pages can tell it apart without reading
    the (translated) message; the API still answers validation_error."""


def _owner_for_email(email: str) -> User:
    """The account that has verified `email`, or a new account for it that counts as verified (whoever runs
    this vouches for the address). Never an account whose claim to the address nobody checked: anyone can sign
    up with someone else's address, and would then own the organization."""
    # "Victim@Example.org " is the same mailbox as "victim@example.org": compare and store one form.
    email = User.objects.normalize_email(email.strip()).lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationFailed(_("Not an email address."), fields={"owner_email": _("Not an email address.")}) from exc
    address = EmailAddress.objects.filter(email__iexact=email, verified=True).select_related("user").first()
    if address is not None:
        if not address.user.is_active:
            raise OwnerNotVerified(_("The account that verified %(email)s is deactivated.") % {"email": email})
        return address.user
    claimed = (
        User.objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email).exists()
        or User.objects.filter(username__iexact=email).exists()
    )
    if claimed:
        raise OwnerNotVerified(
            _(
                "An account with %(email)s exists but has not verified that address, so it cannot be made an owner. "
                "Its holder can confirm the address from the sign-in pages (email settings), or a site administrator "
                "can check who they are and mark the address verified in the admin; then run this again."
            )
            % {"email": email}
        )
    try:
        with transaction.atomic():
            owner = User.objects.create_user(username=email, email=email)
            user_email_verify(user=owner)
    except IntegrityError as exc:  # someone signed up with this address or username at this very moment
        raise OwnerNotVerified(
            _("An account with %(email)s was created meanwhile; run this again.") % {"email": email}
        ) from exc
    return owner


def organization_ensure(*, name: str, owner_email: str) -> tuple[Organization, User]:
    """Get or create the organization and its owner, and make them an owner. Idempotent. The owner is the
    account that verified `owner_email`, or a new one (created verified); raises OwnerNotVerified when an
    unverified or deactivated account holds that address."""
    with transaction.atomic():
        owner = _owner_for_email(owner_email)
        organization, _created = Organization.objects.get_or_create(name=name)
        Membership.objects.update_or_create(
            organization=organization, user=owner, defaults={"role": Membership.Role.OWNER}
        )
    return organization, owner


def organization_create(*, name: str, owner_id: int) -> Organization:
    """A new organization, owned by the signed-in user who makes it. Owners handle money and keys, so the user
    must have verified an email address. Raises ValidationFailed (no name, or the name is taken: names are
    unique) or OwnerNotVerified."""
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise ValidationFailed(
            _("An organization needs a name of at most 200 characters."), fields={"name": _("Required.")}
        )
    if not EmailAddress.objects.filter(user_id=owner_id, verified=True, user__is_active=True).exists():
        raise OwnerNotVerified(_("Confirm your email address first: owners of an organization must have one."))
    taken = OrganizationNameTaken(_("An organization with this name exists already."), fields={"name": _("Taken.")})
    if Organization.objects.filter(name__iexact=name).exists():
        raise taken
    try:
        with transaction.atomic():
            organization = Organization.objects.create(name=name)
            Membership.objects.create(organization=organization, user_id=owner_id, role=Membership.Role.OWNER)
    except IntegrityError as exc:  # the same name, created at this very moment
        raise taken from exc
    return organization


def membership_set(*, organization_id: int, user_id: int, role: str) -> Membership:
    membership, _created = Membership.objects.update_or_create(
        organization_id=organization_id, user_id=user_id, defaults={"role": role}
    )
    return membership


def api_key_create(
    *,
    organization_id: int,
    created_by_id: int,
    name: str = "",
    role: str = Membership.Role.OWNER,
    expires_at: datetime | None = None,
) -> str:
    """Issue an API key and return the plain key (see `api_key_issue`)."""
    _api_key, key = api_key_issue(
        organization_id=organization_id, created_by_id=created_by_id, name=name, role=role, expires_at=expires_at
    )
    return key


# Enough of the key to tell keys apart in a list ("clo_" and 8 random characters), far too little to guess it.
API_KEY_PREFIX_LENGTH = 12


def api_key_issue(
    *,
    organization_id: int,
    created_by_id: int,
    name: str = "",
    role: str = Membership.Role.OWNER,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Issue an API key; the plain key is returned once and only its digest (and a short prefix) is stored. The key
    works while its creator holds at least `role` in the organization (checked on every request), until `expires_at`
    if given. Raises ValidationFailed for an unknown role or an expiry not in the future, PermissionDenied when the
    creator does not hold that role now."""
    if role not in Membership.Role.values:
        raise ValidationFailed(
            _("Unknown role."),
            fields={"role": _("One of: %(values)s.") % {"values": ", ".join(Membership.Role.values)}},
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            _("A key's expiry must be in the future."), fields={"expires_at": _("Must be in the future.")}
        )
    if not Membership.objects.filter(
        organization_id=organization_id, user_id=created_by_id, role__in=roles_at_least(role)
    ).exists():
        raise PermissionDenied(
            _("Only a member with at least the %(role)s role can issue a %(role)s key.") % {"role": role}
        )
    key = token_new("clo")
    api_key = ApiKey.objects.create(
        organization_id=organization_id,
        created_by_id=created_by_id,
        name=name,
        role=role,
        expires_at=expires_at,
        digest=token_digest(key),
        prefix=key[:API_KEY_PREFIX_LENGTH],
    )
    return api_key, key
