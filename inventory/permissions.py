"""Who may move stock, handle part requests and set reorder points (core/permissions.py). Which
stock locations and part requests a user sees at all is ``selectors.stock_locations_visible_to``
and ``requests.part_requests_visible_to``."""

from django.utils.translation import gettext_lazy as _

from core.permissions import (
    admin_permission, for_the_company, has_admin_access, is_field, is_manager, is_staff_member, rule,
)

# A storekeeper: a user given this admin permission (directly or through a group of their own).
HANDLE_PERMISSION = "inventory.handle_partrequest"
is_storekeeper = admin_permission(HANDLE_PERMISSION)

rule("inventory.move_stock", is_manager, message=_("Only a manager can receive, transfer or adjust stock."))
rule("inventory.handle_part_requests", is_manager | is_storekeeper,
     message=_("Only a manager or a storekeeper can approve, reject or ship part requests."))
rule("inventory.set_reorder_points", is_manager | is_storekeeper,
     message=_("Only a manager or a storekeeper can set reorder points."))
rule("inventory.request_parts", is_field, message=_("Only a technician can request parts."))
# Every part request (the others see their own, if any): the office, storekeepers, unrestricted clients.
rule("inventory.read_every_part_request", for_the_company | is_storekeeper)
# The stock pages: any staff role (each sees the locations it may); the admin's links: managers with admin access.
rule("inventory.open_stock_pages", is_staff_member)
rule("inventory.change_locations", is_manager & has_admin_access)
