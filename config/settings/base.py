"""Settings shared by every environment; everything that differs comes from environment variables."""

import base64
import hashlib
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "allauth",
    "allauth.account",
    "workers",
    "payments",
    "crowd",
    "crowd.coordinator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a signed-in worker's saved interface language, when no picker choice overrides it.
    "workers.locale.AccountLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "config.middleware.DomainErrorPageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "workers.locale.interface_languages",
                "crowd.context_processors.membership",
            ],
        },
    },
]

# SQLite file in the project folder unless DATABASE_URL names a real server.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Server-side binding, so psycopg can prepare the hot statements after a few uses (prepare_threshold):
    # the routing notes measured ~1.7x on the claim, and without binding Django inlines parameters into
    # the SQL text, so nothing would ever be prepared.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "workers.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a password sign-in while its account-and-address pair is locked out (see AXES_ below).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "account_login"
# Argon2 first (memory-hard, and here half the time of PBKDF2 per check: a sign-in on a slow link waits for it);
# accounts with an older PBKDF2 hash keep working and are moved to Argon2 at their next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

LOGIN_REDIRECT_URL = "/work/"
ACCOUNT_SIGNUP_REDIRECT_URL = "/work/profile/"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
# A sign-up that gives an email gets a confirmation mail; workers may have no email and still work, while acting for
# an organization waits until an address is verified (crowd.selectors.Actor.for_user).
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_LOGOUT_ON_GET = False

# Password sign-in throttling (django-axes), for the admin and allauth's forms alike. API tokens are not passwords
# and are not counted. Failures count per account and address together, so nobody can lock a named user out for
# everyone; after AXES_FAILURE_LIMIT failures that pair waits AXES_COOLOFF_TIME, and a success clears the count.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes asks: turns a lockout into its response
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are what throttling needs; a log of every sign-in is personal data
AXES_USERNAME_CALLABLE = "workers.signin.attempted_username"
AXES_CLIENT_IP_CALLABLE = "workers.signin.client_ip"
AXES_LOCKOUT_CALLABLE = "workers.signin.lockout_response"
# allauth's own limit on failed sign-ins is per account for everyone (5 in 5 minutes by default): the lockout the
# review found. axes counts per account and address; allauth keeps only its per-address brake on password spraying.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip"}
# Sign-in links and codes an organization sends to workers without email (workers/grants.py): how long they
# work, and how many code attempts one address may make per minute.
# Organization-facing worker ids (workers/pseudonyms.py); unset = derived from SECRET_KEY.
CROWDLOOP_PSEUDONYM_KEY = os.environ.get("CROWDLOOP_PSEUDONYM_KEY", "")
CROWDLOOP_SIGNIN_GRANT_SECONDS = int(os.environ.get("CROWDLOOP_SIGNIN_GRANT_SECONDS", 24 * 3600))
CROWDLOOP_SIGNIN_CODE_ATTEMPTS_PER_MINUTE = 10
# Behind reverse proxies, how many of them append the client's address to X-Forwarded-For. 0 (the default): the
# header is ignored and the socket's address counts, because a client can write any header it likes.
TRUSTED_PROXY_COUNT = int(os.environ.get("DJANGO_TRUSTED_PROXY_COUNT", "0"))
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT  # allauth's rate limits read the address the same way

# Mail (sign-up confirmations, password resets): SMTP once EMAIL_HOST is set, else printed to the log.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=EMAIL_PORT == 465)
EMAIL_TIMEOUT = 10  # a slow mail server must not hold a sign-up request for long
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Crowdloop <no-reply@localhost>")

