"""Who uses the technicians' phone pages (core/permissions.py). Which jobs they see is
``workorders.selectors.workorder_visible_to``; which buttons, the lifecycle table (and the service
type's flow)."""

from core.permissions import is_field, rule

# The phone pages: technicians and partner technicians (a superuser too, acting as a technician).
rule("field.use_phone_pages", is_field)
