"""Who completes, reviews and hands over completed work (core/permissions.py). Which orders a
technician may complete is their scope (``workorders.selectors.workorder_visible_to``: 404 outside it)."""

from django.utils.translation import gettext_lazy as _

from core.permissions import is_field, is_manager, is_unrestricted_client, rule

# Managers, and API clients with no restriction (the accounting system's, with the scope ``invoicing``).
rule("completion.hand_over_for_invoicing", is_manager | is_unrestricted_client,
     message=_("Only managers hand work over for invoicing."))
rule("completion.complete", is_field, message=_("Only a technician can complete a work order."))
rule("completion.revise", is_field, message=_("Only a technician can revise a completion report."))
# The review of completion reports (and the parts approval a service type's flow may ask for).
rule("completion.review", is_manager, message=_("Only a manager can review completion reports."))
