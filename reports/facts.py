"""Build and keep current the per-order summary rows (``reports.WorkOrderFact``).

What a row holds, and why it is stored rather than computed at page time:

- the first run of the order's clock, from creation: the first response (the first
  ``accept``, or ``arrive`` should an order ever be accepted and arrived in one go),
  the first arrival and the first completion, read from the event log;
- each of those intervals in wall-clock seconds and in *business* seconds. Business
  time is the SLA module's own arithmetic (``sla.calendar.Calendar.between`` in the
  order's policy calendar, minus the business time spent on hold before the
  milestone), exactly as ``workorders.sla`` measures a target. It needs the calendar
  (working hours, holidays, make-up days) in Python, which is why it is computed
  once per order here and not per order at page time;
- per SLA target, the deadline of that first run (``Calendar.add``, as the SLA module
  computes ``*_due``) and whether the milestone met it;
- first-time fix: resolved, no completion report asking for a second visit, and no
  reopen within ``FIRST_TIME_FIX_DAYS`` of the first resolution;
- the latest answered survey's satisfaction and recommendation;
- the order's equipment and whether the order is a repeat failure (``workorders.history``):
  that answer depends on the other orders on the equipment, so a refresh also sets it again
  on the other orders of the refreshed orders' equipment (a reopen takes back a completion
  that made a later order a repeat). A new order's row leaves it NULL (not worked out yet:
  it takes a query), which the dashboard then works out itself until the next refresh.

Every figure on the dashboard is then an aggregate over these rows in PostgreSQL.

How the rows stay current:

0. At creation: the statement that writes a new order and its creation event writes
   its row too (``new_order_row``, answering workorders' ``work_order_inserting``);
   that event sends no ``post_save``, so nothing runs after the creation's commit.
1. Live: every ``WorkOrderEvent`` written with ``save()`` (every transition, survey
   answer and review goes through ``workorder_transition`` or writes one) schedules a
   refresh of its order right after the transaction commits (``reports.apps``). Code
   that inserts events in bulk (the bulk assignment, the escalation sweep) sends no
   signal; it may call ``refresh_after_commit``, else step 2 covers it.
2. Backstop: the Celery beat task ``reports.tasks.reports_facts_sweep`` refreshes the
   orders of every event written since its last run (so orders written in bulk, or a
   refresh lost to a crashed process, catch up within a minute or two).
3. ``manage.py reports_refresh --all`` rebuilds every row (after loading data in bulk,
   after changing an SLA calendar retroactively, or ``REPEAT_FAILURE_DAYS``).

A refresh reads the raw rows and upserts; the upsert keeps a row built from newer
events (``source_event_id``), so two refreshes racing can never leave an older picture.
"""

import logging
import threading
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from completion.models import CompletionReport
from core.inserts import Insert
from customers.models import Customer
from sla.calendar import NoWorkingTime
from sla.selectors import SlaCache, policy_for
from technicians.models import Technician
from workorders.history import repeat_failure_sql
from workorders.lifecycle import OPEN_STATES
from workorders.models import Survey, WorkOrder, WorkOrderEvent

from . import rollup
from .models import RefreshState, WorkOrderFact

logger = logging.getLogger(__name__)

FIRST_TIME_FIX_DAYS = 14
BATCH = 2000
TARGETS = ("first_response", "arrival", "resolution")


