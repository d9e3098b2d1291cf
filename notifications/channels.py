"""The ways a notification goes out; each has ``send(message)``, which returns when the
message is delivered and raises ``DeliveryError`` when it is not (the outbox tries again)."""

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage

from .models import Notification

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The channel could not deliver; the outbox will try again later."""


@dataclass(frozen=True)
class Message:
    recipient: str
    subject: str
    body: str
    key: str = ""  # the same on every attempt to send this message (``Notification.delivery_key``)


class Channel:
    """One way of sending a message. ``send`` returns when delivered, raises DeliveryError if not."""

    name = ""

    def send(self, message: Message) -> None:
        raise NotImplementedError


class EmailChannel(Channel):
    name = Notification.Channel.EMAIL

    def send(self, message: Message) -> None:
        # The same Message-ID on every attempt: mail systems that see it twice keep one.
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("<> ") or "localhost"
        headers = {"Message-ID": f"<notification-{message.key}@{domain}>"} if message.key else {}
        try:
            EmailMessage(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.recipient],
                         headers=headers).send()
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


def _idempotency_header(message: Message) -> dict:
    return {"Idempotency-Key": message.key} if message.key else {}


class SmsChannel(Channel):
    """An HTTP SMS provider: POST {"to", "text", "sign"} as JSON with a bearer key, and the
    message's ``Idempotency-Key`` header (the same on every attempt).

    With no ``SMS_API_URL`` configured (a laptop), messages are written to the log.
    """

    name = Notification.Channel.SMS

    def send(self, message: Message) -> None:
        if not settings.SMS_API_URL:
            logger.info("SMS (no provider configured) to %s: %s", message.recipient, message.body)
            return
        headers = _idempotency_header(message)
        if settings.SMS_API_KEY:
            headers["Authorization"] = f"Bearer {settings.SMS_API_KEY}"
        raw = _post_json(
            settings.SMS_API_URL,
            {"to": message.recipient, "text": message.body, "sign": settings.SMS_SIGN},
            headers=headers,
        )
        _check_json_code(raw)


class WebhookChannel(Channel):
    """A WeCom or DingTalk group robot: both take {"msgtype": "text", "text": {"content": ...}}
    (sent with the message's ``Idempotency-Key`` header, for a relay that honours it)."""

    name = Notification.Channel.WEBHOOK

    def send(self, message: Message) -> None:
        url = message.recipient or settings.NOTIFY_WEBHOOK_URL
        if not url:
            raise DeliveryError("no webhook URL configured (NOTIFY_WEBHOOK_URL)")
        content = f"{message.subject}\n{message.body}" if message.subject else message.body
        raw = _post_json(url, {"msgtype": "text", "text": {"content": content}}, headers=_idempotency_header(message))
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
