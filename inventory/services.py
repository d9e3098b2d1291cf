"""Every change of stock goes through a function in this module.

The rule that keeps the ledger and the levels in step: a change is a list of ``Move``s, and
``_write`` writes all of them in ONE SQL statement, the ledger rows and the levels together. The
level is changed by a conditional UPDATE (``_WRITE_SQL``): PostgreSQL takes the row lock and, when
it had to wait for another transaction, evaluates the condition again on the row as that one left
it. So two technicians taking the last unit at once give one winner; the other's row is not
updated, ``_write`` sees it missing from the answer and raises ``Conflict``, and the caller's
transaction (each function here is one, or runs inside the lifecycle's) rolls back the ledger rows
written beside it. A level never goes below zero, nor below what is reserved, unless its location
allows it; a deactivated location receives nothing.

The entry points:

- manual: ``stock_receive``, ``stock_transfer``, ``stock_adjust``, ``stock_return`` (managers;
  admin), ``stock_reserve`` and ``stock_use`` (one part, one location, one work order);
- the lifecycle: ``stock_reserve_for_assignments`` (assign, re-assign, automatic assignment: the
  technician's van first, else the warehouse nearest to the technician; two statements),
  ``stock_use_for_completion`` (reservations become use, what is left is released; two
  statements) and ``stock_release`` (cancel, un-assign, reject, reopen; one statement).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Part
from catalog.selectors import service_type_parts
from core.errors import Conflict, InvalidInput
from core.permissions import require

from .models import SerialUnit, StockLevel, StockLocation, StockMove

QUANTITY_MAX = Decimal("999999")
STEP = Decimal("0.001")
REASON_MAX = 300
SERIAL_MAX = 80
ZERO = Decimal("0")

Kind = StockMove.Kind


@dataclass
class Move:
    """One ledger row to write: ``quantity`` changes on hand, ``reserved`` the reserved quantity."""

    location_id: int
    part_id: int
    kind: str
    quantity: Decimal = ZERO
    reserved: Decimal = ZERO
    work_order_id: int | None = None
    counterpart_id: int | None = None
    serials: list = field(default_factory=list)
    reason: str = ""


# --- input checks ---------------------------------------------------------------------------


def _invalid(name: str, message: str) -> InvalidInput:
    return InvalidInput(message, fields={name: [message]})


def stock_quantity(part: Part, raw, *, name: str = "quantity", signed: bool = False) -> Decimal:
    """``raw`` as a quantity of ``part``: more than zero (or not zero, ``signed``), whole unless the part
    is sold by length, weight or volume (``Part.fractional``), at most three decimals."""
    try:
        quantity = Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        quantity = None
    if quantity is None or not quantity.is_finite():
        raise _invalid(name, _("Enter a quantity of %(part)s as a number.") % {"part": part})
    if quantity == 0 or (quantity < 0 and not signed):
        raise _invalid(name, _("The quantity of %(part)s must be more than zero.") % {"part": part})
    if abs(quantity) > QUANTITY_MAX:
        raise _invalid(name, _("The quantity of %(part)s is too large.") % {"part": part})
    if not part.fractional and quantity != quantity.to_integral_value():
        message = _("%(part)s is counted in whole %(unit)s; enter a whole number.") % {"part": part,
                                                                                      "unit": part.unit}
        raise _invalid(name, message)
    if quantity != quantity.quantize(STEP):
        raise _invalid(name, _("Enter the quantity of %(part)s with at most three decimals.") % {"part": part})
    return quantity.quantize(STEP)


def _reason(reason, *, required: bool = False) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise _invalid("reason", _("Give the reason for the adjustment."))
    if len(reason) > REASON_MAX:
        raise _invalid("reason", _("Keep the reason under %(n)d characters.") % {"n": REASON_MAX})
    return reason


def _serials(part: Part, serials, quantity: Decimal, *, required: bool) -> list[str]:
    """The serial numbers of a serial-numbered part: one per unit, each once; none for other parts."""
    if isinstance(serials, str):
        serials = serials.replace(",", "\n").splitlines()
    serials = [str(s).strip() for s in serials or () if str(s).strip()]
    if not part.serialized:
        if serials:
            raise _invalid("serials", _("%(part)s has no serial numbers.") % {"part": part})
        return []
    if not serials and not required:
        return []
    if len(serials) != abs(quantity):
        message = _("Give one serial number per unit of %(part)s: %(n)s expected, %(m)d given.") % {
            "part": part, "n": abs(quantity).normalize(), "m": len(serials)}
        raise _invalid("serials", message)
    if len(set(serials)) != len(serials):
        raise _invalid("serials", _("A serial number is given twice."))
    if any(len(s) > SERIAL_MAX for s in serials):
        raise _invalid("serials", _("Keep serial numbers under %(n)d characters.") % {"n": SERIAL_MAX})
    return serials


def _id(value) -> int | None:
    """A database id from input, or None (not a number, or beyond a bigint)."""
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdigit() and int(text) < 2**63 else None


def _part(part_id) -> Part:
    part = Part.objects.filter(pk=_id(part_id)).first() if _id(part_id) else None
    if part is None:
        raise _invalid("part", _("No such part."))
    return part


def _location(location_id, *, name: str = "location") -> StockLocation:
    location = StockLocation.objects.filter(pk=_id(location_id)).first() if _id(location_id) else None
    if location is None:
        raise _invalid(name, _("No such stock location."))
    return location


def _receiving(location: StockLocation, *, name: str = "location") -> None:
    if not location.active:
        raise Conflict(_("%(location)s is deactivated: it receives no stock.") % {"location": location},
                       code="location_inactive", fields={name: [_("Deactivated.")]})


def _manager(actor) -> None:
    require(actor, "inventory.move_stock")


# --- the one write --------------------------------------------------------------------------

# One statement: the ledger rows (``ledger``) and the levels they change (``updated`` for levels
# that exist, ``created`` for a first receipt of a part at a location). A level is changed only
# where the change keeps it valid, judged on the row as it is once locked: it adds stock, or on
# hand stays at or above zero and at or above what is reserved, or the location may go below zero;
# never below zero reserved (also a check constraint); a deactivated location takes nothing in.
_WRITE_SQL = """
WITH d (location_id, part_id, quantity, reserved) AS (VALUES {deltas}),
sums AS (
    SELECT d.location_id, d.part_id, SUM(d.quantity) AS quantity, SUM(d.reserved) AS reserved,
           loc.allow_negative, loc.active
    FROM d JOIN inventory_stocklocation loc ON loc.id = d.location_id
    GROUP BY d.location_id, d.part_id, loc.allow_negative, loc.active
),
locked AS (
    -- The levels' rows locked in id order before any is changed, as every writer here does, so
    -- that two changes of several parts never deadlock.
    SELECT sl.id FROM inventory_stocklevel sl JOIN sums s ON sl.location_id = s.location_id AND sl.part_id = s.part_id
    ORDER BY sl.id FOR UPDATE OF sl
),
updated AS (
    UPDATE inventory_stocklevel sl
    SET on_hand = sl.on_hand + s.quantity, reserved = sl.reserved + s.reserved
    FROM sums s
    WHERE sl.location_id = s.location_id AND sl.part_id = s.part_id
      AND sl.id IN (SELECT id FROM locked)
      AND (s.active OR (s.quantity <= 0 AND s.reserved <= 0))
      AND sl.reserved + s.reserved >= 0
      AND ((s.quantity >= 0 AND s.quantity >= s.reserved)
           OR (sl.on_hand + s.quantity >= 0 AND sl.on_hand + s.quantity >= sl.reserved + s.reserved)
           OR s.allow_negative)
    RETURNING sl.location_id, sl.part_id, sl.on_hand - sl.reserved AS available
),
created AS (
    INSERT INTO inventory_stocklevel (location_id, part_id, on_hand, reserved)
    SELECT s.location_id, s.part_id, s.quantity, s.reserved FROM sums s
    WHERE NOT EXISTS (SELECT 1 FROM inventory_stocklevel x WHERE x.location_id = s.location_id
                                                            AND x.part_id = s.part_id)
      AND s.active AND s.reserved >= 0 AND ((s.quantity >= 0 AND s.quantity >= s.reserved) OR s.allow_negative)
    ON CONFLICT (location_id, part_id) DO NOTHING
    RETURNING location_id, part_id, on_hand - reserved AS available
),
crossed AS (
    -- A reorder point's flag follows the new available quantity; the rows that turn true are the
    -- crossings below the point (one notification each, ``_crossings``). Changed only where it
    -- differs, re-checked on the row as a concurrent writer left it, so a crossing is seen once.
    UPDATE inventory_reorderpoint rp SET below = (x.available < rp.point)
    FROM (SELECT * FROM updated UNION ALL SELECT * FROM created) x
    WHERE rp.location_id = x.location_id AND rp.part_id = x.part_id AND rp.below <> (x.available < rp.point)
    RETURNING rp.id, rp.below
),
ledger AS (
    INSERT INTO inventory_stockmove (location_id, part_id, kind, quantity, reserved_delta, work_order_id,
                                     counterpart_id, serials, reason, actor_id, created_at)
    VALUES {moves}
    RETURNING id
)
SELECT location_id, part_id FROM updated UNION ALL SELECT location_id, part_id FROM created
UNION ALL SELECT id, NULL FROM ledger UNION ALL SELECT NULL, id FROM crossed WHERE below
"""


def _write(moves: list[Move], *, actor=None, now=None) -> list[int]:
    """Write ``moves`` to the ledger and their levels in one statement; ``Conflict`` if a level refused.

    Runs inside the caller's transaction, which the raised Conflict rolls back (ledger rows included).
    Answers the ids of the ledger rows written.
    """
    if not moves:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("stock moves are written inside a transaction")
    now = now or timezone.now()
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    deltas, delta_params, rows, row_params = [], [], [], []
    for m in moves:
        deltas.append("(%s::bigint, %s::bigint, %s::numeric, %s::numeric)")
        delta_params += [m.location_id, m.part_id, m.quantity, m.reserved]
        rows.append("(%s, %s, %s, %s, %s, %s, %s, %s::varchar[], %s, %s, %s)")
        row_params += [m.location_id, m.part_id, m.kind, m.quantity, m.reserved, m.work_order_id, m.counterpart_id,
                       list(m.serials), m.reason[:REASON_MAX], actor_id, now]
    sql = _WRITE_SQL.format(deltas=", ".join(deltas), moves=", ".join(rows))
    with connection.cursor() as cursor:
        cursor.execute(sql, delta_params + row_params)
        rows = cursor.fetchall()
    written = {row for row in rows if row[0] is not None and row[1] is not None}
    refused = {(m.location_id, m.part_id) for m in moves} - written
    if refused:
        raise _refusal(sorted(refused)[0], moves)
    crossings = [point_id for first, point_id in rows if first is None]
    if crossings:
        _crossings(crossings, now=now)
    return sorted(pk for pk, part_id in rows if part_id is None)


def _crossings(reorder_point_ids: list[int], *, now) -> None:
    """Stock fell below reorder points: one notification per crossing, to the managers and the
    storekeepers, in the write's transaction (the outbox). Only on a crossing, so never on the way of
    an ordinary write."""
    from .reorder import reorder_notify  # (reorder.py reads the levels this module writes)

    reorder_notify(reorder_point_ids, now=now)


def _refusal(key: tuple[int, int], moves: list[Move]) -> Conflict:
    """The clear message for a level that refused its change (read after the fact: the error path only)."""
    location_id, part_id = key
    location = StockLocation.objects.filter(pk=location_id).first()
    part = Part.objects.filter(pk=part_id).first()
    if location is not None and not location.active:
        return Conflict(_("%(location)s is deactivated: it receives no stock.") % {"location": location},
                        code="location_inactive")
    level = StockLevel.objects.filter(location_id=location_id, part_id=part_id).first()
    available = level.available if level is not None else ZERO
    wanted = -sum((m.quantity - m.reserved for m in moves if (m.location_id, m.part_id) == key), ZERO)
    message = _("Not enough %(part)s at %(location)s: %(available)s %(unit)s available, %(wanted)s wanted.") % {
        "part": part, "location": location, "available": _plain(available), "unit": part.unit if part else "",
        "wanted": _plain(max(wanted, ZERO)),
    }
    return Conflict(message, code="insufficient_stock", fields={"quantity": [message]})


def _plain(quantity: Decimal) -> str:
    """3.000 → "3", 1.500 → "1.5"."""
    text = f"{Decimal(quantity):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- serial-numbered units ------------------------------------------------------------------


def _serials_in(part: Part, serials: list[str], location: StockLocation) -> None:
    """New units of ``part`` at ``location`` (a receipt, a positive adjustment)."""
    known = list(SerialUnit.objects.filter(part=part, serial__in=serials).values_list("serial", flat=True))
    if known:
        message = _("Serial numbers already known: %(serials)s.") % {"serials": ", ".join(sorted(known))}
        raise _invalid("serials", message)
    try:
        with transaction.atomic():
            SerialUnit.objects.bulk_create(SerialUnit(part=part, serial=s, location=location) for s in serials)
    except IntegrityError:  # the same serial booked at the same moment elsewhere
        raise Conflict(_("One of these serial numbers was just booked by someone else."), code="serial_taken") from None


def _serials_move(part: Part, serials: list[str], *, source: StockLocation, **changes) -> None:
    """Units of ``part`` in stock at ``source`` change (location, status); all of them or none."""
    moved = SerialUnit.objects.filter(
        part=part, serial__in=serials, location=source, status=SerialUnit.Status.IN_STOCK
    ).update(**changes)
    if moved != len(serials):
        message = _("Not all of these serial numbers are in stock at %(location)s.") % {"location": source}
        raise Conflict(message, code="serial_not_here", fields={"serials": [message]})


def _serials_pick(part_id: int, location_id: int, count: int) -> list[str]:
    """The oldest ``count`` units of a part in stock at a location (used on a job without serials given)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT id, serial FROM inventory_serialunit
               WHERE part_id = %s AND location_id = %s AND status = 'in_stock'
               ORDER BY id LIMIT %s FOR UPDATE""",
            [part_id, location_id, count],
        )
        return [serial for _id, serial in cursor.fetchall()]


# --- manual changes (admin, API, tests) -----------------------------------------------------


def _incoming(actor, part_id, location_id, quantity, serials, reason):
    """What a receipt and a return check first (a manager's change, a known part and a location that
    takes stock in, a quantity the unit allows, one serial per unit when serial-numbered)."""
    _manager(actor)
    part, location = _part(part_id), _location(location_id)
    quantity = stock_quantity(part, quantity)
    serials = _serials(part, serials, quantity, required=True)
    reason = _reason(reason)
    _receiving(location)
    return part, location, quantity, serials, reason


def stock_receive(*, location_id, part_id, quantity, actor, reason: str = "", serials=None) -> list[StockMove]:
    """Parts arrive at a location (a delivery, a purchase)."""
    part, location, quantity, serials, reason = _incoming(actor, part_id, location_id, quantity, serials, reason)
    with transaction.atomic():
        if serials:
            _serials_in(part, serials, location)
        written = _write([Move(location.pk, part.pk, Kind.RECEIPT, quantity=quantity, serials=serials,
                               reason=reason)], actor=actor)
    return _moves(written)


def stock_transfer(*, source_id, destination_id, part_id, quantity, actor, reason: str = "",
                   serials=None) -> list[StockMove]:
    """Parts go from one location to another (a van restocked from the warehouse): two ledger rows."""
    _manager(actor)
    part = _part(part_id)
    source, destination = _location(source_id, name="source"), _location(destination_id, name="destination")
    if source.pk == destination.pk:
        raise _invalid("destination", _("Choose another location to transfer to."))
    quantity = stock_quantity(part, quantity)
    serials = _serials(part, serials, quantity, required=True)
    reason = _reason(reason)
    _receiving(destination, name="destination")
    with transaction.atomic():
        if serials:
            _serials_move(part, serials, source=source, location=destination)
        written = _write([
            Move(source.pk, part.pk, Kind.TRANSFER_OUT, quantity=-quantity, counterpart_id=destination.pk,
                 serials=serials, reason=reason),
            Move(destination.pk, part.pk, Kind.TRANSFER_IN, quantity=quantity, counterpart_id=source.pk,
                 serials=serials, reason=reason),
        ], actor=actor)
    return _moves(written)


def stock_adjust(*, location_id, part_id, quantity, reason, actor, serials=None) -> list[StockMove]:
    """A counted difference (stocktaking, damage, loss): ``quantity`` is signed; a reason is required."""
    _manager(actor)
    part, location = _part(part_id), _location(location_id)
    quantity = stock_quantity(part, quantity, signed=True)
    reason = _reason(reason, required=True)
    serials = _serials(part, serials, quantity, required=True)
    if quantity > 0:
        _receiving(location)
    with transaction.atomic():
        if serials and quantity > 0:
            _serials_in(part, serials, location)
        elif serials:
            _serials_move(part, serials, source=location, location=None, status=SerialUnit.Status.REMOVED)
        written = _write([Move(location.pk, part.pk, Kind.ADJUSTMENT, quantity=quantity, serials=serials,
                               reason=reason)], actor=actor)
    return _moves(written)


def stock_return(*, location_id, part_id, quantity, actor, work_order_id=None, reason: str = "",
                 serials=None) -> list[StockMove]:
    """Parts come back from a job (not used after all, or taken out of the customer's unit) to a location."""
    part, location, quantity, serials, reason = _incoming(actor, part_id, location_id, quantity, serials, reason)
    with transaction.atomic():
        if serials:
            back = SerialUnit.objects.filter(part=part, serial__in=serials, status=SerialUnit.Status.USED).update(
                location=location, status=SerialUnit.Status.IN_STOCK, work_order_id=None)
            if back != len(serials):
                message = _("Only units used on a job can be returned; check the serial numbers.")
                raise Conflict(message, code="serial_not_used", fields={"serials": [message]})
        written = _write([Move(location.pk, part.pk, Kind.RETURN, quantity=quantity, work_order_id=work_order_id,
                               serials=serials, reason=reason)], actor=actor)
    return _moves(written)


def stock_reserve(*, location_id, part_id, quantity, work_order_id: int, actor=None) -> StockMove:
    """Hold ``quantity`` of a part at a location for a work order (it stays on hand, no longer available)."""
    part, location = _part(part_id), _location(location_id)
    quantity = stock_quantity(part, quantity)
    with transaction.atomic():
        written = _write([Move(location.pk, part.pk, Kind.RESERVATION, reserved=quantity,
                               work_order_id=work_order_id)], actor=actor)
    return _moves(written)[0]


def stock_use(*, location_id, part_id, quantity, work_order_id: int, actor=None, serials=None) -> StockMove:
    """Use ``quantity`` of a part from a location on a work order: from its reservation there first,
    the rest from what is available."""
    part, location = _part(part_id), _location(location_id)
    quantity = stock_quantity(part, quantity)
    serials = _serials(part, serials, quantity, required=False)
    with transaction.atomic():
        held = reserved_for(work_order_ids=[work_order_id]).get((work_order_id, location.pk, part.pk), ZERO)
        from_reservation = min(held, quantity)
        if part.serialized:
            if serials:
                _serials_move(part, serials, source=location, location=None, status=SerialUnit.Status.USED,
                              work_order_id=work_order_id)
            else:
                serials = _use_picked(part.pk, location.pk, int(quantity), work_order_id)
        written = _write([Move(location.pk, part.pk, Kind.USE, quantity=-quantity, reserved=-from_reservation,
                               work_order_id=work_order_id, serials=serials)], actor=actor)
    return _moves(written)[0]


def _use_picked(part_id: int, location_id: int, count: int, work_order_id: int) -> list[str]:
    # Locked (a unit another job is taking is waited for, then found gone), so two jobs never get one unit.
    serials = _serials_pick(part_id, location_id, count)
    if len(serials) < count:
        location = StockLocation.objects.filter(pk=location_id).first()
        part = Part.objects.filter(pk=part_id).first()
        message = _("Not enough %(part)s at %(location)s: %(available)s %(unit)s available, %(wanted)s wanted.") % {
            "part": part, "location": location, "available": len(serials), "unit": part.unit if part else "",
            "wanted": count}
        raise Conflict(message, code="insufficient_stock", fields={"quantity": [message]})
    SerialUnit.objects.filter(part_id=part_id, serial__in=serials).update(
        location=None, status=SerialUnit.Status.USED, work_order_id=work_order_id)
    return serials


def _moves(ids: list[int]) -> list[StockMove]:
    return list(StockMove.objects.filter(pk__in=ids).order_by("id"))


# --- what a work order holds ----------------------------------------------------------------


def reserved_for(*, work_order_ids) -> dict[tuple[int, int, int], Decimal]:
    """(work order, location, part) → quantity still reserved, from the ledger."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT work_order_id, location_id, part_id, SUM(reserved_delta) FROM inventory_stockmove
               WHERE work_order_id = ANY(%s) GROUP BY 1, 2, 3 HAVING SUM(reserved_delta) <> 0""",
            [list(work_order_ids)],
        )
        return {(wo, loc, part): q for wo, loc, part, q in cursor.fetchall()}