def _q(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _source_sql() -> tuple[str, list]:
    """One row per requested order: its columns, its milestones from the event log, its
    resolver, latest survey answer, whether a completion asked for a second visit and whether
    it is a repeat failure. The SQL and the parameters before the ids (the last one, ``%s``)."""
    repeat, repeat_params = repeat_failure_sql("wo")
    return f"""
SELECT wo.id, wo.status, wo.priority, wo.service_type_id, wo.technician_id, wo.created_at,
       wo.appointment_start, wo.appointment_end, wo.sla_policy_id, c.tier,
       ev.max_id, ev.first_response_at, ev.arrived_at, ev.resolved_at, rt.id AS resolver_id, ev.reopened_at,
       ev.hold_actions, ev.hold_times, sv.satisfaction, sv.recommend,
       coalesce(cr.second_visit, false) AS second_visit,
       wo.customer_id, cr.revenue, cr.parts_cost, cr.labour_cost, cr.travel_cost,
       wo.equipment_id, CASE WHEN wo.equipment_id IS NULL THEN NULL ELSE {repeat} END AS repeat_failure
FROM {_q(WorkOrder)} wo
JOIN {_q(Customer)} c ON c.id = wo.customer_id
LEFT JOIN LATERAL (
    SELECT max(e.id) AS max_id,
           min(e.created_at) FILTER (WHERE e.action IN ('accept', 'arrive')) AS first_response_at,
           min(e.created_at) FILTER (WHERE e.action = 'arrive') AS arrived_at,
           min(e.created_at) FILTER (WHERE e.action = 'complete') AS resolved_at,
           (array_agg(e.actor_id ORDER BY e.id) FILTER (WHERE e.action = 'complete'))[1] AS resolver_user_id,
           min(e.created_at) FILTER (WHERE e.action = 'reopen') AS reopened_at,
           array_agg(e.action ORDER BY e.id) FILTER (WHERE e.action IN ('hold', 'resume')) AS hold_actions,
           array_agg(e.created_at ORDER BY e.id) FILTER (WHERE e.action IN ('hold', 'resume')) AS hold_times
    FROM {_q(WorkOrderEvent)} e
    WHERE e.work_order_id = wo.id
) ev ON true
LEFT JOIN {_q(Technician)} rt ON rt.user_id = ev.resolver_user_id
LEFT JOIN LATERAL (
    SELECT s.satisfaction, s.recommend FROM {_q(Survey)} s
    WHERE s.work_order_id = wo.id AND s.status = 'answered'
    ORDER BY s.answered_at DESC, s.id DESC LIMIT 1
) sv ON true
LEFT JOIN LATERAL (
    SELECT bool_or(r.needs_second_visit) AS second_visit, sum(r.total_amount) AS revenue,
           sum(r.parts_cost) AS parts_cost, sum(r.labour_cost) AS labour_cost, sum(r.travel_cost) AS travel_cost
    FROM {_q(CompletionReport)} r
    WHERE r.work_order_id = wo.id
) cr ON true
WHERE wo.id = ANY(%s)
""", repeat_params


_COLUMNS = [
    "work_order_id", "created_at", "created_day", "status", "priority", "service_type_id", "technician_id",
    "booked_technician_id", "appointment_start", "appointment_end", "booked_s",
    "first_response_at", "arrived_at", "resolved_at",
    "first_response_clock_s", "arrival_clock_s", "resolution_clock_s",
    "first_response_business_s", "arrival_business_s", "resolution_business_s",
    "first_response_due", "arrival_due", "resolution_due",
    "first_response_met", "arrival_met", "resolution_met",
    "second_visit", "reopened", "first_time_fix", "satisfaction", "recommend",
    "customer_id", "revenue", "parts_cost", "labour_cost", "travel_cost",
    "equipment_id", "repeat_failure",
    "source_event_id", "refreshed_at",
]


def _holds(actions, times) -> tuple[list[tuple], bool]:
    """(hold start, resume) pairs in order, and whether the order is on hold now."""
    pairs, start = [], None
    for action, at in zip(actions or (), times or ()):
        if action == "hold" and start is None:
            start = at
        elif action == "resume" and start is not None:
            pairs.append((start, at))
            start = None
    return pairs, start is not None


def _fact(row: tuple, cache: SlaCache, now) -> tuple:
    """The summary row of one order (a tuple in ``_COLUMNS`` order) from its source row."""
    (wo_id, status, priority, service_type_id, technician_id, created_at, appt_start, appt_end, policy_id, tier,
     max_event_id, first_response_at, arrived_at, resolved_at, resolver_id, reopened_at, hold_actions, hold_times,
     satisfaction, recommend, second_visit, customer_id, revenue, parts_cost, labour_cost, travel_cost,
     equipment_id, repeat_failure) = row
    reached = {"first_response": first_response_at, "arrival": arrived_at, "resolution": resolved_at}
    # The order's policy; an order from before SLAs were set up gets the one that matches it,
    # as workorders.sla does when such an order first moves.
    policy = cache.policy(policy_id) if policy_id else None
    if policy is None:
        policy = policy_for(priority=priority, customer_tier=tier or "", service_type_id=service_type_id)
    calendar = cache.calendar(policy) if policy is not None and policy.calendar_id else None
    holds, on_hold = _holds(hold_actions, hold_times)

    clock, business, due, met = {}, {}, {}, {}
    for target in TARGETS:
        at = reached[target]
        clock[target] = int((at - created_at).total_seconds()) if at is not None else None
        business[target] = due[target] = met[target] = None
        if calendar is None:
            continue
        try:
            # Business time on hold before the milestone (or so far, while it is still ahead).
            paused = sum(calendar.between(s, e) for s, e in holds if at is None or e <= at)
            if at is not None:
                business[target] = max(0, calendar.between(created_at, at) - paused)
            minutes = policy.target_minutes(target)
            if minutes is None:
                continue
            if at is not None:
                due[target] = calendar.add(created_at, minutes * 60 + paused)
                met[target] = at <= due[target]
            elif status in OPEN_STATES and not on_hold:
                # Still running: its deadline (none while on hold or once the order stopped).
                due[target] = calendar.add(created_at, minutes * 60 + paused)
        except NoWorkingTime:
            logger.warning("SLA calendar of policy %s has no working time; order %s", policy.pk, wo_id)

    reopened = bool(
        resolved_at is not None and reopened_at is not None
        and reopened_at <= resolved_at + timedelta(days=FIRST_TIME_FIX_DAYS)
    )
    first_time_fix = None if resolved_at is None else not (second_visit or reopened)
    return (
        wo_id, created_at, timezone.localtime(created_at).date(), status, priority, service_type_id,
        resolver_id or technician_id, technician_id, appt_start, appt_end,
        int((appt_end - appt_start).total_seconds()) if appt_start and appt_end else None,
        first_response_at, arrived_at, resolved_at,
        clock["first_response"], clock["arrival"], clock["resolution"],
        business["first_response"], business["arrival"], business["resolution"],
        due["first_response"], due["arrival"], due["resolution"],
        met["first_response"], met["arrival"], met["resolution"],
        bool(second_visit), reopened, first_time_fix, satisfaction, recommend,
        customer_id, revenue, parts_cost, labour_cost, travel_cost,
        equipment_id, repeat_failure,
        max_event_id or 0, now,
    )


def _later_repeats_sql(ids: list[int]) -> tuple[str, list]:
    """An UPDATE of the repeat-failure flag of the other orders on the equipment of the orders
    ``ids``, where it changed: whether an order is a repeat failure depends on when the others on
    its equipment were resolved, and a reopen takes a resolution back. An equipment has a handful
    of orders; an order without one costs nothing (0.3 ms for one order at 1,000,000)."""
    table, orders = _q(WorkOrderFact), _q(WorkOrder)
    repeat, params = repeat_failure_sql("x")
    return f"""
UPDATE {table} f SET repeat_failure = {repeat}
FROM {orders} x
WHERE f.work_order_id = x.id AND x.id <> ALL(%s::bigint[])
  AND x.equipment_id IN (SELECT o.equipment_id FROM {orders} o WHERE o.id = ANY(%s::bigint[]))
  AND f.repeat_failure IS DISTINCT FROM {repeat}
""", [*params, ids, ids, *params]


def _upsert(rows: list[tuple]) -> None:
    table = _q(WorkOrderFact)
    cols = ", ".join(_COLUMNS)
    one = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS[1:])
    # The other orders' flags in the same statement (a CTE; never a row written here).
    later, params = _later_repeats_sql([row[0] for row in rows])
    params += [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH later AS ({later}) "
            f"INSERT INTO {table} ({cols}) VALUES {', '.join([one] * len(rows))} "
            f"ON CONFLICT (work_order_id) DO UPDATE SET {updates} "
            # A refresh that read older events than the row already has changes nothing.
            f"WHERE {table}.source_event_id <= EXCLUDED.source_event_id",
            params,
        )


