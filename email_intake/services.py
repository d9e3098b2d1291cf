"""An email becomes a work order, or a note on one.

``email_receive`` takes one message as raw bytes (from the mailbox poll, ``tasks.py``, or the
inbound-mail webhook, ``views.py``) and, in one transaction:

- the same Message-ID a second time: nothing (the first delivery's record answers);
- a reply whose subject names a work order (``WO-2026-000123``) from that order's contact or
  customer address: a note on that order, image attachments as its photos (a reply to a closed or
  cancelled order waits for an agent instead: the customer may mean a new problem);
- from a customer on file (matched by email address) with a site: a new work order on channel
  "email" at their most recent site, the subject and text as its description;
- anything else (an unknown sender, a customer with no address): kept for an agent, who creates the
  order by phone intake and marks the email handled.

Dropped and logged, never stored: a message over ``EMAIL_INTAKE_MAX_BYTES``, one with no usable
sender, automatic replies and bulk mail (``Auto-Submitted``, ``Precedence``; no mail loops with an
auto-responder), our own ``DEFAULT_FROM_EMAIL``, and a sender past ``EMAIL_INTAKE_PER_SENDER_PER_HOUR``.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.utils import getaddresses

import nh3
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import ServiceType
from core import roles as R
from core.errors import Conflict, InvalidInput, NotFound
from core.images import clean_image
from customers.selectors import customer_by_email
from workorders.lifecycle import OPEN_STATES
from workorders.models import WorkOrder
from workorders.services import DESCRIPTION_MAX, NOTE_MAX, workorder_add_note, workorder_create

from .models import InboundEmail

log = logging.getLogger(__name__)

# A work order's number in a subject ("Re: [WO-2026-000123] Your request"): year, then the id.
NUMBER_IN_SUBJECT = re.compile(r"\bWO-(\d{4})-(\d{6,})\b", re.IGNORECASE)
# Where a reply's quoted history starts: the mail programs' own lines, English and Chinese.
QUOTE_STARTS = re.compile(
    r"^(On .{3,200} wrote:|-{2,}\s*Original Message\s*-{2,}|-{2,}\s*原始邮件\s*-{2,}|发件人[:：]|From: .+)\s*$",
    re.IGNORECASE,
)
# Message-IDs are turned into the order's idempotency key: the same email cannot create two orders.
SUBMISSION_NAMESPACE = uuid.UUID("8f0b6a52-5a57-4c1e-9f35-3f3c8a1d2e61")


@dataclass
class Received:
    """What ``email_receive`` did: ``record`` is None when the message was dropped (``reason`` says why)."""

    record: InboundEmail | None
    duplicate: bool = False
    reason: str = ""


def _dropped(reason: str, **context) -> Received:
    log.warning("email intake dropped a message: %s %s", reason, context)
    return Received(record=None, reason=reason)


def _text_of(message) -> str:
    """The message's text: its plain part, else its HTML part with the tags taken out."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        content = part.get_payload(decode=True) or b""
        content = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
    if part.get_content_type() == "text/html":
        content = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>", "\n", content)
        content = html.unescape(nh3.clean(content, tags=set()))
    return re.sub(r"\n{3,}", "\n\n", content.replace("\r\n", "\n")).strip()


def _without_quoted_reply(text: str) -> str:
    """A reply's own words: the lines before the quoted history, without "> " lines."""
    kept = []
    for line in text.splitlines():
        if QUOTE_STARTS.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept).strip()


def _photos_of(message, *, message_id: str) -> list:
    """Image attachments as the system stores photos (re-encoded, no metadata), at most as many as
    the public form takes; one that is too large or is not really an image is left out (logged)."""
    photos = []
    for part in message.iter_attachments():
        if not part.get_content_type().startswith("image/"):
            continue
        if len(photos) >= settings.PUBLIC_FORM_MAX_PHOTOS:
            log.info("email intake: more images than a request takes in %s; the rest left out", message_id)
            break
        data = part.get_payload(decode=True) or b""
        if not data or len(data) > settings.PHOTO_MAX_BYTES:
            log.info("email intake: an attachment of %s bytes in %s left out", len(data), message_id)
            continue
        upload = SimpleUploadedFile(part.get_filename() or "photo", data, content_type=part.get_content_type())
        try:
            photos.append(clean_image(upload))
        except InvalidInput as exc:
            log.info("email intake: attachment %r of %s left out: %s", upload.name, message_id, exc.message)
    return photos


def _sender_of(message) -> tuple[str, str]:
    """(address in lower case, display name) of the From header; ("", "") when it has no valid address."""
    try:
        pairs = getaddresses([str(message.get("From", ""))])
    except (TypeError, ValueError, IndexError):
        return "", ""
    for name, address in pairs:
        address = address.strip().lower()
        try:
            validate_email(address)
        except ValidationError:
            continue
        return address, name.strip()[:120]
    return "", ""


def _is_automatic(message) -> bool:
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return auto not in ("", "no") or precedence in ("bulk", "junk", "list", "auto_reply")


def _order_named_in(subject: str) -> WorkOrder | None:
    match = NUMBER_IN_SUBJECT.search(subject)
    if match is None:
        return None
    order = WorkOrder.objects.select_related("customer").filter(pk=int(match.group(2))).first()
    if order is None or timezone.localtime(order.created_at).year != int(match.group(1)):
        return None
    return order


