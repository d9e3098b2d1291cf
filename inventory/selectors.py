"""Reads of stock: the stock page, the API, dispatch's "does the van carry it"."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from core import roles as R
from core.errors import NotFound
from core.i18n import sql_translated

from .models import StockLocation, StockMove

LEDGER_PAGE = 50


def stock_locations_visible_to(user) -> QuerySet:
    """Office roles see every location; a technician their own van; an API client every one or
    its partner company's (none when restricted to a customer); nobody else any."""
    locations = StockLocation.objects.select_related("technician__user", "partner_company").order_by(
        "kind", "name", "pk")
    if R.is_office(user):
        return locations
    if R.has_role(user, R.INTEGRATION):  # an API client: all, or its partner company's stores and vans
        scope = R.client_scope(user)
        if scope[0] == "all":
            return locations
        if scope[0] == "partner":
            return locations.filter(Q(partner_company_id=scope[1]) | Q(technician__partner_company_id=scope[1]))
        return locations.none()
    if R.has_role(user, R.TECHNICIAN, R.PARTNER_TECHNICIAN):
        return locations.filter(technician__user=user)
    return locations.none()


def stock_location_for(*, location_id, user) -> StockLocation:
    """One location the user may see, else NotFound (404: nobody learns that it exists)."""
    location = None
    if str(location_id).isdigit() and int(location_id) < 2**63:
        location = stock_locations_visible_to(user).filter(pk=int(location_id)).first()
    if location is None:
        raise NotFound(_("No such stock location."))
    return location


class LevelRow(NamedTuple):
    part_id: int
    part_number: str
    name: str
    unit: str
    on_hand: Decimal
    reserved: Decimal

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


def stock_on_hand_at(location_id: int, *, search: str = "", limit: int | None = None) -> list[LevelRow]:
    """What a location holds (parts that ever moved there), by part number: plain rows from the kept
    levels (never a sum over the ledger), read through the (location, part) index."""
    name = sql_translated("p.name")  # the part's name in the page's language
    sql = f"""SELECT sl.part_id, p.part_number, {name}, p.unit, sl.on_hand, sl.reserved
             FROM inventory_stocklevel sl JOIN inventory_part p ON p.id = sl.part_id
             WHERE sl.location_id = %s"""
    params: list = [location_id]
    search = (search or "").strip()
    if search:
        sql += (" AND (UPPER(p.part_number) LIKE UPPER(%s) OR UPPER(p.name_zh_hans) LIKE UPPER(%s)"
                " OR UPPER(p.name_en) LIKE UPPER(%s))")
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [pattern, pattern, pattern]
    sql += " ORDER BY p.part_number"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [LevelRow(*row) for row in cursor.fetchall()]


def stock_moves_at(location_id: int, *, before_id: int | None = None, limit: int = LEDGER_PAGE) -> list[StockMove]:
    """A location's ledger, newest first, ``limit`` rows before ``before_id`` (keyset)."""
    moves = StockMove.objects.filter(location_id=location_id).select_related("part", "counterpart", "actor")
    if before_id:
        moves = moves.filter(pk__lt=before_id)
    return list(moves.order_by("-id")[:limit])


def stock_on_hand_by_part(part_ids=None) -> dict[int, tuple[Decimal, Decimal]]:
    """Part → (on hand, reserved) over all locations (one GROUP BY over the levels, not the ledger)."""
    sql = "SELECT part_id, SUM(on_hand), SUM(reserved) FROM inventory_stocklevel"
    params = []
    if part_ids is not None:
        sql += " WHERE part_id = ANY(%s)"
        params.append(list(part_ids))
    sql += " GROUP BY part_id"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {part: (on_hand, reserved) for part, on_hand, reserved in cursor.fetchall()}


def van_stock(*, technician_ids, part_ids) -> dict[tuple[int, int], Decimal]:
    """(technician, part) → available in the technician's active van, for the given parts (one query)."""
    if not part_ids or not technician_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT loc.technician_id, sl.part_id, sl.on_hand - sl.reserved
               FROM inventory_stocklevel sl JOIN inventory_stocklocation loc ON loc.id = sl.location_id
               WHERE loc.kind = 'van' AND loc.active AND sl.part_id = ANY(%s) AND loc.technician_id = ANY(%s)""",
            [list(part_ids), list(technician_ids)],
        )
        return {(tech, part): available for tech, part, available in cursor.fetchall()}


def stock_ledger_balances(*, location_id=None) -> list[tuple[int, int, Decimal, Decimal, Decimal, Decimal]]:
    """Levels that disagree with their ledger: (location, part, on hand, ledger sum, reserved, ledger
    reserved). Empty when all agree; for tests and a manager's check, it reads the whole ledger."""
    where = "WHERE location_id = %s" if location_id else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH ledger AS (SELECT location_id, part_id, SUM(quantity) AS q, SUM(reserved_delta) AS r
                               FROM inventory_stockmove {where} GROUP BY 1, 2)
                SELECT COALESCE(sl.location_id, l.location_id), COALESCE(sl.part_id, l.part_id),
                       sl.on_hand, l.q, sl.reserved, l.r
                FROM (SELECT * FROM inventory_stocklevel {where}) sl
                FULL JOIN ledger l ON l.location_id = sl.location_id AND l.part_id = sl.part_id
                WHERE COALESCE(sl.on_hand, 0) <> COALESCE(l.q, 0) OR COALESCE(sl.reserved, 0) <> COALESCE(l.r, 0)""",
            [location_id, location_id] if location_id else [],
        )
        return cursor.fetchall()


def stock_value_by_location(*, partner=None, own_staff: bool = False) -> list[dict]:
    """Each active location's stock at cost (on hand × the part's unit cost), highest first.

    ``partner``: one partner company's locations (its store and its technicians' vans);
    ``own_staff``: the company's own warehouses and its own technicians' vans."""
    locations = StockLocation.objects.filter(active=True)
    if own_staff:
        locations = locations.filter(partner_company__isnull=True).exclude(technician__partner_company__isnull=False)
    elif partner:
        locations = locations.filter(Q(partner_company_id=partner) | Q(technician__partner_company_id=partner))
    return list(
        locations.annotate(
            units=Coalesce(Sum("levels__on_hand"), Value(Decimal(0)), output_field=DecimalField()),
            value=Coalesce(Sum(F("levels__on_hand") * F("levels__part__unit_cost"), output_field=DecimalField()),
                           Value(Decimal(0)), output_field=DecimalField()),
        ).order_by("-value", "name").values("id", "code", "name", "kind", "units", "value")
    )
