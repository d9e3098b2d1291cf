"""Reads for the customer page (``/staff/customers/<id>/``) and the equipment page
(``/staff/equipment/<id>/``).

Each page issues a fixed number of queries however many orders, surveys, reports, parts or
photos there are (tests/customer360/test_customer_page.py counts them): the lower apps' selectors
read one kind of row each, and this module only shapes them. Service types, technicians and SLA
policies come from the process's copies.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from catalog.selectors import service_types_by_pk
from completion.selectors import customer_reports, equipment_visits
from customers.models import Customer, Equipment
from customers.selectors import customer_profile, equipment_detail
from workorders.history import CUSTOMER_ORDER_LIMIT, customer_orders, repeat_failure_ids
from workorders.lifecycle import OPEN_STATES, Status
from workorders.models import Escalation, Survey
from workorders.selectors import technician_refs, workorder_visible_to
from workorders.sla import target_states_html_rows, target_states_rows


def order_number(pk: int, created_at: datetime) -> str:
    """As ``WorkOrder.number``, from values."""
    return f"WO-{timezone.localtime(created_at).year}-{pk:06d}"


@dataclass
class TimelineEntry:
    when: datetime
    kind: str  # order, completed, survey, callback, escalation
    order_id: int
    number: str
    text: str = ""
    score: int | None = None


@dataclass
class CustomerPage:
    customer: Customer
    sites: list  # (site, [equipment]) in site order
    unsited_equipment: list
    orders: list[dict]  # customer_orders rows with number, service_type, technician, sla_html, is_open
    orders_capped: bool
    surveys: list
    callbacks: list  # surveys that asked for a call-back (a low answer: a complaint)
    escalations: list
    reports: list  # completion reports with parts, newest first
    charges_by_month: list[dict]  # {"month": date, "labour", "parts", "total", "visits"}, newest first
    parts_total: Decimal
    charges_total: Decimal
    map_points: list[dict] = field(default_factory=list)  # {"lat", "lon", "label"}
    timeline: list[TimelineEntry] = field(default_factory=list)
    last_visit: dict | None = None  # the newest completed order: number, technician, parts


def customer_page(*, user, pk: int, today: date | None = None) -> CustomerPage | None:
    """Everything the customer page shows of customer ``pk``, or None. Eight queries."""
    customer = customer_profile(pk=pk)
    if customer is None:
        return None
    today = today or timezone.localdate()
    equipment = list(customer.equipment.all())
    for piece in equipment:
        piece.warranty_ok = bool(piece.warranty_end and piece.warranty_end >= today)
    by_site = defaultdict(list)
    for piece in equipment:
        by_site[piece.site_id].append(piece)
    sites = [(site, by_site.get(site.pk, [])) for site in customer.sites.all()]

    orders = customer_orders(queryset=workorder_visible_to(user), customer_id=customer.pk)
    order_ids = {o["id"] for o in orders}
    reports = [r for r in customer_reports(customer_id=customer.pk) if r.work_order_id in order_ids]
    types = service_types_by_pk({o["service_type_id"] for o in orders})
    technicians = technician_refs({o["technician_id"] for o in orders if o["technician_id"]}
                                  | {r.technician_id for r in reports})
    sla_html = target_states_html_rows(target_states_rows(orders))
    status_labels = dict(Status.choices)
    numbers = {}
    for row, sla in zip(orders, sla_html, strict=True):
        row["number"] = numbers[row["id"]] = order_number(row["id"], row["created_at"])
        row["service_type"] = types[row["service_type_id"]].name
        ref = technicians.get(row["technician_id"]) if row["technician_id"] else None
        row["technician"] = ref.name if ref else ""
        row["sla_html"] = sla
        row["is_open"] = row["status"] in OPEN_STATES
        row["status_label"] = status_labels.get(row["status"], row["status"])

    surveys = [s for s in Survey.objects.filter(work_order__customer_id=customer.pk).order_by("-created_at", "-id")
               if s.work_order_id in order_ids]
    escalations = [
        e for e in Escalation.objects.filter(work_order__customer_id=customer.pk)
        .select_related("level").order_by("-fired_at", "-id")
        if e.work_order_id in order_ids
    ]

    months: dict[date, dict] = {}
    for report in reports:
        month = timezone.localtime(report.created_at).date().replace(day=1)
        entry = months.setdefault(month, {"month": month, "labour": Decimal(0), "parts": Decimal(0),
                                          "total": Decimal(0), "visits": 0})
        entry["labour"] += report.labour_amount
        entry["parts"] += report.parts_amount
        entry["total"] += report.total_amount
        entry["visits"] += 1
        report.number = numbers[report.work_order_id]
        ref = technicians.get(report.technician_id)
        report.technician_name = ref.name if ref else ""

    page = CustomerPage(
        customer=customer,
        sites=sites,
        unsited_equipment=by_site.get(None, []),
        orders=orders,
        orders_capped=len(orders) >= CUSTOMER_ORDER_LIMIT,
        surveys=surveys,
        callbacks=[s for s in surveys if s.needs_callback or s.is_low],
        escalations=escalations,
        reports=reports,
        charges_by_month=sorted(months.values(), key=lambda m: m["month"], reverse=True),
        parts_total=sum((r.parts_amount for r in reports), Decimal(0)),
        charges_total=sum((r.total_amount for r in reports), Decimal(0)),
        map_points=[
            {"lat": float(site.latitude), "lon": float(site.longitude), "label": site.label or site.address}
            for site, _pieces in sites
            if site.latitude is not None and site.longitude is not None
        ],
    )
    if reports:
        newest = reports[0]
        page.last_visit = {
            "number": newest.number, "order_id": newest.work_order_id, "when": newest.created_at,
            "technician": newest.technician_name, "work_done": newest.work_done, "parts": list(newest.parts.all()),
        }
    page.timeline = _timeline(orders, surveys, escalations, reports, numbers)
    return page


def _timeline(orders, surveys, escalations, reports, numbers) -> list[TimelineEntry]:
    """Orders, completions, survey answers, call-backs and escalations, newest first."""
    entries = [
        TimelineEntry(o["created_at"], "order", o["id"], o["number"], f'{o["service_type"]}: {o["description"]}')
        for o in orders
    ]
    entries += [TimelineEntry(r.created_at, "completed", r.work_order_id, r.number, r.work_done) for r in reports]
    for s in surveys:
        if s.answered_at:
            entries.append(TimelineEntry(s.answered_at, "survey", s.work_order_id, numbers[s.work_order_id],
                                         s.comment, score=s.satisfaction))
        if s.callback_at:
            entries.append(TimelineEntry(s.callback_at, "callback", s.work_order_id, numbers[s.work_order_id],
                                         s.callback_note))
    entries += [
        TimelineEntry(e.fired_at, "escalation", e.work_order_id, numbers[e.work_order_id],
                      f"{e.get_target_display()} · {e.level.name} ({e.percent}%)")
        for e in escalations
    ]
    entries.sort(key=lambda e: (e.when, e.order_id), reverse=True)
    return entries


@dataclass
class EquipmentPage:
    equipment: Equipment
    under_warranty: bool
    visits: list  # WorkOrder with reports (parts, photos), number, repeat_failure


def equipment_page(*, pk: int, today: date | None = None) -> EquipmentPage | None:
    """A piece of equipment with every visit to it, newest first: what was done, parts, photos,
    technician, and whether the order was a repeat failure. Six queries."""
    equipment = equipment_detail(pk=pk)
    if equipment is None:
        return None
    today = today or timezone.localdate()
    visits = equipment_visits(equipment_id=equipment.pk)
    repeats = repeat_failure_ids((v.pk, v.created_at, v.resolved_at) for v in visits)
    for visit in visits:
        visit.repeat_failure = visit.pk in repeats
    return EquipmentPage(
        equipment=equipment,
        under_warranty=bool(equipment.warranty_end and equipment.warranty_end >= today),
        visits=visits,
    )
