"""The mailbox poll: new messages in ``EMAIL_INTAKE_IMAP_FOLDER`` become work orders or notes
(``services.email_receive``), run by beat every ``EMAIL_INTAKE_POLL_SECONDS`` when
``EMAIL_INTAKE_IMAP_HOST`` is set (config/settings.py)."""

import logging

from celery import shared_task
from django.conf import settings
from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessageFlags

from .services import email_receive

log = logging.getLogger(__name__)


def _mailbox():
    if settings.EMAIL_INTAKE_IMAP_SSL:
        box = MailBox(settings.EMAIL_INTAKE_IMAP_HOST, settings.EMAIL_INTAKE_IMAP_PORT, timeout=30)
    else:
        box = MailBoxUnencrypted(settings.EMAIL_INTAKE_IMAP_HOST, settings.EMAIL_INTAKE_IMAP_PORT, timeout=30)
    return box.login(settings.EMAIL_INTAKE_IMAP_USER, settings.EMAIL_INTAKE_IMAP_PASSWORD,
                     settings.EMAIL_INTAKE_IMAP_FOLDER)


def mailbox_poll() -> dict:
    """Take in up to ``EMAIL_INTAKE_BATCH`` unseen messages; each is marked seen once its
    transaction has committed. A crash in between leaves it unseen: the next poll takes it again
    and its Message-ID makes that a no-op. Returns counts per outcome."""
    counts: dict[str, int] = {}
    if not settings.EMAIL_INTAKE_IMAP_HOST:
        return counts
    with _mailbox() as box:
        for message in box.fetch(AND(seen=False), limit=settings.EMAIL_INTAKE_BATCH, mark_seen=False, bulk=True):
            received = email_receive(message.obj.as_bytes(), source="imap")
            key = "dropped" if received.record is None else (
                "duplicate" if received.duplicate else received.record.outcome)
            counts[key] = counts.get(key, 0) + 1
            box.flag(message.uid, MailMessageFlags.SEEN, True)
    if counts:
        log.info("email intake: %s", counts)
    return counts


@shared_task(ignore_result=True)
def mailbox_poll_task():
    mailbox_poll()
