"""Reference data kept in each web process, dropped when it changes.

Service types, SLA policies and calendars, the technician filter's options: read
on nearly every request, changed a few times a year in Django admin. Each worker
keeps them in memory; a version token in Django's cache (Redis in production,
shared by all workers) says when to drop them:

- a change in this process (a ``post_save`` / ``post_delete`` receiver calls
  ``bump()``) drops the local copy at once and writes a new token; the token is
  written again when the transaction commits, so that another worker that
  reloaded in between (and saw the old rows) reloads once more;
- every other worker reads the token at most once per ``CHECK_SECONDS`` (1 s), so
  it sees the change within a second, at the cost of one cache read per second
  instead of one query per request;
- whatever happens to the token (Redis flushed, an ``update()`` that sends no
  signal, no shared cache at all on a laptop), a local copy is never older than
  ``MAX_AGE_SECONDS`` (5 min; a cache may set a shorter ``max_age``, as the
  users and API tokens of ``core/auth.py`` do).

Cached objects are shared by the requests of a process: read them, never change them.
"""

import logging
import threading
import time
import uuid

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

CHECK_SECONDS = 1.0
MAX_AGE_SECONDS = 300.0

_registry: dict[str, "VersionedCache"] = {}


class VersionedCache:
    """Values computed from the database, kept per process under one shared version token."""

    def __init__(self, name: str, *, max_age: float = MAX_AGE_SECONDS, max_entries: int | None = None):
        self.name = name
        self.max_age = max_age  # seconds a local copy may be kept with no announced change
        self.max_entries = max_entries  # more parts than this: start again (a bound on memory)
        self.key = f"refcache:{name}:version"
        self._lock = threading.Lock()
        self._values: dict = {}
        self._version = None
        self._checked_at = 0.0  # monotonic time of the last look at the shared token
        self._loaded_at = 0.0
        _registry[name] = self

    def _shared_version(self):
        try:
            version = cache.get(self.key)
            if version is None:
                version = uuid.uuid4().hex
                if not cache.add(self.key, version, None):
                    version = cache.get(self.key) or version
            return version
        except Exception:  # any cache backend's error: the cache is down, the age limit still holds
            logger.warning("refcache %s: cannot read the version from the cache", self.name, exc_info=True)
            return self._version

    def _fresh(self) -> None:
        now = time.monotonic()
        if now - self._loaded_at > self.max_age:
            self._values = {}
            self._loaded_at = now
        if now - self._checked_at < CHECK_SECONDS:
            return
        self._checked_at = now
        version = self._shared_version()
        if version != self._version:
            self._values = {}
            self._version = version
            self._loaded_at = now

    def get(self, part, loader):
        """The value for ``part`` (any hashable), from ``loader()`` when not held."""
        self._fresh()
        values = self._values
        try:
            return values[part]
        except KeyError:
            pass
        value = loader()  # an exception stores nothing
        with self._lock:
            if values is self._values:
                if self.max_entries is not None and len(values) >= self.max_entries:
                    values = self._values = {}
                values[part] = value
        return value

    def clear_local(self) -> None:
        self._values = {}
        self._version = None
        self._checked_at = 0.0

    def bump(self) -> None:
        """The data changed: drop it here now, and in every worker within a second."""
        self.clear_local()
        self._write_token()
        transaction.on_commit(self._write_token)

    def _write_token(self) -> None:
        try:
            cache.set(self.key, uuid.uuid4().hex, None)
        except Exception:  # any cache backend's error: other workers catch up within MAX_AGE_SECONDS
            logger.warning("refcache %s: cannot write the version to the cache", self.name, exc_info=True)
        self.clear_local()


def receiver_for(refcache: VersionedCache):
    """A signal receiver that bumps ``refcache`` (for post_save / post_delete / m2m_changed)."""

    def bump(sender, **kwargs):
        refcache.bump()

    return bump


def clear_all_local() -> None:
    """Forget every local copy (tests call this between tests: a rolled-back
    transaction sends no signal)."""
    for refcache in _registry.values():
        refcache.clear_local()
