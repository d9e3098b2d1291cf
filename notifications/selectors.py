"""Reads of the outbox."""

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import Notification

OUTBOX_COUNT_CAP = 10_000


def outbox_backlog(*, now=None) -> dict:
    """Notifications waiting to be sent and failed ones, and how long the oldest has waited.

    One statement over the partial indexes ``notification_pending`` and
    ``notification_failed``: each count stops at ``OUTBOX_COUNT_CAP`` (reported as that
    number, with ``capped``), so a long outage's backlog costs no more than a short one's.
    """
    table = connection.ops.quote_name(Notification._meta.db_table)
    limit = OUTBOX_COUNT_CAP + 1
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM (SELECT 1 FROM {table} WHERE status = 'pending' LIMIT %s) p),"
            f" (SELECT count(*) FROM (SELECT 1 FROM {table} WHERE status = 'failed' LIMIT %s) f),"
            f" (SELECT min(created_at) FROM {table} WHERE status = 'pending')",
            [limit, limit],
        )
        pending, failed, oldest = cursor.fetchone()
    now = now or timezone.now()
    return {
        "pending": min(pending, OUTBOX_COUNT_CAP),
        "failed": min(failed, OUTBOX_COUNT_CAP),
        "capped": pending > OUTBOX_COUNT_CAP or failed > OUTBOX_COUNT_CAP,
        "oldest_pending_seconds": max(0, int((now - oldest).total_seconds())) if oldest else None,
    }


def outbox_ready(backlog: dict) -> bool:
    """/readyz's verdict on the backlog: at most READY_OUTBOX_MAX_PENDING messages waiting, the
    oldest for at most READY_OUTBOX_MAX_AGE_SECONDS (the sweeps and the workers keep up)."""
    oldest = backlog["oldest_pending_seconds"]
    return (backlog["pending"] <= settings.READY_OUTBOX_MAX_PENDING
            and (oldest is None or oldest <= settings.READY_OUTBOX_MAX_AGE_SECONDS))
