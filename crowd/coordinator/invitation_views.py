"""The page an invitation link opens (public: the invitee may have no account yet). Anyone holding the link sees the
organization and the role; signing in or signing up comes back here (allauth keeps `next`), and a signed-in user
accepts with a POST, so a mail scanner or a link preview that fetches the link cannot use it up."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crowd.exceptions import DomainError, NotFound
from crowd.models import Invitation
from crowd.selectors import invitation_for_token
from crowd.services.invitations import (
    AlreadyMember,
    InvitationExpired,
    InvitationRevoked,
    InvitationUsed,
    invitation_accept,
    invitation_check,
    role_name,
)


def _problem(exc: DomainError, invitation: Invitation | None) -> str:
    ask = _("Ask the organization's owner for a new invitation.")
    if isinstance(exc, InvitationUsed):
        return _("This invitation was already used.") + " " + ask
    if isinstance(exc, InvitationRevoked):
        return _("This invitation was withdrawn.") + " " + ask
    if isinstance(exc, InvitationExpired):
        return _("This invitation has expired.") + " " + ask
    if isinstance(exc, AlreadyMember) and invitation is not None:
        return _("You are already a member of %(organization)s.") % {"organization": invitation.organization.name}
    if isinstance(exc, NotFound):
        return _("This invitation link is not valid. Check that you copied all of it, or ask for a new invitation.")
    return _("This invitation cannot be accepted.")


@require_http_methods(["GET", "POST"])
def invitation_accept_page(request: HttpRequest, token: str) -> HttpResponse:
    signed_in = request.user.is_authenticated
    if request.method == "POST" and not signed_in:
        return redirect_to_login(request.get_full_path())
    invitation = None
    try:
        invitation = invitation_for_token(token=token)
        if request.method == "POST":
            invitation_accept(token=token, user_id=request.user.id)
            messages.success(
                request,
                _("You joined %(organization)s as %(role)s.")
                % {"organization": invitation.organization.name, "role": role_name(invitation.role)},
            )
            return redirect("manage-home")
        invitation_check(invitation, user_id=request.user.id if signed_in else None)
    except DomainError as exc:
        context = {"problem": _problem(exc, invitation), "already_member": isinstance(exc, AlreadyMember)}
        return _page(request, context, status=exc.status)
    context = {
        "invitation": invitation,
        "role": role_name(invitation.role),
        "inviter": invitation.created_by.username if invitation.created_by else "",
    }
    return _page(request, context)


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, "coordinator/invitation.html", context, status=status)
    # The address holds the secret: keep it out of shared caches and out of the Referer of links on the page.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
