"""A worker's own data on the web: download everything held about them, or delete the account."""

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from config.errors import DomainError
from crowd.own_data import worker_data_export
from crowd.services.accounts import unpaid_minor, worker_account_delete
from payments.money import from_minor


@login_required
@require_GET
def own_data_download(request: HttpRequest) -> HttpResponse:
    body = json.dumps(worker_data_export(user=request.user), cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="crowdloop-my-data.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    owed = [
        f"{from_minor(amount, currency)} {currency}"
        for currency, amount in unpaid_minor(worker_id=request.user.id).items()
    ]
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            error = _("Tick the box to confirm that you want to delete your account.")
        else:
            try:
                worker_account_delete(user_id=request.user.id)
            except DomainError:
                error = _("Members of an organization must leave it before deleting their account.")
            else:
                logout(request)
                messages.success(request, _("Your account is deleted. Thank you for your work."))
                return redirect("home")
    context = {"owed": owed, "error": error}
    return render(request, "crowd/account_delete.html", context, status=400 if error else 200)
