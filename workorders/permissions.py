"""Who may do what to work orders (core/permissions.py).

Which orders a user sees at all is ``selectors.workorder_visible_to`` (and its per-row form
``workorder_is_visible_to``): office roles every order, a technician those assigned to them, a
partner technician their company's, an API client all or its restriction's. Which transition a
role may fire from which state is the lifecycle table's (``lifecycle.TRANSITIONS``).
"""

from django.utils.translation import gettext_lazy as _

from core import roles as R
from core.permissions import client_scope_in, for_the_company, is_manager, is_office, is_staff_member, role, rule

# The customer's survey answers and the office's call-back (the nested surveys list of the API, the
# escalations page): the office, unrestricted clients and a client restricted to that customer;
# field roles and partner-restricted clients do not read them, whatever orders they see.
rule("workorders.read_feedback", is_office | client_scope_in("all", "customer"))
rule("workorders.take_requests", is_office,
     message=_("Only agents, dispatchers and managers may take requests."))  # the staff intake page
rule("workorders.handle_escalations", role(R.MANAGER, R.DISPATCHER),
     message=_("Only dispatchers and managers handle escalations."))
rule("workorders.record_callback", is_manager, message=_("Only managers record call-backs."))
# The staff queue, search and an order's page (each sees the orders of its scope, above).
rule("workorders.open_staff_pages", is_staff_member)
# A new order from the API (the pages: take_requests): an API client restricted to a partner company
# or a customer creates none (it could not see it).
rule("workorders.create", for_the_company, message=_("Only agents, dispatchers and managers may create work orders."))
rule("workorders.change_details", is_office | role(R.INTEGRATION),
     message=_("Only agents, dispatchers and managers may change a work order's details."))
