"""Automatic assignment: every unassigned work order at once, by a minimum-cost assignment.

The rules (``dispatch.rules``) exclude pairs, the cost (``dispatch.scoring``) ranks the
rest, ``dispatch.solver`` picks the assignment, and ``workorders.services_assign``
writes it with the rules checked again on locked rows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import roles as R
from technicians.models import Technician
from workorders.services_assign import Assignment, workorders_assign_many

from . import rules, solver
from .scoring import Weights, pair_cost_matrix, unassigned_penalty
from .selectors import ORDER_FACT_FIELDS, order_facts_from_rows, technician_data, unassigned_queue, workorder_number

logger = logging.getLogger(__name__)


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
