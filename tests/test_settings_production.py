"""config.settings.production refuses to start without a secret key and allowed hosts.

Each case loads the settings in a fresh interpreter: settings are read once per process, and this one already
runs config.settings.test.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent

LOAD_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({name: getattr(settings, name) for name in (
    "DEBUG", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
)}))
"""


def load_production_settings(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(environment, DJANGO_SETTINGS_MODULE="config.settings.production")
    return subprocess.run(
        [sys.executable, "-c", LOAD_SETTINGS],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("secret_key", [None, ""])
def test_production_settings_refuse_to_start_without_secret_key(secret_key):
    environment = {"DJANGO_ALLOWED_HOSTS": "crowdloop.example.org"}
    if secret_key is not None:
        environment["DJANGO_SECRET_KEY"] = secret_key

    result = load_production_settings(**environment)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("allowed_hosts", [None, "", " , "])
def test_production_settings_refuse_to_start_without_allowed_hosts(allowed_hosts):
    environment = {"DJANGO_SECRET_KEY": "a-real-secret"}
    if allowed_hosts is not None:
        environment["DJANGO_ALLOWED_HOSTS"] = allowed_hosts

    result = load_production_settings(**environment)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_ALLOWED_HOSTS must be set" in result.stderr


SERVICES = {"DATABASE_URL": "postgres://crowdloop@db.internal/crowdloop", "REDIS_URL": "redis://cache.internal:6379/0"}


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL"])
def test_production_settings_refuse_to_start_without_database_or_redis(missing):
    environment = {"DJANGO_SECRET_KEY": "a-real-secret", "DJANGO_ALLOWED_HOSTS": "example.org", **SERVICES}
    del environment[missing]

    result = load_production_settings(**environment)

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {missing} must be set" in result.stderr


def test_production_settings_start_with_secret_key_and_allowed_hosts():
    result = load_production_settings(
        **SERVICES,
        DJANGO_SECRET_KEY="a-real-secret",
        DJANGO_ALLOWED_HOSTS="crowdloop.example.org, .example.org",
        DJANGO_DEBUG="true",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "DEBUG": False,  # DJANGO_DEBUG cannot switch it on in production
        "ALLOWED_HOSTS": ["crowdloop.example.org", ".example.org"],
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
    }


def test_production_settings_let_local_compose_turn_off_the_https_redirect():
    result = load_production_settings(
        **SERVICES,
        DJANGO_SECRET_KEY="a-real-secret",
        DJANGO_ALLOWED_HOSTS="localhost",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
    )

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["SECURE_SSL_REDIRECT"] is False
    assert loaded["SESSION_COOKIE_SECURE"] is False and loaded["CSRF_COOKIE_SECURE"] is False
