"""Notifications through an outbox: never lost, sent once.

A notification is a row (``Notification``) written in the same transaction as the
change that causes it. After commit, a Celery task delivers it; if the broker is
down at that moment the change still commits (the enqueue error is logged) and the
retry sweep, which beat runs every minute, delivers it once the broker is back.

Sent once: each row is claimed right before it is sent, by a conditional update
(``pending``, or ``sending`` whose lease has lapsed -> ``sending`` with a new lease of
``OUTBOX_LEASE_SECONDS``; the task and the sweep alike), so two workers never send it
at the same time, and its outcome is recorded in a commit of its own as soon as the
provider answers. A failed send goes back to pending with an exponential backoff, and
after the last attempt it is marked failed, which admin shows (with an action to try
again). What a crash can still do: a worker that dies after the provider accepted a
message and before that record is committed leaves the row claimed; once the lease
lapses the sweep sends it again. Every attempt carries the row's ``delivery_key``
(the SMS provider's and the webhook's ``Idempotency-Key`` header, the email's
``Message-ID``), by which a provider that supports it drops the repeat
(docs/operations.md).

Cheap enough to leave on (bench/outbox_throughput.py): a transition's messages are
written in the same statement as its event (``with_messages_add``), and the hand-over
after commit is batched per process (``core.batching.BatchPublisher``: at most one task per
``OUTBOX_ENQUEUE_BATCH_MS``).

Channels share one small interface (``Channel.send``): email through Django's
email backend, SMS through an HTTP provider, and a WeCom/DingTalk group robot
(an HTTP POST of JSON).
"""

import atexit
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID, uuid4, uuid5

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.db.models.signals import post_save, pre_save
from django.utils import timezone, translation

from core.batching import BatchPublisher
from core.inserts import bulk_insert, insert_together

from . import webhooks
from .channels import CHANNELS, DeliveryError, Message
from .models import Notification

logger = logging.getLogger(__name__)


class _Blank(dict):
    def __missing__(self, key):
        return ""


# --- Templates: what a row's ``template`` names -----------------------------------------------


@dataclass(frozen=True)
class Template:
    """A message's subject and body (``%(name)s`` takes the payload's value), and ``context``,
    which turns payload values into words before they go in (in the row's language)."""

    subject: str
    body: str
    context: Callable[[dict], None] | None = None


# Filled by the apps whose messages they are, from their ``AppConfig.ready`` (the work
# orders': ``WorkordersConfig``), so in every process: the worker renders a message when it
# delivers it, from the row's template name and payload.
TEMPLATES: dict[str, Template] = {}


def templates_register(messages: dict, *, context: Callable[[dict], None] | None = None) -> None:
    """Register ``messages`` ({name: (subject, body)}), each rendered with ``context``."""
    for name, (subject, body) in messages.items():
        TEMPLATES[name] = Template(subject, body, context)


def render(notification: Notification) -> tuple[str, str]:
    """Subject and body of a notification, in its language."""
    template = TEMPLATES[notification.template]
    with translation.override(notification.language or settings.LANGUAGE_CODE):
        ctx = _Blank(notification.payload or {})
        if template.context is not None:
            template.context(ctx)
        ctx.setdefault("company", settings.COMPANY_NAME)
        return str(template.subject) % ctx, str(template.body) % ctx


# --- Writing outbox rows (inside the caller's transaction) -----------------------------------


def _first_attempt_at(now):
    # The on-commit task normally sends it at once; the sweep waits a little before
    # taking a fresh row, so that it does not race the task for it.
    return now + timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)


