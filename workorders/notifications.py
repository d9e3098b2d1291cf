"""Notifications through an outbox: never lost, sent once.

A notification is a row (``Notification``) written in the same transaction as the
change that causes it. After commit, a Celery task delivers it; if the broker is
down at that moment the change still commits (the enqueue error is logged) and the
retry sweep, which beat runs every minute, delivers it once the broker is back.

Exactly once: a row is claimed before it is sent, either by a conditional update
(``status='pending' -> 'sending'``; the task) or by ``SELECT ... FOR UPDATE SKIP
LOCKED`` (the sweep), so the task and the sweep never both send it. A failed send
goes back to pending with an exponential backoff, and after the last attempt it is
marked failed, which admin shows (with an action to try again).

Channels share one small interface (``Channel.send``): email through Django's
email backend, SMS through an HTTP provider, and a WeCom/DingTalk group robot
(an HTTP POST of JSON).
"""

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from .models import Notification, SlaTarget, WorkOrder

logger = logging.getLogger(__name__)

CUSTOMER_LANGUAGES = ("zh-hans", "en")


# --- Messages -------------------------------------------------------------------------------

MESSAGES = {
    "technician_assigned": (
        _("New job %(number)s"),
        _("You have a new job %(number)s (%(service)s) at %(address)s.%(appointment)s Details: %(link)s"),
    ),
    "technician_departed": (
        _("Your technician is on the way"),
        _("%(company)s: your technician %(technician)s is on the way for %(number)s. "
          "Follow the visit here: %(link)s"),
    ),
    "survey_invite": (
        _("How did we do?"),
        _("%(company)s: the work on %(number)s is done. Please tell us how it went "
          "(the link is valid for %(days)s days): %(link)s"),
    ),
    "survey_reminder": (
        _("A reminder: how did we do?"),
        _("%(company)s: we would still like to hear how the work on %(number)s went: %(link)s"),
    ),
    "escalation": (
        _("[SLA %(percent)s%%] %(number)s: %(target)s"),
        _("%(level)s: %(number)s has used %(percent)s%% of its %(target)s time (due %(due)s). "
          "Priority: %(priority)s. %(link)s"),
    ),
    "survey_low": (
        _("Call-back needed for %(number)s"),
        _("The customer rated %(number)s %(satisfaction)s/5, problem solved: %(solved)s. "
          "Comment: %(comment)s. Please call back: %(link)s"),
    ),
}


class _Blank(dict):
    def __missing__(self, key):
        return ""


def render(notification: Notification) -> tuple[str, str]:
    """Subject and body of a notification, in its language."""
    subject, body = MESSAGES[notification.template]
    with translation.override(notification.language or settings.LANGUAGE_CODE):
        ctx = _Blank(notification.payload or {})
        if ctx.get("target") in SlaTarget.values:
            ctx["target"] = str(SlaTarget(ctx["target"]).label).lower()
        if "solved" in ctx:
            ctx["solved"] = str(_("yes") if ctx["solved"] else _("no"))
        if "priority" in ctx and isinstance(ctx["priority"], int):
            ctx["priority"] = str(WorkOrder.Priority(ctx["priority"]).label)
        if ctx.get("appointment"):
            ctx["appointment"] = " " + str(_("Appointment: %(when)s.") % {"when": ctx["appointment"]})
        ctx.setdefault("company", settings.COMPANY_NAME)
        return str(subject) % ctx, str(body) % ctx


# --- Channels -------------------------------------------------------------------------------


class DeliveryError(Exception):
    """The channel could not deliver; the outbox will try again later."""


@dataclass(frozen=True)
class Message:
    recipient: str
    subject: str
    body: str


class Channel:
    """One way of sending a message. ``send`` returns when delivered, raises DeliveryError if not."""

    name = ""

    def send(self, message: Message) -> None:
        raise NotImplementedError


