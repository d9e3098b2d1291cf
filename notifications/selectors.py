"""Reads of the outbox."""

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import Notification

OUTBOX_COUNT_CAP = 10_000


def outbox_backlog(*, now=None) -> dict:
    """Notifications waiting to be sent and failed ones, how long the oldest has waited, and
    apart from them the deliveries waiting for integrations' webhook endpoints.

    ``pending``, ``failed`` and ``oldest_pending_seconds`` leave out the webhook endpoints' rows
    (``endpoint_pending``): an integration's receiver that is down keeps its deliveries waiting
    for hours by design (retried with backoff, in order, the endpoint disabled after a day), and
    that must not make every web node unready (/readyz) while our own messages flow. A worker or
    broker that stopped still shows: SMS and emails wait too.

    One statement over the partial indexes ``notification_waiting`` (pending, without the
    endpoints' rows), ``notification_failed`` and ``notification_endpoint_pending``: each count stops at
    ``OUTBOX_COUNT_CAP`` (reported as that number, with ``capped``), so a long outage's backlog
    costs no more than a short one's.
    """
    table = connection.ops.quote_name(Notification._meta.db_table)
    limit = OUTBOX_COUNT_CAP + 1
    endpoint = Notification.Channel.ENDPOINT
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM (SELECT 1 FROM {table} WHERE status = 'pending' AND channel <> %s"
            f" LIMIT %s) p),"
            f" (SELECT count(*) FROM (SELECT 1 FROM {table} WHERE status = 'failed' LIMIT %s) f),"
            f" (SELECT min(created_at) FROM {table} WHERE status = 'pending' AND channel <> %s),"
            f" (SELECT count(*) FROM (SELECT 1 FROM {table} WHERE status = 'pending' AND channel = %s"
            f" LIMIT %s) e)",
            [endpoint, limit, limit, endpoint, endpoint, limit],
        )
        pending, failed, oldest, endpoint_pending = cursor.fetchone()
    now = now or timezone.now()
    return {
        "pending": min(pending, OUTBOX_COUNT_CAP),
        "failed": min(failed, OUTBOX_COUNT_CAP),
        "capped": pending > OUTBOX_COUNT_CAP or failed > OUTBOX_COUNT_CAP or endpoint_pending > OUTBOX_COUNT_CAP,
        "oldest_pending_seconds": max(0, int((now - oldest).total_seconds())) if oldest else None,
        "endpoint_pending": min(endpoint_pending, OUTBOX_COUNT_CAP),
    }


def outbox_ready(backlog: dict) -> bool:
    """/readyz's verdict on the backlog: at most READY_OUTBOX_MAX_PENDING messages waiting, the
    oldest for at most READY_OUTBOX_MAX_AGE_SECONDS (the sweeps and the workers keep up). The
    webhook endpoints' deliveries are not judged (``outbox_backlog``): their receivers are not ours."""
    oldest = backlog["oldest_pending_seconds"]
    return (backlog["pending"] <= settings.READY_OUTBOX_MAX_PENDING
            and (oldest is None or oldest <= settings.READY_OUTBOX_MAX_AGE_SECONDS))
