"""Dispatch changes: the eligibility check inside assignment (automatic assignment is in
``dispatch.auto_assign``).

Assignments themselves are lifecycle transitions: one by hand goes through
``workorders.services.workorder_transition`` (which locks the work order and
then the technician, and calls ``technician_check_assignable`` below); the
automatic assignment's go through ``workorders.services.assign.workorders_assign_many``
(the same locks for all of them at once, then ``technicians_check_assignable_many``).
``workorders`` does not import this module: ``DispatchConfig.ready()`` registers both
checks with the lifecycle (``workorders.lifecycle.register_check``).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.selectors import service_types_by_pk
from core.errors import ApplicationError, Conflict, InvalidInput, NotFound
from core.permissions import require
from customers.models import Site
from customers.services import site_place
from technicians.models import Technician
from workorders.lifecycle import Status
from workorders.models import WorkOrder
from workorders.selectors import workorder_visible_to
from workorders.services import workorder_transition

from . import rules
from .scoring import Weights, pair_parts
from .selectors import (
    required_skills,
    service_type_name,
    site_city,
    technician_data,
    technician_facts_for_check,
    workorder_version,
)


def technician_check_assignable(
    *, work_order: WorkOrder, technician: Technician, appointment_start=None, appointment_end=None, now=None
) -> None:
    """Refuse, with every reason, to give ``work_order`` to ``technician`` in that window.

    Called by ``workorder_transition`` for assign and re-assign with both rows
    locked, so the bookings and load it reads cannot change before the
    assignment commits. Raises InvalidInput for who the technician is
    (inactive, skills, partner scope, shift) and Conflict for what they are
    already doing (double-booked, at capacity). Without a window, the shift
    rule asks only that the technician works at some time left today (a
    technician with no shifts defined is always available).
    """
    now = now or timezone.now()
    window = (appointment_start, appointment_end) if appointment_start is not None else None
    days = {timezone.localdate(now)}
    if window is not None:
        days.add(timezone.localdate(appointment_start))
    required = required_skills([work_order.service_type_id])[work_order.service_type_id]
    tech = technician_facts_for_check(technician, days=days, need_skills=bool(required))
    order = rules.OrderFacts(
        id=work_order.pk,
        number=work_order.number,
        service_type_id=work_order.service_type_id,
        required=required,
        priority=work_order.priority,
        created_at=work_order.created_at,
        window=window,
    )
    if tech.scopes:
        order.city = site_city(work_order.site_id)
    capacity = settings.DISPATCH_CAPACITY
    reasons = rules.exclusion_reasons(tech, order, now=now, capacity=capacity)
    if not reasons:
        return
    # Refused: name the service type in the messages that mention it.
    order.service_type_name = service_type_name(work_order.service_type_id)
    raise _refusal(rules.exclusion_reasons(tech, order, now=now, capacity=capacity))


def _refusal(reasons: list[rules.Reason]) -> ApplicationError:
    """The error for a refused pair: every reason; Conflict when all are about other bookings."""
    messages = [reason.message for reason in reasons]
    error = Conflict if all(r.code in rules.CONFLICT_CODES for r in reasons) else InvalidInput
    return error(" ".join(messages), code=reasons[0].code, fields={"technician": messages})


def technicians_check_assignable_many(*, pairs, now=None) -> tuple[dict[int, dict], dict[int, ApplicationError]]:
    """``technician_check_assignable`` for many pairs at once, in a fixed number of queries.

    ``pairs``: (work order, technician id, window or None), most urgent first.
    Called by ``workorders.services.assign.workorders_assign_many`` with the
    work orders and the technicians locked, so the bookings and loads read
    here cannot change before the assignments commit. Each accepted pair
    counts for the ones after it (its window becomes a booking, its order an
    open job), as if they were assigned one by one.

    Returns (accepted: order id -> {"score", "parts"} at the load the
    technician had when given it; refused: order id -> the error the
    one-order check raises, with every reason).
    """
    now = now or timezone.now()
    if not pairs:
        return {}, {}
    capacity = settings.DISPATCH_CAPACITY
    weights = Weights.from_settings()
    days = {timezone.localdate(now)} | {timezone.localdate(window[0]) for _wo, _t, window in pairs if window}
    tech_ids = {tech_id for _wo, tech_id, _w in pairs}
    techs = {f.id: f for f in technician_data(Technician.objects.filter(pk__in=tech_ids), days=days).facts}
    required = required_skills({wo.service_type_id for wo, _t, _w in pairs})
    site_ids = {wo.site_id for wo, _t, _w in pairs if wo.site_id}
    sites = {
        pk: (city, lat, lng)
        for pk, city, lat, lng in Site.objects.filter(pk__in=site_ids).values_list("pk", "city", "latitude", "longitude")
    }
    service_types = service_types_by_pk({wo.service_type_id for wo, _t, _w in pairs})
    type_names = {pk: st.name for pk, st in service_types.items()}
    accepted: dict[int, dict] = {}
    refused: dict[int, ApplicationError] = {}
    for wo, tech_id, window in pairs:
        tech = techs.get(tech_id)
        if tech is None:
            refused[wo.pk] = InvalidInput(_("No such technician."), fields={"technician": [_("No such technician.")]})
            continue
        city, lat, lng = sites.get(wo.site_id, ("", None, None))
        order = rules.OrderFacts(
            id=wo.pk,
            number=wo.number,
            service_type_id=wo.service_type_id,
            service_type_name=type_names.get(wo.service_type_id, ""),
            required=required[wo.service_type_id],
            city=city or "",
            position=None if lat is None or lng is None else (float(lat), float(lng)),
            priority=wo.priority,
            created_at=wo.created_at,
            window=window,
        )
        reasons = rules.exclusion_reasons(tech, order, now=now, capacity=capacity)
        if reasons:
            refused[wo.pk] = _refusal(reasons)
            continue
        load = rules.open_jobs_besides(tech, order)
        accepted[wo.pk] = pair_parts(tech, order, open_jobs=load, now=now, weights=weights)
        tech.open_job_ids.add(wo.pk)
        if window is not None:
            tech.bookings.append(rules.Booking(wo.pk, order.number, window[0], window[1], order.position))
    return accepted, refused


def parse_window(start, end) -> tuple[dt.datetime, dt.datetime] | tuple[None, None]:
    """An appointment window from two form values (aware datetimes or ISO strings); (None, None) if both empty."""
    def parse(value):
        if value in (None, ""):
            return None
        if isinstance(value, dt.datetime):
            parsed = value
        else:
            try:
                parsed = dt.datetime.fromisoformat(str(value))
            except ValueError as exc:
                message = _("Enter a date and time.")
                raise InvalidInput(message, fields={"appointment": [message]}) from exc
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed

    start, end = parse(start), parse(end)
    if (start is None) != (end is None):
        message = _("Give both the start and the end of the time window.")
        raise InvalidInput(message, fields={"appointment": [message]})
    return start, end


# The longest appointment a drop on the Gantt may book.
MAX_DROP_HOURS = 12


def workorder_drop(
    *, work_order_id: int, technician_id: int, start: dt.datetime, end: dt.datetime, seen_version: str,
    actor,
) -> tuple[WorkOrder, str]:
    """An order dropped on a technician's row of the board's Gantt: assign it (from the queue) or
    re-assign it (a booking moved to another time or technician) with that window.

    The same lifecycle transition as the board's buttons (``workorders.services.workorder_transition``:
    the locks, the skills, shift, booking and capacity checks, the event). ``seen_version`` is the
    ``workorder_version`` the dispatcher's board showed: if the order changed since (another dispatcher
    moved it a moment ago), the drop is refused with Conflict and nothing changes. Returns the
    work order and the action taken ("assign", "reassign", or "" when the drop changed nothing).
    """
    if start is None or end is None or seen_version is None:
        raise InvalidInput(_("Give the technician, the start and end of the window and the version you saw."))
    if end <= start:
        message = _("The end of the time window must be after its start.")
        raise InvalidInput(message, fields={"end": [message]})
    if end - start > dt.timedelta(hours=MAX_DROP_HOURS):
        message = _("A booking may last at most %(hours)d hours.") % {"hours": MAX_DROP_HOURS}
        raise InvalidInput(message, fields={"end": [message]})
    with transaction.atomic():
        # The order's row locked first, as workorder_transition locks it (it takes it again, already
        # held): a second drop of the same order waits here and then sees the first one's result.
        row = (
            workorder_visible_to(actor).select_for_update().filter(pk=work_order_id)
            .values("status", "technician_id", "appointment_start", "appointment_end", "updated_at").first()
        )
        if row is None:
            raise NotFound(_("No such work order."))
        if workorder_version(row["updated_at"], row["status"], row["technician_id"], row["appointment_start"],
                             row["appointment_end"]) != seen_version:
            raise Conflict(
                _("This work order was changed by someone else a moment ago; the board now shows where it is."),
                code="stale",
            )
        if (row["technician_id"], row["appointment_start"], row["appointment_end"]) == (technician_id, start, end):
            return WorkOrder.objects.get(pk=work_order_id), ""
        action = "assign" if row["status"] == Status.NEW else "reassign"
        work_order = workorder_transition(
            work_order_id=work_order_id,
            action=action,
            actor=actor,
            technician_id=technician_id,
            appointment_start=start,
            appointment_end=end,
            data={"via": "board"},
        )
    return work_order, action


def workorder_site_place(*, work_order_id: int, latitude, longitude, actor) -> tuple[WorkOrder, Site]:
    """The dispatcher dragged the order's pin on the board's map: its site is placed there
    (precision "manual", kept for that site's next orders; ``customers.services.site_place``).

    Dispatchers and managers only (Forbidden otherwise); an order the actor may not see is
    NotFound; an order without a site, or a point outside the region, is InvalidInput.
    """
    require(actor, "dispatch.use_board")
    work_order = workorder_visible_to(actor).filter(pk=work_order_id).only("pk", "site_id", "created_at").first()
    if work_order is None:
        raise NotFound(_("No such work order."))
    if work_order.site_id is None:
        raise InvalidInput(_("This work order has no site to place."))
    site = site_place(site_id=work_order.site_id, latitude=latitude, longitude=longitude)
    return work_order, site