class EmailChannel(Channel):
    name = Notification.Channel.EMAIL

    def send(self, message: Message) -> None:
        try:
            EmailMessage(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.recipient]).send()
        except Exception as exc:  # SMTP errors, connection refused ...
            raise DeliveryError(f"email: {exc}") from exc


def _post_json(url: str, body: dict, *, headers: dict | None = None) -> bytes:
    request = urllib.request.Request(
        url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.NOTIFY_HTTP_TIMEOUT) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from {url.split('?')[0]}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{url.split('?')[0]}: {exc}") from exc


class SmsChannel(Channel):
    """An HTTP SMS provider: POST {"to", "text", "sign"} as JSON with a bearer key.

    With no ``SMS_API_URL`` configured (a laptop), messages are written to the log.
    """

    name = Notification.Channel.SMS

    def send(self, message: Message) -> None:
        if not settings.SMS_API_URL:
            logger.info("SMS (no provider configured) to %s: %s", message.recipient, message.body)
            return
        headers = {"Authorization": f"Bearer {settings.SMS_API_KEY}"} if settings.SMS_API_KEY else {}
        raw = _post_json(
            settings.SMS_API_URL,
            {"to": message.recipient, "text": message.body, "sign": settings.SMS_SIGN},
            headers=headers,
        )
        _check_json_code(raw)


class WebhookChannel(Channel):
    """A WeCom or DingTalk group robot: both take {"msgtype": "text", "text": {"content": ...}}."""

    name = Notification.Channel.WEBHOOK

    def send(self, message: Message) -> None:
        url = message.recipient or settings.NOTIFY_WEBHOOK_URL
        if not url:
            raise DeliveryError("no webhook URL configured (NOTIFY_WEBHOOK_URL)")
        content = f"{message.subject}\n{message.body}" if message.subject else message.body
        raw = _post_json(url, {"msgtype": "text", "text": {"content": content}})
        _check_json_code(raw)


