"""Who may do what to work orders (core/permissions.py).

Which orders a user sees at all is ``selectors.workorder_visible_to`` (and its per-row form
``workorder_is_visible_to``): office roles every order, a technician those assigned to them, a
partner technician their company's, an API client all or its restriction's. Which transition a
role may fire from which state is the lifecycle table's (``lifecycle.TRANSITIONS``).
"""

from core.permissions import client_scope_in, is_office, rule

# The customer's survey answers and the office's call-back (the nested surveys list of the API, the
# escalations page): the office, unrestricted clients and a client restricted to that customer;
# field roles and partner-restricted clients do not read them, whatever orders they see.
rule("workorders.read_feedback", is_office | client_scope_in("all", "customer"))
