"""Who may open the preventive-maintenance calendar (core/permissions.py); the plans themselves
are edited in the admin, with its model permissions (core/apps.py ROLE_PERMISSIONS)."""

from django.utils.translation import gettext_lazy as _

from core import roles as R
from core.permissions import role, rule

rule("maintenance.view_calendar", role(R.MANAGER, R.DISPATCHER),
     message=_("The maintenance calendar is for managers and dispatchers."))