def _check_json_code(raw: bytes) -> None:
    """Providers answer 200 with {"errcode": 93000, "errmsg": ...} (or "code") on errors."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return
    if not isinstance(body, dict):
        return
    for key in ("errcode", "code"):
        if body.get(key) not in (None, 0, "0", "OK", "ok"):
            raise DeliveryError(f"provider error {body.get(key)}: {body.get('errmsg') or body.get('message') or ''}")


CHANNELS: dict[str, Channel] = {c.name: c for c in (EmailChannel(), SmsChannel(), WebhookChannel())}


# --- Writing outbox rows (inside the caller's transaction) -----------------------------------


def _first_attempt_at(now):
    # The on-commit task normally sends it at once; the sweep waits a little before
    # taking a fresh row, so that it does not race the task for it.
    return now + timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)


def notification_build(*, channel: str, recipient: str, template: str, payload: dict, language: str = "",
                       work_order: WorkOrder | None = None, dedupe_key: str | None = None, now=None) -> Notification:
    """An unsaved outbox row; ``notifications_add`` writes a list of them."""
    assert template in MESSAGES, template
    now = now or timezone.now()
    return Notification(
        work_order=work_order, channel=channel, recipient=recipient, template=template, payload=payload,
        language=language or settings.LANGUAGE_CODE, dedupe_key=dedupe_key, created_at=now,
        next_attempt_at=_first_attempt_at(now),
    )


def notifications_add(rows: list[Notification]) -> list[Notification]:
    """Write outbox rows in the current transaction and deliver them after it commits."""
    if not rows:
        return []
    deduped = [r for r in rows if r.dedupe_key is None]
    keyed = [r for r in rows if r.dedupe_key is not None]
    if keyed:
        taken = set(Notification.objects.filter(dedupe_key__in=[r.dedupe_key for r in keyed])
                    .values_list("dedupe_key", flat=True))
        deduped += [r for r in keyed if r.dedupe_key not in taken]
    bulk_insert(deduped, returning_pk=True)
    ids = [n.pk for n in deduped]
    if ids:
        transaction.on_commit(lambda: _enqueue_delivery(ids))
    return deduped


def bulk_insert(objs: list, *, returning_pk: bool = False, chunk: int = 500) -> None:
    """Multi-row INSERTs of unsaved instances of one model (sets ``pk`` when ``returning_pk``).

    What ``bulk_create`` does, without its per-value expression machinery, which
    costs more Python time than the database takes for the few hundred rows an
    escalation sweep writes.
    """
    if not objs:
        return
    meta = type(objs[0])._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) VALUES "
    tail = f" RETURNING {qn(meta.pk.column)}" if returning_pk else ""
    for start in range(0, len(objs), chunk):
        part = objs[start:start + chunk]
        params = [f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in part for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(head + ", ".join([row] * len(part)) + tail, params)
            if returning_pk:
                for obj, (pk,) in zip(part, cursor.fetchall(), strict=True):
                    obj.pk = pk
                    obj._state.adding = False


def _enqueue_delivery(ids: list[int]) -> None:
    """Hand the rows to a worker. A broker outage must not fail the request: the sweep catches up."""
    from .tasks import deliver_notifications

    if not settings.OUTBOX_ENQUEUE_ON_COMMIT:
        return  # the sweep alone delivers (tests that must not reach a broker)
    try:
        deliver_notifications.apply_async(args=[ids], retry=False)
    except Exception as exc:
        logger.warning("Could not enqueue delivery of notifications %s (%s); the outbox sweep will send them",
                       ids, exc)


def customer_language(work_order: WorkOrder) -> str:
    """zh-hans or en: the order's language, else the customer's, else the site default."""
    for lang in (work_order.language, getattr(work_order.customer, "language", "")):
        lang = (lang or "").lower()
        if lang.startswith("en"):
            return "en"
        if lang.startswith("zh"):
            return "zh-hans"
    return settings.LANGUAGE_CODE


def absolute_url(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def to_customer(work_order: WorkOrder, *, template: str, payload: dict, dedupe_key: str | None = None,
                now=None) -> list[Notification]:
    """An SMS to the contact phone, and an email too when we have the address."""
    lang = customer_language(work_order)
    payload = {"number": work_order.number, **payload}
    rows = [notification_build(channel=Notification.Channel.SMS, recipient=work_order.contact_phone,
                               template=template, payload=payload, language=lang, work_order=work_order,
                               dedupe_key=f"{dedupe_key}:sms" if dedupe_key else None, now=now)]
    if work_order.contact_email:
        rows.append(notification_build(channel=Notification.Channel.EMAIL, recipient=work_order.contact_email,
                                       template=template, payload=payload, language=lang, work_order=work_order,
                                       dedupe_key=f"{dedupe_key}:email" if dedupe_key else None, now=now))
    return rows


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


def to_roles(role_names, *, template: str, payload: dict, work_order=None, webhook: bool = False,
             extra: str = "", now=None, cache: dict | None = None) -> list[Notification]:
    """Email to every active user with one of the roles, plus other recipients and the group robot."""
    rows, seen = [], set()
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
    for channel, recipient in sorted(seen):
        rows.append(notification_build(channel=channel, recipient=recipient, template=template, payload=payload,
                                       work_order=work_order, now=now))
    return rows


def _staff_link(work_order) -> str:
    return absolute_url(f"/staff/work-orders/{work_order.pk}/")


def on_transition(work_order: WorkOrder, *, action: str, now=None) -> list[Notification]:
    """The messages a transition causes: to the technician on assignment, to the customer on departure."""
    rows = []
    if action in ("assign", "reassign") and work_order.technician_id:
        tech = work_order.technician
        appointment = ""
        if work_order.appointment_start:
            appointment = timezone.localtime(work_order.appointment_start).strftime("%Y-%m-%d %H:%M")
        payload = {
            "number": work_order.number, "service": work_order.service_type.name, "address": work_order.address,
            "appointment": appointment, "link": absolute_url(f"/tech/jobs/{work_order.pk}/"),
        }
        if tech.phone:
            rows.append(notification_build(channel=Notification.Channel.SMS, recipient=tech.phone,
                                           template="technician_assigned", payload=payload, work_order=work_order,
                                           now=now))
        elif tech.user.email:
            rows.append(notification_build(channel=Notification.Channel.EMAIL, recipient=tech.user.email,
                                           template="technician_assigned", payload=payload, work_order=work_order,
                                           now=now))
    elif action == "depart":
        rows += to_customer(work_order, template="technician_departed", now=now, payload={
            "technician": str(work_order.technician) if work_order.technician_id else "",
            "link": absolute_url(f"/track/{work_order.public_token}/"),
        })
    return notifications_add(rows)


def escalation_notifications(*, work_order, target: str, level, due: datetime, now,
                             cache: dict | None = None) -> list[Notification]:
    """Unsaved rows telling a level's recipients about one escalation (the sweep writes them in bulk)."""
    payload = {
        "number": work_order.number, "target": target, "percent": level.percent, "level": level.name,
        "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M"), "priority": int(work_order.priority),
        "link": _staff_link(work_order),
    }
    return to_roles(level.role_names, template="escalation", payload=payload, work_order=work_order,
                    webhook=level.notify_webhook, extra=level.extra_recipients, now=now, cache=cache)