def _refresh(ids) -> dict[int, int]:
    """Rebuild the rows of these orders; returns {order id: newest event id read}."""
    ids = sorted({int(i) for i in ids})
    cache, now, seen = SlaCache(), timezone.now(), {}
    sql, params = _source_sql()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, chunk])
            source = cursor.fetchall()
        rows = [_fact(row, cache, now) for row in source]
        # 40 columns × 1000 rows per statement stays under PostgreSQL's parameter limit (65,535).
        for i in range(0, len(rows), 1000):
            _upsert(rows[i:i + 1000])
        seen.update((row[0], row[-2]) for row in rows)
    return seen


def facts_refresh(*, work_order_ids) -> int:
    """Rebuild the summary rows of these orders from the raw data. Returns how many rows were built."""
    return len(_refresh(work_order_ids))


def facts_rebuild(*, batch: int = 20_000, progress=None) -> int:
    """Every order's row, in id ranges (a first load, or after changing a calendar retroactively).

    Afterwards the sweep starts from the newest event, which this rebuild has read.
    """
    top_event = WorkOrderEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    last = WorkOrder.objects.order_by("-id").values_list("id", flat=True).first() or 0
    built, low = 0, 0
    while low < last:
        ids = list(WorkOrder.objects.filter(pk__gt=low, pk__lte=low + batch).values_list("pk", flat=True))
        built += facts_refresh(work_order_ids=ids)
        low += batch
        if progress:
            progress(min(low, last), last)
    RefreshState.objects.update_or_create(
        name="facts", defaults={"done_event_id": top_event, "seen_event_id": top_event}
    )
    return built