def notification_build(*, channel: str, recipient: str, template: str, payload: dict, language: str = "",
                       subject_id: int | None = None, dedupe_key: str | None = None, now=None) -> Notification:
    """An unsaved outbox row; ``notifications_add`` writes a list of them. ``subject_id``: the id
    of what the message is about (a work order's), for finding its messages."""
    assert template in TEMPLATES, template
    now = now or timezone.now()
    values = {
        "id": None, "subject_id": subject_id, "channel": channel,
        "recipient": recipient, "template": template, "language": language or settings.LANGUAGE_CODE,
        "payload": payload, "status": Notification.State.PENDING, "attempts": 0,
        "next_attempt_at": _first_attempt_at(now), "last_error": "", "created_at": now, "sent_at": None,
        "dedupe_key": dedupe_key, "delivery_key": uuid4(),
    }
    # Positional arguments, in column order, as Django builds instances read from the
    # database: a fifth of the time keyword arguments take, which adds up over the
    # hundreds of rows an escalation sweep writes. (A new column fails here loudly.)
    return Notification(*[values[name] for name in _NOTIFICATION_COLUMNS])


_NOTIFICATION_COLUMNS = [f.attname for f in Notification._meta.concrete_fields]


def notifications_add(rows: list[Notification]) -> list[Notification]:
    """Write outbox rows in the current transaction and deliver them after it commits."""
    rows = _to_write(rows)
    if rows:
        bulk_insert(rows, returning_pk=True)
        _deliver_after_commit(rows)
    return rows


def _to_write(rows: list[Notification]) -> list[Notification]:
    """The rows to write: none when the outbox is off, and none whose dedupe key is taken."""
    if not rows or not settings.OUTBOX_WRITE_ENABLED:
        return []  # (disabled: benchmarks measuring the system without its outbox)
    if all(r.dedupe_key is None for r in rows):
        return rows
    deduped = [r for r in rows if r.dedupe_key is None]
    keyed = [r for r in rows if r.dedupe_key is not None]
    taken = set(Notification.objects.filter(dedupe_key__in=[r.dedupe_key for r in keyed])
                .values_list("dedupe_key", flat=True))
    return deduped + [r for r in keyed if r.dedupe_key not in taken]


def _deliver_after_commit(rows: list[Notification]) -> None:
    # Webhook deliveries go in tasks of their own: a receiver that does not answer holds its task
    # for WEBHOOK_TIMEOUT a delivery, and must not hold the customers' and staff's messages with it.
    messages = [n.pk for n in rows if n.channel != Notification.Channel.ENDPOINT]
    deliveries = [n.pk for n in rows if n.channel == Notification.Channel.ENDPOINT]
    if messages:
        transaction.on_commit(lambda: _enqueue_delivery(messages))
    if deliveries:
        transaction.on_commit(lambda: _enqueue_delivery(deliveries, endpoint=True))


def with_messages_add(obj, rows: list[Notification]) -> list[Notification]:
    """Save the new ``obj`` (an event, a survey) and write the outbox rows it causes in ONE statement.

    A transition that sends a message would otherwise pay a second round trip to
    PostgreSQL for it; three of them in the life of every work order (assign, depart,
    the survey) were most of what the outbox cost (bench/outbox_throughput.py).
    ``obj`` gets its pre_save and post_save signals, as ``obj.save()`` sends them.
    """
    rows = _to_write(rows)
    # With or without messages the object goes in the same way, so that what the outbox
    # costs is only the messages (bench/outbox_throughput.py compares the two).
    model, using = type(obj), connection.alias
    pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    insert_together([obj], rows)
    post_save.send(sender=model, instance=obj, created=True, update_fields=None, raw=False, using=using)
    _deliver_after_commit(rows)
    return rows


def _enqueue_delivery(ids: list[int], *, endpoint: bool = False) -> None:
    """After commit: hand the rows to a worker, now or with the next batch (``OUTBOX_ENQUEUE_BATCH_MS``);
    ``endpoint``: webhook deliveries, batched apart from the messages (``WEBHOOK_PUBLISHER``)."""
    if not settings.OUTBOX_ENQUEUE_ON_COMMIT:
        return  # the sweep alone delivers (tests that must not reach a broker)
    if settings.OUTBOX_ENQUEUE_BATCH_MS <= 0:
        _publish(ids)
    else:
        (WEBHOOK_PUBLISHER if endpoint else PUBLISHER).add(ids)


