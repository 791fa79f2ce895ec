"""Template context every page needs from `crowd`."""

from django.http import HttpRequest

from crowd.models import Membership


def membership(request: HttpRequest) -> dict[str, bool]:
    """Whether to show the link to the coordinator pages: only for members of an organization."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"is_member": False}
    return {"is_member": Membership.objects.filter(user_id=user.id).exists()}
