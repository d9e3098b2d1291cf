"""Part requests: a technician asks, a storekeeper or manager approves and ships, the technician
confirms receipt.

requested → approved (the source chosen) → shipped → received; requested or approved → rejected
(with a reason, by a storekeeper or manager) or cancelled (by the technician).

Shipping books the transfer out of the source (``transfer_out``, refused like any move when the
source has not got enough); the parts are then in transit, in no location's level, until the
technician confirms receipt, which books them into the van (``transfer_in``). So the van never
shows, and dispatch never counts on, parts that are still on the road, and the warehouse stops
counting them the moment they leave. Each step locks the request row (``SELECT ... FOR UPDATE``)
and checks its status: of two managers approving at once one wins, the other gets ``Conflict``.

Who: the technician who asked (``Technician.user``) sees, cancels and receives their own requests;
office roles see all; managers and storekeepers (the permission ``inventory.handle_partrequest``)
approve, reject and ship. A request nobody may see is ``NotFound``.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from catalog.models import Part
from core import roles as R
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.permissions import may, require

from .models import PartRequest, PartRequestLine, SerialUnit, StockLocation, StockMove
from .services import Move, _plain, _serials_pick, _write, stock_quantity

Status = PartRequest.Status
MAX_LINES = 20
NOTE_MAX = 500
REASON_MAX = 300
OPEN = (Status.REQUESTED, Status.APPROVED)


def part_requests_visible_to(user) -> QuerySet:
    requests = PartRequest.objects.select_related("technician__user", "destination", "source", "requested_by")
    if user is None or not user.is_authenticated:
        return requests.none()
    if may(user, "inventory.read_every_part_request"):
        return requests
    if R.has_role(user, R.TECHNICIAN, R.PARTNER_TECHNICIAN):
        return requests.filter(technician__user=user)
    return requests.none()


def part_request_for(*, request_id, user, lock: bool = False) -> PartRequest:
    """One request the user may see (locked, ``lock``), else NotFound: nobody learns that it exists."""
    found = None
    if str(request_id).isdigit() and int(request_id) < 2**63:
        requests = part_requests_visible_to(user).filter(pk=int(request_id))
        if lock:
            requests = requests.select_for_update(of=("self",))
        found = requests.first()
    if found is None:
        raise NotFound(_("No such part request."))
    return found


def _invalid(name: str, message: str) -> InvalidInput:
    return InvalidInput(message, fields={name: [message]})


def _text(value, name: str, limit: int, *, required_message: str = "") -> str:
    value = (value or "").strip()
    if required_message and not value:
        raise _invalid(name, required_message)
    if len(value) > limit:
        raise _invalid(name, _("Keep it under %(n)d characters.") % {"n": limit})
    return value


def _lines(raw_lines) -> list[tuple[Part, Decimal]]:
    """(part id, quantity) pairs → (part, quantity), a part listed twice added up; active parts only."""
    pairs = [(str(p).strip(), q) for p, q in raw_lines or () if str(p).strip() or str(q or "").strip()]
    if not pairs:
        raise _invalid("lines", _("Add at least one part."))
    if len(pairs) > MAX_LINES:
        raise _invalid("lines", _("At most %(n)d parts in one request.") % {"n": MAX_LINES})
    ids = [int(p) for p, _q in pairs if p.isdigit() and len(p) < 19]
    parts = {p.pk: p for p in Part.objects.filter(pk__in=ids, active=True)}
    merged: dict[int, tuple[Part, Decimal]] = {}
    for raw_part, raw_quantity in pairs:
        part = parts.get(int(raw_part)) if raw_part.isdigit() and len(raw_part) < 19 else None
        if part is None:
            raise _invalid("lines", _("Choose a part from the catalog."))
        quantity = stock_quantity(part, raw_quantity, name="lines")
        before = merged.get(part.pk, (part, Decimal(0)))[1]
        merged[part.pk] = (part, before + quantity)
    return list(merged.values())


def _assigned_to(work_order_id, technician) -> bool:
    # The job must be the technician's own. Read by table name: the work orders sit above this app
    # (docs/architecture.md), which names a work order by id, as its reservations do.
    if not str(work_order_id).isdigit() or int(work_order_id) >= 2**63:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM workorders_workorder WHERE id = %s AND technician_id = %s",
                       [int(work_order_id), technician.pk])
        return cursor.fetchone() is not None


def part_request_create(*, actor, lines, work_order_id=None, note: str = "") -> PartRequest:
    """A technician asks for parts to their van: for one of their jobs (``work_order_id``), or to
    restock (none). ``lines``: (part id, quantity) pairs."""
    require(actor, "inventory.request_parts")
    technician = R.technician_profile(actor)
    if technician is None:
        raise Forbidden(_("Only a technician can request parts."))
    if work_order_id not in (None, "") and not _assigned_to(work_order_id, technician):
        raise NotFound(_("No such work order."))
    van = StockLocation.objects.filter(kind=StockLocation.Kind.VAN, technician=technician, active=True).first()
    if van is None:
        raise Conflict(_("You have no active van to receive parts into; ask your manager."), code="no_van")
    parts = _lines(lines)
    note = _text(note, "note", NOTE_MAX)
    with transaction.atomic():
        request = PartRequest.objects.create(
            technician=technician, requested_by=actor, destination=van, note=note,
            purpose=PartRequest.Purpose.JOB if work_order_id not in (None, "") else PartRequest.Purpose.RESTOCK,
            work_order_id=int(work_order_id) if work_order_id not in (None, "") else None,
        )
        PartRequestLine.objects.bulk_create(PartRequestLine(request=request, part=part, quantity=quantity)
                                            for part, quantity in parts)
    return request


def _state_conflict(request: PartRequest, action: str) -> Conflict:
    """The clear answer for a step the request's status no longer allows (someone was quicker)."""
    who = request.decided_by or request.shipped_by
    by = (who.get_full_name() or who.username) if who is not None else ""
    if request.status == Status.APPROVED and by:
        message = _("Request %(id)s was already approved by %(name)s.") % {"id": request.pk, "name": by}
    elif request.status == Status.REJECTED and by:
        message = _("Request %(id)s was already rejected by %(name)s.") % {"id": request.pk, "name": by}
    else:
        message = _("Request %(id)s is %(status)s: it cannot be %(action)s now.") % {
            "id": request.pk, "status": request.get_status_display().lower(), "action": action}
    return Conflict(message, code="request_state")


