"""Every change to a work order goes through a function of this package.

Each function is one transaction: it validates, changes the rows, writes the audit event, and
leaves nothing half-done when it raises. The package's modules, by what they change:

- ``create``: a new order (``workorder_create``), many planned ones (``workorders_create_planned``),
  the customer writing again about an open one (``workorder_add_customer_note``);
- ``transition``: the lifecycle's one door (``workorder_transition``, ``workorder_arrive``);
- ``assign``: one transition on many orders at once (``workorders_assign_many``: the automatic
  assignment and the board's bulk assign);
- ``visits``: what the customer changes from the tracking link (``workorder_reschedule``,
  ``workorder_add_note``);
- ``update``: an order's details outside its lifecycle (``workorder_update``, the API's PATCH);
- ``attachments``: a stored photo's metadata stripped (``attachment_strip_metadata``).

The names below are the package's public face: callers import them from ``workorders.services``.
"""

from .assign import Assignment, AssignManyResult, workorders_assign_many
from .attachments import attachment_strip_metadata, image_has_metadata
from .create import (
    DESCRIPTION_MAX,
    EXTERNAL_REF_MAX,
    WORKORDER_ID_DRAW,
    PlannedOrder,
    work_order_inserting,
    workorder_add_customer_note,
    workorder_create,
    workorders_create_planned,
)
from .transition import MAX_STEP_PHOTOS, workorder_arrive, workorder_transition
from .update import EDITABLE_FIELDS, workorder_update
from .visits import NOTE_MAX, RESCHEDULE_STATES, visit_window, visit_window_version, workorder_add_note, workorder_reschedule

__all__ = [
    "DESCRIPTION_MAX", "EDITABLE_FIELDS", "EXTERNAL_REF_MAX", "MAX_STEP_PHOTOS", "NOTE_MAX", "RESCHEDULE_STATES",
    "WORKORDER_ID_DRAW", "AssignManyResult", "Assignment", "PlannedOrder", "attachment_strip_metadata",
    "image_has_metadata", "visit_window", "visit_window_version", "work_order_inserting", "workorder_add_customer_note",
    "workorder_add_note", "workorder_arrive", "workorder_create", "workorder_reschedule", "workorder_transition",
    "workorder_update", "workorders_assign_many", "workorders_create_planned",
]
