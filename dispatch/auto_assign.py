"""Automatic assignment: every unassigned work order at once, by a minimum-cost assignment.

The rules (``dispatch.rules``) exclude pairs, the cost (``dispatch.scoring``) ranks the
rest, ``dispatch.solver`` picks the assignment, and ``workorders.services.assign``
writes it with the rules checked again on locked rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import roles as R
from core.errors import ApplicationError, Conflict, NotFound
from technicians.models import Technician
from workorders.lifecycle import Status
from workorders.models import WorkOrder
from workorders.selectors import workorder_visible_to
from workorders.services import workorder_transition
from workorders.services import Assignment, workorders_assign_many

from . import rules, solver
from .scoring import Weights, pair_cost_matrix, pair_parts, unassigned_penalty
from .selectors import order_fact_values, order_facts_from_rows, technician_data, unassigned_queue, workorder_number

logger = logging.getLogger(__name__)

# The transitions that give an order to a technician or take it back: an undo acts only while
# the latest of them is the automatic run's own "assign".
GIVING_ACTIONS = ("assign", "reassign", "unassign", "reject")


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
    qs = order_fact_values(unassigned_queue())
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


@dataclass
class AutoAssignPlan:
    """What automatic assignment would do now, before anything is written."""

    # {"work_order", "number", "priority", "service", "technician", "technician_name", "start", "end",
    #  "score", "parts"}, most urgent first.
    proposals: list[dict] = field(default_factory=list)
    # {"work_order", "number", "code", "reason"}: orders it would leave in the queue, and why.
    left_out: list[dict] = field(default_factory=list)
    total_cost: float = 0.0
    optimal: bool = True
    timings: dict = field(default_factory=dict)

    def assignments(self) -> list[Assignment]:
        return [
            Assignment(work_order_id=p["work_order"], technician_id=p["technician"],
                       appointment_start=p["start"], appointment_end=p["end"])
            for p in self.proposals
        ]


# Why a technician may not take an order, from the first rule that stops them; the
# furthest any technician got explains the order left out.
_STAGES = [rules.INACTIVE, rules.OUTSIDE_SCOPE, rules.MISSING_SKILL, rules.SKILL_LEVEL, rules.OFF_SHIFT,
           rules.DOUBLE_BOOKED, rules.OVER_CAPACITY]
# Orders left out get a reason naming the rule for at most this many (the most urgent); the
# rest get the general one. Explaining 1,000 over 200 technicians took 0.076 s (median of 3;
# bench/dispatch_bench.py --skip-board --runs 3 --orders 2000, column "explain s").
EXPLAIN_LIMIT = 1000


def _left_out_reason(order: rules.OrderFacts, techs, *, now, capacity) -> tuple[str, str]:
    """(code, message): why no technician could take ``order``."""
    furthest = -1
    for tech in techs:
        codes = {r.code for r in rules.exclusion_reasons(tech, order, now=now, capacity=capacity)}
        if not codes:
            return "outranked", _("Every technician who could take it is full with more urgent or closer work.")
        stage = min(_STAGES.index(code) for code in codes if code in _STAGES)
        furthest = max(furthest, stage)
    if furthest < 0:
        return "no_technician", _("No technician is active.")
    code = _STAGES[furthest]
    window = rules.format_window(*order.window) if order.window else None
    if code in (rules.INACTIVE, rules.OUTSIDE_SCOPE):
        return "no_technician", _("No active technician may work on %(service)s in %(area)s.") % {
            "service": order.service_type_name, "area": order.city or _("an unknown area")}
    if code in (rules.MISSING_SKILL, rules.SKILL_LEVEL):
        return "no_skill", _("No technician has the skills %(service)s needs.") % {"service": order.service_type_name}
    if code == rules.OFF_SHIFT:
        if window:
            return "outside_hours", _("Everyone with the skills is off shift at %(window)s.") % {"window": window}
        return "outside_hours", _("Everyone with the skills has no working time left today; give it a window.")
    if code == rules.DOUBLE_BOOKED:
        return "booked", _("Everyone with the skills is already booked at %(window)s.") % {"window": window}
    return "at_capacity", _("Everyone with the skills is at capacity (%(cap)d open jobs).") % {"cap": capacity}


def auto_assign_plan(*, now=None, work_order_ids=None) -> AutoAssignPlan:
    """Propose an assignment for every unassigned work order (or those of ``work_order_ids``),
    by a minimum-cost assignment, and say why each order left out is left out. Writes nothing.

    Hard rules (``dispatch.rules``) exclude pairs; the cost (``dispatch.scoring``)
    weighs distance, load, skill level and window fit; when capacity is short
    the most urgent orders are served first.
    """
    now = now or timezone.now()
    weights = Weights.from_settings()
    capacity = settings.DISPATCH_CAPACITY
    plan = AutoAssignPlan()
    started = time.perf_counter()
    problem = auto_assign_problem(now=now, weights=weights, capacity=capacity, work_order_ids=work_order_ids)
    plan.left_out.extend({**item, "code": "window_passed"} for item in problem.skipped)
    loaded = time.perf_counter()
    windows = [(o.window[0].timestamp(), o.window[1].timestamp()) if o.window else None for o in problem.orders]
    solution = solver.solve(
        pair_cost=problem.pair_cost, slot_cost=problem.slot_cost, penalty=problem.penalty, windows=windows
    )
    plan.total_cost = solution.total_cost
    plan.optimal = solution.optimal
    solved = time.perf_counter()

    # Most urgent first: if a technician filled up meanwhile, the less urgent orders are the ones refused.
    order_index = sorted(
        solution.assignment, key=lambda i: (-problem.orders[i].priority, problem.orders[i].created_at or now)
    )
    given: dict[int, int] = {}
    for i in order_index:
        order, tech = problem.orders[i], problem.techs[solution.assignment[i][0]]
        load = len(tech.open_job_ids) + given.get(tech.id, 0)
        given[tech.id] = given.get(tech.id, 0) + 1
        plan.proposals.append({
            "work_order": order.id,
            "number": order.number,
            "priority": order.priority,
            "service": order.service_type_name,
            "technician": tech.id,
            "technician_name": tech.name,
            "start": order.window[0] if order.window else None,
            "end": order.window[1] if order.window else None,
            **pair_parts(tech, order, open_jobs=load, now=now, weights=weights),
        })
    assigned = set(solution.assignment)
    left = sorted((i for i in range(len(problem.orders)) if i not in assigned),
                  key=lambda i: (-problem.orders[i].priority, problem.orders[i].created_at or now))
    for rank, i in enumerate(left):
        order = problem.orders[i]
        if rank < EXPLAIN_LIMIT:
            code, reason = _left_out_reason(order, problem.techs, now=now, capacity=capacity)
        elif not problem.eligible[i].any():
            code, reason = "no_technician", _(
                "No technician may take it now (skills, shift, bookings, scope or capacity).")
        else:
            code, reason = "outranked", _(
                "Every technician who could take it is full with more urgent or closer work.")
        plan.left_out.append({"work_order": order.id, "number": order.number, "code": code, "reason": reason})
    plan.timings = {
        "load": round(loaded - started, 4),
        "solve": round(solved - loaded, 4),
        "explain": round(time.perf_counter() - solved, 4),
    }
    return plan


def auto_assign_apply(*, assignments: list[Assignment], actor=None, batch: str = "", now=None,
                      as_system: bool = False) -> AutoAssignResult:
    """Write ``assignments`` (all or some of a plan's) in one transaction: as ``actor`` (the
    dispatcher who accepted them; the lifecycle checks their role), or ``as_system`` (the periodic
    run). The rules are checked again on locked rows; an order someone else took or is changing
    meanwhile, a technician who filled up meanwhile, or a window that has passed since the
    preview is refused and reported while the others go ahead.

    Each event records ``auto_assign``, the ``batch`` (what an undo names) and who asked."""
    now = now or timezone.now()
    data = {"auto_assign": True}
    if batch:
        data["batch"] = batch
    if actor is not None and actor.is_authenticated:
        data["requested_by"] = actor.pk
    passed, todo = [], []
    for item in assignments:
        (passed if item.appointment_end is not None and item.appointment_end <= now else todo).append(item)
    who = {"actor_role": R.SYSTEM} if as_system or actor is None else {"actor": actor}
    written = workorders_assign_many(assignments=todo, data=data, now=now, **who)
    numbers = dict(WorkOrder.objects.filter(pk__in=[a.work_order_id for a in passed])
                   .values_list("pk", "created_at")) if passed else {}
    late = [
        {"work_order": a.work_order_id, "number": workorder_number(a.work_order_id, numbers[a.work_order_id]),
         "code": "window_passed", "reason": _("The window proposed has passed since the preview.")}
        for a in passed if a.work_order_id in numbers
    ]
    return AutoAssignResult(assigned=written.written, conflicts=written.refused + late,
                            timings={"write_parts": written.timings})


def dispatch_auto_assign(*, now=None, actor=None, work_order_ids=None) -> AutoAssignResult:
    """Plan and write in one go (the periodic task; the board previews first): every proposal
    of ``auto_assign_plan`` is written by ``auto_assign_apply``."""
    now = now or timezone.now()
    started = time.perf_counter()
    plan = auto_assign_plan(now=now, work_order_ids=work_order_ids)
    planned = time.perf_counter()
    result = auto_assign_apply(assignments=plan.assignments(), actor=actor, now=now, as_system=True)
    finished = time.perf_counter()
    result.unassigned = plan.left_out
    result.total_cost = plan.total_cost
    result.optimal = plan.optimal
    result.timings = {
        "load": plan.timings["load"],
        "solve": plan.timings["solve"],
        "explain": plan.timings["explain"],
        "write": round(finished - planned, 4),
        "total": round(finished - started, 4),
        "write_parts": result.timings["write_parts"],  # lock, check (the rules again, locked), write (and commit)
    }
    logger.info(
        "auto-assign: %d assigned, %d unassigned, %d conflicts, optimal=%s, %s",
        len(result.assigned), len(result.unassigned), len(result.conflicts), result.optimal, result.timings,
    )
    return result


@dataclass
class UndoResult:
    undone: list[dict] = field(default_factory=list)  # {"work_order", "number"}
    refused: list[dict] = field(default_factory=list)  # {"work_order", "number", "reason"}


def auto_assign_undo(*, batch: str, work_order_ids, actor, now=None) -> UndoResult:
    """Send orders given by the automatic assignment run ``batch`` back to the queue ("unassign",
    with the reason in the note), each only while it is still that run's assignment: within
    ``DISPATCH_UNDO_MINUTES``, not yet accepted by the technician, not re-assigned since. The order
    is locked while this is checked and done, so a technician accepting at the same moment either
    comes first (the undo is refused, saying so) or finds the order back in the queue."""
    now = now or timezone.now()
    limit = dt.timedelta(minutes=settings.DISPATCH_UNDO_MINUTES)
    result = UndoResult()
    for pk in sorted(set(work_order_ids)):
        wo = None
        try:
            with transaction.atomic():
                wo = workorder_visible_to(actor).select_for_update(of=("self",)).filter(pk=pk).first()
                if wo is None:
                    raise NotFound(_("No such work order."))
                given = wo.events.filter(action__in=GIVING_ACTIONS).order_by("-id").first()
                if given is None or given.action != "assign" or (given.data or {}).get("batch") != batch:
                    raise Conflict(_("It was assigned again since; it stays as it is."))
                if wo.status != Status.ASSIGNED:
                    if wo.status == Status.ACCEPTED:
                        raise Conflict(_("%(tech)s has already accepted it; un-assign it from its page if you must.")
                                       % {"tech": wo.technician})
                    raise Conflict(_("It is %(status)s now; it stays as it is.") % {"status": wo.get_status_display()})
                if now - given.created_at > limit:
                    raise Conflict(_("Automatic assignments can be undone for %(n)d minutes; that time has passed.")
                                   % {"n": settings.DISPATCH_UNDO_MINUTES})
                workorder_transition(work_order_id=pk, action="unassign", actor=actor,
                                     note=_("Undo of an automatic assignment."), data={"undo_of": batch})
            result.undone.append({"work_order": pk, "number": wo.number})
        except ApplicationError as exc:
            number = wo.number if wo is not None else str(pk)
            result.refused.append({"work_order": pk, "number": number, "reason": exc.message})
    return result
