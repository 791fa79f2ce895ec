"""Pages for workers without email: sign in by link or by code, then a welcome page (terms, optional password)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, password_validation, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from workers.grants import GrantRefused, signin_grant_redeem_code, signin_grant_redeem_link
from workers.recovery import recovery_code_redeem, recovery_codes_issue, recovery_codes_left
from workers.signin import client_ip
from workers.terms import TERMS_SECTIONS, TERMS_VERSION, terms_accept, terms_accepted

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _refusal(reason: str) -> str:
    return {
        "used": _("This sign-in link or code was already used. Ask your organization for a new one."),
        "expired": _("This sign-in link or code has expired. Ask your organization for a new one."),
    }.get(reason, _("That code does not match. Check the username and the code and try again."))


class CodeForm(forms.Form):
    username = forms.CharField(max_length=150, label=gettext_lazy("Username"))
    code = forms.CharField(
        max_length=20,
        label=gettext_lazy("Code"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


def _check_new_password(form: forms.Form, cleaned: dict, user=None) -> None:
    """The two password fields match and pass Django's validators; errors go on the form's fields."""
    first, second = cleaned.get("password1") or "", cleaned.get("password2") or ""
    if not (first or second):
        return
    if first != second:
        form.add_error("password2", _("The two passwords are not the same."))
        return
    try:
        password_validation.validate_password(first, user)
    except ValidationError as exc:
        form.add_error("password1", exc)


def _too_many(request: HttpRequest) -> bool:
    key = f"signin-code:{client_ip(request)}"
    cache.add(key, 0, timeout=60)
    try:
        return cache.incr(key) > settings.CROWDLOOP_SIGNIN_CODE_ATTEMPTS_PER_MINUTE
    except ValueError:  # the key expired between add and incr
        return False


def _throttled(request: HttpRequest, template: str, form: forms.Form) -> HttpResponse:
    error = _("Too many tries. Wait a minute and try again.")
    return render(request, template, {"form": form, "error": error}, status=429)


@require_http_methods(["GET", "POST"])
def signin_code(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        if _too_many(request):
            return _throttled(request, "workers/signin_code.html", form)
        try:
            user = signin_grant_redeem_code(username=form.cleaned_data["username"], code=form.cleaned_data["code"])
        except GrantRefused as refused:
            error = _refusal(refused.reason)
        else:
            login(request, user, backend=BACKEND)
            return redirect("signin-welcome")
    status = 400 if request.method == "POST" else 200
    return render(request, "workers/signin_code.html", {"form": form, "error": error}, status=status)


@require_http_methods(["GET", "POST"])
def signin_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET only shows a button: message apps open links to draw previews, and must not use up the link."""
    if request.method == "GET":
        return render(request, "workers/signin_link.html")
    try:
        user = signin_grant_redeem_link(link_token=token)
    except GrantRefused as refused:
        status = 404 if refused.reason == "unknown" else 410
        return render(request, "workers/signin_refused.html", {"message": _refusal(refused.reason)}, status=status)
    login(request, user, backend=BACKEND)
    return redirect("signin-welcome")


class WelcomeForm(forms.Form):
    accept = forms.BooleanField(label=gettext_lazy("I have read this and I agree"))
    password1 = forms.CharField(
        required=False, label=gettext_lazy("New password (optional)"), widget=forms.PasswordInput
    )
    password2 = forms.CharField(
        required=False, label=gettext_lazy("The same password again"), widget=forms.PasswordInput
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        cleaned = super().clean()
        _check_new_password(self, cleaned, self.user)
        return cleaned


@login_required
@require_http_methods(["GET", "POST"])
def signin_welcome(request: HttpRequest) -> HttpResponse:
    """Shown after a link or code: the terms, accepted once, and a password to sign in without a code next time."""
    already = terms_accepted(request.user)
    form = WelcomeForm(request.POST or None, user=request.user, initial={"accept": already})
    if request.method == "POST" and form.is_valid():
        terms_accept(user=request.user)
        if form.cleaned_data.get("password1"):
            request.user.set_password(form.cleaned_data["password1"])
            request.user.save(update_fields=["password"])
            update_session_auth_hash(request, request.user)
        return redirect("work-home")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "version": TERMS_VERSION, "already": already, "terms": TERMS_SECTIONS}
    return render(request, "workers/signin_welcome.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """GET says how many codes are left; POST makes a new set and shows it, once."""
    codes = recovery_codes_issue(user=request.user) if request.method == "POST" else []
    context = {"codes": codes, "left": recovery_codes_left(user=request.user)}
    return render(request, "workers/recovery_codes.html", context)


class RecoverForm(forms.Form):
    username = forms.CharField(max_length=150, label=gettext_lazy("Username"))
    code = forms.CharField(max_length=40, label=gettext_lazy("Recovery code"))
    password1 = forms.CharField(label=gettext_lazy("New password"), widget=forms.PasswordInput)
    password2 = forms.CharField(label=gettext_lazy("The same password again"), widget=forms.PasswordInput)

    def clean(self):
        cleaned = super().clean()
        _check_new_password(self, cleaned)
        return cleaned


@require_http_methods(["GET", "POST"])
def recover(request: HttpRequest) -> HttpResponse:
    """Sign in with a recovery code and set a new password (for workers without email)."""
    form = RecoverForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        if _too_many(request):
            return _throttled(request, "workers/recover.html", form)
        try:
            user = recovery_code_redeem(username=form.cleaned_data["username"], code=form.cleaned_data["code"])
        except GrantRefused:
            error = _("That recovery code does not match, or it was already used.")
        else:
            user.set_password(form.cleaned_data["password1"])
            user.save(update_fields=["password"])
            login(request, user, backend=BACKEND)
            messages.success(request, _("Your new password is set."))
            return redirect("work-home")
    status = 400 if request.method == "POST" else 200
    return render(request, "workers/recover.html", {"form": form, "error": error}, status=status)
