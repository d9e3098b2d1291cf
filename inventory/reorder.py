"""Reorder points: low stock raises one notification per crossing and shows in the reorder list.

A ``ReorderPoint`` (part, location, point, reorder quantity) carries a flag ``below`` that the stock
write keeps in its one statement (``inventory.services._write``): it turns true when available stock
(on hand less reserved) falls below the point and false when it is back at or above it. The write
hands the points that turned true to ``reorder_notify``: one outbox row per manager and storekeeper
for that crossing, none for the moves that follow while stock stays low.

The reorder list (``reorder_list``, /staff/stock/reorder/) is every point whose location holds less
than the point now, with a suggested quantity: enough to be back at the point plus a month of use at
the rate of the last 90 days (``REORDER_USAGE_DAYS``), and at least the point's reorder quantity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import FRACTIONAL_UNITS
from core import roles as R
from core.errors import InvalidInput
from core.permissions import require
from core.i18n import sql_translated
from notifications.services import notification_build, notifications_add

from .models import ReorderPoint, StockLevel

REORDER_USAGE_DAYS = 90
# The suggestion covers this many days of use at the rate of the last REORDER_USAGE_DAYS.
REORDER_COVER_DAYS = 30

MESSAGES = {
    "stock_below_reorder_point": (
        gettext_lazy("Low stock: %(part)s at %(location)s"),
        gettext_lazy("%(part)s at %(location)s: %(available)s %(unit)s available, below the reorder point "
                     "of %(point)s. The reorder list: %(link)s"),
    ),
}


def stock_handlers():
    """Active users who approve part requests and reorder: managers and storekeepers (the permission)."""
    return get_user_model().objects.filter(
        Q(groups__name=R.MANAGER) | Q(is_superuser=True)
        | Q(user_permissions__codename="handle_partrequest", user_permissions__content_type__app_label="inventory")
        | Q(groups__permissions__codename="handle_partrequest",
            groups__permissions__content_type__app_label="inventory"),
        is_active=True,
    ).distinct()


def _plain(quantity) -> str:
    text = f"{Decimal(quantity):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def reorder_notify(reorder_point_ids, *, now=None) -> int:
    """One notification per manager and storekeeper (email) for each point just crossed."""
    points = ReorderPoint.objects.filter(pk__in=list(reorder_point_ids)).select_related("location", "part")
    emails = sorted(set(stock_handlers().exclude(email="").values_list("email", flat=True)))
    if not emails:
        return 0
    levels = {(lv.location_id, lv.part_id): lv.available
              for lv in StockLevel.objects.filter(location__in=[p.location_id for p in points],
                                                  part__in=[p.part_id for p in points])}
    link = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("stock:reorder")
    rows = []
    for point in points:
        payload = {"part": str(point.part), "location": point.location.name, "unit": point.part.unit,
                   "available": _plain(levels.get((point.location_id, point.part_id), 0)),
                   "point": _plain(point.point), "link": link}
        rows += [notification_build(channel="email", recipient=email, template="stock_below_reorder_point",
                                    payload=payload, now=now) for email in emails]
    return len(notifications_add(rows))


def _quantity(raw, name: str) -> Decimal:
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite() or value < 0 or value > Decimal("999999"):
        message = _("Enter a quantity of zero or more.")
        raise InvalidInput(message, fields={name: [message]})
    return value.quantize(Decimal("0.001"))


def reorder_point_set(*, location, part, point, quantity, actor) -> ReorderPoint:
    """Set (or change) the reorder point of a part at a location. Its flag starts from the stock as it
    is now, without a notification: whoever sets it sees the reorder list."""
    require(actor, "inventory.set_reorder_points")
    point, quantity = _quantity(point, "point"), _quantity(quantity, "quantity")
    with transaction.atomic():
        level = StockLevel.objects.select_for_update().filter(location=location, part=part).first()
        available = level.available if level is not None else Decimal(0)
        row, _created = ReorderPoint.objects.update_or_create(
            location=location, part=part,
            defaults={"point": point, "quantity": quantity, "below": available < point})
    return row


@dataclass
class ReorderRow:
    reorder_point_id: int
    location_id: int
    location: str
    part_id: int
    part_number: str
    part_name: str
    unit: str
    available: Decimal
    point: Decimal
    reorder_quantity: Decimal
    used: Decimal  # in the last REORDER_USAGE_DAYS
    suggested: Decimal


_REORDER_SQL = """
SELECT rp.id, loc.id, loc.name, p.id, p.part_number, {part_name}, p.unit, p.serialized,
       COALESCE(sl.on_hand - sl.reserved, 0) AS available, rp.point, rp.quantity, u.used
FROM inventory_reorderpoint rp
JOIN inventory_stocklocation loc ON loc.id = rp.location_id
JOIN inventory_part p ON p.id = rp.part_id
LEFT JOIN inventory_stocklevel sl ON sl.location_id = rp.location_id AND sl.part_id = rp.part_id
CROSS JOIN LATERAL (
    SELECT COALESCE(SUM(-m.quantity), 0) AS used FROM inventory_stockmove m
    WHERE m.location_id = rp.location_id AND m.part_id = rp.part_id AND m.kind = 'use' AND m.created_at >= %s
) u
WHERE COALESCE(sl.on_hand - sl.reserved, 0) < rp.point {where}
ORDER BY loc.name, loc.id, p.part_number
"""


def suggested_quantity(*, available, point, reorder_quantity, used, fractional: bool) -> Decimal:
    """Back at the point plus REORDER_COVER_DAYS of use at the last REORDER_USAGE_DAYS' rate; at least
    the reorder quantity; whole units unless the part is sold by length, weight or volume."""
    need = (point - available) + used * REORDER_COVER_DAYS / REORDER_USAGE_DAYS
    need = max(need, reorder_quantity, Decimal(0))
    step = Decimal("0.001") if fractional else Decimal(1)
    return need.quantize(step, rounding=ROUND_CEILING)


def reorder_list(*, location_id=None, now=None) -> list[ReorderRow]:
    """Every reorder point whose location holds less than the point now (one query)."""
    since = (now or timezone.now()) - timedelta(days=REORDER_USAGE_DAYS)
    params = [since]
    where = ""
    if location_id is not None:
        where, params = "AND rp.location_id = %s", [since, location_id]
    with connection.cursor() as cursor:
        cursor.execute(_REORDER_SQL.format(where=where, part_name=sql_translated("p.name")), params)
        rows = cursor.fetchall()
    answer = []
    for rp_id, loc_id, loc, part_id, number, name, unit, serialized, available, point, quantity, used in rows:
        fractional = not serialized and (unit or "").strip().lower() in FRACTIONAL_UNITS
        answer.append(ReorderRow(rp_id, loc_id, loc, part_id, number, name, unit, available, point, quantity, used,
                                 suggested_quantity(available=available, point=point, reorder_quantity=quantity,
                                                    used=used, fractional=fractional)))
    return answer