# One statement: what each work order still holds (from the ledger) is released, the ledger rows and
# the levels together. Runs with the work orders locked (the lifecycle), so nobody else changes what
# they hold meanwhile.
_RELEASE_SQL = """
WITH held AS (
    SELECT work_order_id, location_id, part_id, SUM(reserved_delta) AS quantity FROM inventory_stockmove
    WHERE work_order_id = ANY(%(ids)s) GROUP BY 1, 2, 3 HAVING SUM(reserved_delta) > 0
),
locked AS (
    SELECT sl.id FROM inventory_stocklevel sl JOIN held h ON sl.location_id = h.location_id AND sl.part_id = h.part_id
    ORDER BY sl.id FOR UPDATE OF sl
),
levels AS (
    UPDATE inventory_stocklevel sl SET reserved = sl.reserved - h.quantity
    FROM (SELECT location_id, part_id, SUM(quantity) AS quantity FROM held GROUP BY 1, 2) h
    WHERE sl.location_id = h.location_id AND sl.part_id = h.part_id AND sl.id IN (SELECT id FROM locked)
    RETURNING sl.location_id, sl.part_id, sl.on_hand - sl.reserved AS available
),
rearmed AS (
    -- Released stock is available again: a reorder point it lifts back to or above is armed again.
    UPDATE inventory_reorderpoint rp SET below = FALSE
    FROM levels x
    WHERE rp.location_id = x.location_id AND rp.part_id = x.part_id AND rp.below AND x.available >= rp.point
    RETURNING 1
),
ledger AS (
    INSERT INTO inventory_stockmove (location_id, part_id, kind, quantity, reserved_delta, work_order_id,
                                     counterpart_id, serials, reason, actor_id, created_at)
    SELECT location_id, part_id, 'release', 0, -quantity, work_order_id, NULL, '{}', %(reason)s, %(actor)s, %(now)s
    FROM held
    RETURNING 1
)
SELECT (SELECT count(*) FROM ledger), (SELECT count(*) FROM levels), (SELECT count(*) FROM rearmed)
"""


