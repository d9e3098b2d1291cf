"""The SLA clock on a work order: its deadlines, its target states, escalations.

The calendars, policies and escalation matrices, and the business-time arithmetic
(``Calendar``, ``policy_for``), are the app ``sla``, which knows no work order.

Three targets run from the moment the clock starts (creation, or the last reopen):
first response (until the technician accepts), arrival (until work starts on site)
and resolution (until resolved). Each is a number of *business* minutes in the
policy's calendar; time on hold does not count.

Deadlines are stored on the work order (``first_response_due`` ...), recomputed by
``sla_on_transition`` inside ``workorder_transition``'s transaction. The moment the
next escalation level is due is stored too (``next_escalation_at``), so the sweep
that runs every minute is one range scan over a small partial index:

    SELECT ... FROM workorders_workorder
    WHERE next_escalation_at <= now ORDER BY next_escalation_at
    LIMIT n FOR UPDATE SKIP LOCKED

Deadline arithmetic, with a paused clock:
    elapsed(t) = business_seconds(started, t) - paused_seconds
    due        = the t where elapsed(t) = target   = add_business(started, target + paused_seconds)
"""

import logging
from dataclasses import dataclass
from html import escape
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from core import roles as R
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.inserts import bulk_insert, json_rows
from core.metrics import escalations_raised
from notifications.services import notifications_add
from sla.calendar import Calendar, NoWorkingTime
from sla.models import EscalationLevel, SlaPolicy, SlaTarget
from sla.selectors import SlaCache, policy_for

from .lifecycle import OPEN_STATES, Status
from .models import Escalation, WorkOrder, WorkOrderEvent

logger = logging.getLogger(__name__)

TARGETS = (SlaTarget.FIRST_RESPONSE, SlaTarget.ARRIVAL, SlaTarget.RESOLUTION)


def _met_at(wo: WorkOrder, target: str):
    return getattr(wo, f"{target}_met_at")


def _threshold(cal: Calendar, wo: WorkOrder, minutes: int, percent: int) -> datetime:
    return cal.add(wo.sla_started_at, round(minutes * 60 * percent / 100) + wo.sla_paused_seconds)


def _pending_levels(wo: WorkOrder, policy: SlaPolicy, cache: SlaCache, fired: set) -> list[tuple]:
    """(due, percent, target, level) for every level not yet fired on an unmet target, in order."""
    if wo.status not in OPEN_STATES or wo.sla_paused_at is not None or policy is None or policy.no_sla:
        return []
    levels = cache.levels_for(policy)
    if not levels:
        return []
    cal = cache.calendar(policy)
    out = []
    for target in TARGETS:
        minutes = policy.target_minutes(target)
        if minutes is None or _met_at(wo, target) is not None:
            continue
        for level in levels:
            if level.target and level.target != target:
                continue
            if (target, level.pk) in fired:
                continue
            out.append((_threshold(cal, wo, minutes, level.percent), level.percent, target, level))
    out.sort(key=lambda x: (x[0], x[1], TARGETS.index(x[2]), x[3].pk))
    return out


def _fired(wo: WorkOrder) -> set:
    if wo.pk is None:
        return set()
    return set(Escalation.objects.filter(work_order_id=wo.pk, cycle=wo.sla_cycle).values_list("target", "level_id"))


def _recompute(wo: WorkOrder, policy: SlaPolicy | None, cache: SlaCache, fired: set | None = None) -> None:
    """Set the due columns and next_escalation_at from the clock's ingredients (in memory)."""
    for target in TARGETS:
        field = f"{target}_due"
        minutes = policy.target_minutes(target) if policy is not None else None
        if minutes is None:
            setattr(wo, field, None)
        elif _met_at(wo, target) is not None:
            # Met: the deadline it was measured against stays as it was.
            if getattr(wo, field) is None:
                setattr(wo, field, cache.calendar(policy).add(wo.sla_started_at, minutes * 60 + wo.sla_paused_seconds))
        elif wo.sla_paused_at is not None:
            setattr(wo, field, None)  # paused: no deadline until the clock runs again
        else:
            setattr(wo, field, cache.calendar(policy).add(wo.sla_started_at, minutes * 60 + wo.sla_paused_seconds))
    pending = []
    if policy is not None and policy.escalation_matrix_id and wo.status in OPEN_STATES and wo.sla_paused_at is None:
        pending = _pending_levels(wo, policy, cache, _fired(wo) if fired is None else fired)
    wo.next_escalation_at = pending[0][0] if pending else None


SLA_FIELDS = [
    "sla_policy", "sla_started_at", "sla_cycle", "first_response_due", "arrival_due", "resolution_due",
    "first_response_met_at", "arrival_met_at", "resolution_met_at", "sla_paused_seconds", "sla_paused_at",
    "sla_pause_reason", "next_escalation_at",
]


