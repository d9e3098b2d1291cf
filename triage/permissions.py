"""Who is offered triage suggestions (core/permissions.py)."""

from core.permissions import for_the_company, rule

# The office (the new order's page, "Accept") and API clients with no restriction (scope ``triage``).
rule("triage.suggest", for_the_company)