class _BrokerPause:
    """After a failed publish, this process hands nothing to the broker for ``seconds``.

    Publishing to a broker that is down costs up to ``CELERY_BROKER_CONNECT_TIMEOUT``
    (2 s) per try; the retry sweep sends what was not handed over once it is back.
    """

    seconds = 10.0

    def __init__(self):
        self.until = 0.0  # monotonic

    def active(self) -> bool:
        return time.monotonic() < self.until

    def start(self) -> None:
        self.until = time.monotonic() + self.seconds

    def clear(self) -> None:
        self.until = 0.0


BROKER_PAUSE = _BrokerPause()


def _publish(ids: list[int]) -> None:
    """One delivery task per 200 rows. A broker outage must not fail anything: the sweep catches up."""
    from .tasks import deliver_notifications

    if BROKER_PAUSE.active():
        logger.debug("Broker unreachable a moment ago; notifications %s are left to the outbox sweep", ids)
        return
    for start in range(0, len(ids), 200):
        part = ids[start:start + 200]
        try:
            deliver_notifications.apply_async(args=[part], retry=False)
        except Exception as exc:
            BROKER_PAUSE.start()
            logger.warning("Could not enqueue delivery of notifications %s (%s); the outbox sweep will send them",
                           ids[start:], exc)
            return


PUBLISHER = BatchPublisher(_publish, window_ms=lambda: settings.OUTBOX_ENQUEUE_BATCH_MS, name="outbox-publisher")
WEBHOOK_PUBLISHER = BatchPublisher(_publish, window_ms=lambda: settings.OUTBOX_ENQUEUE_BATCH_MS,
                                   name="webhook-publisher")
atexit.register(PUBLISHER.flush, 2.0)
atexit.register(WEBHOOK_PUBLISHER.flush, 2.0)


def role_emails(role_names, cache: dict | None = None) -> list[str]:
    """Email addresses of the active users with any of the roles (``cache``: one query per sweep)."""
    key = tuple(sorted(role_names))
    if cache is not None and key in cache:
        return cache[key]
    emails = list(get_user_model().objects.filter(groups__name__in=list(key), is_active=True)
                  .exclude(email="").values_list("email", flat=True).distinct()) if key else []
    if cache is not None:
        cache[key] = emails
    return emails


def to_roles(role_names, *, template: str, payload: dict, subject_id: int | None = None, webhook: bool = False,
             extra: str = "", now=None, cache: dict | None = None) -> list[Notification]:
    """Email to every active user with one of the roles, plus other recipients and the group robot."""
    return [
        notification_build(channel=channel, recipient=recipient, template=template, payload=payload,
                           subject_id=subject_id, now=now)
        for channel, recipient in role_recipients(role_names, webhook=webhook, extra=extra, cache=cache)
    ]


def role_recipients(role_names, *, webhook: bool = False, extra: str = "",
                    cache: dict | None = None) -> list[tuple[str, str]]:
    """(channel, recipient) of ``to_roles``, sorted, each once."""
    seen = set()
    for email in role_emails(role_names, cache):
        seen.add(("email", email))
    for line in (extra or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith(("http://", "https://")):
            seen.add(("webhook", line))
        elif "@" in line:
            seen.add(("email", line))
        else:
            seen.add(("sms", line))
    if webhook and settings.NOTIFY_WEBHOOK_URL:
        seen.add(("webhook", ""))
    return sorted(seen)


# --- Delivery -------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), settings.OUTBOX_RETRY_MAX_SECONDS))


def _lease(now):
    return now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


# For rows written before delivery keys existed (their column is NULL).
_DELIVERY_KEY_NAMESPACE = UUID("5f0c2d3e-9a41-4b8e-8a6f-2d1f0e7c4b19")


def delivery_key(notification: Notification) -> str:
    """The key every attempt to send ``notification`` carries."""
    key = notification.delivery_key or uuid5(_DELIVERY_KEY_NAMESPACE, f"notification:{notification.pk}")
    return str(key)


_CLAIM_SQL: dict = {}


def _claim(notification_id: int, *, now, lapsed_too: bool) -> Notification | None:
    """Claim one row for sending, if it is still to be sent: ``pending`` (and due, for the
    sweep), or, with ``lapsed_too``, ``sending`` under a claim whose lease has lapsed (its
    worker died or hung). One conditional UPDATE that answers the claimed row: two workers
    claiming at once give one winner; the other gets None. The claim counts an attempt and
    holds the row for ``OUTBOX_LEASE_SECONDS`` from now, the moment it is sent."""
    key = lapsed_too
    if key not in _CLAIM_SQL:
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in Notification._meta.concrete_fields)
        due = "(status = %s AND next_attempt_at <= %s) OR (status = %s AND next_attempt_at <= %s)" if lapsed_too \
            else "status = %s"
        _CLAIM_SQL[key] = (
            f"UPDATE {qn(Notification._meta.db_table)} SET status = %s, attempts = attempts + 1, "
            f"next_attempt_at = %s WHERE id = %s AND ({due}) RETURNING {columns}"
        )
    params = [Notification.State.SENDING, _lease(now), notification_id]
    if lapsed_too:
        params += [Notification.State.PENDING, now, Notification.State.SENDING, now]
    else:
        params.append(Notification.State.PENDING)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL[key], params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = [f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v  # e.g. the JSON payload
              for f, v in zip(Notification._meta.concrete_fields, row, strict=True)]
    return Notification.from_db(connection.alias, _NOTIFICATION_COLUMNS, values)


