"""The work-order lifecycle: the one table of allowed transitions and of what each one does.

Pages, the API, admin actions and Celery tasks all go through
``workorders.services.workorder_transition``, which reads this table; nothing
else sets ``WorkOrder.status``. Tests are driven from the same table.

Each row names its hooks: ``checks`` (may refuse), ``effects`` (change the locked order) and
``after`` (run once the order and its event are saved). The names resolve through the registry
in ``workorders/hooks.py``; this app's hooks are in ``workorders/effects.py``, and an app above
this one registers its own from its ``AppConfig.ready()``.
"""

from collections.abc import Callable
from functools import lru_cache
from dataclasses import dataclass, replace

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.flows import DEFAULT_FLOW, Flow
from catalog.selectors import service_type_flow
from core import roles as R


class Status(models.TextChoices):
    NEW = "new", _("New")  # 待受理
    ASSIGNED = "assigned", _("Assigned")  # 已派单
    ACCEPTED = "accepted", _("Accepted")  # 已接单
    EN_ROUTE = "en_route", _("On the way")  # 已出发
    IN_PROGRESS = "in_progress", _("In progress")  # 服务中
    ON_HOLD = "on_hold", _("On hold")  # 挂起
    RESOLVED = "resolved", _("Resolved")  # 已解决
    FOLLOW_UP = "follow_up", _("Follow-up")  # 待回访
    CLOSED = "closed", _("Closed")  # 已关闭
    CANCELLED = "cancelled", _("Cancelled")  # 已取消


# Plain words for the customer's tracking page.
CUSTOMER_WORDING = {
    Status.NEW: _("We have received your request and will assign a technician soon."),
    Status.ASSIGNED: _("A technician has been assigned to your request."),
    Status.ACCEPTED: _("Your technician has confirmed the job."),
    Status.EN_ROUTE: _("Your technician is on the way."),
    Status.IN_PROGRESS: _("Your technician is working on site."),
    Status.ON_HOLD: _("The work is paused for now; we will be in touch."),
    Status.RESOLVED: _("The work is done."),
    Status.FOLLOW_UP: _("The work is done. We would like to hear how it went."),
    Status.CLOSED: _("This request is closed. Thank you."),
    Status.CANCELLED: _("This request was cancelled."),
}

OPEN_STATES = frozenset(
    {Status.NEW, Status.ASSIGNED, Status.ACCEPTED, Status.EN_ROUTE, Status.IN_PROGRESS, Status.ON_HOLD}
)
FINAL_STATES = frozenset({Status.CLOSED, Status.CANCELLED})

# A special target: resume returns to the state the order was in before the hold.
PREVIOUS = "previous"

OFFICE = frozenset({R.AGENT, R.DISPATCHER, R.MANAGER})
FIELD = frozenset({R.TECHNICIAN, R.PARTNER_TECHNICIAN})


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset
    target: str
    roles: frozenset
    reason_required: bool = False
    needs_technician: bool = False
    # Roles that may fire the transition from fewer states than ``sources``: ((role, states), ...).
    # The customer cancels only before a technician is on the way.
    role_sources: tuple = ()
    # Named hooks (workorders/hooks.py), run in this order by workorder_transition.
    checks: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    # The sentence the customer's tracking page shows for this transition's event (its history;
    # never the event's note). ``customer_text_named``: instead, when the event names the
    # technician, with their first name as ``%(name)s``.
    customer_text: str = ""
    customer_text_named: str = ""

    def target_for(self, work_order) -> str:
        """The state this transition takes ``work_order`` to (resume: the one it left for the hold)."""
        if self.target == PREVIOUS:
            return work_order.hold_return_status or Status.ASSIGNED
        return self.target

    def sources_for(self, role: str) -> frozenset:
        """The states ``role`` may fire this transition from."""
        for name, states in self.role_sources:
            if name == role:
                return states
        return self.sources


# Every transition also moves the SLA clock, last of its effects (workorders/sla.py: targets met,
# pause, resume, restart; new deadlines), and keeps the technician's position when one acting in
# a field role sends it, first of its after hooks.
EVERY_EFFECT_LAST = ("sla.clock",)
EVERY_AFTER_FIRST = ("technician.position",)


