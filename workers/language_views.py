"""The language picker every page carries: a plain POST form, no JavaScript."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from workers.locale import supported_language
from workers.services import user_set_interface_language


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie + safe redirect), and for a signed-in person the choice saved on the account."""
    code = supported_language(request.POST.get("language"))
    if code is None:
        # An unknown choice changes nothing: back to where the person was, never an error page.
        target = request.POST.get("next") or "/"
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
            target = "/"
        return HttpResponseRedirect(target)
    response = set_language(request)
    if request.user.is_authenticated:
        user_set_interface_language(user=request.user, code=code)
    return response