# --- Delivery -------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), settings.OUTBOX_RETRY_MAX_SECONDS))


def _lease(now):
    return now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def _send_claimed(notification: Notification) -> str:
    """Send a row this process has claimed (status 'sending'); record the outcome."""
    now = timezone.now()
    try:
        channel = CHANNELS.get(notification.channel)
        if channel is None:
            raise DeliveryError(f"unknown channel {notification.channel!r}")
        subject, body = render(notification)
        channel.send(Message(notification.recipient, subject, body))
    except Exception as exc:
        error = str(exc)[:2000] or exc.__class__.__name__
        if notification.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            Notification.objects.filter(pk=notification.pk, status=Notification.State.SENDING).update(
                status=Notification.State.FAILED, last_error=error
            )
            logger.error("Notification %s failed after %d attempts: %s", notification.pk, notification.attempts, error)
            return "failed"
        Notification.objects.filter(pk=notification.pk, status=Notification.State.SENDING).update(
            status=Notification.State.PENDING, last_error=error, next_attempt_at=now + _backoff(notification.attempts)
        )
        logger.warning("Notification %s attempt %d failed: %s", notification.pk, notification.attempts, error)
        return "retry"
    Notification.objects.filter(pk=notification.pk, status=Notification.State.SENDING).update(
        status=Notification.State.SENT, sent_at=now, last_error=""
    )
    return "sent"


def notification_deliver(*, notification_id: int) -> str:
    """Claim one pending row and send it; 'skipped' when someone else has it or it is done."""
    now = timezone.now()
    claimed = Notification.objects.filter(pk=notification_id, status=Notification.State.PENDING).update(
        status=Notification.State.SENDING, attempts=F("attempts") + 1, next_attempt_at=_lease(now)
    )
    if not claimed:
        return "skipped"  # sent already, failed, or another worker or the sweep got there first
    return _send_claimed(Notification.objects.get(pk=notification_id))


def notifications_deliver_due(*, now=None, batch: int = 100) -> dict:
    """The retry sweep: claim due rows (pending, or sending with a lapsed claim) and send them."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status__in=[Notification.State.PENDING, Notification.State.SENDING], next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:batch]
        )
        if ids:
            Notification.objects.filter(pk__in=ids).update(
                status=Notification.State.SENDING, attempts=F("attempts") + 1, next_attempt_at=_lease(now)
            )
    outcome = {"sent": 0, "retry": 0, "failed": 0}
    for notification in Notification.objects.filter(pk__in=ids).order_by("id"):
        outcome[_send_claimed(notification)] += 1
    return outcome


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