def _t(action, label, sources, target, roles, role_sources=None, checks=(), effects=(), after=(), **kw):
    narrowed = tuple((role, frozenset(states)) for role, states in (role_sources or {}).items())
    return Transition(action, label, frozenset(sources), target, frozenset(roles), role_sources=narrowed,
                      checks=tuple(checks), effects=(*effects, *EVERY_EFFECT_LAST), after=(*EVERY_AFTER_FIRST, *after),
                      **kw)


# What the customer reads when a technician is given the order: without, and with, the first name.
ASSIGNED_TEXTS = {"customer_text": _("A technician was assigned to your request."),
                  "customer_text_named": _("Technician %(name)s was assigned to your request.")}
# Hooks shared by several rows.
GIVE = ("technician.lock_active", "technician.assignable")  # checks before giving the order to a technician
TAKE_BACK = ("technician.release", "stock.release")  # the technician and the parts the order held

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        _t("assign", _("Assign"), {Status.NEW}, Status.ASSIGNED,
           {R.DISPATCHER, R.MANAGER, R.SYSTEM, R.INTEGRATION}, needs_technician=True,
           checks=GIVE, effects=("technician.give", "stock.reserve"),
           **ASSIGNED_TEXTS),
        _t("reassign", _("Re-assign"), {Status.ASSIGNED, Status.ACCEPTED}, Status.ASSIGNED,
           {R.DISPATCHER, R.MANAGER, R.SYSTEM, R.INTEGRATION}, needs_technician=True,
           checks=("technician.lock_active", "technician.booking_changes", "technician.assignable"),
           effects=("technician.give", "stock.release_previous", "stock.reserve"),
           **ASSIGNED_TEXTS),
        _t("unassign", _("Un-assign"), {Status.ASSIGNED, Status.ACCEPTED}, Status.NEW,
           {R.DISPATCHER, R.MANAGER, R.INTEGRATION}, effects=TAKE_BACK,
           customer_text=_("We are arranging a technician for you.")),
        _t("reject", _("Reject"), {Status.ASSIGNED}, Status.NEW, FIELD, reason_required=True, effects=TAKE_BACK,
           customer_text=_("We are arranging a technician for you.")),
        _t("accept", _("Accept"), {Status.ASSIGNED}, Status.ACCEPTED, FIELD, effects=("stamp.accepted_at",),
           customer_text=_("Your technician confirmed the job.")),
        _t("depart", _("Depart"), {Status.ACCEPTED}, Status.EN_ROUTE, FIELD,
           customer_text=_("Your technician is on the way.")),
        _t("arrive", _("Arrive"), {Status.EN_ROUTE}, Status.IN_PROGRESS, FIELD, checks=("flow.before_photos",),
           effects=("stamp.arrived_at",),
           customer_text=_("Your technician arrived and started work.")),
        _t("hold", _("Put on hold"), {Status.ACCEPTED, Status.EN_ROUTE, Status.IN_PROGRESS}, Status.ON_HOLD,
           FIELD | {R.DISPATCHER, R.MANAGER, R.INTEGRATION}, reason_required=True, effects=("hold.remember",),
           customer_text=_("The work was paused.")),
        _t("resume", _("Resume"), {Status.ON_HOLD}, PREVIOUS,
           FIELD | {R.DISPATCHER, R.MANAGER, R.INTEGRATION}, effects=("hold.return",),
           customer_text=_("The work resumed.")),
        _t("complete", _("Complete"), {Status.IN_PROGRESS}, Status.RESOLVED, FIELD, checks=("flow.completion_report",),
           effects=("stamp.resolved_at",), after=("survey.send_unless_review",),
           customer_text=_("The work was completed.")),
        _t("follow_up", _("Send for follow-up"), {Status.RESOLVED}, Status.FOLLOW_UP, {R.SYSTEM, R.MANAGER},
           after=("survey.start",),
           customer_text=_("We asked how the service went.")),
        _t("close", _("Close"), {Status.FOLLOW_UP}, Status.CLOSED, {R.CUSTOMER, R.MANAGER, R.SYSTEM},
           effects=("stamp.closed_at",),
           customer_text=_("Your request was closed.")),
        _t("reopen", _("Reopen"), {Status.FOLLOW_UP, Status.CLOSED}, Status.NEW, {R.MANAGER, R.AGENT},
           reason_required=True, effects=(*TAKE_BACK, "stamps.clear"), after=("survey.void",),
           customer_text=_("Your request was reopened.")),
        _t("cancel", _("Cancel"), OPEN_STATES, Status.CANCELLED, OFFICE | {R.INTEGRATION, R.CUSTOMER},
           reason_required=True,
           role_sources={R.CUSTOMER: {Status.NEW, Status.ASSIGNED, Status.ACCEPTED}},
           effects=("stock.release", "stamp.closed_at"),
           customer_text=_("Your request was cancelled.")),
    ]
}


