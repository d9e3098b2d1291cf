"""Editing an order's details outside its lifecycle (the API's PATCH)."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.custom_fields import intake_values_clean
from core import roles as R
from core.errors import Conflict, InvalidInput, NotFound
from core.versions import version_check
from core.permissions import require
from customers.models import Equipment, Site

from ..lifecycle import OPEN_STATES, Status
from ..models import WorkOrder, WorkOrderEvent
from ..selectors import workorder_is_visible_to

from .create import DESCRIPTION_MAX, _check_window, _clean_external_ref, _external_ref_taken

# --- Editing an order's details (the API's PATCH) ---------------------------------------------

# What may change on an order outside its lifecycle: what the customer asked for and where.
# Status, technician and appointment change through transitions only (workorder_transition).
EDITABLE_FIELDS = (
    "priority", "preferred_start", "preferred_end", "description", "site", "equipment", "external_ref", "custom",
)


def _clean_changes(changes: dict) -> dict:
    """``changes`` checked on their own (before anything is locked): each value as stored."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        message = _("These fields cannot be changed here.")
        raise InvalidInput(message, fields={name: [message] for name in unknown})
    clean = dict(changes)
    if "priority" in clean and clean["priority"] not in WorkOrder.Priority.values:
        raise InvalidInput(_("Unknown priority."), fields={"priority": [_("Unknown priority.")]})
    if "description" in clean:
        description = (clean["description"] or "").strip()
        if not description:
            raise InvalidInput(_("Describe the problem."), fields={"description": [_("This field is required.")]})
        if len(description) > DESCRIPTION_MAX:
            message = _("Keep the description under %(n)d characters.") % {"n": DESCRIPTION_MAX}
            raise InvalidInput(message, fields={"description": [message]})
        clean["description"] = description
    if "external_ref" in clean:
        clean["external_ref"] = _clean_external_ref(clean["external_ref"])
    return clean


