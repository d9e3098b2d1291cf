"""Readiness: can this process reach what it works with, and how is the background work doing.

``/healthz`` says the process is alive (and reaches its database); ``/readyz`` says
more, for an operator or a load balancer: the database, the cache (Redis) and the
broker each answer, plus reports that apps add (the notification outbox's backlog,
``workorders/apps.py``). It answers 503 when one of the three is down, though the
pages keep working without Redis (``core/cache.py``): a 503 here says "something
needs a look", not "take this process out".

Cheap enough to poll every few seconds: ``SELECT 1``, one PING to each Redis (over
the pools the process already has), and each report one short statement. It shows
whether each check passed and how long it took, never an address or an error text.
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
_broker_clients: dict[str, object] = {}
_broker_lock = threading.Lock()


def register_report(name: str, report: Callable[[], dict]) -> None:
    """Add ``report()`` (a small JSON-able dict, read from the database) to ``/readyz`` as ``name``."""
    _reports[name] = report


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


CHECKS = {"database": _database, "cache": _cache, "broker": _broker}


def readiness() -> dict:
    """``{"ok", "checks": {name: {"ok", "ms"}}, <report name>: {...}}``; ok only when every check passed."""
    checks = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            ok = bool(check())
        except Exception as exc:  # any client's error: this dependency is down
            logger.warning("readyz: %s unreachable (%s: %s)", name, type(exc).__name__, exc)
            ok = False
        checks[name] = {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1)}
    body: dict = {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
    for name, report in _reports.items():
        if not checks["database"]["ok"]:
            body[name] = None
            continue
        try:
            body[name] = report()
        except Exception as exc:
            logger.warning("readyz: report %s failed (%s: %s)", name, type(exc).__name__, exc)
            body[name] = None
    return body