# Events that are not transitions, as the pages name them.
OTHER_EVENT_LABELS = {
    "create": _("Created"),
    "update": _("Details changed"),
    "customer_note": _("Customer sent the request again"),
    "note": _("Note added"),
    "escalate": _("SLA escalation"),
    "survey": _("Survey answered"),
    "report_approved": _("Report approved"),
    "report_sent_back": _("Report sent back"),
    "report_revised": _("Report revised"),
    "reschedule": _("Appointment moved by the customer"),
}


def event_label(action: str) -> str:
    """How the pages name an event: its transition's label, else one of the other events'."""
    transition = TRANSITIONS.get(action)
    if transition is not None:
        return str(transition.label)
    return str(OTHER_EVENT_LABELS.get(action, action))


def available_actions(status: str, role_names, service_type_id: int | None = None, *,
                      flow: Flow | None = None) -> list[Transition]:
    """Transitions a holder of ``role_names`` could fire from ``status`` on an order of the service
    type ``service_type_id`` (its flow; None: the table as it stands), object scope aside. ``flow``:
    the type's flow where the caller has it (read from a service type row it loaded)."""
    return list(_available_actions(status, frozenset(role_names), flow or flow_for(service_type_id)))


@lru_cache(maxsize=1024)  # one answer per status, set of roles and flow (a flow is a value)
def _available_actions(status: str, names: frozenset, flow: Flow) -> tuple[Transition, ...]:
    return tuple(t for t in derive(flow).values() if any(status in t.sources_for(role) for role in t.roles & names))


# --- A flow per service type ----------------------------------------------------------------
# The table above is the one source; a service type's flow (catalog.flows: its optional steps and
# who may fire each transition, edited in admin) derives that type's rows from it. The service
# types are kept per process with invalidation on save (catalog.selectors), so reading a type's
# rows costs no query; the derived rows are computed once per distinct flow.


def flow_for(service_type_id: int | None) -> Flow:
    """The flow of the service type ``service_type_id`` (the default flow for None or an unknown id)."""
    if service_type_id is None:
        return DEFAULT_FLOW
    return service_type_flow(service_type_id)


def transitions_for(service_type_id: int | None) -> dict[str, Transition]:
    """The transitions of an order of the service type ``service_type_id``: the table's rows, as
    its flow narrows or extends them (``derive``)."""
    return derive(flow_for(service_type_id))


def transition_for(action: str, service_type_id: int | None) -> Transition | None:
    return transitions_for(service_type_id).get(action)


@lru_cache(maxsize=256)
def derive(flow: Flow) -> dict[str, Transition]:
    """The table's rows for ``flow``. The default flow gets the table itself.

    - The roles of a transition: the flow's, where it names some (a subset of the row's roles).
    - No follow-up: ``close`` also leaves from ``resolved`` (the order closes once resolved, and
      reviewed where a review is asked for; ``survey.send_unless_review`` fires it) and
      ``follow_up`` leaves from nowhere. Orders already waiting in ``follow_up`` (the flow changed
      under them) still close from there, as before.
    """
    if flow == DEFAULT_FLOW:
        return TRANSITIONS
    rows = {action: replace(t, roles=flow.roles_for(action, t.roles)) for action, t in TRANSITIONS.items()}
    if not flow.follow_up:
        rows["close"] = replace(rows["close"], sources=rows["close"].sources | {Status.RESOLVED})
        rows["follow_up"] = replace(rows["follow_up"], sources=frozenset())
    return rows


def moves_on_after_resolved(flow: Flow) -> str:
    """The transition that takes a resolved order on: to follow-up, or straight to closed."""
    return "follow_up" if flow.follow_up else "close"


