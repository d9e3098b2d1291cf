"""Dispatch changes: the eligibility check inside assignment, and automatic assignment.

Assignments themselves are lifecycle transitions: one by hand goes through
``workorders.services.workorder_transition`` (which locks the work order and
then the technician, and calls ``technician_check_assignable`` below); the
automatic assignment's go through ``workorders.services_assign.workorders_assign_many``
(the same locks for all of them at once, then ``technicians_check_assignable_many``).
``workorders`` does not import this module: ``DispatchConfig.ready()`` registers both
checks with the lifecycle (``workorders.lifecycle.register_check``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.selectors import service_types_by_pk
from core import roles as R
from core.errors import ApplicationError, Conflict, InvalidInput
from customers.models import Site
from technicians.models import Technician
from workorders.models import WorkOrder
from workorders.services_assign import Assignment, workorders_assign_many

from . import rules, solver
from .scoring import Weights, pair_cost_matrix, pair_parts, unassigned_penalty
from .selectors import (
    ORDER_FACT_FIELDS,
    order_facts_from_rows,
    required_skills,
    service_type_name,
    site_city,
    technician_data,
    technician_facts_for_check,
    unassigned_queue,
    workorder_number,
)

logger = logging.getLogger(__name__)


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
    Called by ``workorders.services_assign.workorders_assign_many`` with the
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
            tech.bookings.append(rules.Booking(wo.pk, order.number, window[0], window[1]))
    return accepted, refused


@dataclass
class AutoAssignResult:
    assigned: list[dict] = field(default_factory=list)
    # Orders left in the queue, each with why.
    unassigned: list[dict] = field(default_factory=list)
    # Assignments the service refused when written (someone else acted first).
    conflicts: list[dict] = field(default_factory=list)
    total_cost: float = 0.0
    optimal: bool = True
    timings: dict = field(default_factory=dict)

    def summary(self) -> str:
        return _("Assigned %(a)d, left %(u)d in the queue, %(c)d skipped because of a conflict.") % {
            "a": len(self.assigned),
            "u": len(self.unassigned),
            "c": len(self.conflicts),
        }


@dataclass
class Problem:
    orders: list[rules.OrderFacts]
    techs: list[rules.TechFacts]
    eligible: np.ndarray
    pair_cost: np.ndarray
    slot_cost: list[np.ndarray]
    penalty: np.ndarray
    skipped: list[dict]


def auto_assign_problem(*, now, weights: Weights, capacity: int, work_order_ids=None) -> Problem:
    """Load the unassigned orders and the available technicians, and build the solver's input."""
    qs = unassigned_queue().values(*ORDER_FACT_FIELDS)
    if work_order_ids is not None:
        qs = qs.filter(pk__in=list(work_order_ids))
    skipped = []
    usable = []
    for row in qs:
        if row["preferred_end"] is not None and row["preferred_end"] <= now:
            skipped.append(
                {
                    "work_order": row["pk"],
                    "number": workorder_number(row["pk"], row["created_at"]),
                    "reason": _("The window the customer asked for has passed."),
                }
            )
        else:
            usable.append(row)
    orders = order_facts_from_rows(usable)
    for facts, row in zip(orders, usable):
        if row["preferred_start"] is not None and row["preferred_end"] is not None:
            facts.window = (row["preferred_start"], row["preferred_end"])
    days = {timezone.localdate(now)} | {timezone.localdate(o.window[0]) for o in orders if o.window}
    available = Technician.objects.filter(active=True).filter(
        Q(partner_company__isnull=True) | Q(partner_company__active=True)
    )
    techs = technician_data(available, days=days).facts if orders else []
    eligible = rules.eligibility_matrix(techs, orders, now=now, capacity=capacity)
    pair_cost = pair_cost_matrix(techs, orders, now=now, weights=weights)
    pair_cost[~eligible] = np.inf
    slot_cost = [
        weights.load * (len(t.open_job_ids) + np.arange(max(0, capacity - len(t.open_job_ids)), dtype=float))
        for t in techs
    ]
    finite = pair_cost[np.isfinite(pair_cost)]
    max_slot = max((float(s[-1]) for s in slot_cost if len(s)), default=0.0)
    max_pair = (float(finite.max()) if finite.size else 0.0) + max_slot
    penalty = unassigned_penalty(orders, max_pair_cost=max_pair, now=now)
    return Problem(orders, techs, eligible, pair_cost, slot_cost, penalty, skipped)


