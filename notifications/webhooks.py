"""Webhook endpoints: events told to the receivers administrators registered (docs/api.md "Webhooks").

- **Emitting.** A higher app (the work orders, completion) calls ``webhook_rows(event_type,
  subject_id, data)`` for the rows to write with its own outbox rows, or ``emit(...)`` to write
  them at once; either way they go in the caller's transaction, so a rolled-back change sends
  nothing and a committed one is never lost. With no endpoint for the event the cost is one
  look at the endpoints this process keeps (``ENDPOINTS``, a ``core.refcache.VersionedCache``):
  no query, and ``data`` may be a function, called only when someone listens.
- **One outbox row per endpoint and event** (channel ``endpoint``, the endpoint's id as
  recipient, ``{"type", "data", "key"}`` as payload), delivered, claimed and retried with backoff
  by the outbox (notifications/services.py) up to ``WEBHOOK_MAX_ATTEMPTS``.
- **Signed** in the Standard Webhooks format (the ``standardwebhooks`` package): ``webhook-id``
  (``msg_`` and the row's ``delivery_key``, the same on every attempt and replay),
  ``webhook-timestamp`` and ``webhook-signature``; the body is
  ``{"type", "timestamp", "data"}``.
- **In order per subject**: a row is not sent while an earlier row for the same endpoint and
  subject (a work order) is still pending or sending; it waits (``WAITING`` in its
  ``last_error``), without counting an attempt and left alone by the retry sweep, and is handed
  over as soon as the earlier one is sent or given up.
- **Every attempt logged** (``WebhookAttempt``: status code, the answer's first
  ``WEBHOOK_RESPONSE_MAX_CHARS`` characters, the error); admin replays a delivery.
- **Failing for a day** (``WEBHOOK_DISABLE_AFTER_SECONDS`` since the first failure after the
  last success) disables the endpoint, gives up its waiting rows and emails its owner.
- **Where to**: http(s) only, no redirects followed, and never a loopback, private, link-local
  or reserved address (checked when saved and again before every attempt, as a name may
  resolve elsewhere later) unless ``WEBHOOK_ALLOW_PRIVATE_URLS``.
"""

import base64
import ipaddress
import json
import logging
import secrets
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from standardwebhooks.webhooks import Webhook

from core.inserts import Insert
from core.refcache import VersionedCache

from .channels import DeliveryError
from .models import Notification, WebhookAttempt, WebhookEndpoint

logger = logging.getLogger(__name__)

Event = WebhookEndpoint.Event
TEMPLATE = "webhook"  # the outbox template of every endpoint row (its text is the JSON body)

# The active endpoints by event type, in each process; dropped when an endpoint changes
# (NotificationsConfig.ready connects the receivers; a disable bumps it too).
ENDPOINTS = VersionedCache("webhook_endpoints")


def _load_endpoints() -> dict[str, tuple[int, ...]]:
    by_event: dict[str, list[int]] = {}
    for pk, events in WebhookEndpoint.objects.filter(is_active=True).order_by("id").values_list("id", "events"):
        for event in events:
            by_event.setdefault(event, []).append(pk)
    return {event: tuple(ids) for event, ids in by_event.items()}


def endpoints_for(event_type: str) -> tuple[int, ...]:
    """Ids of the active endpoints that want ``event_type`` (from the process's copy)."""
    return ENDPOINTS.get("active", _load_endpoints).get(event_type, ())


def listening(*event_types: str) -> bool:
    """Whether any active endpoint wants one of ``event_types`` (cheap: no query)."""
    active = ENDPOINTS.get("active", _load_endpoints)
    return any(event in active for event in event_types)


# --- Writing the rows (in the caller's transaction) ------------------------------------------


