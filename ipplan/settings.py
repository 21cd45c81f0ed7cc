"""ipplan settings: one module, fed by environment variables.

Without DATABASE_URL the embedded default (a SQLite file) is used; without REDIS_URL
an in-memory channel layer. Production sets both, plus SECRET_KEY, ALLOWED_HOSTS and
IPPLAN_HTTPS=1. See the configuration table in README.md.
"""

import contextlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)

# A fixed key is acceptable only for the local demo / tests; production must set one.
_DEV_SECRET = "ipplan-insecure-dev-key-only-for-local-demo-and-tests-0123456789"  # noqa: S105 (refused by the deploy checks)
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET)

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
if "*" in ALLOWED_HOSTS:
    # AllowedHostsOriginValidator would accept every WebSocket origin.
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts; '*' is refused.")

CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "daphne",
    # The admin, restricted to OTP-verified superusers (ipplan/core/admin_site.py).
    "ipplan.core.admin_apps.IpplanAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI served from our own static files (no CDN), and query filters (API).
    "drf_spectacular_sidecar",
    "django_filters",
    "ipplan.accounts",
    "ipplan.plans",
    "ipplan.meetings",
    "ipplan.live",
    "ipplan.courses",
    "ipplan.records",
    "ipplan.api",
    "ipplan.core",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from the ASGI app itself, so the demo and every worker behind one
    # address serve them without a separate web server (no CDN, works offline).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ipplan.core.middleware.SecurityHeadersMiddleware",
    # Last, as axes requires: turns a flagged lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ipplan.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "ipplan.asgi.application"

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
            ],
        },
    },
]

_default_sqlite = f"sqlite:///{BASE_DIR / 'var' / 'ipplan.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_sqlite),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Live edits lock the plan row; SQLite serialises writers, so give waiting
    # writers time instead of failing at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = os.environ.get("REDIS_URL", "")

# A cache shared by every worker process (API throttle counters, login lockouts are in
# the database). Without CACHE_URL each process counts on its own: fine for the demo,
# not for several workers behind one address.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
        }
    }
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer: measured far lower latency and no silent drops from a
            # shared per-process queue (see docs/architecture.md). Delivery is still
            # at-most-once; clients catch up from the database on a revision gap.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "max_connections": 1000}],
                # Pub/sub channels are global to a Redis server, whatever its database
                # number: deployments (or parallel test runs) that share one Redis keep
                # their groups apart by prefix.
                "prefix": os.environ.get("IPPLAN_CHANNEL_PREFIX", "") or "asgi",
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "ipplan.accounts.validators.CharacterVarietyValidator"},
    {"NAME": "ipplan.accounts.validators.NoServiceNameValidator"},
]

# One backend: the model backend behind django-axes' lockout check (see docs/security.md).
AUTHENTICATION_BACKENDS = ["ipplan.accounts.backends.ThrottledModelBackend"]

# Login throttling: after AXES_FAILURE_LIMIT failed attempts for one username from one
# client address, that pair is locked out for the cool-off time. Per pair, so an
# attacker cannot lock a colleague out from elsewhere, nor a whole office (one NAT
# address) out by guessing. Behind a reverse proxy, run the ASGI server with its
# proxy-headers option so REMOTE_ADDR is the client's address.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = int(os.environ.get("IPPLAN_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("IPPLAN_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "ipplan.accounts.views.lockout_response"
# Lockouts are logged with username and address (a security event must be traceable);
# passwords are never stored or logged, nor are codes and CSRF tokens.
AXES_SENSITIVE_PARAMETERS = ["token", "csrfmiddlewaretoken"]
AXES_VERBOSE = False

