"""Role names. Roles are auth groups created by a migration (core 0001)."""

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy as _

from .refcache import VersionedCache

AGENT = "agent"
DISPATCHER = "dispatcher"
TECHNICIAN = "technician"
PARTNER_TECHNICIAN = "partner_technician"
MANAGER = "manager"
# The service user behind an API client (apiclients): it signs in only with the client's key.
INTEGRATION = "integration"

# Actors that are not logged-in users.
SYSTEM = "system"
CUSTOMER = "customer"

STAFF_ROLES = (AGENT, DISPATCHER, TECHNICIAN, PARTNER_TECHNICIAN, MANAGER)
OFFICE_ROLES = frozenset({AGENT, DISPATCHER, MANAGER})
FIELD_ROLES = frozenset({TECHNICIAN, PARTNER_TECHNICIAN})

LABELS = {
    AGENT: _("Agent"),
    DISPATCHER: _("Dispatcher"),
    TECHNICIAN: _("Technician"),
    PARTNER_TECHNICIAN: _("Partner technician"),
    MANAGER: _("Manager"),
    INTEGRATION: _("Integration"),
    SYSTEM: _("System"),
    CUSTOMER: _("Customer"),
}


# Role names by user id, kept per process (core/refcache.py): every staff request asks.
# Any change of group membership (either side of the relation), a group renamed or
# deleted, or a user deleted drops every process's copy within a second (receivers
# connected in core.apps).
ROLE_CACHE = VersionedCache("roles")


def roles_of(user) -> frozenset[str]:
    """The role names of a user, read once per user object (and kept per process, see above)."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        if user.pk is None:
            return frozenset()
        cached = ROLE_CACHE.get(user.pk, lambda: frozenset(user.groups.values_list("name", flat=True)))
        user._role_names = cached
    return cached


def has_role(user, *names: str) -> bool:
    if user is not None and user.is_authenticated and user.is_superuser:
        return True
    return bool(roles_of(user) & set(names))


def is_office(user) -> bool:
    return has_role(user, *OFFICE_ROLES)


def technician_profile(user):
    """The technician profile of ``user`` (``user.technician``, the technicians app's one-to-one),
    or None: an anonymous visitor, or a user without one."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.technician
    except ObjectDoesNotExist:
        return None


# What an API client's service user may see, set on the request's user by the client's key
# (apiclients.auth): ("all",), ("partner", company id) or ("customer", customer id). A user in
# the integration role without it (none of its requests came with a key) sees nothing.
NO_CLIENT_SCOPE = ("none",)


def client_scope(user) -> tuple:
    """The API client's restriction of ``user`` (a service user in the integration role)."""
    return getattr(user, "api_client_scope", NO_CLIENT_SCOPE)


def client_scopes(user) -> frozenset | None:
    """The scopes of the key ``user`` came with (``technicians:write`` ...), set by apiclients.auth;
    None for a person."""
    return getattr(user, "api_client_scopes", None)


def is_unrestricted_client(user) -> bool:
    """Whether ``user`` is an API client's service user with no restriction (its key's scopes were
    checked by apiclients.auth): it stands for the company, as an office role does."""
    return INTEGRATION in roles_of(user) and client_scope(user)[0] == "all"