def webhook_rows(event_type: str, subject_id: int | None, data: dict | Callable[[], dict], *,
                 key: str = "", now=None) -> list[Notification]:
    """Unsaved outbox rows telling ``event_type`` to each endpoint that wants it (none: []).

    ``data``: the event's JSON object, or a function that builds it (called only when an
    endpoint listens). ``key``: the name under which the body's data carries ``subject_id``
    when ``data`` does not (a new order's id is known only once it is written).
    """
    ids = endpoints_for(event_type)
    if not ids:
        return []
    from .services import notification_build

    if callable(data):
        data = data()
    payload = {"type": event_type, "data": data}
    if key:
        payload["key"] = key
    return [
        notification_build(channel=Notification.Channel.ENDPOINT, recipient=str(pk), template=TEMPLATE,
                           payload=payload, subject_id=subject_id, now=now)
        for pk in ids
    ]


def emit(event_type: str, subject_id: int | None, data: dict | Callable[[], dict], *, key: str = "",
         now=None) -> list[Notification]:
    """Write the rows of ``webhook_rows`` now, in the current transaction (delivered after commit)."""
    rows = webhook_rows(event_type, subject_id, data, key=key, now=now)
    if rows:
        from .services import notifications_add

        notifications_add(rows)
    return rows


def linked_inserts(rows: list[Notification], *, subject: str) -> list[Insert]:
    """``rows`` as parts of a caller's one-statement insert (``core.inserts.insert_linked``),
    their ``subject_id`` the new id of the part aliased ``subject``; ``linked_saved`` after it ran."""
    return [
        Insert(f"webhook{i}", Notification, {f.attname: getattr(row, f.attname) for f in _COLUMNS},
               links={"subject_id": subject})
        for i, row in enumerate(rows)
    ]


def linked_saved(rows: list[Notification], ids: dict, *, subject_id: int) -> None:
    """The rows of ``linked_inserts`` were written (``ids``: the statement's answer): deliver them after commit."""
    from .services import _deliver_after_commit

    for i, row in enumerate(rows):
        row.pk, row.subject_id = ids[f"webhook{i}"], subject_id
        row._state.adding = False
    _deliver_after_commit(rows)


_COLUMNS = [f for f in Notification._meta.concrete_fields if not f.primary_key and f.attname != "subject_id"]


# --- Endpoints: secret and address -----------------------------------------------------------


def secret_new() -> str:
    """A new signing secret as Standard Webhooks writes it: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _blocked_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified)


def url_check(url: str) -> None:
    """Refuse (``ValidationError``) a receiver address we will not post to: not http(s), no host,
    or a host that is (or resolves to) a loopback, private, link-local or reserved address,
    unless ``WEBHOOK_ALLOW_PRIVATE_URLS``."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("Enter an http:// or https:// address."), code="scheme")
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)}
    except (OSError, ValueError) as exc:
        raise ValidationError(
            _("The host %(host)s cannot be found (%(error)s)."), code="unresolved",
            params={"host": parts.hostname, "error": exc},
        ) from None
    if any(_blocked_address(a) for a in addresses):
        raise ValidationError(
            _("%(host)s is a loopback, private or reserved address; webhooks are only sent to public "
              "addresses."), code="private", params={"host": parts.hostname},
        )


# --- Delivering (called by the outbox for a claimed row) ------------------------------------


def _endpoint_id(notification: Notification) -> int | None:
    try:
        return int(notification.recipient)
    except ValueError:
        return None


# ``last_error`` of a row given back because an earlier one of its subject is still to be sent
# (shown in the delivery log); the earlier row hands over only rows marked so, as a row not
# looked at yet is sent by its own task.
WAITING = "waiting for an earlier delivery of the same work order"


def waiting_behind_earlier() -> Q:
    """Rows given back as ``WAITING`` whose earlier row is still to be sent: the retry sweep leaves
    them to that row's hand-over. (A row not looked at yet, e.g. while the broker was down, is
    taken: the sweep sends a batch in order, so it comes after its earlier rows.)"""
    earlier = Notification.objects.filter(
        channel=Notification.Channel.ENDPOINT, recipient=OuterRef("recipient"),
        subject_id=OuterRef("subject_id"), id__lt=OuterRef("id"),
        status__in=[Notification.State.PENDING, Notification.State.SENDING],
    )
    return Q(channel=Notification.Channel.ENDPOINT, subject_id__isnull=False, last_error=WAITING) & Q(Exists(earlier))


