"""Every model's admin page opens for a superuser (changelists render with real rows)."""

import pytest
from django.contrib import admin

from tests import factories
from workers.models import User

pytestmark = pytest.mark.django_db


def test_every_admin_changelist_opens(client):
    factories.campaign(launch=True, items=2)
    client.force_login(User.objects.create_superuser(username="root", email="root@example.org", password="x"))
    for model in admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