def review_needed(flow: Flow, *, parts_used: int = 0) -> bool:
    """Whether a resolved order waits for a manager's approval of its report before moving on:
    a review asked for, or parts approval and parts used on the report."""
    return flow.review or (flow.parts_approval and parts_used > 0)


# The steps every order takes to be closed: each needs a role that may fire it.
MAIN_PATH = ("assign", "accept", "depart", "arrive", "complete")


def flow_problems(flow: Flow) -> list[str]:
    """Why ``flow`` would strand orders, one sentence each (empty: it would not).

    - Each step of the path to closed needs a role that may fire it.
    - The roles that the code itself fires a step in must keep it: the system moves a resolved
      order on when no review is asked for, the approving manager does when one is; with follow-up,
      a good survey answer closes as the customer, an expired survey as the system and a call-back
      as a manager.
    - Every state but closed and cancelled needs a transition out that some role may fire.
    """
    rows = derive(flow)
    problems = []
    on = moves_on_after_resolved(flow)
    needed = [*MAIN_PATH, on] + (["close"] if flow.follow_up else [])
    for action in needed:
        if not rows[action].roles:
            problems.append(gettext("No role may %(action)s: orders could never get past that step.")
                            % {"action": str(rows[action].label).lower()})
    required: dict[tuple[str, str], str] = {}
    if flow.review or flow.parts_approval:
        required[(on, R.MANAGER)] = gettext("a manager's approval of a completion report moves the order on")
    if not flow.review:
        required[(on, R.SYSTEM)] = gettext("the system moves a resolved order on by itself")
    if flow.follow_up:
        required[("close", R.CUSTOMER)] = gettext("a good survey answer closes the order as the customer")
        required[("close", R.SYSTEM)] = gettext("an expired survey closes the order as the system")
        required[("close", R.MANAGER)] = gettext("a manager closes the order after a call-back")
    for (action, role), why in required.items():
        if rows[action].roles and role not in rows[action].roles:
            problems.append(gettext("%(role)s must keep %(action)s: %(why)s.") % {
                "role": R.LABELS.get(role, role), "action": str(rows[action].label).lower(), "why": why})
    for state in Status:
        if state in FINAL_STATES:
            continue
        if not any(state in t.sources_for(role) for t in rows.values() for role in t.roles):
            problems.append(gettext("Orders that are %(state)s would have no way out: no role may move them on.")
                            % {"state": str(state.label).lower()})
    return problems


# The checks that decide whether a technician may be given an order ("assign",
# "reassign"): skills, partner scope, shift, bookings, capacity. They belong to
# the app that knows those rules (dispatch), which registers them from its
# AppConfig.ready(); this app calls them without importing it.
@dataclass(frozen=True)
class TechnicianCheck:
    # one(*, work_order, technician, appointment_start, appointment_end, now) -> None; raises
    # InvalidInput or Conflict with the reasons. Called with both rows locked.
    one: Callable
    # many(*, pairs, now) -> (accepted, refused) for [(work order, technician id, window or None)];
    # the set-based form of ``one`` for ``workorders.services.assign``. None where unused.
    many: Callable | None = None


_TECHNICIAN_CHECKS: dict[str, TechnicianCheck] = {}


def register_check(action: str, *, one: Callable, many: Callable | None = None) -> None:
    """Register the check a transition that gives the order to a technician runs (one per action;
    registering again replaces it)."""
    transition = TRANSITIONS.get(action)
    if transition is None or not transition.needs_technician:
        raise ImproperlyConfigured(f"{action!r} is not a transition that gives the order to a technician.")
    _TECHNICIAN_CHECKS[action] = TechnicianCheck(one=one, many=many)


def technician_check(action: str, *, many: bool = False) -> Callable:
    """The registered check for ``action`` (its set-based form with ``many``).

    Raises ImproperlyConfigured when none is registered: assigning without the
    rules would give orders to technicians without the skills, off shift or
    over capacity, so it is never done silently.
    """
    check = _TECHNICIAN_CHECKS.get(action)
    found = check and (check.many if many else check.one)
    if found is None:
        kind = "set-based " if many else ""
        raise ImproperlyConfigured(
            f"No {kind}technician check is registered for {action!r}: the dispatch app registers them "
            "in DispatchConfig.ready(); is it in INSTALLED_APPS?"
        )
    return found