def stock_release(*, work_order_ids, actor=None, reason: str = "", now=None) -> int:
    """Release everything the work orders still hold (cancelled, un-assigned, rejected, reopened).
    One statement; answers the number of ledger rows written."""
    ids = [int(pk) for pk in work_order_ids]
    if not ids:
        return 0
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_RELEASE_SQL, {"ids": ids, "reason": (reason or "")[:REASON_MAX], "actor": actor_id,
                                      "now": now or timezone.now()})
        return cursor.fetchone()[0]


# --- assignment: reserve what the job needs --------------------------------------------------

_CANDIDATE_LEVELS_SQL = """
SELECT sl.location_id, sl.part_id, sl.on_hand - sl.reserved, loc.kind, loc.technician_id, loc.allow_negative,
       loc.latitude, loc.longitude, loc.name
FROM inventory_stocklevel sl JOIN inventory_stocklocation loc ON loc.id = sl.location_id
WHERE sl.part_id = ANY(%s) AND loc.active AND (loc.kind = 'warehouse' OR (loc.kind = 'van' AND loc.technician_id = ANY(%s)))
ORDER BY sl.id
FOR UPDATE OF sl
"""


@dataclass
class _Level:
    location_id: int
    available: Decimal
    allow_negative: bool
    position: tuple[float, float] | None
    name: str