def sla_fields_for_new(
    *, priority: int, customer_tier: str, service_type_id: int, now: datetime, contract_policy_id: int | None = None
) -> dict:
    """The SLA columns of a work order about to be created (``WorkOrder.objects.create(**these)``);
    ``contract_policy_id``: the SLA policy of the contract covering it, which wins."""
    policy = policy_for(priority=priority, customer_tier=customer_tier, service_type_id=service_type_id,
                        contract_policy_id=contract_policy_id)
    wo = WorkOrder(
        status=Status.NEW, priority=priority, sla_policy=policy, sla_started_at=now, sla_cycle=1, sla_paused_seconds=0
    )
    _recompute(wo, policy, SlaCache(), fired=set())
    return {name: getattr(wo, name) for name in SLA_FIELDS}


# The transitions that move the clock. The others (assign, reassign, unassign, reject,
# depart, follow_up, close, cancel) leave every deadline where it is; the ones that
# take the order out of the open states also take it out of the escalation sweep.
CLOCK_ACTIONS = frozenset({"accept", "arrive", "complete", "hold", "resume", "reopen"})


def sla_on_transition(
    work_order: WorkOrder, *, action: str, now: datetime, note: str = "", fired: set | None = None
) -> list[str]:
    """Move the clock for a transition that has just set ``work_order.status`` (not yet saved).

    Marks targets met (accept = first response, arrive = arrival, complete =
    resolution), pauses on hold and resumes on resume (keeping the reason),
    restarts on reopen, and recomputes the deadlines and the next escalation.
    Returns the fields to save (none when the clock runs on unchanged).
    ``fired``: the order's escalations of this cycle, as (target, level id), when
    the caller has read them already (a bulk assignment reads all at once).
    """
    wo = work_order
    cache = SlaCache()
    policy = None
    fresh = wo.sla_started_at is None
    if fresh:
        # An order from before SLAs were configured: its clock starts at creation.
        wo.sla_started_at = wo.created_at
        policy = policy_for(priority=wo.priority, customer_tier=wo.customer.tier, service_type_id=wo.service_type_id)
        wo.sla_policy = policy
        cache.policies[wo.sla_policy_id] = policy
    elif action not in CLOCK_ACTIONS:
        if wo.status in OPEN_STATES:
            return []
        wo.next_escalation_at = None
        return ["next_escalation_at"]

    if action == "accept":
        wo.first_response_met_at = wo.first_response_met_at or now
    elif action == "arrive":
        wo.first_response_met_at = wo.first_response_met_at or now
        wo.arrival_met_at = wo.arrival_met_at or now
    elif action == "complete":
        wo.resolution_met_at = wo.resolution_met_at or now
    elif action == "hold":
        wo.sla_paused_at = now
        wo.sla_pause_reason = (note or "")[:200]
    elif action == "resume" and wo.sla_paused_at is not None:
        policy = cache.policy(wo.sla_policy_id)
        if policy is not None and not policy.no_sla:
            wo.sla_paused_seconds += cache.calendar(policy).between(wo.sla_paused_at, now)
        wo.sla_paused_at = None
    elif action == "reopen":
        # Not fixed after all: a new run of the clock, with its own escalations.
        wo.sla_cycle += 1
        wo.sla_started_at = now
        wo.first_response_met_at = wo.arrival_met_at = wo.resolution_met_at = None
        wo.first_response_due = wo.arrival_due = wo.resolution_due = None
        wo.sla_paused_seconds, wo.sla_paused_at, wo.sla_pause_reason = 0, None, ""
        # An order a contract covered keeps the policy it was created with (the contract's).
        policy = policy_for(priority=wo.priority, customer_tier=wo.customer.tier, service_type_id=wo.service_type_id,
                            contract_policy_id=wo.sla_policy_id if wo.contract_id else None)
        wo.sla_policy = policy
        cache.policies[wo.sla_policy_id] = policy

    if wo.status not in OPEN_STATES or wo.sla_paused_at is not None:
        # Resolved, closed, cancelled or on hold: nothing can escalate, and an unmet
        # target has no deadline while the clock stands still (met ones keep theirs).
        if wo.sla_paused_at is not None:
            for target in TARGETS:
                if _met_at(wo, target) is None:
                    setattr(wo, f"{target}_due", None)
        wo.next_escalation_at = None
        if not fresh:
            return SLA_FIELDS
    _recompute(wo, policy if policy is not None else cache.policy(wo.sla_policy_id), cache, fired)
    return SLA_FIELDS


# --- Target states, for every page that shows a work order -----------------------------------

