"""What a transition does besides moving the status: the checks, effects and after hooks
the lifecycle table (``lifecycle.TRANSITIONS``) names, registered under those names
(``workorders/hooks.py``). ``workorders.services.workorder_transition`` runs them in the
table's order, with the work order locked.

To find what a transition does: its row in ``workorders/lifecycle.py`` lists the names; each
name is one function below (or, for an app above this one, registered from its ``apps.py``).
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import roles as R
from core.errors import Conflict, InvalidInput
from customers.models import Customer, Site
from inventory.services import stock_release, stock_reserve_for_assignments
from technicians.models import Technician

from . import hooks
from .lifecycle import flow_for, review_needed, technician_check
from .models import Attachment, Escalation, WorkOrder
from .sla import sla_on_transition
from .survey import survey_start, survey_void_open, workorder_move_on


def site_points(site_ids) -> dict[int, list]:
    """site id -> [latitude, longitude, precision] of the sites that have a point (one query)."""
    ids = {pk for pk in site_ids if pk}
    if not ids:
        return {}
    return {
        pk: [float(lat), float(lng), precision]
        for pk, lat, lng, precision in Site.objects.filter(pk__in=ids, latitude__isnull=False, longitude__isnull=False)
        .values_list("pk", "latitude", "longitude", "location_precision")
    }


def give_to_technician(work_order: WorkOrder, *, technician, appointment_start, appointment_end, now,
                       event_data: dict, point: list | None = None) -> list[str]:
    """Set what assign and re-assign change on the (locked) order and say it in the event's data.

    ``point``: where the order's site was placed when it was dispatched ([latitude, longitude,
    precision], ``site_points``); the event keeps it, so the order keeps the point it was
    dispatched on even if the site's pin moves later.

    Returns the fields to save. Shared by ``workorder_transition`` and the bulk
    ``workorders.services.assign.workorders_assign_many``.
    """
    if point is not None:
        event_data["point"] = point
    event_data.update(
        {
            "technician": technician.pk,
            "technician_name": str(technician),
            "previous_technician": work_order.technician_id,
        }
    )
    if appointment_start is not None:
        event_data["appointment"] = [appointment_start.isoformat(), appointment_end.isoformat()]
    work_order.technician = technician
    work_order.appointment_start = appointment_start
    work_order.appointment_end = appointment_end
    work_order.assigned_at = now
    work_order.accepted_at = None
    return ["technician", "appointment_start", "appointment_end", "assigned_at", "accepted_at"]


# --- Checks: with the order locked, before anything changes; they raise to refuse -----------


@hooks.check("technician.lock_active")
def technician_lock_active(ctx) -> None:
    """Lock the technician asked for and refuse one that does not exist or is not active."""
    # Lock the technician's row too, ALWAYS AFTER the work order's row
    # (every path that takes both takes them in this order, so two
    # transactions never deadlock): two assignments to one technician
    # (two dispatchers, or a dispatcher and automatic assignment) then
    # run one after the other, and the second sees the first's booking
    # and load in its check. No join in the locking query (see workorder_transition).
    technician = Technician.objects.select_for_update().filter(pk=ctx.technician_id).first()
    if technician is None:
        raise InvalidInput(_("No such technician."), fields={"technician": [_("No such technician.")]})
    if not technician.active:
        message = _("%(tech)s is not active.") % {"tech": technician}
        raise InvalidInput(message, fields={"technician": [message]})
    ctx.technician = technician


@hooks.check("technician.booking_changes")
def technician_booking_changes(ctx) -> None:
    """Re-assigning to the same technician is a new time for the same person (a booking moved
    on the dispatch board's Gantt); with the same window too it would change nothing."""
    wo = ctx.work_order
    if ctx.technician.pk == wo.technician_id and (ctx.appointment_start, ctx.appointment_end) == (
        wo.appointment_start, wo.appointment_end
    ):
        raise Conflict(
            _("%(number)s is already assigned to %(tech)s.") % {"number": wo.number, "tech": ctx.technician},
            code="transition_not_allowed",
        )


@hooks.check("technician.assignable")
def technician_assignable(ctx) -> None:
    """Skills, partner scope, shift, overlapping bookings, capacity: refused with the reason.
    The rules are dispatch's, registered for the action (``lifecycle.register_check``)."""
    technician_check(ctx.transition.action)(
        work_order=ctx.work_order,
        technician=ctx.technician,
        appointment_start=ctx.appointment_start,
        appointment_end=ctx.appointment_end,
        now=ctx.now,
    )


# --- Effects: change the locked order (its status is already the target); return the fields ---


@hooks.effect("technician.give")
def technician_give(ctx) -> list[str]:
    """The order goes to the technician the checks locked, with its window and the site's point."""
    wo = ctx.work_order
    return give_to_technician(
        wo,
        technician=ctx.technician,
        appointment_start=ctx.appointment_start,
        appointment_end=ctx.appointment_end,
        now=ctx.now,
        event_data=ctx.event_data,
        point=site_points([wo.site_id]).get(wo.site_id),
    )


@hooks.effect_many("technician.give")
def technician_give_many(ctxs) -> list[list[str]]:
    """``technician.give`` for many orders: the sites' points in one query."""
    points = site_points({ctx.work_order.site_id for ctx in ctxs})
    return [
        give_to_technician(
            ctx.work_order, technician=ctx.technician, appointment_start=ctx.appointment_start,
            appointment_end=ctx.appointment_end, now=ctx.now, event_data=ctx.event_data,
            point=points.get(ctx.work_order.site_id),
        )
        for ctx in ctxs
    ]


def _technician_changed(ctx) -> bool:
    return ctx.event_data["previous_technician"] != ctx.technician.pk


@hooks.effect("stock.release_previous")
def stock_release_previous(ctx) -> list[str]:
    """A re-assignment to someone else first gives back what the order held."""
    if _technician_changed(ctx):
        stock_release(work_order_ids=[ctx.work_order.pk], actor=ctx.actor, now=ctx.now, reason=ctx.transition.action)
    return []


@hooks.effect("stock.reserve")
def stock_reserve(ctx) -> list[str]:
    """The parts the job needs, from the new technician's van or the nearest warehouse
    (inventory/services.py; no query when the service type needs none)."""
    if _technician_changed(ctx):
        stock = stock_reserve_for_assignments(assignments=[(ctx.work_order, ctx.technician)], actor=ctx.actor,
                                              now=ctx.now)
        if ctx.work_order.pk in stock:
            ctx.event_data["stock"] = stock[ctx.work_order.pk]
    return []


@hooks.effect_many("stock.reserve")
def stock_reserve_many(ctxs) -> list[list[str]]:
    """``stock.reserve`` for many orders: one reservation for all (two statements)."""
    todo = [ctx for ctx in ctxs if _technician_changed(ctx)]
    if todo:
        stock = stock_reserve_for_assignments(assignments=[(ctx.work_order, ctx.technician) for ctx in todo],
                                              actor=todo[0].actor, now=todo[0].now)
        for ctx in todo:
            if ctx.work_order.pk in stock:
                ctx.event_data["stock"] = stock[ctx.work_order.pk]
    return [[] for _ctx in ctxs]


@hooks.effect("technician.release")
def technician_release(ctx) -> list[str]:
    """The order has no technician and no appointment any more; the event names who had it."""
    wo = ctx.work_order
    if wo.technician_id:
        ctx.event_data["previous_technician"] = wo.technician_id
    wo.technician = None
    wo.appointment_start = wo.appointment_end = None
    return ["technician", "appointment_start", "appointment_end"]


@hooks.effect("stock.release")
def stock_release_held(ctx) -> list[str]:
    """What the order held goes back to stock (one statement)."""
    stock_release(work_order_ids=[ctx.work_order.pk], actor=ctx.actor, now=ctx.now, reason=ctx.transition.action)
    return []


@hooks.effect("hold.remember")
def hold_remember(ctx) -> list[str]:
    """The state the order left for the hold, where resume takes it back (``lifecycle.PREVIOUS``)."""
    ctx.work_order.hold_return_status = ctx.from_status
    return ["hold_return_status"]


@hooks.effect("hold.return")
def hold_return(ctx) -> list[str]:
    """Back from the hold (``Transition.target_for`` read the state to return to)."""
    ctx.work_order.hold_return_status = ""
    return ["hold_return_status"]


@hooks.effect("stamp.accepted_at")
def stamp_accepted_at(ctx) -> list[str]:
    ctx.work_order.accepted_at = ctx.now
    return ["accepted_at"]


@hooks.effect("stamp.arrived_at")
def stamp_arrived_at(ctx) -> list[str]:
    """The first arrival counts (arriving again after a hold keeps it)."""
    if ctx.work_order.arrived_at is not None:
        return []
    ctx.work_order.arrived_at = ctx.now
    return ["arrived_at"]


@hooks.effect("stamp.resolved_at")
def stamp_resolved_at(ctx) -> list[str]:
    ctx.work_order.resolved_at = ctx.now
    return ["resolved_at"]


@hooks.effect("stamp.closed_at")
def stamp_closed_at(ctx) -> list[str]:
    ctx.work_order.closed_at = ctx.now
    return ["closed_at"]


@hooks.effect("stamps.clear")
def stamps_clear(ctx) -> list[str]:
    """Reopened: not resolved, closed, arrived at or accepted any more."""
    wo = ctx.work_order
    wo.resolved_at = wo.closed_at = wo.arrived_at = wo.accepted_at = None
    return ["resolved_at", "closed_at", "arrived_at", "accepted_at"]


@hooks.effect("sla.clock")
def sla_clock(ctx) -> list[str]:
    """The SLA clock: targets met, pause on hold, resume, restart on reopen; new deadlines."""
    return sla_on_transition(ctx.work_order, action=ctx.transition.action, now=ctx.now, note=ctx.note)


@hooks.effect_many("sla.clock")
def sla_clock_many(ctxs) -> list[list[str]]:
    """``sla.clock`` for many orders. Orders whose clock never started (made before SLAs were
    configured, or imported): starting it reads the customer's tier and the escalations already
    fired; read those for all of them at once rather than per order."""
    fresh = [ctx.work_order for ctx in ctxs if ctx.work_order.sla_started_at is None]
    fired: dict[int, set] = {}
    if fresh:
        customers = Customer.objects.in_bulk({wo.customer_id for wo in fresh})
        for wo in fresh:
            wo.customer = customers[wo.customer_id]
            fired[wo.pk] = set()
        cycles = {wo.pk: wo.sla_cycle for wo in fresh}
        for pk, cycle, target, level_id in Escalation.objects.filter(work_order_id__in=list(cycles)).values_list(
            "work_order_id", "cycle", "target", "level_id"
        ):
            if cycle == cycles[pk]:
                fired[pk].add((target, level_id))
    return [
        sla_on_transition(ctx.work_order, action=ctx.transition.action, now=ctx.now, note=ctx.note,
                          fired=fired.get(ctx.work_order.pk))
        for ctx in ctxs
    ]


# --- After hooks: the order and its event are saved; same transaction -------------------------


@hooks.after("technician.position")
def technician_position(ctx) -> None:
    """The technician's last known position, for the dispatch board."""
    if ctx.latitude is not None and ctx.role in R.FIELD_ROLES:
        Technician.objects.filter(user=ctx.actor).update(
            last_latitude=ctx.latitude, last_longitude=ctx.longitude, last_seen_at=ctx.now
        )


@hooks.after("survey.start")
def survey_start_hook(ctx) -> None:
    """The survey, and its link to the customer (in the outbox)."""
    survey_start(work_order=ctx.work_order, now=ctx.now)


@hooks.after("survey.void")
def survey_void(ctx) -> None:
    """A reopened order's open survey link stops working."""
    survey_void_open(work_order=ctx.work_order)


@hooks.after("survey.send_unless_review")
def survey_send_unless_review(ctx) -> None:
    """Unless the flow asks a manager to review the report first (a review, or parts approval and
    parts used), the resolved order moves on by itself: to follow-up, which sends the survey, or
    closed where the service type's flow has no follow-up (``survey.workorder_move_on``)."""
    flow = flow_for(ctx.work_order.service_type_id)
    if not review_needed(flow, parts_used=ctx.event_data.get("parts_used", 0)):
        ctx.work_order = workorder_move_on(work_order_id=ctx.work_order.pk, flow=flow)


# --- The flow's steps (catalog.flows), checked where the technician acts ----------------------


@hooks.check("flow.completion_report")
def flow_completion_report(ctx) -> None:
    """Where the service type's flow asks for photos after the work, the order is completed only with
    its completion report (``completion.services.completion_submit``, which counts them and passes its
    ``submission_key``): a bare "complete" from the staff page or the API would resolve it without.
    (A bare "complete" records no parts, so parts approval has nothing to hold; a review type
    completed bare waits for a manager as before.)"""
    if ctx.event_data.get("submission_key"):
        return
    if flow_for(ctx.work_order.service_type_id).after_photos:
        raise Conflict(_("%(number)s is completed with its completion report (photos, checklist, signature), "
                         "not with a bare status change.") % {"number": ctx.work_order.number},
                       code="report_required")


@hooks.check("flow.before_photos")
def flow_before_photos(ctx) -> None:
    """Photos before the work, where the service type's flow asks for them: the order has that
    many before-photos when the technician starts (``services.workorder_arrive`` takes them with
    the step). Orders already past arrival when the flow changed are not asked again."""
    wanted = flow_for(ctx.work_order.service_type_id).before_photos
    if not wanted:
        return
    have = Attachment.objects.filter(work_order_id=ctx.work_order.pk, kind=Attachment.Kind.BEFORE_PHOTO).count()
    if have < wanted:
        message = ngettext(
            "Take %(n)d photo before starting the work.", "Take %(n)d photos before starting the work.", wanted,
        ) % {"n": wanted}
        raise InvalidInput(message, fields={"photos": [message]})
