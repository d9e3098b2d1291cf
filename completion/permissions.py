"""Who may hand completed work over for invoicing (core/permissions.py)."""

from django.utils.translation import gettext_lazy as _

from core.permissions import is_manager, is_unrestricted_client, rule

# Managers, and API clients with no restriction (the accounting system's, with the scope ``invoicing``).
rule("completion.hand_over_for_invoicing", is_manager | is_unrestricted_client,
     message=_("Only managers hand work over for invoicing."))