LANGUAGE_CODE = "en"
# Interface languages, each named in itself (the picker shows these names). A ninth: docs/translations.md.
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("es", "Español"),
    ("pt", "Português"),
    ("sw", "Kiswahili"),
    ("ha", "Hausa"),
    ("ar", "العربية"),
    ("hi", "हिन्दी"),
]
LANGUAGES_BIDI = ["ar", "fa", "he", "ur"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Calls to addresses others typed in (item images, webhooks, model backends): config/outbound.py ---
# Private, loopback and link-local targets are refused unless the deployment is local and says so.
OUTBOUND_ALLOW_PRIVATE = env_bool("CROWDLOOP_WEBHOOKS_ALLOW_PRIVATE")

# --- Cache, sessions, Celery and health: how the service behaves when Redis, a worker or the database fails ---
REDIS_URL = os.environ.get("REDIS_URL", "")
# A Redis call gives up after this long: a request never hangs on the cache or the broker.
REDIS_TIMEOUT_SECONDS = float(os.environ.get("REDIS_TIMEOUT_SECONDS", "1"))
if REDIS_URL:
    # Falls back to process memory while Redis is unreachable (config/cache.py): nothing fails with the cache.
    CACHES = {
        "default": {
            "BACKEND": "config.cache.FallbackRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions are stored in the database, never in the cache alone: signing in keeps working while Redis is down.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # libpq waits forever for an unreachable server by default; the health check and requests must not.
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", int(os.environ.get("DB_CONNECT_TIMEOUT", "5")))
# A database that drops or refuses a connection mid-request answers 503 in the error shape, not 500.
MIDDLEWARE = [*MIDDLEWARE, "config.unavailable.ServiceUnavailableMiddleware"]

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged when it finishes, and requeued when its worker process dies, so a killed worker's job
# runs again; every task's service is idempotent (an aggregation run completes once: crowd/services/
# aggregation_runs.py).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker that loses the broker gives its running tasks back rather than finishing them unacknowledgeable.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a worker waits out a Redis restart instead of exiting
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT_SECONDS
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A message whose worker died without acknowledging it (SIGKILL, lost host) is handed out again after this
    # long: a few times the longest job (the 1,000,000-answer aggregation takes ~10 s, an organization archive up
    # to 60 s), not kombu's default of an hour.
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "300")),
    "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    "socket_timeout": max(REDIS_TIMEOUT_SECONDS, 5.0),  # above the worker's 1 s BRPOP wait
}
# A request that queues a task gives up quickly (logged; the beat safety net or a 503 takes over); while the cache
# has just found Redis unreachable, requests do not try the broker at all (crowd/tasks.py).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TIMEZONE = TIME_ZONE
# A run left "running" this long without a live transaction behind it is retried by the safety net.
AGGREGATION_STALE_SECONDS = int(os.environ.get("AGGREGATION_STALE_SECONDS", "180"))
CELERY_BEAT_SCHEDULE = {
    "expire-leases": {"task": "crowd.tasks.assignment_expire_due", "schedule": 30.0},
    "aggregate-stale-campaigns": {"task": "crowd.tasks.campaigns_aggregate_stale", "schedule": 60.0},
    "auto-approve": {"task": "crowd.tasks.assignments_auto_approve", "schedule": 600.0},
    "fair-pay-check": {"task": "crowd.tasks.campaigns_fair_pay_check", "schedule": 3600.0},
    "clean-imports": {"task": "crowd.tasks.import_jobs_clean", "schedule": 3600.0},
    "clean-archives": {"task": "crowd.tasks.archive_jobs_clean", "schedule": 3600.0},
    "ml-backends-check": {"task": "crowd.tasks.backends_check", "schedule": 600.0},
    "baseline-train": {"task": "crowd.tasks.campaigns_baseline_due", "schedule": 600.0},
}
# Models in the loop (docs/models.md): the built-in baseline trains once a campaign has this many confident labels;
# an ML backend that supports training is sent /train after this many new final labels.
BASELINE_MIN_ITEMS = int(os.environ.get("CROWDLOOP_BASELINE_MIN_ITEMS", "200"))
BACKEND_TRAIN_MIN_LABELS = int(os.environ.get("CROWDLOOP_BACKEND_TRAIN_MIN_LABELS", "100"))
# A failing ML backend's prediction job is retried after this many seconds, then twice as long each time (4 retries).
# The worker holds a retry unacknowledged until its countdown: the last one (8x this) must stay below the visibility
# timeout, or Redis hands it out a second time.
BACKEND_RETRY_SECONDS = float(os.environ.get("CROWDLOOP_BACKEND_RETRY_SECONDS", "30"))
# Runtime state stays out of the checkout: beat's schedule file goes to a per-checkout directory under the
# system's temporary directory unless CROWDLOOP_RUNTIME_DIR or CELERY_BEAT_SCHEDULE_FILE says where.
RUNTIME_DIR = Path(
    os.environ.get("CROWDLOOP_RUNTIME_DIR")
    or Path(tempfile.gettempdir()) / f"crowdloop-{hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:10]}"
)
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get("CELERY_BEAT_SCHEDULE_FILE") or str(RUNTIME_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULER = "config.celery.RuntimeDirScheduler"  # creates that directory

# /healthz/: which parts must answer for a 200. By default only the database: without Redis the web still stores
# every submit and signs people in (the cache falls back to memory, the safety net catches aggregation up), so a
# Redis outage reports `degraded` instead of taking every web container out of the load balancer.
# HEALTH_REQUIRED=database,cache,broker makes Redis required too. Each probe's timeout:
HEALTH_REQUIRED = env_list("HEALTH_REQUIRED", "database")
HEALTH_TIMEOUT_SECONDS = float(os.environ.get("HEALTH_TIMEOUT_SECONDS", "2"))
# --- end of cache, sessions, Celery and health ---

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crowd.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Crowdloop API",
    "DESCRIPTION": "Campaigns, items, routing, answers, results and earnings. "
    'Errors are always {"error": {"code", "message", "fields"}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Bundled Swagger UI: the docs page must not fetch anything from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Enum components as drf-spectacular makes them, then an example for every successful JSON answer.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.schema_examples.add_examples"],
}


