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

from core import roles as R
from core.inserts import json_rows
from notifications import webhooks
from notifications.models import Notification
from notifications.services import (
    _enqueue_delivery,
    _first_attempt_at,
    notification_build,
    role_recipients,
    to_roles,
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
    "customer_rescheduled": (
        _("%(number)s moved by the customer"),
        _("The customer moved %(number)s from %(before)s to %(after)s using the tracking link. %(link)s"),
    ),
    "technician_job_moved": (
        _("Job %(number)s moved"),
        _("The customer moved job %(number)s to %(after)s. Details: %(link)s"),
    ),
    "customer_cancelled": (
        _("%(number)s cancelled by the customer"),
        _("The customer cancelled %(number)s using the tracking link. Reason: %(reason)s %(link)s"),
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
    rows = []
    if settings.OUTBOX_WRITE_ENABLED:
        rows = transition_notifications(work_order, action=action, now=now, role=event.actor_role, note=event.note)
        rows += transition_webhooks(event, work_order)
    return with_messages_add(event, rows)


def format_window(start, end) -> str:
    """'2026-12-08 10:00–12:00' in local time ('' without a window)."""
    if start is None or end is None:
        return ""
    return f"{timezone.localtime(start):%Y-%m-%d %H:%M}–{timezone.localtime(end):%H:%M}"


def reschedule_event_add(event, work_order: WorkOrder, *, before: str, technician=None,
                         now=None) -> list[Notification]:
    """Save a customer's reschedule event with the messages about it (one statement): to the
    dispatchers, and to the order's ``technician`` (the row in hand) by SMS, else email."""
    rows = []
    if settings.OUTBOX_WRITE_ENABLED:
        after = format_window(*((work_order.appointment_start, work_order.appointment_end) if work_order.technician_id
                                else (work_order.preferred_start, work_order.preferred_end)))
        rows = to_roles([R.DISPATCHER], template="customer_rescheduled", subject_id=work_order.pk, now=now,
                        payload={"number": work_order.number, "before": before or "-", "after": after,
                                 "link": _staff_link(work_order)})
        if technician is not None:
            payload = {"number": work_order.number, "after": after,
                       "link": absolute_url(f"/tech/jobs/{work_order.pk}/")}
            if technician.phone:
                rows.append(notification_build(channel=Notification.Channel.SMS, recipient=technician.phone,
                                               template="technician_job_moved", payload=payload,
                                               subject_id=work_order.pk, now=now))
            elif technician.user.email:
                rows.append(notification_build(channel=Notification.Channel.EMAIL, recipient=technician.user.email,
                                               template="technician_job_moved", payload=payload,
                                               subject_id=work_order.pk, now=now))
    return with_messages_add(event, rows)


# --- Webhook events (notifications/webhooks.py sends them; docs/api.md "Webhooks") --------------

E = webhooks.Event
TRANSITION_EVENTS = (E.WORK_ORDER_STATUS_CHANGED, E.WORK_ORDER_ASSIGNED, E.WORK_ORDER_COMPLETED,
                     E.WORK_ORDER_CLOSED)


def _iso(value):
    return value.isoformat() if value is not None else None


def work_order_data(work_order: WorkOrder) -> dict:
    """What every work-order event tells a receiver about the order (from the row in hand, no query)."""
    return {
        "work_order_id": work_order.pk, "number": work_order.number, "external_ref": work_order.external_ref,
        "status": work_order.status, "priority": int(work_order.priority),
        "service_type_id": work_order.service_type_id, "customer_id": work_order.customer_id,
        "site_id": work_order.site_id, "technician_id": work_order.technician_id,
        "appointment_start": _iso(work_order.appointment_start), "appointment_end": _iso(work_order.appointment_end),
        "updated_at": _iso(work_order.updated_at),
    }


def transition_webhooks(event, work_order: WorkOrder) -> list[Notification]:
    """Webhook rows for one transition's event: status changed, and assigned, completed or closed.
    Nothing (and no query) when no endpoint listens."""
    if not webhooks.listening(*TRANSITION_EVENTS):
        return []
    data = {**work_order_data(work_order), "action": event.action, "from_status": event.from_status,
            "to_status": event.to_status, "actor_role": event.actor_role, "at": _iso(event.created_at)}
    types = [E.WORK_ORDER_STATUS_CHANGED] if event.from_status != event.to_status else []
    if event.action in ("assign", "reassign"):
        types.append(E.WORK_ORDER_ASSIGNED)
    if event.to_status == "resolved" and event.from_status != "resolved":
        types.append(E.WORK_ORDER_COMPLETED)
    if event.to_status == "closed" and event.from_status != "closed":
        types.append(E.WORK_ORDER_CLOSED)
    return [row for kind in types
            for row in webhooks.webhook_rows(kind, work_order.pk, data, now=event.created_at)]


def created_webhooks(work_order: WorkOrder) -> list[Notification]:
    """Webhook rows for a new order, written by the statement that writes it (its id goes in as
    ``work_order_id`` then; the number is ``WO-<year>-<id>``)."""
    def data():
        wo = work_order
        return {
            "external_ref": wo.external_ref, "status": wo.status, "priority": int(wo.priority),
            "service_type_id": wo.service_type_id, "channel": wo.channel, "created_at": _iso(wo.created_at),
            "description": wo.description, "address": wo.address, "preferred_start": _iso(wo.preferred_start),
            "preferred_end": _iso(wo.preferred_end),
        }

    return webhooks.webhook_rows(E.WORK_ORDER_CREATED, None, data, key="work_order_id", now=work_order.created_at)


def transition_notifications(work_order: WorkOrder, *, action: str, now=None, role: str = "",
                             note: str = "") -> list[Notification]:
    """Unsaved outbox rows for one transition (``transition_event_add`` writes them; a bulk
    assignment writes many orders' rows with one ``notifications_add``)."""
    rows = []
    if action == "cancel" and role == R.CUSTOMER:
        # The customer cancelled from the tracking link: the dispatchers hear of it.
        rows += to_roles([R.DISPATCHER], template="customer_cancelled", subject_id=work_order.pk, now=now,
                         payload={"number": work_order.number, "reason": note, "link": _staff_link(work_order)})
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


def escalation_webhooks(raised: list[tuple], *, now) -> list[Notification]:
    """Webhook rows for the escalations a sweep raised: ``raised`` is (work_order, target, level, due)."""
    if not webhooks.listening(E.ESCALATION_RAISED):
        return []
    return [
        row
        for wo, target, level, due in raised
        for row in webhooks.webhook_rows(E.ESCALATION_RAISED, wo.pk, {
            # The sweep reads only its own fields of each order (no query per order here).
            "work_order_id": wo.pk, "number": wo.number, "status": wo.status, "priority": int(wo.priority),
            "customer_id": wo.customer_id, "service_type_id": wo.service_type_id, "target": target, "level": level.name, "level_id": level.pk,
            "percent": level.percent, "due": _iso(due), "at": _iso(now),
        }, now=now)
    ]


def survey_webhooks(survey, work_order: WorkOrder) -> list[Notification]:
    """Webhook rows for a survey the customer answered."""
    return webhooks.webhook_rows(E.SURVEY_ANSWERED, work_order.pk, lambda: {
        **work_order_data(work_order), "survey_id": survey.pk, "satisfaction": survey.satisfaction,
        "solved": survey.solved, "recommend": survey.recommend, "comment": survey.comment,
        "needs_callback": survey.needs_callback, "answered_at": _iso(survey.answered_at),
    }, now=survey.answered_at)


def parts_used_webhooks(work_order: WorkOrder, *, report_id: int, lines: list[dict], now) -> list[Notification]:
    """Webhook rows for the parts a completion report used (``lines``: part_id, part_number, name,
    unit, quantity as a string)."""
    if not lines:
        return []
    return webhooks.webhook_rows(E.PART_USED, work_order.pk, lambda: {
        **work_order_data(work_order), "report_id": report_id, "parts": lines, "at": _iso(now),
    }, now=now)
