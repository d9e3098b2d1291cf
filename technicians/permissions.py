"""Who may change technicians (core/permissions.py)."""

import rules
from django.utils.translation import gettext_lazy as _

from core import roles as R
from core.permissions import admin_writers, client_scope_in, is_unrestricted_client, rule

# The roles that change technicians in the admin (dispatchers, managers), superusers and API clients
# (scope ``technicians:write``) with no restriction, or restricted to a partner company: those create
# and change only that company's technicians (the only ones they see; technicians/services.py).
_changes_technicians = admin_writers("technicians", "technician") | is_unrestricted_client | client_scope_in("partner")
rule("technicians.change", _changes_technicians,
     message=_("Only dispatchers and managers may change technicians."))


@rules.predicate
def _not_a_read_only_key(user) -> bool:
    """A person, or an API client whose key has ``technicians:write`` (a key's scopes are checked
    on its writes by apiclients.auth; a rule would otherwise pass a read-only key)."""
    scopes = R.client_scopes(user)
    return scopes is None or "technicians:write" in scopes


# The home addresses of the technicians one sees: who changes technicians, with a key that may.
rule("technicians.read_home_addresses", _changes_technicians & _not_a_read_only_key,
     message=_("Only dispatchers and managers may change technicians."))
