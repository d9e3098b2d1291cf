"""Who may do what: one question, asked the same way by every page, API view and service.

    from core.permissions import may, require

    if may(request.user, "inventory.handle_part_requests"): ...
    require(actor, "catalog.change_part")                   # Forbidden with the rule's message
    require(user, "workorders.read_feedback", hide=True)    # NotFound: nobody learns it exists

Each rule is a named predicate (django-rules: predicates combine with ``|``, ``&`` and ``~``),
and each app keeps its own rules in its ``permissions.py``, which its ``AppConfig.ready()``
imports: a newcomer looking for "who may change a part" opens ``catalog/permissions.py``.
docs/architecture.md ("Who may do what") lists every rule; tests/core/test_permissions.py
checks that the list and the registered rules agree.

What a user may *see* (which orders, customers, technicians, stock locations) is a queryset,
not a yes/no: those are the scope selectors of each app (``workorder_visible_to``,
``customer_scope``, ``technician_visible_to``, ``stock_locations_visible_to``,
``part_requests_visible_to``), built from the same predicates below. Which transition a role
may fire is the lifecycle table's (``workorders/lifecycle.py``).

The predicates read the user's roles from ``core.roles`` (kept per process: no query) and an
API client's restriction from its key (``core.roles.client_scope``). A superuser passes every
role predicate, as ``core.roles.has_role`` has always answered. Django's ``user.has_perm`` is
asked only where a rule names an admin permission (a storekeeper's): rules' authentication
backend is not installed, so the admin's model permissions (``core.apps.ROLE_PERMISSIONS``)
stay what they were and a check here never adds a query on the work-order paths.
"""

from functools import lru_cache

import rules
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from . import roles as R
from .errors import Forbidden, NotFound

RULES = rules.RuleSet()


def rule(name: str, predicate, *, message=None) -> None:
    """Register ``predicate`` as the rule ``name`` ("app.what"); ``message``: what a refused user
    reads (``require``). Registering a name twice is a mistake and raises."""
    if RULES.rule_exists(name):
        raise ImproperlyConfigured(f"The permission rule {name!r} is registered twice.")
    RULES.add_rule(name, predicate)
    if message is not None:
        _MESSAGES[name] = message


_MESSAGES: dict[str, object] = {}


def may(user, name: str, obj=None) -> bool:
    """Whether ``user`` may do ``name`` (to ``obj``, for a rule about one object)."""
    try:
        predicate = RULES[name]
    except KeyError:
        raise ImproperlyConfigured(f"No permission rule is named {name!r} (see docs/architecture.md).") from None
    return predicate.test(user, obj)


def require(user, name: str, obj=None, *, hide: bool = False, message=None) -> None:
    """Raise unless ``user`` may do ``name``: NotFound with ``hide`` (the object's existence is
    not told), else Forbidden with ``message`` or the rule's own."""
    if may(user, name, obj):
        return
    if hide:
        raise NotFound(_("Not found."))
    raise Forbidden(str(message or _MESSAGES.get(name) or _("You are not allowed to do this.")))


# --- Predicates every app builds its rules from ---------------------------------------------


@rules.predicate
def is_authenticated(user) -> bool:
    return user is not None and user.is_authenticated


@rules.predicate
def is_superuser(user) -> bool:
    return user is not None and user.is_authenticated and user.is_superuser


@lru_cache(maxsize=None)
def role(*names: str):
    """The predicate "holds one of ``names``" (a superuser holds every role)."""
    return rules.predicate(lambda user: R.has_role(user, *names), name="role:" + "|".join(sorted(names)))


is_office = role(*sorted(R.OFFICE_ROLES))  # agents, dispatchers, managers
is_field = role(*sorted(R.FIELD_ROLES))  # own and partner technicians
is_staff_member = role(*R.STAFF_ROLES)  # any of the five staff roles
is_manager = role(R.MANAGER)


@lru_cache(maxsize=None)
def client_scope_in(*kinds: str):
    """The predicate "an API client's service user whose key is restricted to one of ``kinds``"
    ("all": no restriction, "partner", "customer")."""
    def test(user) -> bool:
        return (user is not None and user.is_authenticated and R.INTEGRATION in R.roles_of(user)
                and R.client_scope(user)[0] in kinds)
    return rules.predicate(test, name="client:" + "|".join(kinds))


# An API client's service user whose key has no restriction: it stands for the company.
is_unrestricted_client = client_scope_in("all")
# The office, a superuser, or an unrestricted API client: whoever acts for the whole company.
for_the_company = is_office | is_unrestricted_client


@lru_cache(maxsize=None)
def admin_permission(perm: str):
    """The predicate "holds the admin permission ``perm``" ("app.codename"), granted through a
    group (a storekeeper) or to the user; Django's model backend answers (and keeps it per user object)."""
    return rules.predicate(lambda user: user is not None and user.is_authenticated and user.has_perm(perm),
                           name="perm:" + perm)


@rules.predicate
def has_a_role(user) -> bool:
    """Holds any role (staff or an API client's service user), or is a superuser."""
    return user is not None and user.is_authenticated and (user.is_superuser or bool(R.roles_of(user)))


@rules.predicate
def api_docs_public() -> bool:
    """The company chose to publish the API's schema and docs (``settings.API_DOCS_PUBLIC``)."""
    from django.conf import settings

    return bool(settings.API_DOCS_PUBLIC)


@rules.predicate
def has_admin_access(user) -> bool:
    """The user may sign in to the admin (Django's ``is_staff`` flag)."""
    return user is not None and user.is_authenticated and user.is_staff


def admin_writers(app_label: str, model: str):
    """The predicate "holds a role whose admin permissions change ``model``" (``core.apps.ROLE_PERMISSIONS``:
    the admin and the API give the same roles the same writes)."""
    from .apps import ROLE_PERMISSIONS

    names = sorted(name for name, apps in ROLE_PERMISSIONS.items() if model in apps.get(app_label, ()))
    return role(*names) if names else is_superuser


def allowed_by(name: str):
    """A DRF permission class that asks the rule ``name`` of the request's user (403 otherwise, with
    the rule's message)."""
    from rest_framework.permissions import BasePermission

    class RulePermission(BasePermission):
        @property
        def message(self):
            return str(_MESSAGES.get(name) or _("You are not allowed to do this."))

        def has_permission(self, request, view):
            return may(request.user, name)

    RulePermission.__name__ = RulePermission.__qualname__ = f"Rule[{name}]"
    return RulePermission


def registered() -> list[str]:
    """The names of every registered rule, sorted."""
    return sorted(RULES)


# --- Rules of this app ---------------------------------------------------------------------

rule("core.office_pages", is_office)  # the office's pages: queues, intake, customer pages, imports
rule("core.use_api", has_a_role)  # what each caller then sees is each view's scope selector's business
# The API's schema and docs: a map worth keeping from strangers unless the company publishes it.
rule("core.read_api_docs", api_docs_public | has_a_role | has_admin_access)
