"""Periodic tasks run once per tick, however many beats send them (docs/operations.md, "Beat").

Beat does not send a periodic task itself but ``core.tasks.periodic(task, every)``
(config/settings.py ``periodic_entry``). On the worker, ``run_periodic``:

1. takes a PostgreSQL advisory lock for that task (``pg_try_advisory_lock``): while one run of
   it is going on, another message for it is dropped ("busy"), so two runs never overlap;
2. claims the tick: one statement inserts or advances the task's ``core_periodicrun`` row only
   when its tick is older than the message's (``floor(sent_at / every)``, ``sent_at`` the
   moment beat published it: a header set by ``stamp_sent_at``, so a message that waited in the
   queue still counts for the tick it was sent in); a second message for the same tick (a
   second beat, a redelivered message) finds it claimed and is dropped ("duplicate");
3. runs the task's body in this process, then records when it finished, and releases the lock.

Every beat that is running sends; the first message of each tick runs. So a second beat
started by mistake costs two tiny messages per tick and nothing else, and when one beat dies
the other's messages run at the next tick, with no lock to wait out. The lock is the
session's: a worker that dies releases it with its connection.
"""

import logging
import time
import zlib

from celery import current_app
from django.db import connection

logger = logging.getLogger(__name__)

# The first key of the two-key advisory locks this module takes ("PERI").
LOCK_CLASS = 0x50455249 - 2**31

_CLAIM = """
INSERT INTO core_periodicrun (name, tick, started_at, finished_at, runs, duplicates)
VALUES (%s, %s, now(), NULL, 1, 0)
ON CONFLICT (name) DO UPDATE
   SET tick = EXCLUDED.tick, started_at = EXCLUDED.started_at, finished_at = NULL,
       runs = core_periodicrun.runs + 1
 WHERE core_periodicrun.tick < EXCLUDED.tick
RETURNING runs
"""


def lock_key(task_name: str) -> int:
    """The advisory lock's second key for one task: a stable signed 32-bit hash of its name."""
    return zlib.crc32(task_name.encode()) - 2**31


SENT_AT_HEADER = "periodic_sent_at"


def stamp_sent_at(sender=None, headers=None, **kwargs):
    """``before_task_publish``: a periodic message carries the time it was sent (config/celery.py)."""
    if sender == "core.tasks.periodic" and headers is not None:
        headers.setdefault(SENT_AT_HEADER, time.time())


def message_header(task, name: str):
    """A header of the message a task runs from (a worker puts custom headers beside the
    request's own fields, ``apply(headers=...)`` under ``headers``)."""
    return task.request.get(name) or (task.request.get("headers") or {}).get(name)


def run_periodic(task_name: str, every_seconds: float, *, sent_at: float | None = None) -> str:
    """Run the task ``task_name`` if this tick of it has not run yet: "ran", "duplicate" or "busy"."""
    tick = int((time.time() if sent_at is None else float(sent_at)) // max(float(every_seconds), 1.0))
    key = lock_key(task_name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, key])
        if not cursor.fetchone()[0]:
            logger.info("periodic %s tick %s: busy (a run of it is still going on)", task_name, tick)
            return "busy"
    try:
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM, [task_name, tick])
            claimed = cursor.fetchone() is not None
            if not claimed:
                cursor.execute("UPDATE core_periodicrun SET duplicates = duplicates + 1 WHERE name = %s", [task_name])
        if not claimed:
            logger.info("periodic %s tick %s: duplicate (this tick already ran)", task_name, tick)
            return "duplicate"
        logger.info("periodic %s tick %s: running", task_name, tick)
        current_app.tasks[task_name]()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE core_periodicrun SET finished_at = now() WHERE name = %s", [task_name])
        return "ran"
    finally:
        if connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, key])


def beat_age_seconds() -> float | None:
    """Seconds since the newest periodic run started (the beat's heartbeat), None if none ever did."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM now() - max(started_at)) FROM core_periodicrun")
        age = cursor.fetchone()[0]
    return None if age is None else float(age)
