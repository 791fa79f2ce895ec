"""Test settings: the real database named by DATABASE_URL (SQLite when unset), tasks in process."""

from .base import *  # noqa: F403

SECRET_KEY = "test-only-secret-key"
DEBUG = False
CELERY_TASK_ALWAYS_EAGER = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# django-axes refuses authenticate() calls without a request, which is how Client.login() calls it; the sign-in
# throttling tests (tests/test_admin.py) switch it on and sign in through the real forms.
AXES_ENABLED = False
WEBHOOKS_HTTPS_ONLY = False  # tests deliver to a plain-HTTP receiver on 127.0.0.1

# Rate limits far above what any test sends; the rate limit tests (tests/crowd/test_api_throttling.py) set low ones.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(("api_key", "worker", "user", "anon"), "100000/min"),
}
