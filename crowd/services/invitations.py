"""Invitations to join an organization with a role, for people who may have no account yet. The owner gets a link
(and, when an email address is given, it is mailed once the invitation is committed); whoever opens it signed in
accepts it once. Only the link's SHA-256 digest is stored, like API keys; the link works for INVITATION_DAYS.

Accepting locks the organization (as crowd/services/members.py does for every membership change) and then the
invitation, so two people accepting the same link at once cannot both join."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urljoin

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crowd.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from crowd.models import Invitation, Membership, Organization
from workers.models import User
from workers.tokens import token_digest, token_new

INVITATION_DAYS = 7
EMAIL_MAX = 254

# The roles as people read them; the same English as Membership.Role's labels, marked here for translation.
ROLE_NAMES = {
    Membership.Role.OWNER: gettext_noop("Owner"),
    Membership.Role.COORDINATOR: gettext_noop("Coordinator"),
    Membership.Role.VIEWER: gettext_noop("Viewer"),
}


def role_name(role: str) -> str:
    """The role's name in the active language."""
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else role


class InvitationUnusable(Conflict):
    """The link was valid once but cannot be accepted any more."""

    code = "invitation_unusable"


class InvitationUsed(InvitationUnusable):
    code = "invitation_used"


class InvitationRevoked(InvitationUnusable):
    code = "invitation_revoked"


class InvitationExpired(InvitationUnusable):
    code = "invitation_expired"


class AlreadyMember(Conflict):
    code = "already_member"


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # the secret, here and nowhere else: only its digest is stored
    url: str


def invitation_digest(token: str) -> str:
    return token_digest(token)


def invitation_url(*, base_url: str, token: str) -> str:
    return urljoin(base_url, reverse("invitation-accept", args=[token]))


def invitation_check(invitation: Invitation, *, user_id: int | None = None, now: datetime | None = None) -> None:
    """Raise why `invitation` cannot be accepted (by `user_id`, when given): used, revoked, expired, or the user is
    a member already. Reads one row for the membership; the caller holds the locks it needs."""
    if invitation.accepted_at is not None:
        raise InvitationUsed(_("This invitation was already used."))
    if invitation.revoked_at is not None:
        raise InvitationRevoked(_("This invitation was revoked."))
    if invitation.expires_at <= (now or timezone.now()):
        raise InvitationExpired(_("This invitation has expired."))
    if (
        user_id is not None
        and Membership.objects.filter(organization_id=invitation.organization_id, user_id=user_id).exists()
    ):
        raise AlreadyMember(_("You are already a member of this organization."))


def _email_checked(email: str) -> str:
    email = User.objects.normalize_email((email or "").strip())
    if not email:
        return ""
    try:
        if len(email) > EMAIL_MAX:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError as exc:
        raise ValidationFailed(_("Not an email address."), fields={"email": _("Not an email address.")}) from exc
    return email


def _invitation_mail(*, organization: Organization, inviter: User, role: str, url: str, expires_at: datetime):
    """Subject and body in the active language (the inviter's): rendered now, sent after the commit."""
    values = {
        "organization": organization.name,
        "inviter": inviter.get_full_name() or inviter.username,
        "role": role_name(role),
        "url": url,
        "days": INVITATION_DAYS,
        "date": formats.date_format(timezone.localtime(expires_at), "DATE_FORMAT"),
    }
    subject = _("Invitation to join %(organization)s on Crowdloop") % values
    body = (
        _(
            "%(inviter)s invited you to join %(organization)s on Crowdloop with the role %(role)s.\n\n"
            "Open this link to accept. It works once, until %(date)s:\n%(url)s\n\n"
            "If you have no Crowdloop account yet, you can create one from that page.\n"
            "If you did not expect this invitation, you can ignore this message."
        )
        % values
    )
    return subject, body


def invitation_create(
    *, organization_id: int, created_by_id: int, role: str, email: str = "", base_url: str
) -> IssuedInvitation:
    """Invite someone to the organization with `role`. The token is returned once (in `IssuedInvitation`) and only its
    digest is stored. With an email address, the link is mailed after the commit (a mail that fails is logged; the
    owner still has the link). Raises ValidationFailed (role, email) or PermissionDenied (the creator is not an
    owner: only owners manage members)."""
    if role not in Membership.Role.values:
        raise ValidationFailed(
            _("Unknown role."),
            fields={"role": _("One of: %(values)s.") % {"values": ", ".join(Membership.Role.values)}},
        )
    email = _email_checked(email)
    token = token_new("inv")
    with transaction.atomic():
        inviter = (
            Membership.objects.filter(
                organization_id=organization_id, user_id=created_by_id, role=Membership.Role.OWNER
            )
            .select_related("organization", "user")
            .first()
        )
        if inviter is None:
            raise PermissionDenied(_("Only an owner of the organization can invite members."))
        invitation = Invitation.objects.create(
            organization_id=organization_id,
            role=role,
            email=email,
            digest=invitation_digest(token),
            created_by_id=created_by_id,
            expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
        )
        url = invitation_url(base_url=base_url, token=token)
        if email:
            subject, body = _invitation_mail(
                organization=inviter.organization,
                inviter=inviter.user,
                role=role,
                url=url,
                expires_at=invitation.expires_at,
            )
            # After the commit: no mail for an invitation that was rolled back, and no SMTP wait inside the
            # transaction. robust: a mail server that is down must not turn the owner's page into an error.
            transaction.on_commit(partial(send_mail, subject, body, None, [email]), robust=True)
    return IssuedInvitation(invitation=invitation, token=token, url=url)


def invitation_accept(*, token: str, user_id: int) -> Membership:
    """Make `user_id` a member with the invitation's role, once. Locks the organization, then the invitation.
    Raises NotFound (no such link), InvitationUsed, InvitationRevoked, InvitationExpired or AlreadyMember (nothing
    changed: a member's role changes on the people page, not through a link)."""
    digest = invitation_digest(token or "")
    found = Invitation.objects.filter(digest=digest).values_list("organization_id", flat=True).first()
    if found is None:
        raise NotFound(_("No such invitation."))
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=found).first()
        invitation = Invitation.objects.select_for_update().filter(digest=digest).first()
        if invitation is None:  # its organization was deleted meanwhile
            raise NotFound(_("No such invitation."))
        now = timezone.now()
        invitation_check(invitation, user_id=user_id, now=now)
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    organization_id=invitation.organization_id, user_id=user_id, role=invitation.role
                )
        except IntegrityError as exc:  # a membership made without the organization's lock (the admin, a command)
            raise AlreadyMember(_("You are already a member of this organization.")) from exc
        invitation.accepted_by_id = user_id
        invitation.accepted_at = now
        invitation.save(update_fields=["accepted_by", "accepted_at"])
    return membership


def invitation_revoke(*, organization_id: int, invitation_id: int) -> Invitation:
    """Withdraw an invitation at once (idempotent). Locks the invitation. Raises NotFound for another organization's
    invitation and InvitationUsed for one already accepted (remove the member instead)."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().filter(pk=invitation_id, organization_id=organization_id).first()
        )
        if invitation is None:
            raise NotFound(_("No such invitation."))
        if invitation.accepted_at is not None:
            raise InvitationUsed(_("This invitation was already accepted: remove the member instead."))
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
    return invitation
