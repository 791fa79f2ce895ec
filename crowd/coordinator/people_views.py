"""An organization's people and keys, for its owners: add members by their confirmed email address or invite them
with a one-time link (mailed when an address is given), change roles, remove members (never the last owner), and
issue or revoke API keys. A new key or invitation link is shown once, on the answer page itself, never stored in the
session."""

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crowd.coordinator.views import member_required
from crowd.exceptions import DomainError, NotFound, ValidationFailed
from crowd.models import ApiKey, Membership, Organization
from crowd.query_params import whole_number
from crowd.selectors import Actor, invitations_pending
from crowd.services.invitations import (
    INVITATION_DAYS,
    InvitationUsed,
    invitation_create,
    invitation_revoke,
    role_name,
)
from crowd.services.members import LastOwner, api_key_revoke, member_add, member_remove, member_set_role
from crowd.services.organizations import api_key_create

KEY_DAYS_MAX = 3650


def _context(actor: Actor, organization: Organization, **extra) -> dict:
    invitations = [
        {"invitation": invitation, "role": role_name(invitation.role)}
        for invitation in invitations_pending(actor=actor, organization_id=organization.id)
    ]
    return {
        "organization": organization,
        "invitations": invitations,
        "invitation_days": INVITATION_DAYS,
        "members": Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__username"),
        "keys": ApiKey.objects.filter(organization=organization).select_related("created_by").order_by("-created_at"),
        "roles": [(value, role_name(value)) for value in Membership.Role.values],
        # Removing a member who issued keys offers to hand those keys to an owner (crowd/services/members.py).
        "key_creators": set(
            ApiKey.objects.filter(organization=organization, revoked_at__isnull=True).values_list(
                "created_by_id", flat=True
            )
        ),
        "owners": Membership.objects.filter(organization=organization, role=Membership.Role.OWNER)
        .select_related("user")
        .order_by("user__username"),
        "now": timezone.now(),
        **extra,
    }


@member_required
@require_http_methods(["GET", "POST"])
def organization_people(request: HttpRequest, actor: Actor, organization_id: int) -> HttpResponse:
    role = actor.roles.get(organization_id)
    if role is None:
        raise Http404(_("No such organization."))
    if role != Membership.Role.OWNER:
        return render(request, "coordinator/read_only.html", status=403)
    organization = Organization.objects.get(pk=organization_id)
    if request.method == "GET":
        return render(request, "coordinator/people.html", _context(actor, organization))
    action = request.POST.get("action", "")
    try:
        if action == "key_create":
            return _key_create(request, actor, organization)
        if action == "invite":
            return _invite(request, actor, organization)
        _act(request, organization, action)
    except LastOwner:
        messages.error(request, _("An organization keeps at least one owner: make someone else owner first."))
    except InvitationUsed:
        messages.error(request, _("That invitation was already accepted: remove the member instead."))
    except NotFound:
        if action == "invitation_revoke":
            messages.error(request, _("No such invitation."))
        else:
            messages.error(request, _("No account has confirmed this email address: ask them to sign up first."))
    except DomainError:
        messages.error(request, _("That did not work: check the role and try again."))
    return redirect("manage-people", organization_id=organization.id)


def _act(request: HttpRequest, organization: Organization, action: str) -> None:
    user_id = whole_number(request.POST.get("user")) or 0
    if action == "add":
        member_add(organization_id=organization.id, email=request.POST.get("email", ""), role=request.POST.get("role"))
        messages.success(request, _("Member added."))
    elif action == "role":
        if not Membership.objects.filter(organization=organization, user_id=user_id).exists():
            raise NotFound(_("Not a member."))
        member_set_role(organization_id=organization.id, user_id=user_id, role=request.POST.get("role", ""))
        messages.success(request, _("Role changed."))
    elif action == "remove":
        keys_to = whole_number(request.POST.get("keys_to"))
        try:
            member_remove(organization_id=organization.id, user_id=user_id, keys_to=keys_to)
        except ValidationFailed:
            messages.error(request, _("Keys can only be handed to another owner of the organization."))
            return
        if keys_to is None:
            messages.success(request, _("Member removed. Keys they issued stop working."))
        else:
            messages.success(request, _("Member removed. Keys they issued now act for the owner you chose."))
    elif action == "key_revoke":
        key_id = whole_number(request.POST.get("key")) or 0
        api_key_revoke(organization_id=organization.id, key_id=key_id)
        messages.success(request, _("Key revoked: it stops working now."))
    elif action == "invitation_revoke":
        invitation_id = whole_number(request.POST.get("invitation")) or 0
        invitation_revoke(organization_id=organization.id, invitation_id=invitation_id)
        messages.success(request, _("Invitation revoked: its link stops working now."))
    else:
        raise DomainError(_("Unknown action."))


def _key_create(request: HttpRequest, actor: Actor, organization: Organization) -> HttpResponse:
    days = request.POST.get("days", "").strip()
    expires_at = None
    if days:
        lasts = whole_number(days) or 0
        if not 1 <= lasts <= KEY_DAYS_MAX:
            messages.error(request, _("A key lasts from 1 to 3650 days, or leave it empty for no end date."))
            return redirect("manage-people", organization_id=organization.id)
        expires_at = timezone.now() + timedelta(days=lasts)
    key = api_key_create(
        organization_id=organization.id,
        created_by_id=request.user.id,
        name=request.POST.get("name", "").strip()[:100],
        role=request.POST.get("role", Membership.Role.VIEWER),
        expires_at=expires_at,
    )
    # Shown once, in this answer only: never in the session, a message or a log.
    response = render(request, "coordinator/people.html", _context(actor, organization, new_key=key), status=201)
    response["Cache-Control"] = "no-store"
    return response


def _invite(request: HttpRequest, actor: Actor, organization: Organization) -> HttpResponse:
    email = request.POST.get("email", "").strip()
    try:
        issued = invitation_create(
            organization_id=organization.id,
            created_by_id=request.user.id,
            role=request.POST.get("role", ""),
            email=email,
            base_url=request.build_absolute_uri("/"),
        )
    except ValidationFailed as exc:
        if "email" in exc.fields:
            messages.error(request, _("That email address does not look right. Check it, or leave it empty."))
        else:
            messages.error(request, _("That did not work: check the role and try again."))
        return redirect("manage-people", organization_id=organization.id)
    new_invitation = {"url": issued.url, "email": issued.invitation.email, "role": role_name(issued.invitation.role)}
    # The link is shown once, in this answer only (like a new key): never in the session, a message or a log.
    context = _context(actor, organization, new_invitation=new_invitation)
    response = render(request, "coordinator/people.html", context, status=201)
    response["Cache-Control"] = "no-store"
    return response