def dispatch_auto_assign(*, now=None, actor=None, work_order_ids=None) -> AutoAssignResult:
    """Assign all unassigned work orders at once, by a minimum-cost assignment.

    Hard rules (``dispatch.rules``) exclude pairs; the cost (``dispatch.scoring``)
    weighs distance, load, skill level and window fit; when capacity is short
    the most urgent orders are served first. The assignments are then written
    together by ``workorders.services_assign.workorders_assign_many``, as the
    system (``actor`` is recorded in the event data when a dispatcher pressed
    the button): one transaction, a fixed number of queries, the rules checked
    again with the orders and technicians locked, and each event with the
    score and its parts. An order someone else took or is changing meanwhile,
    or a technician who filled up meanwhile, is refused and reported; the
    others go ahead.
    """
    now = now or timezone.now()
    weights = Weights.from_settings()
    capacity = settings.DISPATCH_CAPACITY
    result = AutoAssignResult()
    started = time.perf_counter()
    problem = auto_assign_problem(now=now, weights=weights, capacity=capacity, work_order_ids=work_order_ids)
    result.unassigned.extend(problem.skipped)
    loaded = time.perf_counter()
    windows = [(o.window[0].timestamp(), o.window[1].timestamp()) if o.window else None for o in problem.orders]
    solution = solver.solve(
        pair_cost=problem.pair_cost, slot_cost=problem.slot_cost, penalty=problem.penalty, windows=windows
    )
    result.total_cost = solution.total_cost
    result.optimal = solution.optimal
    solved = time.perf_counter()

    # Most urgent first: if a technician filled up meanwhile, the less urgent orders are the ones refused.
    order_index = sorted(
        solution.assignment, key=lambda i: (-problem.orders[i].priority, problem.orders[i].created_at or now)
    )
    planned = []
    for i in order_index:
        order = problem.orders[i]
        planned.append(
            Assignment(
                work_order_id=order.id,
                technician_id=problem.techs[solution.assignment[i][0]].id,
                appointment_start=order.window[0] if order.window else None,
                appointment_end=order.window[1] if order.window else None,
            )
        )
    data = {"auto_assign": True}
    if actor is not None and actor.is_authenticated:
        data["requested_by"] = actor.pk
    written = workorders_assign_many(assignments=planned, actor_role=R.SYSTEM, data=data, now=now)
    result.assigned = written.written
    result.conflicts = written.refused
    assigned = set(solution.assignment)
    for i, order in enumerate(problem.orders):
        if i in assigned:
            continue
        if not problem.eligible[i].any():
            reason = _("No technician may take it now (skills, shift, bookings, scope or capacity).")
        else:
            reason = _("Every technician who could take it is full with more urgent or closer work.")
        result.unassigned.append({"work_order": order.id, "number": order.number, "reason": reason})
    finished = time.perf_counter()
    result.timings = {
        "load": round(loaded - started, 4),
        "solve": round(solved - loaded, 4),
        "write": round(finished - solved, 4),
        "total": round(finished - started, 4),
        "write_parts": written.timings,  # lock, check (the rules again, locked), write (and commit)
    }
    logger.info(
        "auto-assign: %d assigned, %d unassigned, %d conflicts, optimal=%s, %s",
        len(result.assigned), len(result.unassigned), len(result.conflicts), result.optimal, result.timings,
    )
    return result


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