def facts_sweep(*, max_events: int = 50_000) -> int:
    """Refresh the orders of every event written since the last sweep. Returns orders refreshed.

    Event ids are handed out when a row is inserted, but transactions commit in their own
    order: a sweep may see event 101 before the transaction holding event 100 commits.
    So each range of events is read twice, one sweep apart: the first time when it is
    new (up to ``seen_event_id``), the second on the next sweep, after which it is done.
    Two sweeps at once: the second finds the state row locked and does nothing.
    """
    with transaction.atomic():
        RefreshState.objects.get_or_create(name="facts")
        state = RefreshState.objects.select_for_update(skip_locked=True).filter(name="facts").first()
        if state is None:
            return 0  # another sweep is running
        top = WorkOrderEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        upper = min(top, state.seen_event_id + max_events)
        ids = set(
            WorkOrderEvent.objects.filter(pk__gt=state.done_event_id, pk__lte=upper)
            .values_list("work_order_id", flat=True).distinct()
        )
        refreshed = facts_refresh(work_order_ids=ids)
        state.done_event_id = state.seen_event_id
        state.seen_event_id = upper
        state.save(update_fields=["done_event_id", "seen_event_id", "updated_at"])
    # The day rollups' rows appended since the last sweep, added up (one statement, its own
    # transaction).
    rollup.compact()
    return refreshed


# --- Live refresh after each commit --------------------------------------------------------

_local = threading.local()


def _refresh_live(ids) -> dict[int, int]:
    """``_refresh`` in one short transaction that does not wait for its WAL flush.

    It runs after the request's own commit, inside the request: a second synchronous
    flush would cost every create and transition a second disk wait. The rows are
    derived data: if PostgreSQL crashes in the moment before the flush, the minute
    sweep (which reads every event range twice) rebuilds them from the committed events.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        return _refresh(ids)


def _refresh_after_commit(work_order_id: int, event_id: int) -> None:
    done = getattr(_local, "done", None)
    if done is None or len(done) > 1000:
        done = _local.done = {}
    if done.get(work_order_id, -1) >= event_id:
        return  # this commit's earlier event already refreshed the row past this one
    try:
        done.update(_refresh_live([work_order_id]))
    except Exception:  # the sweep catches up; the transition itself has committed
        logger.exception("reports: refreshing the figures of work order %s failed", work_order_id)


def refresh_after_commit(*, work_order_ids) -> None:
    """For code that writes events in bulk (no post_save): refresh these orders once it commits.

    Without it, the periodic sweep brings them up to date within a minute or two.
    """
    ids = sorted({int(i) for i in work_order_ids})
    if not ids:
        return

    def refresh():
        try:
            _refresh_live(ids)
        except Exception:  # the sweep catches up; the caller's work has committed
            logger.exception("reports: refreshing the figures of %d work order(s) failed", len(ids))

    transaction.on_commit(refresh)


# --- A new order's row, written with the order ----------------------------------------------


def new_order_row(sender, *, work_order: WorkOrder, customer_tier: str, order: str, event: str,
                  customer: str | None = None,
                  **kwargs) -> Insert | None:
    """Receiver of ``workorders.services.work_order_inserting``: the new order's summary row,
    written by the statement that writes the order and its creation event.

    A new order has one event (its creation) and nothing else yet, so its source row is
    known without reading it back: the row is exactly what a refresh right after commit
    would build (``_fact`` builds both), with ``source_event_id`` the creation event's id.
    Written in the same statement, it costs no second transaction after commit.
    """
    wo = work_order
    source = (
        None, wo.status, wo.priority, wo.service_type_id, wo.technician_id, wo.created_at,
        wo.appointment_start, wo.appointment_end, wo.sla_policy_id, customer_tier,
        None, None, None, None, None, None, None, None, None, None, False,
        # A caller new to us gets their customer row in the same statement (linked below).
        wo.customer_id, None, None, None, None,
        # Whether it is a repeat failure takes a query: left to the next refresh (NULL).
        wo.equipment_id, None,
    )
    values = dict(zip(_COLUMNS, _fact(source, SlaCache(), timezone.now())))
    links = {"work_order_id": order, "source_event_id": event}
    if customer is not None:
        links["customer_id"] = customer
    return Insert("f", WorkOrderFact, values, links=links, returning=False)


def on_event_saved(sender, instance: WorkOrderEvent, created: bool, raw: bool = False, **kwargs) -> None:
    """post_save of WorkOrderEvent: refresh the order's row once the transaction commits."""
    if not created or raw:
        return
    transaction.on_commit(lambda: _refresh_after_commit(instance.work_order_id, instance.pk))