def _handler(actor) -> None:
    require(actor, "inventory.handle_part_requests")


def part_request_approve(*, request_id, actor, source_id, now=None) -> PartRequest:
    """Approve a requested request, shipping from ``source_id`` (not the van it goes to)."""
    _handler(actor)
    source = None
    if str(source_id).isdigit() and len(str(source_id)) < 19:
        source = StockLocation.objects.filter(pk=int(source_id)).first()
    if source is None:
        raise NotFound(_("No such stock location."))
    with transaction.atomic():
        request = part_request_for(request_id=request_id, user=actor, lock=True)
        if request.status != Status.REQUESTED:
            raise _state_conflict(request, _("approved"))
        if source.pk == request.destination_id:
            raise _invalid("source", _("Choose another location than the van the parts go to."))
        request.status, request.source = Status.APPROVED, source
        request.decided_by, request.decided_at = actor, now or timezone.now()
        request.save(update_fields=["status", "source", "decided_by", "decided_at"])
    return request


def part_request_reject(*, request_id, actor, reason, now=None) -> PartRequest:
    _handler(actor)
    reason = _text(reason, "reason", REASON_MAX, required_message=_("Say why the request is rejected."))
    with transaction.atomic():
        request = part_request_for(request_id=request_id, user=actor, lock=True)
        if request.status not in OPEN:
            raise _state_conflict(request, _("rejected"))
        request.status, request.reason = Status.REJECTED, reason
        request.decided_by, request.decided_at = actor, now or timezone.now()
        request.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    return request


def part_request_cancel(*, request_id, actor, reason: str = "") -> PartRequest:
    """The technician who asked withdraws a request not shipped yet."""
    reason = _text(reason, "reason", REASON_MAX)
    with transaction.atomic():
        request = part_request_for(request_id=request_id, user=actor, lock=True)
        if request.technician.user_id != actor.pk:
            raise Forbidden(_("Only the technician who asked can cancel a part request."))
        if request.status not in OPEN:
            raise _state_conflict(request, _("cancelled"))
        request.status, request.reason = Status.CANCELLED, reason
        request.save(update_fields=["status", "reason"])
    return request


def _reason_of(request: PartRequest) -> str:
    return _("Part request %(id)s") % {"id": request.pk}


def part_request_ship(*, request_id, actor, now=None) -> PartRequest:
    """The approved parts leave the source: one ``transfer_out`` per line, refused (all of them) when
    the source has not got enough. Serial-numbered parts: the source's oldest units are picked and
    listed on the line and the ledger row; they are booked at the van from now."""
    _handler(actor)
    now = now or timezone.now()
    with transaction.atomic():
        request = part_request_for(request_id=request_id, user=actor, lock=True)
        if request.status != Status.APPROVED:
            raise _state_conflict(request, _("shipped"))
        lines = list(request.lines.select_related("part"))
        moves = []
        for line in lines:
            if line.part.serialized:
                line.serials = _serials_pick(line.part_id, request.source_id, int(line.quantity))
                if len(line.serials) < line.quantity:
                    message = _("Not enough %(part)s at %(location)s: %(available)s %(unit)s available, "
                                "%(wanted)s wanted.") % {
                        "part": line.part, "location": request.source, "available": len(line.serials),
                        "unit": line.part.unit, "wanted": _plain(line.quantity)}
                    raise Conflict(message, code="insufficient_stock")
                SerialUnit.objects.filter(part_id=line.part_id, serial__in=line.serials).update(
                    location_id=request.destination_id)
                line.save(update_fields=["serials"])
            moves.append(Move(request.source_id, line.part_id, StockMove.Kind.TRANSFER_OUT, quantity=-line.quantity,
                              counterpart_id=request.destination_id, serials=line.serials,
                              reason=_reason_of(request)))
        _write(moves, actor=actor, now=now)
        request.status, request.shipped_by, request.shipped_at = Status.SHIPPED, actor, now
        request.save(update_fields=["status", "shipped_by", "shipped_at"])
    return request


def part_request_receive(*, request_id, actor, now=None) -> PartRequest:
    """The technician who asked confirms the parts are in the van: one ``transfer_in`` per line."""
    now = now or timezone.now()
    with transaction.atomic():
        request = part_request_for(request_id=request_id, user=actor, lock=True)
        if request.technician.user_id != actor.pk:
            raise Forbidden(_("Only the technician who asked can confirm receipt."))
        if request.status != Status.SHIPPED:
            raise _state_conflict(request, pgettext("part request step", "received"))
        moves = [Move(request.destination_id, line.part_id, StockMove.Kind.TRANSFER_IN, quantity=line.quantity,
                      counterpart_id=request.source_id, serials=line.serials, reason=_reason_of(request))
                 for line in request.lines.all()]
        _write(moves, actor=actor, now=now)
        request.status, request.received_at = Status.RECEIVED, now
        request.save(update_fields=["status", "received_at"])
    return request
