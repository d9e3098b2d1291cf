"""Who reads a customer's internal fields (core/permissions.py). Which customers a user sees at all
is ``customers.selectors.customer_scope``."""

from core.permissions import client_scope_in, is_office, rule

# Internal fields (tier, notes, external reference...): the office, superusers, unrestricted API
# clients, and a client restricted to a customer (its own). Field roles and partner-restricted
# clients read a customer's name, contact details and language only. Roles only: no query, so a
# list of work orders asks it too.
rule("customers.read_internals", is_office | client_scope_in("all", "customer"))