def _send_claimed(notification: Notification) -> str:
    """Send a row this worker has just claimed and record the outcome at once, each outcome
    in its own statement (outside any transaction: it commits before the next row is claimed).

    Sent: any claimant's success marks the row sent (the provider has it). A failure is
    recorded only while the row is still under this claim (``attempts`` as claimed): a
    worker whose lease lapsed while it hung must not undo the claim of the one that took
    the row over."""
    now = timezone.now()
    endpoint = notification.channel == Notification.Channel.ENDPOINT  # a registered webhook endpoint
    mine = Notification.objects.filter(
        pk=notification.pk, status=Notification.State.SENDING, attempts=notification.attempts
    )
    if endpoint and webhooks.earlier_undelivered(notification):
        # In order per subject: wait for the earlier row (it hands this one over when done);
        # the claim is given back, marked waiting, and counts no attempt.
        mine.update(status=Notification.State.PENDING, attempts=F("attempts") - 1, last_error=webhooks.WAITING,
                    next_attempt_at=now + timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS))
        if not webhooks.earlier_undelivered(notification):
            # The earlier row was done meanwhile, and its hand-over may have found this one
            # claimed (so not handed over): send it now rather than at the next sweep.
            return notification_deliver(notification_id=notification.pk)
        return "waiting"
    max_attempts = settings.WEBHOOK_MAX_ATTEMPTS if endpoint else settings.OUTBOX_MAX_ATTEMPTS
    try:
        if endpoint:
            webhooks.send(notification)
        else:
            channel = CHANNELS.get(notification.channel)
            if channel is None:
                raise DeliveryError(f"unknown channel {notification.channel!r}")
            subject, body = render(notification)
            channel.send(Message(notification.recipient, subject, body, delivery_key(notification)))
    except webhooks.GiveUp as exc:
        mine.update(status=Notification.State.FAILED, last_error=str(exc))
        return "failed"
    except Exception as exc:
        error = str(exc)[:2000] or exc.__class__.__name__
        if notification.attempts >= max_attempts:
            mine.update(status=Notification.State.FAILED, last_error=error)
            logger.error("Notification %s failed after %d attempts: %s", notification.pk, notification.attempts, error)
            outcome = "failed"
        else:
            mine.update(
                status=Notification.State.PENDING, last_error=error,
                next_attempt_at=now + _backoff(notification.attempts),
            )
            logger.warning("Notification %s attempt %d failed: %s", notification.pk, notification.attempts, error)
            outcome = "retry"
        if endpoint:
            webhooks.after_attempt(notification, outcome=outcome)
        return outcome
    Notification.objects.filter(pk=notification.pk, status=Notification.State.SENDING).update(
        status=Notification.State.SENT, sent_at=timezone.now(), last_error=""
    )
    if endpoint:
        webhooks.after_attempt(notification, outcome="sent")
    return "sent"