def _technician_position(technician) -> tuple[float, float] | None:
    for lat, lng in ((technician.last_latitude, technician.last_longitude),
                     (technician.home_latitude, technician.home_longitude)):
        if lat is not None and lng is not None:
            return float(lat), float(lng)
    return None


def _km(a, b) -> float:
    """Great-circle distance; unknown positions are far."""
    if a is None or b is None:
        return math.inf
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def stock_reserve_for_assignments(*, assignments, actor=None, now=None) -> dict[int, dict]:
    """Reserve the parts each newly assigned order's service type needs.

    ``assignments``: (work order, technician) pairs, both rows locked by the caller. Each part comes
    from the technician's van when it has enough, else from the active warehouse nearest to the
    technician (last known position, else home base) that has enough; a part nobody has is not
    reserved and is named in the answer: ``{work order id: {"reserved": [[part number, quantity,
    location]], "missing": [[part number, quantity]]}}``. No query when no order needs parts; else two:
    the candidate levels, locked, and the write.
    """
    needs = {wo.pk: (wo, tech, service_type_parts(wo.service_type_id)) for wo, tech in assignments}
    part_ids = sorted({need.part_id for _wo, _tech, lines in needs.values() for need in lines})
    if not part_ids:
        return {}
    tech_ids = sorted({tech.pk for _wo, tech, lines in needs.values() if lines})
    vans: dict[tuple[int, int], _Level] = {}
    warehouses: dict[int, list[_Level]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATE_LEVELS_SQL, [part_ids, tech_ids])
        for location_id, part_id, available, kind, tech_id, negative, lat, lng, name in cursor.fetchall():
            level = _Level(location_id, available, negative,
                           (float(lat), float(lng)) if lat is not None and lng is not None else None, name)
            if kind == StockLocation.Kind.VAN:
                vans[(tech_id, part_id)] = level
            else:
                warehouses[part_id].append(level)
    moves, answer = [], {}
    for wo_id, (_wo, tech, lines) in needs.items():
        if not lines:
            continue
        here = _technician_position(tech)
        result = answer[wo_id] = {"reserved": [], "missing": []}
        for need in lines:
            options = [vans.get((tech.pk, need.part_id))]
            options += sorted(warehouses.get(need.part_id, ()), key=lambda lv: (_km(here, lv.position), lv.name))
            chosen = next((lv for lv in options if lv is not None
                           and (lv.available >= need.quantity or lv.allow_negative)), None)
            if chosen is None:
                result["missing"].append([need.part_number, _plain(need.quantity)])
                continue
            chosen.available -= need.quantity
            moves.append(Move(chosen.location_id, need.part_id, Kind.RESERVATION, reserved=need.quantity,
                              work_order_id=wo_id))
            result["reserved"].append([need.part_number, _plain(need.quantity), chosen.name])
    _write(moves, actor=actor, now=now)
    return answer


