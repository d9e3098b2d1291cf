"""The flow of a service type: the optional steps of its orders and who may fire each transition.

The fields live on ``ServiceType`` (``requires_review``, ``requires_follow_up``,
``requires_signature``, ``before_photos_min``, ``after_photos_min``, ``requires_parts_approval``,
``transition_roles``); ``flow_of`` reads them as one hashable value. The lifecycle's table is in
``workorders.lifecycle``, above this app: it derives each type's transitions from the table and
the flow, and registers here (``register``, from ``WorkordersConfig.ready()``) the list of its
transitions and roles (the admin's and the API's choices) and the function that says what is
wrong with a flow (a state with no way out, a step nobody may perform), so that a flow that would
strand orders is refused on save (``ServiceType.clean``, the API's serializer).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

# The most photos a step may ask for (a completion report takes at most ten).
MAX_PHOTOS = 10


@dataclass(frozen=True)
class Flow:
    review: bool = False  # a manager reviews the completion report before the order moves on
    follow_up: bool = True  # follow-up (survey, call-back) before closing; off: closes once resolved
    signature: bool = True  # the completion report needs the customer's signature
    before_photos: int = 0  # photos taken on arrival, before the work starts
    after_photos: int = 0  # on-site photos on the completion report
    parts_approval: bool = False  # a report that records parts used waits for a manager's approval
    # Who may fire each transition where narrower than the table: ((action, frozenset(roles)), ...), sorted.
    roles: tuple = ()

    def roles_for(self, action: str, default: frozenset) -> frozenset:
        for name, roles in self.roles:
            if name == action:
                return default & roles
        return default


DEFAULT_FLOW = Flow()


def flow_of(service_type) -> Flow:
    """The flow of ``service_type`` (a row, or None: the default flow)."""
    if service_type is None:
        return DEFAULT_FLOW
    roles = service_type.transition_roles or {}
    return Flow(
        review=bool(service_type.requires_review),
        follow_up=bool(service_type.requires_follow_up),
        signature=bool(service_type.requires_signature),
        before_photos=int(service_type.before_photos_min or 0),
        after_photos=int(service_type.after_photos_min or 0),
        parts_approval=bool(service_type.requires_parts_approval),
        roles=tuple(sorted((str(action), frozenset(names)) for action, names in roles.items()
                           if isinstance(names, list | tuple))),
    )


@dataclass(frozen=True)
class FlowRules:
    # [(action, label, roles of the table's row)], in the table's order
    actions: tuple
    # problems(flow) -> [sentence, ...]: what would strand orders (empty: the flow is fine)
    problems: Callable


_RULES: list[FlowRules] = []


def register(*, actions, problems: Callable) -> None:
    """The lifecycle's transitions and its check of a flow (``workorders.apps``); again replaces."""
    _RULES[:] = [FlowRules(tuple(actions), problems)]


def rules() -> FlowRules:
    if not _RULES:
        raise ImproperlyConfigured("No lifecycle registered its flow rules: is workorders in INSTALLED_APPS?")
    return _RULES[0]


def flow_problems(service_type) -> list[str]:
    """Why the flow of ``service_type`` (unsaved values included) would strand orders; empty if it would not."""
    problems = []
    if max(service_type.before_photos_min or 0, service_type.after_photos_min or 0) > MAX_PHOTOS:
        problems.append(_("Ask for at most %(n)d photos.") % {"n": MAX_PHOTOS})
    roles = service_type.transition_roles
    if not isinstance(roles, dict):
        return [*problems, _("The roles per transition must map an action to a list of roles.")]
    known = {action: set(table_roles) for action, _label, table_roles in rules().actions}
    for action, names in roles.items():
        if action not in known:
            problems.append(_("Unknown transition %(action)s.") % {"action": action})
        elif not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
            problems.append(_("The roles of %(action)s must be a list of role names.") % {"action": action})
        elif set(names) - known[action]:
            problems.append(_("%(action)s cannot be given to %(roles)s: the lifecycle does not allow it.")
                            % {"action": action, "roles": ", ".join(sorted(set(names) - known[action]))})
    if problems:
        return problems
    return list(rules().problems(flow_of(service_type)))
