"""Development defaults: `make run` works with no environment at all."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DJANGO_DEBUG", default=True)
SECRET_KEY = SECRET_KEY or "insecure-local-development-key-do-not-use-in-production"  # noqa: F405

# Serve static files straight from the apps in development (no collectstatic step for `make run`).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
WEBHOOKS_HTTPS_ONLY = False  # a receiver on the developer's machine speaks plain http://
