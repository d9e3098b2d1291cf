"""Long reads off the primary: the read replica (``DATABASE_REPLICA_URL``) and when it is used.

Only code that asks for it reads from the replica, inside ``replica_reads()`` (or a view
under ``@read_from_replica``): the managers' dashboard and its exports (``reports/views.py``)
and the admin's master-data exports (``core/import_admin.py``) - long aggregate reads that a
few seconds of lag does not spoil. Everything else, the customer 360 page included (an agent
opens it right after taking a call and expects the order just created), reads the primary.

The scope decides once, when it opens, where its reads go, and they all go there (raw SQL
through ``reading_connection()``, the ORM through ``ReplicaRouter``), so one page reads one
database in one snapshot. It picks the primary when:

- no replica is configured;
- the replica is further behind than ``REPLICA_MAX_LAG_SECONDS``, or its lag is unknown, or it
  did not answer (logged once when that starts and once when it ends). The lag is measured on
  the replica (``LAG_SQL``) at most every ``REPLICA_CHECK_SECONDS`` per process;
- this request has written, or a transaction on the primary is open (read-your-writes); a
  write inside the scope moves its later reads to the primary too.

Writes always go to the primary, and migrations run there only (the replica copies them).
The router is installed only when a replica is configured (config/settings.py): without one,
no query pays for asking it.
"""

import contextvars
import logging
import threading
import time
from contextlib import contextmanager
from functools import wraps

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .observability import REQUEST_ID

logger = logging.getLogger(__name__)

# How far the replica is behind, in seconds: 0 on a server that is not replaying (a primary, or a
# standby that has replayed all it received); otherwise the age of the last transaction it
# replayed; NULL (unknown) when it has replayed nothing since it started.
LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)

_READS: contextvars.ContextVar[str | None] = contextvars.ContextVar("replica_reads", default=None)
_WROTE_IN: contextvars.ContextVar[str | None] = contextvars.ContextVar("wrote_in_request", default=None)

_lock = threading.Lock()
_status: dict = {"checked": float("-inf"), "usable": False, "lag_seconds": None, "reason": "not checked"}


def replica_alias() -> str:
    """The replica's alias in DATABASES, or "" without one."""
    return settings.REPLICA_DATABASE


def _measure(alias: str) -> dict:
    conn = connections[alias]
    try:
        with conn.cursor() as cursor:
            cursor.execute(LAG_SQL)
            lag = cursor.fetchone()[0]
    except DatabaseError as exc:
        if not conn.in_atomic_block:
            conn.close()  # the next use connects again
        return {"usable": False, "lag_seconds": None, "reason": f"unreachable ({type(exc).__name__}: {exc})".strip()}
    if lag is None:
        return {"usable": False, "lag_seconds": None, "reason": "lag unknown (nothing replayed yet)"}
    lag = max(0.0, float(lag))
    if lag > settings.REPLICA_MAX_LAG_SECONDS:
        return {"usable": False, "lag_seconds": round(lag, 1),
                "reason": f"lagging {lag:.1f} s (over {settings.REPLICA_MAX_LAG_SECONDS} s)"}
    return {"usable": True, "lag_seconds": round(lag, 1), "reason": ""}


def replica_status(*, fresh: bool = False) -> dict:
    """``{"usable", "lag_seconds", "reason"}`` of the replica, measured at most every
    ``REPLICA_CHECK_SECONDS`` (``fresh``: now). A change between usable and not is logged."""
    alias = replica_alias()
    if not alias:
        return {"usable": False, "lag_seconds": None, "reason": "not configured"}
    now = time.monotonic()
    if not fresh and now - _status["checked"] < settings.REPLICA_CHECK_SECONDS:
        return {k: _status[k] for k in ("usable", "lag_seconds", "reason")}
    measured = _measure(alias)
    with _lock:
        was_usable, first = _status["usable"], _status["checked"] == float("-inf")
        _status.update(measured, checked=now)
    if was_usable and not measured["usable"] or first and not measured["usable"]:
        logger.warning("Read replica not used, reading from the primary: %s", measured["reason"])
    elif measured["usable"] and not was_usable and not first:
        logger.warning("Read replica in use again (lag %s s)", measured["lag_seconds"])
    return measured


def forget_status() -> None:
    """Measure again at the next scope (the tests, between cases)."""
    with _lock:
        _status.update(checked=float("-inf"), usable=False, lag_seconds=None, reason="not checked")


def _wrote_in_this_request() -> bool:
    request_id = REQUEST_ID.get()
    return request_id is not None and _WROTE_IN.get() == request_id


def _choose() -> str:
    if not replica_alias():
        return DEFAULT_DB_ALIAS
    if _wrote_in_this_request() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return replica_alias() if replica_status()["usable"] else DEFAULT_DB_ALIAS


@contextmanager
def replica_reads():
    """Reads inside go to the replica when it may be used (see above), else to the primary;
    yields the alias chosen."""
    current = _READS.get()
    token = _READS.set(current if current is not None else _choose())
    try:
        yield _READS.get()
    finally:
        _READS.reset(token)


def read_from_replica(view):
    """A view whose reads go to the replica (``replica_reads``). Put it below the permission checks."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped


def reading_alias() -> str:
    """Where reads go now: the scope's choice, the primary outside one."""
    return _READS.get() or DEFAULT_DB_ALIAS


def reading_connection():
    """The connection for raw SQL reads now (``reading_alias``)."""
    return connections[reading_alias()]


def _note_write() -> None:
    request_id = REQUEST_ID.get()
    if request_id is not None and _WROTE_IN.get() != request_id:
        _WROTE_IN.set(request_id)
    if _READS.get() not in (None, DEFAULT_DB_ALIAS):
        _READS.set(DEFAULT_DB_ALIAS)  # the rest of the scope reads what was just written


class ReplicaRouter:
    """Django's database router for the replica (installed by config/settings.py with one)."""

    def db_for_read(self, model, **hints):
        return _READS.get()  # None outside a scope: the instance's own database, else the primary

    def db_for_write(self, model, **hints):
        _note_write()
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same rows on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