STATE_LABELS = {
    "on_track": _("On track"),
    "at_risk": _("At risk"),
    "breached": _("Breached"),
    "met": _("Met"),
    "met_late": _("Met late"),
    "paused": _("Paused"),
    "stopped": _("Stopped"),
}


@dataclass(frozen=True)
class TargetState:
    target: str
    state: str  # on_track, at_risk, breached, met, met_late, paused, stopped
    due: datetime | None
    met_at: datetime | None
    # Time left (positive) or over (negative): wall-clock seconds to the deadline;
    # for a met target, how early (positive) or late (negative) it was met; while
    # paused, the business seconds left when the clock stopped.
    seconds: int

    @property
    def label(self):
        return SlaTarget(self.target).label

    @property
    def state_label(self):
        return STATE_LABELS[self.state]

    @property
    def is_over(self) -> bool:
        return self.seconds < 0

    @property
    def duration_text(self) -> str:
        """"2 h 05 min left", "35 min over" ..."""
        return self.duration_text_in(_duration_formats())

    def duration_text_in(self, formats: dict) -> str:
        """``duration_text`` with the formats of ``_duration_formats()`` (fetched once per page)."""
        return _duration_text(self.state, self.seconds, formats)


def _duration_text(state: str, seconds: int, formats: dict) -> str:
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        amount = formats["days"] % {"d": days, "h": hours}
    elif hours:
        amount = formats["hours"] % {"h": hours, "m": mins}
    else:
        amount = formats["minutes"] % {"m": mins}
    if state in ("met", "met_late", "stopped"):
        return amount
    return (formats["over"] if seconds < 0 else formats["left"]) % {"t": amount}


_FORMATS: dict = {}


def _duration_formats(*, escaped: bool = False) -> dict:
    """The formats of ``TargetState.duration_text`` in the current language, translated once per
    process (a queue page formats 150 durations). Escaped, they give escaped text: escaping
    works character by character, touches no ``%`` and no digit."""
    key = (get_language(), escaped)
    formats = _FORMATS.get(key)
    if formats is None:
        formats = {
            "days": gettext("%(d)d d %(h)d h"),
            "hours": gettext("%(h)d h %(m)02d min"),
            "minutes": gettext("%(m)d min"),
            "over": gettext("%(t)s over"),
            "left": gettext("%(t)s left"),
        }
        if escaped:
            formats = {name: escape(text) for name, text in formats.items()}
        _FORMATS[key] = formats
    return formats


def target_states(
    work_order: WorkOrder, *, now: datetime | None = None, _cache: SlaCache | None = None
) -> list[TargetState]:
    """Each SLA target of the order with its state and time left or over (empty: no SLA)."""
    wo = work_order
    cache = _cache or SlaCache()
    policy = cache.policy(wo.sla_policy_id)
    if policy is None or policy.no_sla or wo.sla_started_at is None:
        return []
    now = now or timezone.now()
    out = []
    for target in TARGETS:
        minutes = policy.target_minutes(target)
        if minutes is None:
            continue
        due, met = getattr(wo, f"{target}_due"), _met_at(wo, target)
        if met is not None:
            seconds = int((due - met).total_seconds()) if due else 0
            out.append(TargetState(target, "met" if seconds >= 0 else "met_late", due, met, seconds))
        elif wo.status not in OPEN_STATES:
            out.append(TargetState(target, "stopped", due, None, 0))  # cancelled before it was met
        elif wo.sla_paused_at is not None:
            cal = cache.calendar(policy)
            used = cal.between(wo.sla_started_at, wo.sla_paused_at) - wo.sla_paused_seconds
            out.append(TargetState(target, "paused", None, None, minutes * 60 - used))
        elif due is None:
            out.append(TargetState(target, "stopped", due, None, 0))
        elif now >= due:
            out.append(TargetState(target, "breached", due, None, -int((now - due).total_seconds())))
        else:
            limit = minutes * 60 * (100 - policy.at_risk_percent) / 100
            # Business time left is never more than the wall-clock time left: when that is
            # already within the limit, the calendar need not be asked.
            risky = (
                (due - now).total_seconds() <= limit
                or cache.calendar(policy).between(now, due, stop_above=limit) <= limit
            )
            state = "at_risk" if risky else "on_track"
            out.append(TargetState(target, state, due, None, int((due - now).total_seconds())))
    return out


def target_states_many(work_orders, *, now: datetime | None = None) -> dict[int, list[TargetState]]:
    """``target_states`` for a page of orders, loading each policy and calendar once."""
    cache = SlaCache()
    cache.preload_policies({wo.sla_policy_id for wo in work_orders})
    now = now or timezone.now()
    return {wo.pk: target_states(wo, now=now, _cache=cache) for wo in work_orders}


