"""The work-order messages: their texts, who gets them and when.

The outbox (``notifications``) writes, hands over and delivers the rows; what they say
and the rules that write them (a transition, an escalation, a survey) are the work
orders'. ``WorkordersConfig.ready`` registers ``MESSAGES`` as the outbox's templates.
"""

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.inserts import json_rows
from notifications.models import Notification
from notifications.services import (
    _enqueue_delivery,
    _first_attempt_at,
    notification_build,
    role_recipients,
    with_messages_add,
)
from sla.models import SlaTarget

from .models import WorkOrder
from .selectors import service_types_by_pk, technician_refs

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


def message_context(ctx: dict) -> None:
    """The work-order messages' payload values as their words, in the active language."""
    if ctx.get("target") in SlaTarget.values:
        ctx["target"] = str(SlaTarget(ctx["target"]).label).lower()
    if "solved" in ctx:
        ctx["solved"] = str(_("yes") if ctx["solved"] else _("no"))
    if "priority" in ctx and isinstance(ctx["priority"], int):
        ctx["priority"] = str(WorkOrder.Priority(ctx["priority"]).label)
    if ctx.get("appointment"):
        ctx["appointment"] = " " + str(_("Appointment: %(when)s.") % {"when": ctx["appointment"]})


def customer_language(work_order: WorkOrder) -> str:
    """zh-hans or en: the order's language, else the customer's, else the site default."""
    # The customer row is read only when the order has no language of its own.
    for lang in (work_order.language, None):
        if lang is None:
            lang = getattr(work_order.customer, "language", "")
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
                               template=template, payload=payload, language=lang, subject_id=work_order.pk,
                               dedupe_key=f"{dedupe_key}:sms" if dedupe_key else None, now=now)]
    if work_order.contact_email:
        rows.append(notification_build(channel=Notification.Channel.EMAIL, recipient=work_order.contact_email,
                                       template=template, payload=payload, language=lang, subject_id=work_order.pk,
                                       dedupe_key=f"{dedupe_key}:email" if dedupe_key else None, now=now))
    return rows


def _staff_link(work_order) -> str:
    return absolute_url(f"/staff/work-orders/{work_order.pk}/")


def transition_event_add(event, work_order: WorkOrder, *, action: str, now=None) -> list[Notification]:
    """Save a transition's event together with the messages the transition causes (one statement)."""
    rows = transition_notifications(work_order, action=action, now=now) if settings.OUTBOX_WRITE_ENABLED else []
    return with_messages_add(event, rows)


def transition_notifications(work_order: WorkOrder, *, action: str, now=None) -> list[Notification]:
    """Unsaved outbox rows for one transition (``transition_event_add`` writes them; a bulk
    assignment writes many orders' rows with one ``notifications_add``)."""
    rows = []
    if action in ("assign", "reassign") and work_order.technician_id:
        tech = work_order.technician  # loaded and locked by the transition
        appointment = ""
        if work_order.appointment_start:
            appointment = timezone.localtime(work_order.appointment_start).strftime("%Y-%m-%d %H:%M")
        # Names from the process's copies (workorders/selectors.py), not a query per message.
        service = service_types_by_pk([work_order.service_type_id])[work_order.service_type_id]
        payload = {
            "number": work_order.number, "service": service.name, "address": work_order.address,
            "appointment": appointment, "link": absolute_url(f"/tech/jobs/{work_order.pk}/"),
        }
        if tech.phone:
            rows.append(notification_build(channel=Notification.Channel.SMS, recipient=tech.phone,
                                           template="technician_assigned", payload=payload,
                                           subject_id=work_order.pk, now=now))
        elif tech.user.email:
            rows.append(notification_build(channel=Notification.Channel.EMAIL, recipient=tech.user.email,
                                           template="technician_assigned", payload=payload,
                                           subject_id=work_order.pk, now=now))
    elif action == "depart":
        rows += to_customer(work_order, template="technician_departed", now=now, payload={
            "technician": technician_refs([work_order.technician_id])[work_order.technician_id].name
            if work_order.technician_id else "",
            "link": absolute_url(f"/track/{work_order.public_token}/"),
        })
    return rows


def escalation_payload(*, work_order, target: str, level, due: datetime) -> dict:
    return {
        "number": work_order.number, "target": target, "percent": level.percent, "level": level.name,
        "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M"), "priority": int(work_order.priority),
        "link": _staff_link(work_order),
    }


def escalation_recipients(level, cache: dict | None = None) -> list[tuple[str, str]]:
    """(channel, recipient) for one escalation level: its roles, the group robot, its other recipients."""
    return role_recipients(level.role_names, webhook=level.notify_webhook, extra=level.extra_recipients, cache=cache)


def escalation_notifications(*, work_order, target: str, level, due: datetime, now,
                             cache: dict | None = None) -> list[Notification]:
    """Unsaved rows telling a level's recipients about one escalation."""
    payload = escalation_payload(work_order=work_order, target=target, level=level, due=due)
    return [
        notification_build(channel=channel, recipient=recipient, template="escalation", payload=payload,
                           subject_id=work_order.pk, now=now)
        for channel, recipient in escalation_recipients(level, cache)
    ]


def escalation_messages_add(items: list[tuple], *, now, cache: dict | None = None) -> list[int]:
    """The escalation sweep's messages: ``items`` are (work_order, level, payload from
    ``escalation_payload``), and each goes to every recipient of its level. Written like
    ``notifications_add`` (delivered after commit); returns the new rows' ids.

    A sweep's hundred escalations are some five hundred messages, but only as many
    recipient lists as levels: one INSERT ... SELECT joins the escalations
    to their level's recipients, instead of building and sending five hundred rows.
    """
    if not items or not settings.OUTBOX_WRITE_ENABLED:
        return []
    recipients = {}
    for _wo, level, _payload in items:
        if level.pk not in recipients:
            recipients[level.pk] = escalation_recipients(level, cache)
    escalations = [{"n": n, "w": wo.pk, "l": level.pk, "p": payload} for n, (wo, level, payload) in enumerate(items)]
    lists = [{"l": level_id, "c": channel, "r": recipient}
             for level_id, pairs in recipients.items() for channel, recipient in pairs]
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (work_order_id, channel, recipient, template, language, payload, status, attempts, "
            "next_attempt_at, last_error, created_at, sent_at, dedupe_key) "
            "SELECT e.w, r.c, r.r, 'escalation', %s, e.p, %s, 0, %s, '', %s, NULL, NULL "
            "FROM jsonb_to_recordset(%s::jsonb) AS e(n integer, w bigint, l bigint, p jsonb) "
            "JOIN jsonb_to_recordset(%s::jsonb) AS r(l bigint, c text, r text) ON r.l = e.l "
            "ORDER BY e.n, r.c, r.r RETURNING id",
            [settings.LANGUAGE_CODE, Notification.State.PENDING, _first_attempt_at(now), now,
             json_rows(escalations), json_rows(lists)],
        )
        ids = sorted(r[0] for r in cursor.fetchall())
    if ids:
        transaction.on_commit(lambda: _enqueue_delivery(ids))
    return ids
