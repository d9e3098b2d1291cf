"""What happened before: the repeat-failure rule and a customer's orders for the customer page.

A **repeat failure** is a work order for a piece of equipment created within
``REPEAT_FAILURE_DAYS`` (setting, 30) of an earlier order on the same equipment being
completed (resolved). The rule lives here, once, in the three forms its readers need:

- ``repeat_failure_exists()``: a boolean SQL expression over the outer order's
  ``equipment_id``, ``created_at`` and ``id``, for querysets (the reports count with it);
- ``repeat_failure_sql(alias)``: the same expression as SQL text, for a raw query (the reports'
  summary rows store each order's answer, reports/facts.py);
- ``repeat_failure_of(work_order)``: the earlier completed order, for one order (the job page);
- ``repeat_failure_ids(rows)``: the same test on the orders of one piece of equipment already
  read (the equipment page, which has all of them at hand).

Nothing here runs on the create, list or detail paths of work orders.
"""

from bisect import bisect_left, bisect_right
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, Exists, OuterRef, QuerySet, Value, When

from .lifecycle import OPEN_STATES
from .models import WorkOrder


def repeat_window() -> timedelta:
    return timedelta(days=settings.REPEAT_FAILURE_DAYS)


def repeat_failure_ids(rows) -> set[int]:
    """Of the orders of one piece of equipment, given as ``(id, created_at, resolved_at)``, the ids
    of the repeat failures: another of them was resolved within the window before its creation."""
    rows = list(rows)
    window = repeat_window()
    resolved = sorted((at, pk) for pk, _created, at in rows if at is not None)
    found = set()
    for pk, created_at, _at in rows:
        low = bisect_left(resolved, (created_at - window, 0))
        high = bisect_right(resolved, (created_at, 2**63))
        if any(other != pk for _when, other in resolved[low:high]):
            found.add(pk)
    return found


def _completed_before(equipment_id, created_at, exclude_pk) -> QuerySet:
    return WorkOrder.objects.filter(
        equipment_id=equipment_id,
        resolved_at__isnull=False,
        resolved_at__lte=created_at,
        resolved_at__gte=created_at - repeat_window(),
    ).exclude(pk=exclude_pk)


def repeat_failure_exists() -> Exists:
    """True for an outer work order that is a repeat failure (use in ``annotate`` or ``filter``)."""
    return Exists(
        WorkOrder.objects.filter(
            equipment_id=OuterRef("equipment_id"),
            resolved_at__isnull=False,
            resolved_at__lte=OuterRef("created_at"),
            resolved_at__gte=OuterRef("created_at") - repeat_window(),
        ).exclude(pk=OuterRef("pk"))
    )


def repeat_failure_sql(alias: str) -> tuple[str, list]:
    """``repeat_failure_exists()`` as SQL text over the order aliased ``alias`` in a raw query (its
    ``equipment_id``, ``created_at`` and ``id``), with its parameters (``%s`` placeholders)."""
    table = WorkOrder._meta.db_table
    return (
        f"EXISTS (SELECT 1 FROM {table} rf WHERE rf.equipment_id = {alias}.equipment_id "
        f"AND rf.resolved_at IS NOT NULL AND rf.resolved_at <= {alias}.created_at "
        f"AND rf.resolved_at >= {alias}.created_at - %s AND rf.id <> {alias}.id)",
        [repeat_window()],
    )


def repeat_failure_of(work_order: WorkOrder) -> WorkOrder | None:
    """The most recently completed order on the same equipment that makes ``work_order`` a repeat
    failure, or None (one query; none without equipment)."""
    if work_order.equipment_id is None:
        return None
    return (
        _completed_before(work_order.equipment_id, work_order.created_at, work_order.pk)
        .only("id", "created_at", "resolved_at", "technician_id")
        .order_by("-resolved_at", "-id")
        .first()
    )


# The customer page (customer360): every order of a customer, open ones first.
CUSTOMER_ORDER_LIMIT = 500
CUSTOMER_ORDER_VALUES = (
    "id", "status", "priority", "created_at", "resolved_at", "closed_at", "appointment_start", "appointment_end",
    "service_type_id", "technician_id", "site_id", "equipment_id", "address", "description",
    "sla_policy_id", "sla_started_at", "sla_paused_at", "sla_paused_seconds", "first_response_due", "arrival_due",
    "resolution_due", "first_response_met_at", "arrival_met_at", "resolution_met_at",
)


def customer_orders(*, queryset: QuerySet, customer_id: int, limit: int = CUSTOMER_ORDER_LIMIT) -> list[dict]:
    """The customer's orders within ``queryset`` (the viewer's visibility scope) as plain values:
    open ones first, then newest first; at most ``limit`` (one query)."""
    return list(
        queryset.filter(customer_id=customer_id)
        .annotate(is_open=Case(When(status__in=list(OPEN_STATES), then=Value(0)), default=Value(1)))
        .order_by("is_open", "-created_at", "-id")
        .values(*CUSTOMER_ORDER_VALUES)[:limit]
    )
