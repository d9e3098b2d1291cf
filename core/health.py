"""Readiness: can this process reach what it works with, and how is the background work doing.

``/healthz`` says the process is alive (and reaches its database); ``/readyz`` says
more, for an operator or a load balancer. Each check answers ``{"ok", "ms"}``:

- ``database``, ``cache`` (Redis), ``broker``: each answers;
- ``storage``: the stored files' folder, or the object store's bucket (``core/storage.py``);
- ``migrations``: every migration of this code is applied (read once per process until true);
- ``beat``: a periodic task started within ``READY_BEAT_MAX_AGE_SECONDS`` (``core/periodic.py``;
  0 leaves the check out), its age in ``age_seconds``;
- ``replica``, with a read replica configured (``DATABASE_REPLICA_URL``): it answers and is at
  most ``REPLICA_MAX_LAG_SECONDS`` behind, its lag in ``lag_seconds`` (while it is not, the
  reports read the primary: ``core/db_router.py``);
- one check per report that apps add with a verdict (the notification outbox's backlog and its
  oldest message's age against ``READY_OUTBOX_MAX_PENDING`` and ``READY_OUTBOX_MAX_AGE_SECONDS``,
  ``notifications/apps.py``), the report's numbers beside the checks.

It answers 503 when one check fails, though the pages keep working without Redis
(``core/cache.py``): a 503 here says "something needs a look", not "take this process out".

Cheap enough to poll every few seconds: ``SELECT 1``, one PING to each Redis (over
the pools the process already has), one ``HEAD`` of the bucket, and one short statement
for beat and each report. It shows whether each check passed and how long it took, never
an address or an error text.
"""

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import connection

logger = logging.getLogger(__name__)

_reports: dict[str, Callable[[], dict]] = {}
_verdicts: dict[str, Callable[[dict], bool]] = {}
_migrated = False
_broker_clients: dict[str, object] = {}
_broker_lock = threading.Lock()


def register_report(name: str, report: Callable[[], dict], verdict: Callable[[dict], bool] | None = None) -> None:
    """Add ``report()`` (a small JSON-able dict, read from the database) to ``/readyz`` as ``name``;
    with ``verdict(report) -> bool``, also a check of that name (False: not ready)."""
    _reports[name] = report
    if verdict is not None:
        _verdicts[name] = verdict


def report_values() -> dict[str, dict]:
    """Each report's numbers now (for the metrics), leaving out one that fails."""
    values = {}
    for name, report in _reports.items():
        try:
            values[name] = report()
        except Exception as exc:
            logger.warning("report %s failed (%s: %s)", name, type(exc).__name__, exc)
    return values


def _database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True


def _cache() -> bool:
    ping = getattr(caches["default"], "ping", None)
    return True if ping is None else ping()  # a cache in process memory is always there


def _broker_client(url: str):
    import redis

    client = _broker_clients.get(url)
    if client is None:
        timeout = settings.CACHE_TIMEOUT_MS / 1000
        with _broker_lock:
            client = _broker_clients.setdefault(
                url, redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
            )
    return client


def _broker() -> bool:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        return Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).is_dir()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return bool(_broker_client(url).ping())
    from kombu import Connection

    with Connection(url, connect_timeout=settings.CACHE_TIMEOUT_MS / 1000) as conn:
        conn.ensure_connection(max_retries=1)
    return True


def _storage() -> bool:
    from .storage import ping

    return ping()


def _migrations() -> bool:
    """No migration of this code left to apply (once true, a process does not ask again)."""
    global _migrated
    if not _migrated:
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrated


def _beat() -> dict:
    from .periodic import beat_age_seconds

    age = beat_age_seconds()
    return {"ok": age is not None and age <= settings.READY_BEAT_MAX_AGE_SECONDS,
            "age_seconds": None if age is None else round(age)}


def _replica() -> dict:
    """The read replica answers and is at most REPLICA_MAX_LAG_SECONDS behind (core/db_router.py);
    while it is not, the reports read the primary."""
    from .db_router import replica_status

    status = replica_status(fresh=True)
    return {"ok": status["usable"], "lag_seconds": status["lag_seconds"]}


CHECKS = {"database": _database, "cache": _cache, "broker": _broker, "storage": _storage,
          "migrations": _migrations, "beat": _beat, "replica": _replica}
NEEDS_DATABASE = {"migrations", "beat"}


def _run(check) -> dict:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # any client's error: this dependency is down
        logger.warning("readyz: %s failed (%s: %s)", getattr(check, "__name__", check), type(exc).__name__, exc)
        result = False
    extra = result if isinstance(result, dict) else {"ok": bool(result)}
    return {**extra, "ok": bool(extra["ok"]), "ms": round((time.perf_counter() - started) * 1000, 1)}


def readiness() -> dict:
    """``{"ok", "checks": {name: {"ok", "ms", ...}}, <report name>: {...}}``; ok only when every check passed."""
    checks = {}
    for name, check in CHECKS.items():
        if name == "beat" and settings.READY_BEAT_MAX_AGE_SECONDS <= 0:
            continue
        if name == "replica" and not settings.REPLICA_DATABASE:
            continue
        if name in NEEDS_DATABASE and not checks["database"]["ok"]:
            checks[name] = {"ok": False, "ms": 0.0}
            continue
        checks[name] = _run(check)
    body: dict = {"ok": True, "checks": checks}
    for name, report in _reports.items():
        if not checks["database"]["ok"]:
            body[name] = None
            if name in _verdicts:
                checks[name] = {"ok": False, "ms": 0.0}
            continue
        started = time.perf_counter()
        try:
            body[name] = report()
        except Exception as exc:
            logger.warning("readyz: report %s failed (%s: %s)", name, type(exc).__name__, exc)
            body[name] = None
        if name in _verdicts:
            ok = body[name] is not None and bool(_verdicts[name](body[name]))
            checks[name] = {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1)}
    body["ok"] = all(c["ok"] for c in checks.values())
    return body