# --- completion: reservations become use ----------------------------------------------------

_HELD_AND_VAN_SQL = """
SELECT location_id, part_id, SUM(reserved_delta), NULL FROM inventory_stockmove
WHERE work_order_id = %s GROUP BY location_id, part_id HAVING SUM(reserved_delta) > 0
UNION ALL
SELECT id, NULL, NULL, allow_negative FROM inventory_stocklocation
WHERE kind = 'van' AND technician_id = %s AND active
"""


def stock_use_for_completion(*, work_order_id: int, technician_id, lines, actor=None, now=None) -> list[Move]:
    """The parts a completion report lists are used: from what the order holds first (its reservation's
    location), the rest from the technician's van; what it held and did not use is released.

    ``lines``: (part, quantity) pairs. A part neither reserved nor in a van (a technician without one)
    is not taken from tracked stock. More than is there → ``Conflict`` (the caller's transaction, and
    so the completion, is rolled back). Two statements (one more per serial-numbered line).
    """
    with connection.cursor() as cursor:
        cursor.execute(_HELD_AND_VAN_SQL, [work_order_id, technician_id])
        rows = cursor.fetchall()
    held: dict[int, list[list]] = defaultdict(list)
    van_id = None
    for location_id, part_id, quantity, _negative in rows:
        if part_id is None:
            van_id = location_id
        else:
            held[part_id].append([location_id, quantity])
    used: dict[int, tuple[Part, Decimal]] = {}
    for part, quantity in lines:
        before = used.get(part.pk, (part, ZERO))[1]
        used[part.pk] = (part, before + quantity)
    moves: list[Move] = []
    for part_id, (part, quantity) in used.items():
        if not part.fractional and quantity != quantity.to_integral_value():
            message = _("%(part)s is counted in whole %(unit)s; enter a whole number.") % {"part": part,
                                                                                          "unit": part.unit}
            raise InvalidInput(message, fields={"parts": [message]})
        holdings = held.pop(part_id, [])
        remaining = quantity
        for holding in holdings:
            take = min(holding[1], remaining)
            if take > 0:
                moves.append(Move(holding[0], part_id, Kind.USE, quantity=-take, reserved=-take,
                                  work_order_id=work_order_id))
                holding[1] -= take
                remaining -= take
            if holding[1] > 0:
                moves.append(Move(holding[0], part_id, Kind.RELEASE, reserved=-holding[1],
                                  work_order_id=work_order_id))
        if remaining > 0:
            # More than was reserved: from where it was reserved, else the van (if it has it).
            source = holdings[0][0] if holdings else van_id
            if source is not None:
                moves.append(Move(source, part_id, Kind.USE, quantity=-remaining, work_order_id=work_order_id))
    for part_id, holdings in held.items():  # reserved, not used
        for location_id, quantity in holdings:
            moves.append(Move(location_id, part_id, Kind.RELEASE, reserved=-quantity, work_order_id=work_order_id))
    moves = _merged(moves)
    # Serial-numbered parts: which units went into the job (the oldest at the location).
    for move in moves:
        part = used.get(move.part_id, (None,))[0]
        if move.kind == Kind.USE and part is not None and part.serialized:
            move.serials = _use_picked(move.part_id, move.location_id, int(-move.quantity), work_order_id)
    _write(moves, actor=actor, now=now)
    return moves


def _merged(moves: list[Move]) -> list[Move]:
    """Use from a reservation and beyond it at one location, as one ledger row."""
    merged: dict[tuple, Move] = {}
    for m in moves:
        key = (m.location_id, m.part_id, m.kind)
        if key in merged:
            merged[key].quantity += m.quantity
            merged[key].reserved += m.reserved
            merged[key].serials += m.serials
        else:
            merged[key] = Move(m.location_id, m.part_id, m.kind, m.quantity, m.reserved, m.work_order_id,
                               m.counterpart_id, list(m.serials), m.reason)
    return list(merged.values())
