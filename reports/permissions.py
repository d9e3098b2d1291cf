"""Who opens the reports (core/permissions.py)."""

from django.utils.translation import gettext_lazy as _

from core.permissions import is_manager, rule

# The KPI dashboard, the costs and SLA reports and their exports (a partner's figures included).
rule("reports.view", is_manager, message=_("Reports are for managers."))