def notification_deliver(*, notification_id: int) -> str:
    """Claim one pending row and send it; 'skipped' when someone else has it or it is done."""
    claimed = _claim(notification_id, now=timezone.now(), lapsed_too=False)
    if claimed is None:
        return "skipped"  # sent already, failed, or another worker or the sweep got there first
    return _send_claimed(claimed)


def notifications_deliver_due(*, now=None, batch: int = 100, endpoint: bool | None = None) -> dict:
    """The retry sweep: rows due (pending, or sending under a lapsed claim), each claimed
    just before it is sent (so that a slow provider cannot let the claims of rows further
    down the batch lapse while they wait), and skipped if another worker took it first.
    ``endpoint``: only the webhook deliveries (True) or only the messages (False); None: both.
    A webhook row given back to wait for an earlier undelivered one of its subject is not taken
    while that one is still to be sent (it hands this one over when done): while a receiver is
    down, the waiting rows would otherwise fill every batch and put off the retries of the rows
    they wait for. Rows of one transaction share their time: by id then, so that a work order's
    deliveries go in their order within a batch (each one sent lets the next one go)."""
    now = now or timezone.now()
    due = Notification.objects.filter(
        status__in=[Notification.State.PENDING, Notification.State.SENDING], next_attempt_at__lte=now
    )
    if endpoint is True:
        due = due.filter(channel=Notification.Channel.ENDPOINT)
    elif endpoint is False:
        due = due.exclude(channel=Notification.Channel.ENDPOINT)
    ids = list(
        due.exclude(webhooks.waiting_behind_earlier()).order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:batch]
    )
    outcome = {"sent": 0, "retry": 0, "failed": 0}  # and "waiting": webhook rows behind an earlier one
    for notification_id in ids:
        claimed = _claim(notification_id, now=max(now, timezone.now()), lapsed_too=True)
        if claimed is not None:
            result = _send_claimed(claimed)
            outcome[result] = outcome.get(result, 0) + 1
    return outcome


def notifications_sweep(*, batch: int = 100, budget_seconds: float | None = None, now=None,
                        endpoint: bool | None = None) -> dict:
    """The periodic retry sweep: ``notifications_deliver_due`` (as of ``now``, of ``endpoint``'s rows)
    again while its batches come back full or send something, for at most ``budget_seconds``
    (``OUTBOX_SWEEP_SECONDS``; the next tick goes on). After an outage (a receiver, a provider, the
    broker) more than a batch is due at once; one batch a minute would stretch every retry round by a
    minute per hundred rows.

    Beat runs it twice, apart: the messages (SMS, email, group robots; task ``notifications_sweep``)
    and the webhook deliveries (``webhooks_sweep``). A receiver that does not answer costs
    WEBHOOK_TIMEOUT a delivery, and must not put off a customer's SMS in the same sweep."""
    budget = settings.OUTBOX_SWEEP_SECONDS if budget_seconds is None else budget_seconds
    started = time.monotonic()
    total = {"sent": 0, "retry": 0, "failed": 0}
    while True:
        outcome = notifications_deliver_due(batch=batch, now=now, endpoint=endpoint)
        for key, count in outcome.items():
            total[key] = total.get(key, 0) + count
        # Go on while batches come back full, or sent something: a webhook delivery sent hands the
        # next one of its work order over (due now), which the next batch takes.
        if (sum(outcome.values()) < batch and not outcome["sent"]) or time.monotonic() - started >= budget:
            return total


def notification_retry(*, notification_ids) -> int:
    """Admin: try failed rows again from the start."""
    now = timezone.now()
    ids = list(Notification.objects.filter(pk__in=list(notification_ids), status=Notification.State.FAILED)
               .values_list("id", flat=True))
    with transaction.atomic():
        Notification.objects.filter(pk__in=ids).update(
            status=Notification.State.PENDING, attempts=0, next_attempt_at=now, last_error=""
        )
        if ids:
            transaction.on_commit(lambda: _enqueue_delivery(ids))
    return len(ids)
