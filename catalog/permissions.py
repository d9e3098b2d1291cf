"""Who may change the catalog and read the company's stock totals (core/permissions.py)."""

from django.utils.translation import gettext_lazy as _

from core.permissions import admin_writers, for_the_company, is_unrestricted_client, rule

# The roles that change parts and service types in the admin (managers), superusers and API clients
# with no restriction (their key's scope ``catalog:write`` is checked when it signs in).
rule("catalog.change_part", admin_writers("catalog", "part") | is_unrestricted_client,
     message=_("Only managers may change the catalog."))
rule("catalog.change_servicetype", admin_writers("catalog", "servicetype") | is_unrestricted_client,
     message=_("Only managers may change the catalog."))
# Each part's stock across every location: the office and unrestricted clients; field roles and
# restricted clients read their own stock where they hold it (the stock API).
rule("catalog.read_stock_totals", for_the_company)
