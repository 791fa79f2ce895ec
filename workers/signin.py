"""Password sign-in throttling (django-axes): who is trying, and from where.

Failures are counted per account and address together, so a stranger who types a coordinator's name with wrong
passwords locks only their own address out of that account, never the coordinator everywhere.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str:
    """The address the sign-in came from. Behind TRUSTED_PROXY_COUNT reverse proxies that each append the address
    they saw to X-Forwarded-For, the client is the entry that many from the right: entries further left were
    written by the client and prove nothing. With no proxies configured the header is ignored. (allauth reads
    ALLAUTH_TRUSTED_PROXY_COUNT, set to the same number, the same way.)"""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:  # the request did not come through every proxy: only the socket's address is known
        return remote
    return hops[-proxies]


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The account a sign-in names, however the form named it: the admin posts `username`, allauth's form posts
    `login` and authenticates with `username` or `email`. Case-folded, so `Owner` and `owner` share one count,
    and an email address counts as the account that holds it, so typing the address instead of the name does
    not buy a second round of guesses."""
    sources = [credentials or {}, getattr(request, "POST", {})]
    for source in sources:
        for field in ("username", "email", "login"):
            value = source.get(field)
            if value:
                return _account_name(str(value).strip()).casefold()
    return ""


def _account_name(identifier: str) -> str:
    if "@" not in identifier:
        return identifier
    from allauth.account.models import EmailAddress

    from workers.models import User

    holder = (
        EmailAddress.objects.filter(email__iexact=identifier).values_list("user__username", flat=True).first()
        or User.objects.filter(email__iexact=identifier).values_list("username", flat=True).first()
    )
    return holder or identifier


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """429 with a page that says how long to wait, in the person's language."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    return render(request, "workers/signin_locked.html", context, status=429)