# The columns ``target_states`` reads: list pages and the API load these with their rows.
SLA_STATE_FIELDS = (
    "status", "sla_policy_id", "sla_started_at", "sla_paused_at", "sla_paused_seconds",
    "first_response_due", "arrival_due", "resolution_due",
    "first_response_met_at", "arrival_met_at", "resolution_met_at",
)


class _ValuesRow:
    """A ``values()`` row read through the attribute names ``target_states`` uses."""

    __slots__ = ("row",)

    def __init__(self, row: dict):
        self.row = row

    def __getattr__(self, name):
        try:
            return self.row[name]
        except KeyError:
            raise AttributeError(name) from None


class _BusinessTimeFrom:
    """``Calendar.between(start, end)`` for one ``start`` and many ends: a list page's clocks
    all count from the same now, to deadlines a few days apart.

    The working time of each whole day is added once for the page, in the order and with
    the float operations of ``between``, so every answer is exactly ``between``'s (without
    ``stop_above``): the sum up to the end's day, then that day's spans cut at the end.
    """

    __slots__ = ("cal", "start", "next_day", "total", "latest_end", "before", "last_spans")

    def __init__(self, cal: Calendar, start: datetime):
        self.cal = cal
        self.start = start.astimezone(UTC)
        self.next_day = self.start.astimezone(cal.tz).date() - timedelta(days=1)  # where ``between`` starts
        self.total = 0.0  # business seconds of the days before ``next_day``
        self.latest_end = None  # the latest end of their spans
        self.before: dict[date, tuple] = {}  # day -> (total, latest_end) of the days before it
        self.last_spans: dict[date, list] = {}  # day -> its spans as (max(start, span start), span end)

    def until(self, end: datetime) -> int:
        cal, start = self.cal, self.start
        end = end.astimezone(UTC)
        if end <= start:
            return 0
        if cal.always_open:
            return int((end - start).total_seconds())
        last = end.astimezone(cal.tz).date()
        day = self.next_day
        if day <= last:
            before, total, latest_end = self.before, self.total, self.latest_end
            one_day = timedelta(days=1)
            while day <= last:
                before[day] = (total, latest_end)
                for s, e in cal.spans(day):
                    lo = max(s, start)
                    if e > lo:
                        total += (e - lo).total_seconds()
                    if latest_end is None or e > latest_end:
                        latest_end = e
                day += one_day
            self.next_day, self.total, self.latest_end = day, total, latest_end
        total, latest_end = self.before[last]
        if latest_end is not None and latest_end > end:
            # A span of an earlier day ends after ``end`` (no calendar made of days' hours
            # does that): the earlier days' sums do not apply, count the long way.
            return cal.between(start, end)
        spans = self.last_spans.get(last)
        if spans is None:
            spans = self.last_spans[last] = [(max(s, start), e) for s, e in cal.spans(last)]
        for lo, e in spans:
            hi = min(e, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return int(total)


_NOT_PLANNED = object()


def _page_plan(cache: SlaCache, policy_id):
    """A policy's targets as a page's rows read them: (target, minutes, due column, met
    column, at-risk limit in seconds); None for no SLA."""
    policy = cache.policy(policy_id)
    if policy is None or policy.no_sla:
        return None
    targets = []
    for target in TARGETS:
        minutes = policy.target_minutes(target)
        if minutes is not None:
            limit = minutes * 60 * (100 - policy.at_risk_percent) / 100
            targets.append((target, minutes, f"{target}_due", f"{target}_met_at", limit))
    return policy, targets


def target_states_rows(rows, *, now: datetime | None = None) -> list[list[TargetState]]:
    """``target_states`` for rows read with ``values(*SLA_STATE_FIELDS, ...)``, in their order.

    The same answers, with the work done once per page where it can be: each policy's
    targets and limits, and the business time from now to the deadlines (``_BusinessTimeFrom``).
    """
    cache = SlaCache()
    now = now or timezone.now()
    plans: dict = {}
    counters: dict = {}  # calendar id -> _BusinessTimeFrom(now)
    open_states = OPEN_STATES
    out = []
    for row in rows:
        policy_id = row["sla_policy_id"]
        plan = plans.get(policy_id, _NOT_PLANNED)
        if plan is _NOT_PLANNED:
            plan = plans[policy_id] = _page_plan(cache, policy_id)
        started = row["sla_started_at"]
        if plan is None or started is None:
            out.append([])
            continue
        policy, targets = plan
        is_open = row["status"] in open_states
        paused_at = row["sla_paused_at"]
        used = None
        states = []
        for target, minutes, due_field, met_field, limit in targets:
            due, met = row[due_field], row[met_field]
            if met is not None:
                seconds = int((due - met).total_seconds()) if due else 0
                states.append(TargetState(target, "met" if seconds >= 0 else "met_late", due, met, seconds))
            elif not is_open:
                states.append(TargetState(target, "stopped", due, None, 0))  # cancelled before it was met
            elif paused_at is not None:
                if used is None:
                    used = cache.calendar(policy).between(started, paused_at) - row["sla_paused_seconds"]
                states.append(TargetState(target, "paused", None, None, minutes * 60 - used))
            elif due is None:
                states.append(TargetState(target, "stopped", due, None, 0))
            elif now >= due:
                states.append(TargetState(target, "breached", due, None, -int((now - due).total_seconds())))
            else:
                # As target_states: wall-clock time left within the limit needs no calendar.
                risky = (due - now).total_seconds() <= limit
                if not risky:
                    counter = counters.get(policy.calendar_id)
                    if counter is None:
                        counter = counters[policy.calendar_id] = _BusinessTimeFrom(cache.calendar(policy), now)
                    risky = counter.until(due) <= limit
                states.append(
                    TargetState(target, "at_risk" if risky else "on_track", due, None, int((due - now).total_seconds()))
                )
        out.append(states)
    return out


_LABELS: dict = {}


def _labels(*, escaped: bool = False) -> tuple[dict, dict]:
    """Target and state labels in the current language (HTML-escaped if asked), translated
    once per process (lists of orders show three per row)."""
    key = (get_language(), escaped)
    labels = _LABELS.get(key)
    if labels is None:
        shown = escape if escaped else str
        labels = _LABELS[key] = (
            {value: shown(str(label)) for value, label in SlaTarget.choices},
            {k: shown(str(label)) for k, label in STATE_LABELS.items()},
        )
    return labels


def target_states_json(states: list[TargetState], dt) -> list[dict]:
    """The API's ``sla`` field; ``dt`` formats a datetime (or None)."""
    return target_states_json_rows([states], dt)[0]


def target_states_json_rows(states_by_row: list[list[TargetState]], dt) -> list[list[dict]]:
    """``target_states_json`` for each row of a page (the labels looked up once)."""
    target_labels, state_labels = _labels()
    return [
        [
            {"target": s.target, "label": target_labels[s.target], "state": s.state,
             "state_label": state_labels[s.state], "due": dt(s.due), "met_at": dt(s.met_at), "seconds": s.seconds}
            for s in states
        ]
        for states in states_by_row
    ]


def target_states_html(states: list[TargetState], *, with_due: bool = False) -> str:
    """The badges of one order's targets, escaped, as workorders/_sla.html shows them; with
    ``with_due`` each badge's title names its deadline too (the detail page)."""
    return target_states_html_rows([states], with_due=with_due)[0]


def target_states_html_rows(states_by_row: list[list[TargetState]], *, with_due: bool = False) -> list[str]:
    """``target_states_html`` for each row of a page (labels and formats looked up once)."""
    target_labels, state_labels = _labels(escaped=True)
    formats = _duration_formats(escaped=True)
    heads: dict = {}  # (target, state) -> the badge up to its time, for this page
    if with_due:
        due_word, tz = escape(gettext("due")), timezone.get_current_timezone()
    out = []
    for states in states_by_row:
        parts = []
        for s in states:
            state = s.state
            head = None if with_due else heads.get((s.target, state))
            if head is None:
                label = target_labels[s.target]
                title = label
                if with_due and s.due is not None:
                    title = f"{label} · {due_word} {s.due.astimezone(tz):%Y-%m-%d %H:%M}"
                head = heads[(s.target, state)] = (
                    f'<span class="badge sla-{state}" title="{title}">{label}: {state_labels[state]}'
                )
            if state in ("met", "stopped"):
                parts.append(f"{head}</span> ")
            else:
                # The formats are escaped and the numbers need none: the text comes out escaped.
                parts.append(f"{head} · {_duration_text(state, s.seconds, formats)}</span> ")
        out.append("".join(parts))
    return out


# --- The escalation sweep ---------------------------------------------------------------------

_SWEEP_FIELDS = (
    "id", "status", "priority", "customer_id", "service_type_id", "sla_policy_id", "sla_started_at", "sla_cycle",
    "sla_paused_seconds", "sla_paused_at", "first_response_met_at", "arrival_met_at", "resolution_met_at",
    "first_response_due", "arrival_due", "resolution_due", "next_escalation_at", "created_at",
)


def _insert_escalations(rows: list[tuple], now: datetime) -> set[tuple]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING: the (work order, target, level) rows that are new.

    The unique constraint (work order, cycle, target, level) makes a repeat a no-op,
    whoever repeats it; only the rows this call inserted fire their actions. The rows
    travel as one JSON parameter (see ``core.inserts.bulk_insert``).
    """
    if not rows:
        return set()
    ops = connection.ops
    table = ops.quote_name(Escalation._meta.db_table)
    head = f"INSERT INTO {table} (work_order_id, cycle, target, level_id, percent, due_at, fired_at) "
    tail = ("ON CONFLICT (work_order_id, cycle, target, level_id) DO NOTHING "
            "RETURNING work_order_id, target, level_id")
    sql = (head + "SELECT w, c, t, l, p, d, %s FROM jsonb_to_recordset(%s::jsonb) "
           "AS r(w bigint, c integer, t text, l bigint, p integer, d timestamptz) " + tail)
    params = [now, json_rows([{"w": w, "c": c, "t": t, "l": lv, "p": p, "d": due}
                              for w, c, t, lv, p, due in rows])]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {tuple(r) for r in cursor.fetchall()}


def _update_orders(orders: list[WorkOrder]) -> None:
    """One UPDATE ... FROM for the swept orders' next escalation and priority.

    (Django's bulk_update builds a CASE per row and column, which costs more Python
    time than the whole rest of a sweep of a hundred orders.)
    """
    ops = connection.ops
    table = ops.quote_name(WorkOrder._meta.db_table)
    rows = json_rows([{"id": wo.pk, "next_at": wo.next_escalation_at, "priority": wo.priority} for wo in orders])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS wo SET next_escalation_at = v.next_at, priority = v.priority "
            "FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, next_at timestamptz, priority smallint) "
            "WHERE wo.id = v.id",
            [rows],
        )


def escalation_sweep(*, now: datetime | None = None, batch: int | None = None, rounds: int | None = None) -> int:
    """Fire every escalation level that is due, once each and in order. Returns how many were
    raised (one per order and level in a sweep: see ``_one_per_level``).

    Claims due work orders with ``FOR UPDATE SKIP LOCKED`` so two sweeps (two
    workers, or beat firing twice) share the work instead of repeating it; the
    unique constraint on escalations is the backstop. Levels of one target fire
    in order, never skipped: if several thresholds have passed, each fires now.
    Each batch is one transaction; another batch follows while batches come back full.
    """
    now = now or timezone.now()
    batch = batch or settings.SLA_SWEEP_BATCH
    fired = 0
    for _round in range(rounds or settings.SLA_SWEEP_MAX_ROUNDS):
        claimed, count = _sweep_batch(now=now, batch=batch)
        fired += count
        if claimed < batch:
            break
    return fired


def _sweep_batch(*, now: datetime, batch: int) -> tuple[int, int]:
    from .messages import escalation_messages_add, escalation_payload, escalation_webhooks

    with transaction.atomic():
        orders = list(
            WorkOrder.objects.select_for_update(skip_locked=True)
            .filter(next_escalation_at__lte=now)
            .order_by("next_escalation_at")
            .only(*_SWEEP_FIELDS)[:batch]
        )
        if not orders:
            return 0, 0
        cache = SlaCache()
        cache.preload_policies({wo.sla_policy_id for wo in orders})
        fired_by_order: dict[int, set] = {wo.pk: set() for wo in orders}
        for wo_id, cycle, target, level_id in Escalation.objects.filter(work_order_id__in=fired_by_order).values_list(
            "work_order_id", "cycle", "target", "level_id"
        ):
            fired_by_order[wo_id].add((cycle, target, level_id))
        planned = []  # (wo, target, level, due) in firing order
        for wo in orders:
            policy = cache.policy(wo.sla_policy_id)
            fired = {(t, lv) for c, t, lv in fired_by_order[wo.pk] if c == wo.sla_cycle}
            try:
                pending = _pending_levels(wo, policy, cache, fired)
            except NoWorkingTime:
                logger.exception("SLA calendar of policy %s has no working time", wo.sla_policy_id)
                pending = []
            # Every level whose moment has passed fires now, in order; the first one
            # still ahead is the order's next escalation (nothing ahead: it leaves the index).
            wo.next_escalation_at = None
            for due, percent, target, level in pending:
                if due > now:
                    wo.next_escalation_at = due
                    break
                planned.append((wo, target, level, due))
        inserted = _insert_escalations(
            [(wo.pk, wo.sla_cycle, t, lv.pk, lv.percent, due) for wo, t, lv, due in planned], now
        )
        speaking, merged = _one_per_level(planned, inserted)
        _acknowledge_merged(merged, now)
        events, messages, recipients, hooks = [], [], {}, []
        late, raised = [], []
        for wo, target, level, due in planned:
            if (wo.pk, target, level.pk) not in speaking:
                continue
            raised.append((target, level.percent))
            late_seconds = int((now - due).total_seconds())
            if late_seconds > late_after():
                late.append(late_seconds)
            old_priority = wo.priority
            if level.raise_priority:
                # Once for each target that reached the level, as separate sweeps would have:
                # an outage must not leave a late order less urgent than an on-time one.
                steps = 1 + len(speaking[(wo.pk, target, level.pk)])
                wo.priority = min(WorkOrder.Priority.URGENT, wo.priority + steps)
            events.append(
                WorkOrderEvent(
                    work_order_id=wo.pk, action="escalate", from_status=wo.status, to_status=wo.status,
                    actor_role=R.SYSTEM, note=level.name, created_at=now,
                    data={"target": target, "percent": level.percent, "level": level.pk, "cycle": wo.sla_cycle,
                          "due": due.isoformat(), "priority": [old_priority, wo.priority],
                          # The other targets that reached this level in the same sweep (recorded, not told).
                          "targets": [target] + speaking[(wo.pk, target, level.pk)],
                          **({"late_seconds": late_seconds} if late_seconds > late_after() else {})},
                )
            )
            # The message says the priority as it is now (a later level in this sweep may raise it again).
            messages.append((wo, level, escalation_payload(work_order=wo, target=target, level=level, due=due)))
            hooks.append((wo, target, level, due))
        _update_orders(orders)
        bulk_insert(events)
        escalation_messages_add(messages, now=now, cache=recipients)
        notifications_add(escalation_webhooks(hooks, now=now))
    escalations_raised(raised)  # the metrics (core/metrics.py), once committed
    if speaking:
        logger.info("SLA sweep raised %d escalation(s) on %d work order(s) (%d target(s) merged into them)",
                    len(speaking), len(orders), len(merged))
    if late:
        logger.warning("SLA sweep raised %d escalation(s) late, by up to %d minutes: was the sweep not running?",
                       len(late), max(late) // 60)
    return len(orders), len(speaking)


def late_after() -> int:
    """Seconds after its due time from which an escalation counts as raised late: a few sweep
    intervals (beat runs the sweep every SLA_SWEEP_SECONDS), at least five minutes."""
    return max(300, 3 * settings.SLA_SWEEP_SECONDS)


def _one_per_level(planned: list[tuple], inserted: set[tuple]) -> tuple[dict, list[tuple]]:
    """One escalation per order and level in a sweep. When several targets of one order reach the
    same level in the same sweep (typically the first sweep after the workers were down), the
    earliest due speaks for all: it gets the event and the messages. Returns {speaking row key:
    [the other targets it speaks for]} and the merged rows' keys."""
    speaking: dict[tuple, list[str]] = {}
    first: dict[tuple, tuple] = {}
    merged = []
    for wo, target, level, _due in planned:  # in firing order: earliest due first
        key = (wo.pk, target, level.pk)
        if key not in inserted:
            continue
        if (wo.pk, level.pk) in first:
            speaking[first[(wo.pk, level.pk)]].append(target)
            merged.append((wo.pk, wo.sla_cycle, target, level.pk))
        else:
            first[(wo.pk, level.pk)] = key
            speaking[key] = []
    return speaking, merged


def _acknowledge_merged(merged: list[tuple], now: datetime) -> None:
    """Merged escalations are acknowledged with the one that speaks for them: they stay on record
    (each target did pass the level, and never fires it again) but are not on the open list."""
    if not merged:
        return
    table = connection.ops.quote_name(Escalation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS e SET acknowledged_at = %s FROM jsonb_to_recordset(%s::jsonb) "
            "AS m(w bigint, c integer, t text, l bigint) "
            "WHERE e.work_order_id = m.w AND e.cycle = m.c AND e.target = m.t AND e.level_id = m.l",
            [now, json_rows([{"w": w, "c": c, "t": t, "l": lv} for w, c, t, lv in merged])],
        )


def escalation_acknowledge(*, escalation_id: int, actor) -> Escalation:
    """A dispatcher or manager has seen an escalation: it leaves the open list."""
    if not R.has_role(actor, R.MANAGER, R.DISPATCHER):
        raise Forbidden(_("Only dispatchers and managers handle escalations."))
    with transaction.atomic():
        esc = Escalation.objects.select_for_update().filter(pk=escalation_id).first()
        if esc is None:
            raise NotFound(_("No such escalation."))
        if esc.acknowledged_at is not None:
            raise Conflict(_("This escalation was already acknowledged."))
        esc.acknowledged_at = timezone.now()
        esc.acknowledged_by = actor
        esc.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return esc


@dataclass
class EscalationGroup:
    """One work order on the managers' list: its open escalations, the highest level first."""

    work_order: WorkOrder
    escalations: list  # open, highest level first
    oldest_fired_at: datetime
    late_seconds: int  # how late the latest-raised of them was raised (0: on time)

    @property
    def top(self):
        return self.escalations[0]

    @property
    def others(self):
        return self.escalations[1:]


@dataclass
class EscalationList:
    groups: list[EscalationGroup]
    orders: int  # orders matching the filters (groups shows at most ``limit``)
    late: int  # open escalations raised late among those shown
    upto_id: int  # the newest escalation shown: a bulk acknowledge stops there


def escalation_groups(*, min_percent=None, team=None, older_than: timedelta | None = None, now=None,
                      limit: int = 100) -> EscalationList:
    """Open escalations (not acknowledged, order still being worked on) grouped by work order, the
    orders whose highest level is highest first, then the longest waiting. Filters: the highest
    level at least ``min_percent``; ``team`` ("own": own staff, "unassigned", or a partner
    company's id); the oldest open escalation fired more than ``older_than`` ago. Three queries."""
    from django.db.models import Count, Max, Min

    from .lifecycle import FINAL_STATES

    now = now or timezone.now()
    open_qs = Escalation.objects.filter(acknowledged_at__isnull=True).exclude(work_order__status__in=list(FINAL_STATES))
    if team == "own":
        open_qs = open_qs.filter(work_order__technician__isnull=False,
                                 work_order__technician__partner_company__isnull=True)
    elif team == "unassigned":
        open_qs = open_qs.filter(work_order__technician__isnull=True)
    elif team is not None:
        open_qs = open_qs.filter(work_order__technician__partner_company_id=team)
    per_order = open_qs.values("work_order_id").annotate(top=Max("percent"), first=Min("fired_at"), n=Count("id"))
    if min_percent is not None:
        per_order = per_order.filter(top__gte=min_percent)
    if older_than is not None:
        per_order = per_order.filter(first__lte=now - older_than)
    rows = list(per_order.order_by("-top", "first", "work_order_id")[: limit + 1])
    orders = len(rows) if len(rows) <= limit else per_order.count()
    ids = [row["work_order_id"] for row in rows[:limit]]
    by_order: dict[int, list] = {pk: [] for pk in ids}
    for esc in (open_qs.filter(work_order_id__in=ids)
                .select_related("level", "work_order__customer", "work_order__technician__user",
                                "work_order__technician__partner_company")
                .order_by("-percent", "-fired_at", "-id")):
        by_order[esc.work_order_id].append(esc)
    late_after_seconds = late_after()
    groups, late, upto = [], 0, 0
    for pk in ids:
        escalations = by_order[pk]
        if not escalations:  # acknowledged between the two queries
            continue
        lateness = [int((e.fired_at - e.due_at).total_seconds()) for e in escalations]
        late += sum(1 for seconds in lateness if seconds > late_after_seconds)
        upto = max(upto, max(e.pk for e in escalations))
        groups.append(EscalationGroup(
            work_order=escalations[0].work_order, escalations=escalations,
            oldest_fired_at=min(e.fired_at for e in escalations),
            late_seconds=max((s for s in lateness if s > late_after_seconds), default=0),
        ))
    return EscalationList(groups=groups, orders=orders, late=late, upto_id=upto)


def escalation_level_percents() -> list[int]:
    """The levels' shares of a target, for the list's filter (75, 100, 150 ...)."""
    return sorted(set(EscalationLevel.objects.values_list("percent", flat=True)))


# A bulk acknowledge names at most this many work orders.
ACKNOWLEDGE_MAX_ORDERS = 500


def escalations_acknowledge_many(*, work_order_ids, upto_id: int, actor) -> int:
    """Acknowledge the open escalations of these work orders, those up to ``upto_id`` (what the
    page showed: one raised after it was drawn stays open). Returns how many were acknowledged."""
    if not R.has_role(actor, R.MANAGER, R.DISPATCHER):
        raise Forbidden(gettext("Only dispatchers and managers handle escalations."))
    ids = sorted(set(work_order_ids))
    if not ids:
        raise InvalidInput(gettext("Tick at least one work order."))
    if len(ids) > ACKNOWLEDGE_MAX_ORDERS:
        raise InvalidInput(gettext("Acknowledge at most %(n)d work orders at once.") % {"n": ACKNOWLEDGE_MAX_ORDERS})
    return Escalation.objects.filter(
        work_order_id__in=ids, id__lte=upto_id, acknowledged_at__isnull=True
    ).update(acknowledged_at=timezone.now(), acknowledged_by=actor)