def earlier_undelivered(notification: Notification) -> bool:
    """Whether an earlier row for the same endpoint and subject is still to be sent (this one waits)."""
    if notification.subject_id is None:
        return False
    return Notification.objects.filter(
        channel=Notification.Channel.ENDPOINT, recipient=notification.recipient,
        subject_id=notification.subject_id, id__lt=notification.pk,
        status__in=[Notification.State.PENDING, Notification.State.SENDING],
    ).exists()


def body_of(notification: Notification) -> bytes:
    """The JSON body sent for a row: the same bytes on every attempt (what is signed)."""
    payload = notification.payload or {}
    data = dict(payload.get("data") or {})
    if payload.get("key") and notification.subject_id is not None:
        data.setdefault(payload["key"], notification.subject_id)
    body = {"type": payload.get("type", ""), "timestamp": notification.created_at.isoformat(), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def message_id(notification: Notification) -> str:
    from .services import delivery_key

    return "msg_" + delivery_key(notification).replace("-", "")


def signed_headers(endpoint: WebhookEndpoint, notification: Notification, body: bytes) -> dict:
    msg_id = message_id(notification)
    now = timezone.now()
    signature = Webhook(endpoint.secret).sign(msg_id=msg_id, timestamp=now, data=body)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "fieldservice-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def send(notification: Notification) -> None:
    """POST one claimed row to its endpoint and log the attempt; ``DeliveryError`` unless a 2xx."""
    endpoint = WebhookEndpoint.objects.filter(pk=_endpoint_id(notification)).first()
    if endpoint is None:
        raise GiveUp("the endpoint was removed")
    if not endpoint.is_active:
        raise GiveUp("the endpoint is disabled")
    body = body_of(notification)
    attempt = WebhookAttempt(delivery_id=notification.pk, endpoint=endpoint, attempted_at=timezone.now())
    started = time.monotonic()
    try:
        url_check(endpoint.url)
        response = requests.post(
            endpoint.url, data=body, headers=signed_headers(endpoint, notification, body),
            timeout=settings.WEBHOOK_TIMEOUT, allow_redirects=False, stream=True,
        )
        try:
            raw = response.raw.read(settings.WEBHOOK_RESPONSE_MAX_CHARS * 4, decode_content=True) or b""
        finally:
            response.close()
        attempt.status_code = response.status_code
        attempt.response_body = raw.decode("utf-8", "replace")[:settings.WEBHOOK_RESPONSE_MAX_CHARS]
        if not 200 <= response.status_code < 300:
            kind = "a redirect (not followed)" if 300 <= response.status_code < 400 else "an error"
            attempt.error = f"HTTP {response.status_code}: {kind}"
    except ValidationError as exc:
        attempt.error = " ".join(exc.messages)
    except requests.RequestException as exc:
        attempt.error = f"{exc.__class__.__name__}: {exc}"[:2000]
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    attempt.save()
    if attempt.error:
        raise DeliveryError(attempt.error)


class GiveUp(DeliveryError):
    """A row that cannot be delivered at all (its endpoint was disabled or removed): failed at once."""


def after_attempt(notification: Notification, *, outcome: str, now=None) -> None:
    """The outbox recorded ``outcome`` (sent, retry, failed) of a row: keep the endpoint's failure
    window, disable it after a day of failures, and hand the next row of the subject over."""
    now = now or timezone.now()
    endpoint_id = _endpoint_id(notification)
    if outcome == "sent":
        WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=False).update(failing_since=None)
    elif endpoint_id is not None:
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(failing_since=Coalesce(F("failing_since"), now))
        _disable_if_failing(endpoint_id, now=now)
    if outcome in ("sent", "failed"):
        _hand_over_next(notification, now=now)


