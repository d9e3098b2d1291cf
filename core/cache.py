"""Django's Redis cache backend: one Redis client per connection pool, and no error ever
reaches a request.

One client per pool. Django's ``RedisCacheClient`` builds a new ``redis.Redis``
object for every cache operation (its response-callback table alone is ~170
dictionary writes): about 70 µs of CPU, more than the GET itself, on every request
that reads its session or touches a rate limit. A ``redis.Redis`` object is safe to
share (it takes a connection from the pool for each command), so this backend builds
one per pool and keeps it.

Redis is a cache here, never a dependency: sessions (``cached_db``: the database holds
them, Redis a copy), rate limits and the version tokens of ``core/refcache.py`` all
go through this backend, and none of them may turn a Redis outage into a 500.

- An operation that fails with a Redis error (refused, timed out, out of memory)
  answers as a miss would: ``get`` its default, ``get_many`` nothing, ``add``/``delete``
  False, ``set`` nothing, ``incr`` a ``ValueError`` (Django's answer for a missing key).
  The sessions engine then reads and writes the database alone.
- After a failure the process leaves Redis alone for ``retry_seconds`` (5 s by
  default): no request waits on a connect or a timeout while it is down; the first
  operation after that tries again. Going down and coming back are logged once each.
- A cache with ``local_fallback`` (the rate limits' alias) answers from a cache in this
  process's memory meanwhile: a limit still holds per process while Redis is down.
- Keys this process wrote or deleted while Redis was unreachable may hold an older
  value there (Redis kept its data, or the outage was the network's): they are deleted
  as soon as Redis answers again, before anything else is read, so a session changed
  or ended during the outage is read from the database afterwards.

The state (down until when, keys to delete) is per Redis location and process, shared
by the threads and by the aliases that use that location.
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DEFAULT_RETRY_SECONDS = 5.0
# Keys remembered for deletion at most (a long outage under load); more are logged and dropped.
MAX_UNSYNCED_KEYS = 100_000


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def ping(self) -> bool:
        return bool(self.get_client(write=True).ping())


class _Availability:
    """Whether one Redis location is usable from this process, and what to repair when it is back."""

    def __init__(self, location: str):
        self.location = location
        self.down_until = 0.0  # monotonic time before which Redis is not tried
        self.down_since = None  # monotonic time of the first failure of this outage
        self.unsynced: set[str] = set()
        self.repaired = 0
        self.overflowed = False  # more keys changed than remembered (logged once)
        self.lock = threading.Lock()

    def fail(self, exc: Exception, retry_seconds: float) -> None:
        now = time.monotonic()
        with self.lock:
            self.down_until = now + retry_seconds
            first = self.down_since is None
            if first:
                self.down_since = now
        if first:
            logger.warning("Cache unreachable (%s: %s); pages go on without it and try again in %g s",
                           type(exc).__name__, exc, retry_seconds)

    def remember(self, keys) -> None:
        with self.lock:
            if len(self.unsynced) < MAX_UNSYNCED_KEYS:
                self.unsynced.update(keys)
                return
            first, self.overflowed = not self.overflowed, True
        if first:
            logger.error("Cache unreachable: more than %d keys changed meanwhile; the others may be read stale "
                         "from the cache once it is back", MAX_UNSYNCED_KEYS)

    def repair(self, client) -> None:
        """Delete the keys changed during the outage (raises RedisError when still down)."""
        with self.lock:
            keys, self.unsynced = list(self.unsynced), set()
        try:
            for start in range(0, len(keys), 1000):
                client.delete_many(keys[start:start + 1000])
        except RedisError:
            with self.lock:
                self.unsynced.update(keys)
            raise
        self.repaired += len(keys)

    def recovered(self) -> None:
        with self.lock:
            since, self.down_since = self.down_since, None
            repaired, self.repaired = self.repaired, 0
            self.overflowed = False
            self.down_until = 0.0
        if since is not None:
            logger.warning("Cache reachable again after %.0f s; %d key(s) changed meanwhile were dropped from it",
                           time.monotonic() - since, repaired)


_AVAILABILITY: dict[str, _Availability] = {}
_AVAILABILITY_LOCK = threading.Lock()


def availability(location: str) -> _Availability:
    state = _AVAILABILITY.get(location)
    if state is None:
        with _AVAILABILITY_LOCK:
            state = _AVAILABILITY.setdefault(location, _Availability(location))
    return state


class _Raise:
    """A soft answer that is an exception to raise (``incr`` on a missing key)."""

    def __init__(self, exc):
        self.exc = exc


_NO_COUNTER = _Raise(ValueError("the cache is unreachable"))


class RedisCache(DjangoRedisCache):
    """Django's Redis backend, reusing its client and failing soft (see the module's docstring).

    OPTIONS of its own (the others go to the Redis connection pool, as with Django's):
    ``retry_seconds`` (how long to leave Redis alone after a failure) and
    ``local_fallback`` (answer from this process's memory meanwhile).
    """

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        self.retry_seconds = float(options.pop("retry_seconds", DEFAULT_RETRY_SECONDS))
        local_fallback = bool(options.pop("local_fallback", False))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = ReusingRedisCacheClient
        self._state = availability(server if isinstance(server, str) else ",".join(server))
        self._local = LocMemCache(f"fallback:{self._state.location}", {}) if local_fallback else None

    def _run(self, call, local, soft, changed=()):
        """``call()`` against Redis unless it is resting; on a Redis error (or while resting)
        ``local()`` when there is a local fallback, else the soft answer."""
        state = self._state
        if state.down_until <= time.monotonic():
            try:
                if state.unsynced:
                    state.repair(self._cache)  # keys changed during the outage go first
                result = call()
            except RedisError as exc:
                state.fail(exc, self.retry_seconds)
            else:
                if state.down_since is not None:
                    state.recovered()
                return result
        if changed:
            state.remember(changed)
        if self._local is not None:
            return local(self._local)
        if isinstance(soft, _Raise):
            raise soft.exc
        return soft

    def ping(self) -> bool:
        """Whether Redis answers now (``/readyz``); ignores and changes no outage state."""
        try:
            return self._cache.ping()
        except RedisError:
            return False

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        made = self.make_and_validate_key(key, version=version)
        return self._run(lambda: self._cache.add(made, value, self.get_backend_timeout(timeout)),
                         lambda c: c.add(key, value, timeout, version), False, (made,))

    def get(self, key, default=None, version=None):
        made = self.make_and_validate_key(key, version=version)
        return self._run(lambda: self._cache.get(made, default), lambda c: c.get(key, default, version), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        made = self.make_and_validate_key(key, version=version)
        self._run(lambda: self._cache.set(made, value, self.get_backend_timeout(timeout)),
                  lambda c: c.set(key, value, timeout, version), None, (made,))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        made = self.make_and_validate_key(key, version=version)
        return self._run(lambda: self._cache.touch(made, self.get_backend_timeout(timeout)),
                         lambda c: c.touch(key, timeout, version), False, (made,))

    def delete(self, key, version=None):
        made = self.make_and_validate_key(key, version=version)
        return self._run(lambda: self._cache.delete(made), lambda c: c.delete(key, version), False, (made,))

    def get_many(self, keys, version=None):
        keys = list(keys)
        key_map = {self.make_and_validate_key(key, version=version): key for key in keys}

        def call():
            return {key_map[k]: v for k, v in self._cache.get_many(key_map.keys()).items()}

        return self._run(call, lambda c: c.get_many(keys, version), {})

    def has_key(self, key, version=None):
        made = self.make_and_validate_key(key, version=version)
        return self._run(lambda: self._cache.has_key(made), lambda c: c.has_key(key, version), False)

    def incr(self, key, delta=1, version=None):
        made = self.make_and_validate_key(key, version=version)
        return self._run(lambda: self._cache.incr(made, delta), lambda c: c.incr(key, delta, version),
                         _NO_COUNTER, (made,))

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        if not data:
            return []
        safe = {self.make_and_validate_key(key, version=version): value for key, value in data.items()}

        def call():
            self._cache.set_many(safe, self.get_backend_timeout(timeout))
            return []

        return self._run(call, lambda c: c.set_many(data, timeout, version), list(data), tuple(safe))

    def delete_many(self, keys, version=None):
        keys = list(keys)
        if not keys:
            return
        safe = [self.make_and_validate_key(key, version=version) for key in keys]
        self._run(lambda: self._cache.delete_many(safe), lambda c: c.delete_many(keys, version), None, tuple(safe))

    def clear(self):
        return self._run(self._cache.clear, lambda c: c.clear(), False)
