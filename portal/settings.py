"""Portal settings. Every value comes from the environment; README.md lists each variable."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (50+ random characters) in the environment, "
            "or DEBUG=1 for a local development server."
        )
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdefghij"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # No admin autodiscovery: django-leaflet's admin module needs GDAL, which the portal does
    # not (geometry is GeoJSON; projections go through pyproj). See portal/urls.py.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "agencies",
    "predictions",
    "audit",
    "public",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.middleware.PermissionsPolicyMiddleware",
    "portal.middleware.NulByteMiddleware",
    "portal.middleware.NoStoreMiddleware",
    "audit.request_info.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "agencies.sessions.SessionTimeoutMiddleware",
    "agencies.onboarding.middleware.SecondFactorMiddleware",
    "audit.middleware.DeniedAccessMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
            ],
        },
    },
]

# --- Database: SQLite file under var/ unless DATABASE_URL says otherwise ------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a Celery worker process in a test can see the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # Writers take the lock when their transaction starts and wait for it (up to 20 s)
    # instead of failing when a read transaction has to become a write one.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, transaction_mode="IMMEDIATE"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
        "DATABASE_PREPARED_STATEMENTS", (DATABASES["default"]["CONN_MAX_AGE"] or 0) > 0):
    # Parameters bound by the server, and statements a kept connection has run 5 times
    # prepared by psycopg: the hot reads are planned once per connection, not per request.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: import progress and throttles; Redis when several processes must share it ------
CACHE_URL = env_str("CACHE_URL")
CACHES: dict[str, dict[str, Any]] = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL.startswith(("redis://", "rediss://"))
        # per process; room for the public answers, forecast layers and throttle counters
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
              "OPTIONS": {"MAX_ENTRIES": 5000}}
    )
}

# --- Authentication and sessions ----------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 30 * 60)
SESSION_MAX_AGE = env_int("SESSION_MAX_AGE", 12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_MAX_AGE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# django-axes: AXES_FAILURE_LIMIT failed logins for one username from one address lock that
# username at that address (so nobody can lock a user out of the portal from elsewhere) until
# AXES_COOLOFF_TIME seconds have passed since the last failure, or an administrator releases
# it (`python manage.py axes_reset_username NAME` or the admin; audited, agencies/lockout.py).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_SECONDS = env_int("AXES_COOLOFF_TIME", 15 * 60)
if AXES_COOLOFF_SECONDS <= 0:
    raise ImproperlyConfigured("AXES_COOLOFF_TIME must be a positive number of seconds")
AXES_COOLOFF_TIME = timedelta(seconds=AXES_COOLOFF_SECONDS)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Proxies in front of the portal whose X-Forwarded-For entries are trusted (0: none).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None
AXES_VERBOSE = False

GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # guardian: anonymous visitors never hold object permissions

# --- Onboarding and second factors (agencies/onboarding/) ----------------------------------
# Invitation links are single-use and expire after INVITATION_DAYS (only their sha256 is kept).
INVITATION_DAYS = env_int("INVITATION_DAYS", 7)
if not 1 <= INVITATION_DAYS <= 90:
    raise ImproperlyConfigured("INVITATION_DAYS must be between 1 and 90")
# Every agency member, board member and platform administrator enrols a second factor (TOTP
# with recovery codes, django-otp) before anything else. On unless DEBUG. The test suite
# (pytest-django) signs its users in with force_login, so there it is off unless the
# environment says MFA_REQUIRED=1; tests/test_onboarding_mfa.py turns it on where it tests it.
# Whoever has enrolled passes the second factor after the password, required or not.
MFA_REQUIRED = env_bool("MFA_REQUIRED", not DEBUG and "pytest_django" not in sys.modules)
OTP_TOTP_ISSUER = "Crime-prediction portal"

# --- API tokens (agencies/tokens.py): named, shown once, stored as a sha256 ---------------
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90)
if not 1 <= API_TOKEN_DAYS <= 366:
    raise ImproperlyConfigured("API_TOKEN_DAYS must be between 1 and 366")

# --- Security switches (see README: production) -------------------------------------------
SECURE_COOKIES = env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Internationalisation and static files ------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))

# --- Email (membership notices) -----------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# --- Celery: eager in-process without a broker, real workers with one ---------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://localhost//"  # (a hostname: no kombu warning per task)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # the beat's small look for stalled jobs, never behind a long import or training
    "predictions.incidents.tasks.requeue_stalled_imports": {"queue": "default"},
    "predictions.modelling.tasks.requeue_stalled_runs": {"queue": "default"},
    "predictions.areas.tasks.requeue_stalled_layers": {"queue": "default"},
    "predictions.workbench.knox_tasks.requeue_stalled_knox": {"queue": "default"},
    "predictions.workbench.compstat_tasks.requeue_stalled_compstat": {"queue": "default"},
    "predictions.workbench.compstat_tasks.weekly_compstat": {"queue": "default"},
    "predictions.incidents.tasks.*": {"queue": "imports"},
    "predictions.areas.tasks.*": {"queue": "imports"},
    "predictions.modelling.tasks.*": {"queue": "training"},
    "predictions.forecasts.tasks.*": {"queue": "forecasts"},
    # the workbench: permutation tests beside training, reports beside forecasts
    "predictions.workbench.knox_tasks.*": {"queue": "training"},
    "predictions.workbench.compstat_tasks.*": {"queue": "forecasts"},
    "predictions.scoring.tasks.*": {"queue": "forecasts"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis: how long an unacknowledged task waits before another worker may take it.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    # ...and how often workers look for such tasks (one Redis scan each time).
    "unacked_restore_interval": env_int("CELERY_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": 1,
}
CELERY_TIMEZONE = "UTC"
# A claimed job (import, training run) beats every JOB_HEARTBEAT_SECONDS while it runs (only
# with a broker: in-process tasks cannot lose their worker). Every JOB_REQUEUE_SECONDS the
# beat sends again the task of a job silent for JOB_HEARTBEAT_STALE_SECONDS, so that a job
# whose worker died resumes within a minute instead of the visibility timeout; the
# JOB_MAX_ATTEMPTS-th interrupted attempt marks it failed (predictions/jobs.py).
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 5) if not CELERY_TASK_ALWAYS_EAGER else 0
JOB_HEARTBEAT_STALE_SECONDS = env_int("JOB_HEARTBEAT_STALE_SECONDS", 20)
JOB_REQUEUE_SECONDS = env_int("JOB_REQUEUE_SECONDS", 10)
JOB_MAX_ATTEMPTS = 3
if JOB_HEARTBEAT_SECONDS > 0 and (JOB_HEARTBEAT_STALE_SECONDS < 3 * JOB_HEARTBEAT_SECONDS
                                  or JOB_REQUEUE_SECONDS < 1):
    raise ImproperlyConfigured("JOB_HEARTBEAT_STALE_SECONDS must be at least 3 heartbeats "
                               "(3 x JOB_HEARTBEAT_SECONDS), JOB_REQUEUE_SECONDS at least 1")
# Forecasts (cells and scores) are deleted this many days after their window starts.
FORECAST_RETENTION_DAYS = env_int("FORECAST_RETENTION_DAYS", 365)
if FORECAST_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("FORECAST_RETENTION_DAYS must be at least 1")

CELERY_BEAT_SCHEDULE = {
    "regenerate-forecasts": {
        "task": "predictions.forecasts.tasks.regenerate_forecasts",
        "schedule": env_int("FORECAST_REGENERATE_SECONDS", 24 * 3600),
    },
    # every issued forecast scored once its window has closed (predictions.scoring)
    "score-closed-forecasts": {
        "task": "predictions.scoring.tasks.score_closed_forecasts",
        "schedule": env_int("SCORE_FORECASTS_SECONDS", 3600),
    },
    "sign-audit-checkpoint": {
        "task": "audit.tasks.sign_audit_checkpoint",
        "schedule": env_int("AUDIT_CHECKPOINT_SECONDS", 300),
    },
    # a round not taken before the next one is due is dropped
    **{f"requeue-stalled-{kind}": {"task": f"predictions.{task}",
                                   "schedule": JOB_REQUEUE_SECONDS,
                                   "options": {"expires": JOB_REQUEUE_SECONDS}}
       for kind, task in (("imports", "incidents.tasks.requeue_stalled_imports"),
                          ("runs", "modelling.tasks.requeue_stalled_runs"),
                          ("layers", "areas.tasks.requeue_stalled_layers"),
                          ("knox", "workbench.knox_tasks.requeue_stalled_knox"),
                          ("compstat", "workbench.compstat_tasks.requeue_stalled_compstat"))},
    # the weekly CompStat report: each round makes the last complete local week's report of
    # every agency that has none yet, so a round every few hours makes one a week per agency
    # (in every time zone) and a missed round costs nothing
    "weekly-compstat": {
        "task": "predictions.workbench.compstat_tasks.weekly_compstat",
        "schedule": env_int("COMPSTAT_CHECK_SECONDS", 3 * 3600),
    },
}

# --- Incident import ------------------------------------------------------------------------
UPLOAD_ROOT = env_str("UPLOAD_ROOT", str(VAR_DIR / "uploads"))
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 512 * 1024 * 1024)
MODEL_ROOT = env_str("MODEL_ROOT", str(VAR_DIR / "models"))
IMPORT_MAX_EXPANDED_BYTES = env_int("IMPORT_MAX_EXPANDED_BYTES", 2 * 1024 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# How long a stated purpose of access covers forecast reads before it is asked again.
ACCESS_PURPOSE_SECONDS = env_int("ACCESS_PURPOSE_SECONDS", 4 * 3600)

# What `seed_demo` runs after creating the demo agencies and users.
DEMO_SEEDERS = ["predictions.demo.seed_predictions"]

# --- Audit trail --------------------------------------------------------------------------
AUDIT_SIGNING_KEY_PATH = env_str("AUDIT_SIGNING_KEY_PATH", str(VAR_DIR / "audit-signing-key.pem"))
# The key may live on another host: a command that reads the bytes to sign on stdin and prints
# the Ed25519 signature (raw, base64 or hex), with the matching public key in a PEM file.
AUDIT_SIGNING_COMMAND = env_str("AUDIT_SIGNING_COMMAND")
AUDIT_PUBLIC_KEY_PATH = env_str("AUDIT_PUBLIC_KEY_PATH")
if AUDIT_SIGNING_COMMAND and not AUDIT_PUBLIC_KEY_PATH:
    raise ImproperlyConfigured("AUDIT_SIGNING_COMMAND needs AUDIT_PUBLIC_KEY_PATH")
# A checkpoint is signed every AUDIT_CHECKPOINT_EVENTS records (and every
# AUDIT_CHECKPOINT_SECONDS, above); board members get the latest by mail.
AUDIT_CHECKPOINT_EVENTS = env_int("AUDIT_CHECKPOINT_EVENTS", 100)
CELERY_IMPORTS = ["oversight.tasks"]  # oversight is no Django app: its tasks are named here
CELERY_BEAT_SCHEDULE["mail-audit-checkpoint"] = {
    "task": "oversight.tasks.mail_audit_checkpoint",
    "schedule": env_int("AUDIT_CHECKPOINT_MAIL_SECONDS", 24 * 3600),
}

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its `WWW-Authenticate: Token` makes a missing or bad token a 401 (RFC 7235)
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agencies.tokens.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "predictions.api.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 500,
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env_str("API_RATE", "1200/minute")},
    "DEFAULT_SCHEMA_CLASS": "predictions.api.schema.PortalAutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Crime-prediction portal API",
    "DESCRIPTION": "Every response that carries a prediction needs a `purpose` and is "
                   "recorded in the audit trail. Another agency's objects do not exist (404).",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,  # the schema describes the API, not itself
    # the public API (plain Django views) is added to the same schema
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "predictions.api.public_schema.add_public_api",
    ],
}

# --- Maps ---------------------------------------------------------------------------------
# Base-map tiles for every map (django-leaflet's own settings): none by default, so that the
# maps work offline and no visitor's address reaches a tile provider; see the README.
MAP_TILE_URL = env_str("MAP_TILE_URL")
LEAFLET_CONFIG: dict[str, Any] = {
    "TILES": MAP_TILE_URL or [],
    "ATTRIBUTION_PREFIX": env_str("MAP_TILE_ATTRIBUTION"),
    "RESET_VIEW": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Public aggregate crime map (public/): privacy rules, each with a safe default ---------
PUBLIC_CELL_SIZE_M = env_int("PUBLIC_CELL_SIZE_M", 500)
PUBLIC_DELAY_DAYS = env_int("PUBLIC_DELAY_DAYS", 30)
PUBLIC_EPSILON = float(env_str("PUBLIC_EPSILON", "1.0"))
PUBLIC_TOTAL_BUDGET = float(env_str("PUBLIC_TOTAL_BUDGET", "120"))
PUBLIC_SENSITIVE_CATEGORIES = env_list("PUBLIC_SENSITIVE_CATEGORIES", "sexual_offence")
PUBLIC_SENSITIVE_LEVEL = env_str("PUBLIC_SENSITIVE_LEVEL", "city")
PUBLIC_SMALL_COUNT = env_int("PUBLIC_SMALL_COUNT", 5)
PUBLIC_API_RATE_PER_MINUTE = env_int("PUBLIC_API_RATE_PER_MINUTE", 600)
PUBLIC_CACHE_SECONDS = env_int("PUBLIC_CACHE_SECONDS", 300)
# An external geocoder the public map's search box may also ask, from the visitor's browser
# (a URL template with `{q}`, answering as Nominatim's `format=json` does). Empty: names only.
PUBLIC_GEOCODER_URL = env_str("PUBLIC_GEOCODER_URL", "")
if PUBLIC_GEOCODER_URL and (
    "{q}" not in PUBLIC_GEOCODER_URL or not PUBLIC_GEOCODER_URL.startswith("https://")
):
    raise ImproperlyConfigured("PUBLIC_GEOCODER_URL must be an https:// URL holding {q}")
# Serve repeat public API answers in front of Django (portal/wsgi.py, public/edge.py).
PUBLIC_EDGE = env_bool("PUBLIC_EDGE", True)
# PostgreSQL: the edge learns of release changes by LISTEN/NOTIFY (public/watch.py).
PUBLIC_EDGE_LISTEN = env_bool("PUBLIC_EDGE_LISTEN", True)
if not (0 < PUBLIC_EPSILON <= 10 and PUBLIC_TOTAL_BUDGET > 0) or PUBLIC_DELAY_DAYS < 0:
    raise ImproperlyConfigured("PUBLIC_EPSILON must be in (0, 10], PUBLIC_TOTAL_BUDGET > 0, "
                               "PUBLIC_DELAY_DAYS >= 0")
if PUBLIC_SENSITIVE_LEVEL not in ("city", "none"):
    raise ImproperlyConfigured("PUBLIC_SENSITIVE_LEVEL must be 'city' or 'none'")
CELERY_BEAT_SCHEDULE["publish-releases"] = {
    "task": "public.tasks.publish_releases",
    "schedule": env_int("PUBLIC_PUBLISH_SECONDS", 24 * 3600),
}
DEMO_SEEDERS = [*DEMO_SEEDERS, "public.demo.seed_public", "oversight.demo.seed_access_history"]


# --- Content-Security-Policy (django-csp): no inline script or style anywhere -------------
# Scripts, styles and fonts come from this site only; images also from `data:` (Leaflet's
# icons). A page that draws a map adds the tile server (common.maps.draws_map), the public
# map the geocoder its search may ask (PUBLIC_GEOCODER_URL).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Browser features no page of the portal uses (portal.middleware.PermissionsPolicyMiddleware).
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), "
                      "magnetometer=(), microphone=(), payment=(), usb=(), "
                      "browsing-topics=()")