def _hand_over_next(notification: Notification, *, now) -> None:
    if notification.subject_id is None:
        return
    # The next row still to be sent; handed over only if it waited for this one (a row not looked
    # at yet is on its way: its own task sends it, or the sweep if that task was lost; a hand-over
    # would only cost a write and a task).
    following = (Notification.objects.filter(
        channel=Notification.Channel.ENDPOINT, recipient=notification.recipient,
        subject_id=notification.subject_id, id__gt=notification.pk, status=Notification.State.PENDING,
    ).order_by("id").values_list("id", "last_error").first())
    if following is not None and following[1] == WAITING:
        from .services import _enqueue_delivery

        Notification.objects.filter(pk=following[0], status=Notification.State.PENDING).update(
            next_attempt_at=now, last_error="")
        _enqueue_delivery([following[0]], endpoint=True)


def _disable_if_failing(endpoint_id: int, *, now) -> None:
    window = timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS)
    with transaction.atomic():
        endpoint = (WebhookEndpoint.objects.select_for_update()
                    .filter(pk=endpoint_id, is_active=True, failing_since__lte=now - window).first())
        if endpoint is None:
            return
        hours = settings.WEBHOOK_DISABLE_AFTER_SECONDS / 3600
        endpoint.is_active = False
        endpoint.disabled_at = now
        endpoint.disabled_reason = f"failing since {endpoint.failing_since.isoformat()} ({hours:g} h or more)"
        endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
        # Its rows still waiting are given up (shown failed in the delivery log, where they can be replayed).
        Notification.objects.filter(
            channel=Notification.Channel.ENDPOINT, recipient=str(endpoint.pk), status=Notification.State.PENDING,
        ).update(status=Notification.State.FAILED, last_error="the endpoint was disabled")
        _tell_owner(endpoint, now=now)
    logger.error("Webhook endpoint %s (%s) disabled: %s", endpoint.pk, endpoint.url, endpoint.disabled_reason)


def _tell_owner(endpoint: WebhookEndpoint, *, now) -> None:
    from .services import notification_build, notifications_add

    recipients = {endpoint.contact_email}
    if endpoint.created_by_id is not None and endpoint.created_by.email:
        recipients.add(endpoint.created_by.email)
    payload = {"name": endpoint.name, "url": endpoint.url, "since": timezone.localtime(endpoint.failing_since)
               .strftime("%Y-%m-%d %H:%M"), "link": settings.PUBLIC_BASE_URL.rstrip("/")
               + f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/"}
    notifications_add([
        notification_build(channel=Notification.Channel.EMAIL, recipient=email, template="webhook_disabled",
                           payload=payload, now=now)
        for email in sorted(r for r in recipients if r)
    ])


def deliveries_replay(*, notification_ids) -> int:
    """Admin: send these deliveries again from the start (same ``webhook-id``), whatever their state
    except while one is being sent; each takes its turn behind earlier ones of its subject."""
    from .services import _enqueue_delivery

    now = timezone.now()
    with transaction.atomic():
        ids = list(Notification.objects.select_for_update().filter(
            pk__in=list(notification_ids), channel=Notification.Channel.ENDPOINT,
        ).exclude(status=Notification.State.SENDING).values_list("id", flat=True))
        Notification.objects.filter(pk__in=ids).update(
            status=Notification.State.PENDING, attempts=0, next_attempt_at=now, last_error="", sent_at=None,
        )
        if ids:
            transaction.on_commit(lambda: _enqueue_delivery(ids, endpoint=True))
    return len(ids)


MESSAGES = {
    TEMPLATE: ("", ""),  # rows of the endpoint channel are sent as JSON (``body_of``), never rendered
    "webhook_disabled": (
        _("Webhook endpoint %(name)s disabled"),
        _("The webhook endpoint %(name)s (%(url)s) has failed every delivery since %(since)s and was "
          "disabled. Deliveries since then are in its delivery log; fix the receiver, activate the "
          "endpoint again and replay them: %(link)s"),
    ),
}
