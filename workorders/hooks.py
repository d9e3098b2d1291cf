"""The registry of the named hooks the lifecycle table points to.

Each row of ``lifecycle.TRANSITIONS`` names, in order, the ``checks`` that may refuse the
transition (run with the order locked, before anything changes), the ``effects`` that change
the locked order (each returns the fields it changed) and the ``after`` hooks that run once the
order and its event are saved, in the same transaction. ``workorders.services.workorder_transition``
runs them; it knows no transition by name.

Hooks of this app are defined in ``workorders/effects.py``. An app above this one (dispatch,
completion, ...) registers its own from its ``AppConfig.ready()``, so that this app never imports
it. A name in the table that nothing registered is never skipped: ``resolve`` raises
ImproperlyConfigured, ``manage.py check`` reports it (``workorders.E003``, ``workorders/checks.py``)
and the transition refuses to run before it locks anything.

An effect may also have a set-based form (``effect_many``), which ``workorders.services.assign``
runs on many orders at once; it reads the same row of the table (``resolve_many``).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured

# The three kinds of hook, as the table's fields are named.
CHECKS, EFFECTS, AFTER = "checks", "effects", "after"
KINDS = (CHECKS, EFFECTS, AFTER)


@dataclass
class Ctx:
    """One transition in progress, as its hooks see it. ``work_order`` is locked; ``target`` is
    the state it goes to (already set on the order when the effects run)."""

    work_order: object  # WorkOrder, locked (select_for_update) for the whole transaction
    transition: object  # lifecycle.Transition
    from_status: str
    target: str
    now: datetime
    actor: object  # the user, or None for the system and the customer
    role: str  # the role in which the actor fires it (``services._acting_role``)
    note: str = ""
    latitude: object = None
    longitude: object = None
    technician_id: int | None = None  # asked for (assign, re-assign)
    appointment_start: datetime | None = None
    appointment_end: datetime | None = None
    event_data: dict = field(default_factory=dict)  # kept in the transition's event
    technician: object = None  # the technician row, once a check has locked it


_REGISTRY: dict[str, dict[str, Callable]] = {kind: {} for kind in KINDS}
# Set-based forms of effects, for a path that fires one transition on many orders at once
# (``workorders.services.assign``): many(ctxs) -> the fields changed, one list per Ctx.
_MANY: dict[str, Callable] = {}


def register(kind: str, name: str, fn: Callable) -> Callable:
    """Register ``fn`` as the hook ``name`` of ``kind`` (checks, effects or after); registering a
    name again replaces it. A check takes the Ctx and raises to refuse; an effect takes the Ctx
    and returns the fields it changed; an after hook takes the Ctx."""
    if kind not in _REGISTRY:
        raise ImproperlyConfigured(f"{kind!r} is not a kind of lifecycle hook ({', '.join(KINDS)}).")
    _REGISTRY[kind][name] = fn
    return fn


def check(name: str):
    """Decorator: register a check."""
    return lambda fn: register(CHECKS, name, fn)


def effect(name: str):
    """Decorator: register an effect."""
    return lambda fn: register(EFFECTS, name, fn)


def after(name: str):
    """Decorator: register an after hook."""
    return lambda fn: register(AFTER, name, fn)


def effect_many(name: str):
    """Decorator: register the set-based form of the effect ``name``."""
    def register_many(fn):
        _MANY[name] = fn
        return fn
    return register_many


def resolve_many(transition) -> tuple[Callable, ...]:
    """The set-based forms of one transition's effects, in the table's order (ImproperlyConfigured
    when one has none: the set-based path never runs a transition without one of its effects)."""
    try:
        return tuple(_MANY[name] for name in transition.effects)
    except KeyError as exc:
        raise ImproperlyConfigured(
            f"The {transition.action!r} transition's effect {exc.args[0]!r} has no set-based form."
        ) from None


def missing(transitions) -> list[str]:
    """One sentence per name in ``transitions`` (the table's rows) that no hook answers to."""
    return [
        f"The {transition.action!r} transition names the {kind[:-1] if kind != AFTER else kind} hook "
        f"{name!r}, which nothing registered."
        for transition in transitions
        for kind in KINDS
        for name in getattr(transition, kind)
        if name not in _REGISTRY[kind]
    ]


def resolve(transition) -> tuple[tuple[Callable, ...], tuple[Callable, ...], tuple[Callable, ...]]:
    """The functions of one transition's checks, effects and after hooks, in the table's order.

    Raises ImproperlyConfigured when one is not registered: a transition that ran without, say,
    its SLA clock or its stock release would leave the order wrong, so it never runs half.
    """
    try:
        return tuple(tuple(_REGISTRY[kind][name] for name in getattr(transition, kind)) for kind in KINDS)
    except KeyError:
        raise ImproperlyConfigured(" ".join(missing([transition]))) from None