def _json_value(value):
    if value is None or isinstance(value, (str, int, dict)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return getattr(value, "pk", str(value))


def workorder_update(*, work_order_id: int, actor, changes: dict, if_match: list[str],
                     event_data: dict | None = None) -> WorkOrder:
    """Change an order's details (``EDITABLE_FIELDS``) as ``actor``, an agent, dispatcher or manager.

    ``changes``: field name → new value (``site`` and ``equipment`` as ids or None, the window's
    ends as aware datetimes). ``if_match``: the versions (``selectors.workorder_etag``) the caller
    last saw; the order's current one must be among them, so that two writers cannot overwrite
    each other unseen.

    Raises InvalidInput (a field that cannot change here, a bad value, a site or equipment not
    the order's customer's, a reference another order has), NotFound (no such order, or one the
    actor may not see), Forbidden (a field role), PreconditionFailed (the order changed since:
    412 with its current version) or Conflict (the order is no longer open). In every error case
    nothing changes. A change writes one ``update`` event naming each field's old and new value;
    sending the values the order already has writes nothing. ``event_data``: more to keep in that
    event's data (the triage suggestion an agent accepted, triage/views.py).

    The priority changes the order's urgency in the queues; its SLA deadlines stay those agreed
    when it came in (as when an escalation raises the priority).
    """
    clean = _clean_changes(changes)
    with transaction.atomic():
        work_order, roles = _lock_to_update(work_order_id=work_order_id, actor=actor, if_match=if_match)
        _check_changes_against(work_order, clean)
        diff = _apply_changes(work_order, clean)
        if not diff:
            return work_order
        changed = list(diff)
        if "site" in diff and work_order.site_id is not None:
            work_order.address = work_order.site.address  # the order goes where its site is
            changed.append("address")
        now = timezone.now()
        # A new version even if the clock has not moved since the last change.
        work_order.updated_at = max(now, work_order.updated_at + timedelta(microseconds=1))
        changed.append("updated_at")
        try:
            with transaction.atomic():  # a savepoint: the reference's unique key may refuse it
                work_order.save(update_fields=changed)
        except IntegrityError:
            if "external_ref" in diff and WorkOrder.objects.filter(external_ref=work_order.external_ref).exclude(
                pk=work_order.pk
            ).exists():
                raise _external_ref_taken(work_order.external_ref) from None
            raise
        WorkOrderEvent.objects.create(
            work_order=work_order, action="update", from_status=work_order.status, to_status=work_order.status,
            actor=actor if actor.is_authenticated else None, actor_role=min(roles) if roles else "admin",
            data={**(event_data or {}), "changes": diff}, created_at=now,
        )
    return work_order


def _lock_to_update(*, work_order_id: int, actor, if_match: list[str]) -> tuple[WorkOrder, set[str]]:
    """The order locked, and the office roles in which ``actor`` changes it; or NotFound, Forbidden,
    PreconditionFailed (changed since ``if_match``) or Conflict (no longer open)."""
    # Lock the order's row (no joins; see workorder_transition): a second writer waits here,
    # then finds the version changed and gets 412 instead of overwriting the first.
    work_order = WorkOrder.objects.select_for_update().filter(pk=work_order_id).first()
    if work_order is None or not workorder_is_visible_to(actor, work_order):
        raise NotFound(_("No such work order."))
    require(actor, "workorders.change_details")
    roles = R.roles_of(actor) & (R.OFFICE_ROLES | {R.INTEGRATION})
    version_check(
        work_order.updated_at, if_match,
        _("%(number)s was changed since you read it; read it again and re-apply your change.")
        % {"number": work_order.number},
    )
    if work_order.status not in OPEN_STATES:
        raise Conflict(
            _("%(number)s is %(status)s: its details can no longer change.")
            % {"number": work_order.number, "status": str(Status(work_order.status).label).lower()},
        )
    return work_order, roles


def _check_changes_against(work_order: WorkOrder, clean: dict) -> None:
    """``clean`` checked against the locked order, in place: the site and the equipment as rows of
    its customer, the time window whole, the custom fields merged with the order's."""
    if "site" in clean and clean["site"] is not None:
        site = Site.objects.filter(pk=clean["site"], customer_id=work_order.customer_id).first()
        if site is None:
            message = _("Not a site of this work order's customer.")
            raise InvalidInput(message, fields={"site": [message]})
        clean["site"] = site
    if "equipment" in clean and clean["equipment"] is not None:
        equipment = Equipment.objects.filter(pk=clean["equipment"], customer_id=work_order.customer_id).first()
        if equipment is None:
            message = _("Not equipment of this work order's customer.")
            raise InvalidInput(message, fields={"equipment": [message]})
        if not equipment.active and equipment.pk != work_order.equipment_id:
            message = _("This equipment is out of service; a new work order cannot name it.")
            raise InvalidInput(message, fields={"equipment": [message]})
        clean["equipment"] = equipment
    start = clean.get("preferred_start", work_order.preferred_start)
    end = clean.get("preferred_end", work_order.preferred_end)
    _check_window(start, end, field="preferred_end")
    if "custom" in clean:  # the keys given change, the others stay (catalog/custom_fields.py)
        clean["custom"] = intake_values_clean(service_type_id=work_order.service_type_id,
                                              values=clean["custom"], existing=work_order.custom)


def _apply_changes(work_order: WorkOrder, clean: dict) -> dict:
    """Set the values that differ on ``work_order``; returns field name → [old, new] (as JSON)."""
    diff = {}
    for name, value in clean.items():
        attname = f"{name}_id" if name in ("site", "equipment") else name
        old = getattr(work_order, attname)
        new = value.pk if name in ("site", "equipment") and value is not None else value
        if old != new:
            diff[name] = [_json_value(old), _json_value(new)]
            setattr(work_order, name, value)
    return diff
