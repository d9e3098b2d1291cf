"""Many assignments in one go: the ``assign`` transition, set-based (automatic assignment).

``workorders.services.workorder_transition`` fires one transition on one order
in about a dozen queries. Automatic assignment gives a thousand orders at once;
``workorders_assign_many`` fires ``assign`` on all of them in one transaction
with a fixed number of queries, and keeps every guarantee of the one-order path:

1. The transition table (``lifecycle.TRANSITIONS["assign"]``) says which states
   the orders must be in, which state they go to and which roles may fire it;
   this module reads it and repeats none of it.
2. Locks, in the one-order path's order, so the two never deadlock: first the
   work orders (``FOR UPDATE SKIP LOCKED``, only those still in a source state
   and without a technician), then their technicians (``FOR UPDATE``, by id).
   An order someone is changing at this very moment is skipped, not waited
   for, and reported; it stays in the queue for the next run.
3. With both locked, dispatch's rules are checked again on fresh rows
   (the set-based check dispatch registers for ``assign``,
   ``lifecycle.technician_check("assign", many=True)``: skills, scope,
   shift, overlapping bookings, capacity), each assignment counting for the
   ones after it, so a dispatcher's assignment made a moment earlier is seen
   and nobody is double-booked or over capacity. A refused pair is reported
   with the same message the one-order path gives; the others go ahead.
4. What the order gets is what the lifecycle table names for ``assign`` (its
   ``effects``: the technician and window, the parts reserved, the SLA clock,
   which for ``assign`` only starts a clock that never started), each run in
   its set-based form (``hooks.effect_many`` in ``workorders/effects.py``) on
   all the orders at once. The writes are set-based: one
   ``UPDATE ... FROM (VALUES ...)`` per set of changed columns, guarded again
   by the source states; one multi-row INSERT of the lifecycle events (each
   with its score and parts) and one of the outbox rows (the technician's
   "new job" message).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.selectors import service_types_by_pk
from core.errors import ApplicationError, Forbidden, InvalidInput, NotFound
from core.inserts import bulk_insert
from notifications.services import notifications_add
from technicians.models import Technician

from .. import hooks
from ..lifecycle import TRANSITIONS, technician_check, transition_for
from ..models import WorkOrder
from ..messages import transition_notifications, transition_webhooks
from .create import _check_window
from .transition import _acting_role, _state_conflict, _transition_event

ACTION = "assign"
BUSY = "busy"


@dataclass(frozen=True)
class Assignment:
    """One work order for one technician, with an appointment window or none."""

    work_order_id: int
    technician_id: int
    appointment_start: dt.datetime | None = None
    appointment_end: dt.datetime | None = None


@dataclass
class AssignManyResult:
    # {"work_order", "number", "technician", "technician_name", "score", "parts"}, in the order given.
    written: list[dict] = field(default_factory=list)
    # {"work_order", "number", "code", "reason"}: not assigned, and why.
    refused: list[dict] = field(default_factory=list)
    # Seconds spent: locking, checking the rules, writing (for benchmarks and the log).
    timings: dict = field(default_factory=dict)


def workorders_assign_many(
    *, assignments: list[Assignment], actor=None, actor_role: str | None = None, data: dict | None = None, now=None
) -> AssignManyResult:
    """Fire ``assign`` for each of ``assignments``, most urgent first, in one transaction.

    ``data`` goes into every event (with the technician, the window and the
    score of the pair). Bad input (no technician, a broken window, one order
    twice) raises InvalidInput and changes nothing; a role that may not
    assign raises Forbidden. Orders that cannot be given as asked (taken
    meanwhile, being changed right now, technician now full or booked) are
    listed in ``refused`` with the reason; the rest are written.
    """
    transition = TRANSITIONS[ACTION]
    # Dispatch's rules, set-based (ImproperlyConfigured if missing: never assign without them).
    check_assignable_many = technician_check(ACTION, many=True)
    # The row's effects in their set-based forms (ImproperlyConfigured if one has none).
    effects = hooks.resolve_many(transition)
    _check_assignments(assignments)
    result = AssignManyResult(timings={"lock": 0.0, "check": 0.0, "write": 0.0})
    if not assignments:
        return result
    now = now or timezone.now()
    clock = [time.perf_counter()]

    with transaction.atomic():
        ids = [item.work_order_id for item in assignments]
        # 1. The orders, then 2. their technicians (the one-order path's lock order).
        locked, roles, refused = _lock_orders(ids, transition, actor=actor, actor_role=actor_role)
        _lock_technicians(assignments, roles)

        clock.append(time.perf_counter())

        # 3. The rules on fresh rows, with everything locked.
        todo, accepted = _check_rules(check_assignable_many, assignments, locked, roles, refused, now)

        clock.append(time.perf_counter())

        # 4. Write.
        written = _write(todo, locked, accepted, roles, transition, effects, actor, data, now, refused)
    clock.append(time.perf_counter())
    result.timings = {
        name: round(clock[i + 1] - clock[i], 4) for i, name in enumerate(("lock", "check", "write"))
    }
    _report(result, assignments, ids, written, accepted, refused)
    return result


def _check_assignments(assignments: list[Assignment]) -> None:
    """InvalidInput for an assignment without a technician, with a broken window, or of an order given twice."""
    seen = set()
    for item in assignments:
        if not item.technician_id:
            message = _("Choose a technician.")
            raise InvalidInput(message, fields={"technician": [message]})
        _check_window(item.appointment_start, item.appointment_end, field="appointment_end")
        if item.work_order_id in seen:
            message = _("Work order %(id)s is given more than once.") % {"id": item.work_order_id}
            raise InvalidInput(message, fields={"work_order": [message]})
        seen.add(item.work_order_id)


def _lock_orders(ids: list[int], transition, *, actor, actor_role) -> tuple[dict, dict, dict]:
    """Lock the orders still waiting for a technician. Returns them by id, the role in which
    ``actor`` assigns each, and why the others are refused (by id)."""
    # SKIP LOCKED: an order a dispatcher is assigning right now is left alone (reported below), so
    # this run never waits on a person, and since it holds no technician yet, nobody can be waiting
    # on it either. No joins in the locking query (see workorder_transition).
    locked = {
        wo.pk: wo
        for wo in WorkOrder.objects.select_for_update(skip_locked=True)
        .filter(pk__in=ids, status__in=transition.sources, technician__isnull=True)
        .order_by("pk")
    }
    refused: dict[int, dict] = {}
    roles: dict[int, str] = {}
    for wo in locked.values():
        try:
            roles[wo.pk] = _acting_role(actor=actor, actor_role=actor_role, transition=transition, work_order=wo)
        except NotFound as exc:
            refused[wo.pk] = _refusal(wo.pk, wo.number, exc)
            continue
        # The order's service type's flow may give the step to fewer roles (kept per process):
        # that order is refused, the others go on.
        typed = transition_for(ACTION, wo.service_type_id)
        if typed is not transition:
            try:
                roles[wo.pk] = _acting_role(actor=actor, actor_role=actor_role, transition=typed, work_order=wo)
            except Forbidden as exc:
                del roles[wo.pk]
                refused[wo.pk] = _refusal(wo.pk, wo.number, exc)
    _explain_missing([pk for pk in ids if pk not in locked], transition, refused)
    return locked, roles, refused


def _lock_technicians(assignments: list[Assignment], roles: dict[int, str]) -> None:
    """Lock the technicians of the orders still in play, after the orders (the one-order path's order), by id."""
    tech_ids = sorted({item.technician_id for item in assignments if item.work_order_id in roles})
    list(Technician.objects.select_for_update().filter(pk__in=tech_ids).order_by("pk").values_list("pk"))


def _check_rules(check_assignable_many, assignments, locked, roles, refused, now) -> tuple[list, dict]:
    """Dispatch's rules on the locked rows, each pair counting for the ones after it. Returns the
    assignments to write and, by order id, what the check accepted (the score and its parts);
    adds the refused ones to ``refused``."""
    todo = [item for item in assignments if item.work_order_id in roles]
    accepted, rejected = check_assignable_many(
        pairs=[
            (locked[item.work_order_id], item.technician_id,
             (item.appointment_start, item.appointment_end) if item.appointment_start is not None else None)
            for item in todo
        ],
        now=now,
    )
    for pk, error in rejected.items():
        refused[pk] = _refusal(pk, locked[pk].number, error)
    return [item for item in todo if item.work_order_id in accepted], accepted


def _report(result: AssignManyResult, assignments, ids, written, accepted, refused) -> None:
    """Fill ``result``: each order written or refused, in the order given."""
    by_id = {item.work_order_id: item for item in assignments}
    for pk in ids:
        if pk in written:
            wo, scored = written[pk], accepted[pk]
            result.written.append(
                {
                    "work_order": pk,
                    "number": wo.number,
                    "technician": by_id[pk].technician_id,
                    "technician_name": str(wo.technician),
                    "score": scored["score"],
                    "parts": scored["parts"],
                }
            )
        elif pk in refused:
            result.refused.append(refused[pk])


def _refusal(pk: int, number: str, error: ApplicationError) -> dict:
    return {"work_order": pk, "number": number, "code": error.code, "reason": error.message}


def _explain_missing(missing: list[int], transition, refused: dict) -> None:
    """Why orders were not locked: gone, no longer waiting (the one-order path's conflict), or busy."""
    if not missing:
        return
    found = {wo.pk: wo for wo in WorkOrder.objects.select_related("technician__user").filter(pk__in=missing)}
    for pk in missing:
        wo = found.get(pk)
        if wo is None:
            refused[pk] = _refusal(pk, str(pk), NotFound(_("No such work order.")))
        elif wo.status not in transition.sources or wo.technician_id is not None:
            refused[pk] = _refusal(pk, wo.number, _state_conflict(transition, wo))
        else:
            message = _("%(number)s is being changed by someone else at this moment; it stays in the queue.") % {
                "number": wo.number
            }
            refused[pk] = {"work_order": pk, "number": wo.number, "code": BUSY, "reason": message}


def _write(todo, locked, accepted, roles, transition, effects, actor, data, now, refused) -> dict[int, WorkOrder]:
    """Run the transition's effects as its row in the lifecycle table names them (their set-based
    forms, ``hooks.effect_many``), UPDATE per set of changed columns, INSERT events and messages."""
    if not todo:
        return {}
    techs = Technician.objects.select_related("user").in_bulk({item.technician_id for item in todo})
    service_types = service_types_by_pk({locked[item.work_order_id].service_type_id for item in todo})

    def contexts(rows: dict[int, WorkOrder]) -> list[hooks.Ctx]:
        ctxs = []
        for item in todo:
            wo = rows[item.work_order_id]
            wo.service_type = service_types[wo.service_type_id]
            event_data = dict(data or {})
            event_data.update(accepted[wo.pk])  # the score and its parts
            ctxs.append(hooks.Ctx(
                work_order=wo, transition=transition, from_status=wo.status, target=transition.target, now=now,
                actor=actor, role=roles[wo.pk], technician_id=item.technician_id, technician=techs[item.technician_id],
                appointment_start=item.appointment_start, appointment_end=item.appointment_end, event_data=event_data,
            ))
        return ctxs

    try:
        with transaction.atomic():  # a savepoint: PostgreSQL's exclusion constraint may refuse the lot
            done = _apply(contexts(locked), effects, transition.sources)
    except IntegrityError as exc:
        if "wo_no_double_booking" not in str(exc):
            raise
        # The last word on overlapping bookings (a booking made without the technician's lock, which
        # no code path here does): again one order at a time from the rows as stored (locked above),
        # so that only the overlapping ones are refused and nothing of theirs stays.
        done = {}
        for ctx in contexts(WorkOrder.objects.in_bulk([item.work_order_id for item in todo])):
            try:
                with transaction.atomic():
                    done |= _apply([ctx], effects, transition.sources)
            except IntegrityError as exc:
                if "wo_no_double_booking" not in str(exc):
                    raise
                wo = ctx.work_order
                message = _("%(tech)s is already booked at an overlapping time.") % {"tech": wo.technician}
                refused[wo.pk] = {"work_order": wo.pk, "number": wo.number, "code": "double_booked", "reason": message}
    order = [item.work_order_id for item in todo if item.work_order_id in done]
    # The guard cannot miss a row this transaction holds locked; should it ever, say why, never drop it.
    lost = [item.work_order_id for item in todo if item.work_order_id not in done]
    _explain_missing([pk for pk in lost if pk not in refused], transition, refused)
    events = {pk: _transition_event(done[pk]) for pk in order}
    bulk_insert([events[pk] for pk in order], chunk=1000)
    notifications_add(
        [row for pk in order
         for row in transition_notifications(done[pk].work_order, action=transition.action, now=now)]
        + [row for pk in order for row in transition_webhooks(events[pk], done[pk].work_order)]
    )
    return {pk: done[pk].work_order for pk in order}


def _apply(ctxs: list[hooks.Ctx], effects, sources) -> dict[int, hooks.Ctx]:
    """Set the target state, run the effects on all of ``ctxs``, then ``UPDATE ... FROM (VALUES ...)``
    per set of changed columns, only where the order still waits. Returns the Ctx of each order written."""
    changed = {}
    for ctx in ctxs:
        ctx.work_order.status = ctx.target
        ctx.work_order.updated_at = ctx.now
        changed[ctx.work_order.pk] = ["status", "updated_at"]
    for effect in effects:
        for ctx, fields in zip(ctxs, effect(ctxs), strict=True):
            changed[ctx.work_order.pk] += fields
    groups: dict[tuple[str, ...], list[WorkOrder]] = {}
    for ctx in ctxs:
        groups.setdefault(tuple(sorted(set(changed[ctx.work_order.pk]))), []).append(ctx.work_order)
    written: set[int] = set()
    for fields, rows in groups.items():
        # At most ~30,000 parameters per statement (PostgreSQL allows 65,535).
        size = max(1, 30000 // (len(fields) + 1))
        for start in range(0, len(rows), size):
            written |= _update_statement(rows[start:start + size], fields, sources)
    return {ctx.work_order.pk: ctx for ctx in ctxs if ctx.work_order.pk in written}


def _update_statement(rows: list[WorkOrder], fields: tuple[str, ...], sources) -> set[int]:
    meta = WorkOrder._meta
    columns = [meta.pk] + [meta.get_field(name) for name in fields]
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    # Typed placeholders: a column whose values are all NULL would otherwise be text.
    cells = [f"CAST(%s AS {f.db_type(connection)})" for f in columns]
    row_sql = "(" + ", ".join(cells) + ")"
    names = ", ".join(qn(f.column) for f in columns)
    assignments = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in columns[1:])
    status = qn(meta.get_field("status").column)
    technician = qn(meta.get_field("technician").column)
    pk = qn(meta.pk.column)
    sql = (
        f"WITH v ({names}) AS (VALUES {', '.join([row_sql] * len(rows))}) "
        f"UPDATE {table} SET {assignments} FROM v "
        f"WHERE {table}.{pk} = v.{pk} AND {table}.{status} IN ({', '.join(['%s'] * len(sources))}) "
        f"AND {table}.{technician} IS NULL RETURNING {table}.{pk}"
    )
    params = [f.get_db_prep_save(getattr(wo, f.attname), connection) for wo in rows for f in columns]
    params += [str(source) for source in sorted(sources)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk for (pk,) in cursor.fetchall()}

