"""Who may change technicians (core/permissions.py)."""

from django.utils.translation import gettext_lazy as _

from core.permissions import admin_writers, is_unrestricted_client, rule

# The roles that change technicians in the admin (dispatchers, managers), superusers and API clients
# with no restriction (scope ``technicians:write``). They also read every technician's home address;
# the others read only their own (technicians/api.py).
rule("technicians.change", admin_writers("technicians", "technician") | is_unrestricted_client,
     message=_("Only dispatchers and managers may change technicians."))