# Second factor (TOTP) for staff who turn it on; required for the admin site.
OTP_TOTP_ISSUER = os.environ.get("IPPLAN_OTP_ISSUER", "ipplan")
IPPLAN_ADMIN_REQUIRE_OTP = env_bool("IPPLAN_ADMIN_REQUIRE_OTP", True)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "plans:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "nb"
LANGUAGES = [("nb", "Norsk bokmål")]
LOCALE_PATHS = [BASE_DIR / "ipplan" / "locale"]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
# Serve straight from the finders: no collectstatic step for the demo; in production
# `manage.py collectstatic` may still be run, and both give the same URLs.
WHITENOISE_USE_FINDERS = True
# whitenoise warns on every start when STATIC_ROOT is missing
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# HTTPS-only cookies, HSTS and redirects: on whenever the deployment says it runs
# behind TLS. The same module serves the demo and production.
IPPLAN_HTTPS = env_bool("IPPLAN_HTTPS", False)
SESSION_COOKIE_SECURE = IPPLAN_HTTPS
CSRF_COOKIE_SECURE = IPPLAN_HTTPS
SECURE_SSL_REDIRECT = IPPLAN_HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if IPPLAN_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = IPPLAN_HTTPS
SECURE_HSTS_PRELOAD = IPPLAN_HTTPS
if IPPLAN_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # "__Host-": the browser accepts it only over HTTPS, for this exact host, path /.
    SESSION_COOKIE_NAME = "__Host-ipplan_session"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Integration tokens first, so an unauthenticated request gets 401 + WWW-Authenticate.
        "ipplan.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # Per client: anonymous by IP, session users by user, integration tokens by token.
    "DEFAULT_THROTTLE_CLASSES": [
        "ipplan.api.throttles.AnonThrottle",
        "ipplan.api.throttles.SessionUserThrottle",
        "ipplan.api.throttles.TokenThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("IPPLAN_API_RATE_ANON", "60/min"),
        "user": os.environ.get("IPPLAN_API_RATE_USER", "600/min"),
        "token": os.environ.get("IPPLAN_API_RATE_TOKEN", "1200/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ipplan API",
    "DESCRIPTION": "Individuell plan: planer, ansvarsgruppe, samtykke, hovedtema, mål og tiltak.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components: read-only fields stay out of requests.
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "PlanStatusEnum": "ipplan.plans.models.Plan.Status",
        "GoalStatusEnum": "ipplan.plans.models.Goal.Status",
        "MeasureStatusEnum": "ipplan.plans.models.Measure.Status",
        "MeetingStatusEnum": "ipplan.meetings.models.Meeting.Status",
        "ConsentKindEnum": "ipplan.plans.models.Consent.Kind",
        "ChangeKindEnum": "ipplan.plans.models.Change.Kind",
        "GoalLevelEnum": "ipplan.plans.models.Goal.Level",
        "CourseKindEnum": "ipplan.courses.models.TreatmentCourse.Kind",
        "CourseStatusEnum": "ipplan.courses.models.TreatmentCourse.Status",
        "AccessLevelEnum": ["read", "comment", "edit", "manage"],
    },
}

# Live editing limits (see docs/protocol.md).
IPPLAN_LIVE_MAX_FRAME_BYTES = 256 * 1024
IPPLAN_LIVE_RATE_PER_SECOND = int(os.environ.get("IPPLAN_LIVE_RATE_PER_SECOND", "50"))
IPPLAN_LIVE_RATE_BURST = int(os.environ.get("IPPLAN_LIVE_RATE_BURST", "200"))
# Each socket's full re-check of session, account and access: the fallback behind the
# immediate notifications and the poll below (which closes sockets within 2 s); see
# docs/architecture.md. At 30 s it was a fifth of an idle worker's CPU (200 sockets).
IPPLAN_LIVE_RECHECK_SECONDS = float(os.environ.get("IPPLAN_LIVE_RECHECK_SECONDS", "120"))
# How often one task per process polls, for all its sockets together, the plans'
# revisions, the sessions and the meetings (ipplan/live/watch.py). Keep it well under 5:
# logout, expiry and ended access must close sockets within 5 s even without Redis.
IPPLAN_LIVE_POLL_SECONDS = float(os.environ.get("IPPLAN_LIVE_POLL_SECONDS", "2"))
# Database threads (one connection each) for the live sockets of one process.
IPPLAN_LIVE_DB_THREADS = int(os.environ.get("IPPLAN_LIVE_DB_THREADS", "4"))
# The fast lane (ipplan/live/fastlane.py): plain text ops applied on the event loop over
# asynchronous PostgreSQL connections (this many per process) instead of on the threads.
IPPLAN_LIVE_FAST_LANE = env_bool("IPPLAN_LIVE_FAST_LANE", True)
IPPLAN_LIVE_FAST_LANE_CONNECTIONS = int(os.environ.get("IPPLAN_LIVE_FAST_LANE_CONNECTIONS", "4"))
# Seconds a fast-lane connection is used before it is closed and a new one opened.
IPPLAN_LIVE_FAST_LANE_MAX_AGE = float(os.environ.get("IPPLAN_LIVE_FAST_LANE_MAX_AGE", "600"))
# Freeze the objects that exist once the ASGI application is loaded (gc.freeze in
# ipplan/asgi.py), so full garbage collections no longer walk them with the event loop
# stopped; see docs/performance.md, session 10.
IPPLAN_GC_FREEZE = env_bool("IPPLAN_GC_FREEZE", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # Tracebacks without exception messages: those can quote plan text.
        "redacting": {
            "()": "ipplan.core.logfilters.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        },
    },
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "redacting"},
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "django.utils.log.AdminEmailHandler",
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Replaces Django's default handlers for "django" (its DEBUG console handler
        # prints exception messages); records go on to the redacting root handler.
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        # Request bodies and SQL parameters hold plan text: never log them.
        "django.db.backends": {"level": "WARNING"},
        # Failures and lockouts (WARNING) are kept; per-attempt chatter is not.
        "axes": {"level": "WARNING"},
    },
}
# Error pages and e-mails: no request bodies, no local variables, no exception text.
DEFAULT_EXCEPTION_REPORTER_FILTER = "ipplan.core.logfilters.PlanDataReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "ipplan.core.logfilters.PlanDataExceptionReporter"
