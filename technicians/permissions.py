"""Who may change technicians (core/permissions.py)."""

from django.utils.translation import gettext_lazy as _

from core.permissions import admin_writers, client_scope_in, is_unrestricted_client, rule

# The roles that change technicians in the admin (dispatchers, managers), superusers and API clients
# (scope ``technicians:write``) with no restriction, or restricted to a partner company: those create
# and change only that company's technicians (the only ones they see; technicians/services.py). They
# also read the home addresses of the technicians they see; the others read only their own
# (technicians/api.py).
rule("technicians.change",
     admin_writers("technicians", "technician") | is_unrestricted_client | client_scope_in("partner"),
     message=_("Only dispatchers and managers may change technicians."))