# --- Request limits and Content-Security-Policy ----------------------------------------------------------
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE  # noqa: E402

# Largest import file accepted in one request (multipart `file`); bigger files belong in the background job.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(200 * 1024 * 1024)))
# The synchronous import (POST /campaigns/{id}/items/) answers within the request, so it takes small files only;
# larger ones go to the background job (POST /campaigns/{id}/imports/), up to IMPORT_MAX_BYTES.
IMPORT_SYNC_MAX_BYTES = int(os.environ.get("IMPORT_SYNC_MAX_BYTES", str(10 * 1024 * 1024)))
# Every other request body (JSON, forms): larger ones get a 413 from config.middleware.RequestLimitsMiddleware.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("REQUEST_MAX_BYTES", str(10 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # larger uploads are spooled to a temporary file

# Organization archives (crowd/services/archives.py): zips built here, removed by beat this many days after.
ARCHIVE_ROOT = Path(os.environ.get("ARCHIVE_ROOT", MEDIA_ROOT / "archives"))
ARCHIVE_KEEP_DAYS = int(os.environ.get("ARCHIVE_KEEP_DAYS", "3"))
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1, "config.middleware.RequestLimitsMiddleware")
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "config.parsers.LimitedJSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "config.api.AutoSchema"


def inline_script_hash(relative_path: str) -> str:
    """A CSP hash source for an inline script included verbatim: the task page swaps in the next task's page with
    document.write, which keeps the first response's nonce, so its script is allowed by its content instead."""
    text = (BASE_DIR / relative_path).read_text(encoding="utf-8")
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


TASK_SCRIPT_HASH = inline_script_hash("crowd/templates/crowd/task.js")

# Scripts only from this site, inline with the per-response nonce ({{ request.csp_nonce }}), or the task page's
# script by its hash; images also
# from any http(s) host because items show images by URL; styles inline (the pages carry their few rules
# in the page, and the admin and Swagger UI set style attributes). Nobody may frame a page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE, TASK_SCRIPT_HASH],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "https:", "http:", "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Webhooks (crowd/webhooks/, docs/webhooks.md) ---
# Receivers must be https:// (local and test settings allow plain http://); private targets: OUTBOUND_ALLOW_PRIVATE.
WEBHOOKS_HTTPS_ONLY = env_bool("CROWDLOOP_WEBHOOKS_HTTPS_ONLY", default=True)
# The outbox's delivery job; each commit that writes events also queues it.
CELERY_BEAT_SCHEDULE["webhook-deliveries"] = {"task": "crowd.tasks.webhook_deliveries_send", "schedule": 10.0}

# --- API rate limits (config/throttling.py) ------------------------------------------------------------
# Per API key, per worker token, per signed-in user and per client address; "<count>/<s|min|hour|day>", each
# overridable from the environment. Counted in the cache (Redis in production, so all processes share them).
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["config.throttling.ApiRateThrottle"]
# First: anonymous requests are counted before IsAuthenticated refuses them (DRF throttles only after permissions).
REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] = [
    "config.throttling.AnonymousRateLimit",
    *REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"],
]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "api_key": os.environ.get("API_RATE_KEY", "1200/min"),
    "worker": os.environ.get("API_RATE_WORKER", "600/min"),
    "user": os.environ.get("API_RATE_USER", "600/min"),
    "anon": os.environ.get("API_RATE_ANON", "120/min"),
}
# Proxies in front of the app that append to X-Forwarded-For: 0 counts anonymous callers by the connection's address
# (a client-chosen X-Forwarded-For must not buy it a fresh counter).
REST_FRAMEWORK["NUM_PROXIES"] = int(os.environ.get("API_NUM_PROXIES", "0"))