def _may_write_to(order: WorkOrder, sender: str) -> bool:
    """Only the order's contact or its customer may add to it by email (a number in a subject is no secret)."""
    known = {(order.contact_email or "").lower(), (order.customer.email or "").lower() if order.customer_id else ""}
    return sender in known - {""}


def _service_type_for_email() -> ServiceType | None:
    code = settings.EMAIL_INTAKE_SERVICE_TYPE
    active = ServiceType.objects.filter(active=True)
    return active.filter(code=code).first() if code else active.order_by("pk").first()


def email_receive(raw: bytes, *, source: str) -> Received:
    """Take one email in (see the module's docstring). Never raises for what the message holds."""
    if len(raw) > settings.EMAIL_INTAKE_MAX_BYTES:
        return _dropped("too large", size=len(raw))
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        message_id = str(message.get("Message-ID", "")).strip()[:255]
        subject = " ".join(str(message.get("Subject", "")).split())[:255]
    except (TypeError, ValueError, IndexError, LookupError) as exc:
        return _dropped("unreadable", error=str(exc))
    if not message_id:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    sender, sender_name = _sender_of(message)
    if not sender:
        return _dropped("no sender address", message_id=message_id)
    if sender == settings.DEFAULT_FROM_EMAIL.lower() or _is_automatic(message):
        return _dropped("automatic or our own", message_id=message_id, sender=sender)
    existing = InboundEmail.objects.filter(message_id=message_id).first()
    if existing is not None:
        return Received(record=existing, duplicate=True)
    since = timezone.now() - timedelta(hours=1)
    if InboundEmail.objects.filter(sender=sender, received_at__gte=since).count() >= settings.EMAIL_INTAKE_PER_SENDER_PER_HOUR:
        return _dropped("too many from this sender", message_id=message_id, sender=sender)

    text = _text_of(message)
    record = InboundEmail(
        message_id=message_id, sender=sender, sender_name=sender_name, subject=subject, body=text[:20000],
        source=source, outcome=InboundEmail.Outcome.UNMATCHED,
    )
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record.save()
            except IntegrityError:
                # The same message taken in at this moment by another worker: its record answers.
                return Received(record=InboundEmail.objects.filter(message_id=message_id).first(), duplicate=True)
            _act_on(record, message, text=text)
            record.save()
    except InvalidInput as exc:
        # Nothing of it was kept (the transaction rolled back): keep the message for an agent.
        record.pk = None
        record.outcome, record.work_order, record.photos = InboundEmail.Outcome.UNMATCHED, None, 0
        record.reason = str(exc.message)[:255]
        record.save()
    return Received(record=record)


def _act_on(record: InboundEmail, message, *, text: str) -> None:
    """Decide what the email is and do it; sets the record's outcome, reason, order and photo count."""
    Outcome = InboundEmail.Outcome
    order = _order_named_in(record.subject)
    if order is not None and _may_write_to(order, record.sender):
        record.work_order = order
        if order.status not in OPEN_STATES:
            record.reason = _("A reply to %(number)s, which is no longer open.") % {"number": order.number}
            return
        note = _without_quoted_reply(text) or record.subject
        photos = _photos_of(message, message_id=record.message_id)
        workorder_add_note(
            work_order_id=order.pk, note=note[:NOTE_MAX], actor=None, actor_role=R.CUSTOMER, photos=photos,
            data={"channel": WorkOrder.Channel.EMAIL, "message_id": record.message_id},
        )
        record.outcome, record.photos = Outcome.NOTED, len(photos)
        return
    customer = customer_by_email(email=record.sender)
    if customer is None:
        record.reason = _("No customer has this email address.")
        return
    site = customer.latest_site
    if site is None:
        record.reason = _("The customer has no address on file.")
        return
    service_type = _service_type_for_email()
    if service_type is None:
        record.reason = _("No service type to file the request under (EMAIL_INTAKE_SERVICE_TYPE).")
        return
    description = "\n\n".join(part for part in (record.subject, text) if part)[:DESCRIPTION_MAX]
    photos = _photos_of(message, message_id=record.message_id)
    work_order, _created = workorder_create(
        channel=WorkOrder.Channel.EMAIL, contact_name=record.sender_name or customer.name,
        contact_phone=customer.phone, contact_email=record.sender, address=site.address, site=site,
        customer=customer, service_type=service_type, description=description or _("(no text)"),
        language=customer.language, photos=photos, actor_role=R.CUSTOMER,
        submission_key=uuid.uuid5(SUBMISSION_NAMESPACE, record.message_id),
    )
    record.work_order, record.outcome, record.photos = work_order, Outcome.CREATED, len(photos)


def inbound_email_handled(*, record_id: int, user, work_order_number: str = "") -> InboundEmail:
    """An agent has dealt with a waiting email (created the order by phone intake, or found it
    needs none); the order's number, when given, links the two."""
    order = None
    number = (work_order_number or "").strip()
    if number:
        order = _order_named_in(number)
        if order is None:
            message = _("No work order %(number)s.") % {"number": number}
            raise InvalidInput(message, fields={"work_order": [message]})
    with transaction.atomic():
        record = InboundEmail.objects.select_for_update().filter(pk=record_id).first()
        if record is None:
            raise NotFound(_("No such email."))
        if record.outcome != InboundEmail.Outcome.UNMATCHED:
            raise Conflict(_("This email has already been dealt with."))
        record.outcome, record.handled_by = InboundEmail.Outcome.HANDLED, user
        record.work_order = order or record.work_order
        record.save(update_fields=["outcome", "handled_by", "work_order"])
    return record
