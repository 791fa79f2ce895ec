"""A worker's own data on the web: download it, or delete the account (the same services as the API)."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crowd.own_data import own_data_response
from crowd.services.accounts import worker_delete_account, worker_unpaid_balances
from payments.money import from_minor


@login_required
def work_my_data(request: HttpRequest) -> StreamingHttpResponse:
    return own_data_response(request.user)


@login_required
@require_http_methods(["GET", "POST"])
def work_delete_account(request: HttpRequest) -> HttpResponse:
    """Shows what is still owed before the worker confirms; a POST without the confirmation box changes nothing."""
    owed = [
        {status: from_minor(amount, currency) for status, amount in sums.items()} | {"currency": currency}
        for currency, sums in worker_unpaid_balances(worker_id=request.user.id).items()
    ]
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") == "yes":
            worker_delete_account(worker_id=request.user.id)
            logout(request)
            messages.success(request, _("Your account has been deleted."))
            return redirect("home")
        error = _("Please tick the box to confirm.")
    return render(
        request, "crowd/work_delete_account.html", {"owed": owed, "error": error}, status=400 if error else 200
    )
