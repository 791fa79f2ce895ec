"""Organizations from the web: any signed-in user with a confirmed email address can start one and owns it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crowd.exceptions import DomainError
from crowd.services.organizations import OrganizationNameTaken, OwnerNotVerified, organization_create


@login_required
@require_http_methods(["GET", "POST"])
def organization_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "coordinator/organization_form.html", {"name": ""})
    name = request.POST.get("name", "")
    try:
        organization_create(name=name, owner_id=request.user.id)
    except OwnerNotVerified:
        error = _("Confirm your email address first: the owner of an organization must have one.")
    except OrganizationNameTaken:
        error = _("An organization with this name exists already.")
    except DomainError:
        error = _("Give the organization a name.")
    else:
        messages.success(request, _("Organization created. You are its owner."))
        return redirect("manage-home")
    return render(request, "coordinator/organization_form.html", {"name": name, "error": error}, status=400)
