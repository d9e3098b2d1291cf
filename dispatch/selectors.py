"""Reads for dispatch: the facts the rules need, the board, the candidates.

Every function here issues a fixed number of queries however many
technicians, work orders or shifts there are: technicians come with their
user and partner company joined, and skills, shifts, open jobs and partner
scopes come in one query each (never one per technician).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from core.i18n import translated
from core.refcache import VersionedCache
from customers.models import Site
from technicians.models import PartnerCompany, PartnerScope, Shift, Technician, TechnicianSkill
from workorders.lifecycle import Status
from catalog.models import ServiceType, ServiceTypeSkill
from catalog.selectors import service_type_parts
from inventory.selectors import van_stock
from sla.calendar import Calendar
from sla.models import BusinessCalendar, CalendarDay
from workorders.models import WorkOrder
from workorders.sla import SLA_STATE_FIELDS

from . import rules, travel
from .rules import ACTIVE_STATES, Booking, OrderFacts, ShiftRow, TechFacts
from .scoring import Weights, pair_parts, technician_position


def workorder_number(pk: int, created_at, tz=None) -> str:
    """``WorkOrder.number`` (WO-<year created>-<id>) without building a model instance.

    The board formats a thousand of these per request (passing the time zone
    ``tz`` saves looking it up each time); a test checks both agree.
    """
    if created_at is None:
        return f"WO-{timezone.now().year}-{pk:06d}"
    return f"WO-{created_at.astimezone(tz or timezone.get_current_timezone()).year}-{pk:06d}"


def technician_name(username: str, first_name: str, last_name: str) -> str:
    """``str(technician)`` from the user's columns (a test checks both agree)."""
    return f"{first_name} {last_name}".strip() or username


@functools.lru_cache(maxsize=4096)
def workorder_version(updated_at, status, technician_id, start, end) -> str:
    """What the board sends back with a drop: a token of the order as the dispatcher saw it.

    Its last change and its place (status, technician, window): a drop on an order that changed
    since is refused, even if two changes fell in the same clock tick. The same in every process
    (a hash of the values, never of the process): the board's poll makes it, the drop checks it.

    Kept per process by its arguments: the board makes one per open job and queue row on every
    poll (about 2,070 at 500 technicians, 7.6 ms of CPU a poll made afresh, 0.3 ms looked up).
    ``updated_at`` is read in UTC, so that equal moments (equal keys) give the same token
    whatever their time zone.
    """
    stamp = "|".join(str(v) for v in (updated_at.astimezone(dt.timezone.utc).isoformat() if updated_at else "",
                                       status, technician_id,
                                       start.timestamp() if start else "", end.timestamp() if end else ""))
    return hashlib.sha1(stamp.encode()).hexdigest()[:20]


def _float(value):
    return None if value is None else float(value)


# The states in which a technician is at (or driving to) a job's site now.
CURRENT_STATES = ("en_route", "in_progress")


def _pair(lat, lng):
    return None if lat is None or lng is None else (float(lat), float(lng))


@dataclass
class OpenJob:
    """One open work order of a technician: the board's timeline bar, a booking for the rules."""

    id: int
    number: str
    technician_id: int
    status: str
    priority: int
    start: dt.datetime | None
    end: dt.datetime | None
    service_type: str
    address: str
    latitude: float | None
    longitude: float | None
    # What the board sends back with a drop (``workorder_version``): a stale drop is refused.
    version: str = ""

    @property
    def status_label(self):
        return Status(self.status).label


@dataclass
class TechnicianData:
    facts: list[TechFacts]
    jobs: dict[int, list[OpenJob]] = field(default_factory=dict)
    skill_names: dict[int, list[tuple[str, int]]] = field(default_factory=dict)


def technician_data(technicians: QuerySet, *, days=()) -> TechnicianData:
    """Facts for the technicians in ``technicians`` (a queryset), in five queries.

    ``days``: the local dates whose dated shift rows are needed (weekly rows
    always come). Rows come as values, not model instances: building model
    objects is what would make hundreds of technicians slow.
    """
    rows = list(
        technicians.annotate(has_shifts=Exists(Shift.objects.filter(technician=OuterRef("pk"))))
        .order_by("user__username", "pk")
        .values_list(
            "pk", "active", "partner_company_id", "partner_company__name", "partner_company__active",
            "user__username", "user__first_name", "user__last_name", "home_latitude", "home_longitude",
            "last_latitude", "last_longitude", "last_seen_at", "has_shifts",
        )
    )
    data = TechnicianData(facts=[])
    if not rows:
        return data
    ids = technicians.values("pk")
    by_id: dict[int, TechFacts] = {}
    for (pk, active, partner_id, partner_name, partner_active, username, first_name, last_name,
         home_lat, home_lng, last_lat, last_lng, last_seen_at, has_shifts) in rows:
        facts = TechFacts(
            id=pk,
            name=technician_name(username, first_name, last_name),
            active=active,
            partner_company_id=partner_id,
            partner_name=partner_name or "",
            partner_active=partner_active if partner_id else True,
            home=_pair(home_lat, home_lng),
            last=_pair(last_lat, last_lng),
            last_seen_at=last_seen_at,
            scheduled=has_shifts,
        )
        by_id[pk] = facts
        data.facts.append(facts)
        data.jobs[pk] = []
        data.skill_names[pk] = []

    for tech_id, skill_id, level, name in (
        TechnicianSkill.objects.filter(technician__in=ids)
        .annotate(skill_label=translated("skill__name"))
        .order_by("skill_label")
        .values_list("technician_id", "skill_id", "level", "skill_label")
    ):
        by_id[tech_id].skills[skill_id] = level
        data.skill_names[tech_id].append((name, level))

    shift_filter = Q(date__isnull=True)
    if days:
        shift_filter |= Q(date__in=sorted(set(days)))
    for tech_id, weekday, date, start, end, available in (
        Shift.objects.filter(shift_filter, technician__in=ids)
        .order_by()
        .values_list("technician_id", "weekday", "date", "start", "end", "available")
    ):
        by_id[tech_id].shifts.append(ShiftRow(weekday, date, start, end, available))

    # Tuples, not dicts, and each value converted once: about 1,900 rows on every board poll.
    tz = timezone.get_current_timezone()
    jobs = data.jobs
    for (pk, created_at, tech_id, status, priority, start, end, address, lat, lng, updated_at,
         service_type_name) in (
        WorkOrder.objects.filter(technician__in=ids, status__in=ACTIVE_STATES)
        .order_by("appointment_start", "pk")
        .values_list(
            "pk", "created_at", "technician_id", "status", "priority", "appointment_start", "appointment_end",
            "address", "site__latitude", "site__longitude", "updated_at", translated("service_type__name"),
        )
    ):
        number = workorder_number(pk, created_at, tz)
        facts = by_id[tech_id]
        facts.open_job_ids.add(pk)
        latitude, longitude = _float(lat), _float(lng)
        site = None if latitude is None or longitude is None else (latitude, longitude)
        if start is not None and end is not None:
            facts.bookings.append(Booking(pk, number, start, end, site))
        if status in CURRENT_STATES and site is not None:
            facts.current = site
        jobs[tech_id].append(
            OpenJob(pk, number, tech_id, status, priority, start, end, service_type_name, address, latitude,
                    longitude, workorder_version(updated_at, status, tech_id, start, end))
        )

    partner_ids = {f.partner_company_id for f in data.facts if f.partner_company_id}
    if partner_ids:
        scopes: dict[int, list] = {}
        for partner_id, service_type_id, city in PartnerScope.objects.filter(
            partner_company_id__in=partner_ids
        ).values_list("partner_company_id", "service_type_id", "city"):
            scopes.setdefault(partner_id, []).append((service_type_id, city))
        for facts in data.facts:
            if facts.partner_company_id:
                facts.scopes = scopes.get(facts.partner_company_id, [])
    return data


def technician_facts_for_check(technician: Technician, *, days, need_skills: bool = True) -> TechFacts:
    """The facts about one (locked) technician, in as few queries as the case needs.

    Two or three queries for our own staff (skills only when the service type
    needs some), two more for a partner's technician. ``technician.user`` is
    read once and stays cached on the object for the caller.
    """
    facts = TechFacts(
        id=technician.pk,
        name=str(technician),
        active=technician.active,
        partner_company_id=technician.partner_company_id,
        home=_pair(technician.home_latitude, technician.home_longitude),
        last=_pair(technician.last_latitude, technician.last_longitude),
        last_seen_at=technician.last_seen_at,
    )
    if technician.partner_company_id:
        partner = PartnerCompany.objects.filter(pk=technician.partner_company_id).values("name", "active").first()
        facts.partner_name, facts.partner_active = partner["name"], partner["active"]
        facts.scopes = list(
            PartnerScope.objects.filter(partner_company_id=technician.partner_company_id).values_list(
                "service_type_id", "city"
            )
        )
    if need_skills:
        facts.skills = dict(TechnicianSkill.objects.filter(technician=technician).values_list("skill_id", "level"))
    # The day's rows and the weekly ones, plus any one row at all: whether the
    # technician keeps a schedule (no rows = always available).
    any_row = Shift.objects.filter(technician=technician).values("pk")[:1]
    facts.shifts = [
        ShiftRow(weekday, date, start, end, available)
        for weekday, date, start, end, available in Shift.objects.filter(technician=technician)
        .filter(Q(date__isnull=True) | Q(date__in=sorted(set(days))) | Q(pk__in=any_row))
        .values_list("weekday", "date", "start", "end", "available")
    ]
    facts.scheduled = bool(facts.shifts)
    for pk, created_at, start, end, status, lat, lng in WorkOrder.objects.filter(
        technician=technician, status__in=ACTIVE_STATES
    ).values_list("pk", "created_at", "appointment_start", "appointment_end", "status", "site__latitude",
                  "site__longitude"):
        facts.open_job_ids.add(pk)
        if start is not None and end is not None:
            facts.bookings.append(Booking(pk, workorder_number(pk, created_at), start, end, _pair(lat, lng)))
        if status in CURRENT_STATES and lat is not None and lng is not None:
            facts.current = _pair(lat, lng)
    return facts


def site_city(site_id) -> str:
    return (Site.objects.filter(pk=site_id).values_list("city", flat=True).first() or "") if site_id else ""


def service_type_name(pk) -> str:
    service_type = ServiceType.objects.filter(pk=pk).first()
    return service_type.name if service_type else ""


def required_skills(service_type_ids) -> dict[int, dict[int, tuple[int, str]]]:
    """service type id -> {skill id: (minimum level, skill name)}, in one query."""
    required: dict[int, dict[int, tuple[int, str]]] = {pk: {} for pk in service_type_ids}
    for type_id, skill_id, min_level, name in ServiceTypeSkill.objects.filter(
        service_type_id__in=list(required)
    ).annotate(skill_label=translated("skill__name")).values_list("service_type_id", "skill_id", "min_level",
                                                                   "skill_label"):
        required[type_id][skill_id] = (min_level, name)
    return required


def order_facts(orders: list[WorkOrder], *, required=None) -> list[OrderFacts]:
    """Facts for loaded work orders (with ``site`` and ``service_type`` joined); window left empty."""
    if required is None:
        required = required_skills({o.service_type_id for o in orders})
    facts = []
    for order in orders:
        site = order.site
        facts.append(
            OrderFacts(
                id=order.pk,
                number=order.number,
                service_type_id=order.service_type_id,
                service_type_name=order.service_type.name,
                required=required.get(order.service_type_id, {}),
                city=(site.city if site else "") or "",
                position=_pair(site.latitude, site.longitude) if site else None,
                priority=order.priority,
                created_at=order.created_at,
            )
        )
    return facts


ORDER_FACT_FIELDS = (
    "pk", "created_at", "priority", "service_type_id", "site__city", "site__latitude",
    "site__longitude", "preferred_start", "preferred_end",
)


def order_fact_values(queryset):
    """``queryset.values()`` as ``order_facts_from_rows`` reads them (the service type's name in the
    active language)."""
    return queryset.values(*ORDER_FACT_FIELDS, service_type__name=translated("service_type__name"))


def order_facts_from_rows(rows: list[dict], *, required=None) -> list[OrderFacts]:
    """Facts for work orders read by ``order_fact_values``; window left empty."""
    if required is None:
        required = required_skills({r["service_type_id"] for r in rows})
    return [
        OrderFacts(
            id=row["pk"],
            number=workorder_number(row["pk"], row["created_at"]),
            service_type_id=row["service_type_id"],
            service_type_name=row["service_type__name"],
            required=required.get(row["service_type_id"], {}),
            city=row["site__city"] or "",
            position=_pair(row["site__latitude"], row["site__longitude"]),
            priority=row["priority"],
            created_at=row["created_at"],
        )
        for row in rows
    ]


def unassigned_orders() -> QuerySet:
    """Work orders waiting for a technician."""
    return WorkOrder.objects.filter(status=Status.NEW, technician__isnull=True)


# The SLA's first-response deadline, where the work-order model has it (workorders/sla.py).
_SLA_DUE = "first_response_due" if any(f.name == "first_response_due" for f in WorkOrder._meta.fields) else None


def unassigned_queue(*, service_type_id=None, city: str = "", priority=None) -> QuerySet:
    """The unassigned queue, most urgent first: priority, then the time left on
    the SLA's first-response deadline (orders without one after those with
    one), then age (oldest first).
    """
    qs = unassigned_orders().select_related("site", "service_type")
    if service_type_id:
        qs = qs.filter(service_type_id=service_type_id)
    if city:
        qs = qs.filter(site__city__iexact=city)
    if priority:
        qs = qs.filter(priority=priority)
    keys = [F("priority").desc()]
    if _SLA_DUE:
        keys.append(F(_SLA_DUE).asc(nulls_last=True))
    return qs.order_by(*keys, "created_at", "pk")


def board_service_types() -> list[tuple[int, str]]:
    return list(ServiceType.objects.filter(active=True).order_by("name").values_list("pk", "name"))


# The board's area filter offers the cities of the unassigned queue. Finding them reads every
# order of the queue and its site (30,000 at 1,000,000 orders: 0.4-0.5 s) for a list of a few
# names that changes when the first order from a new city comes in; each web process keeps it for
# AREAS_SECONDS. A city that joins or leaves the queue shows in the filter within that time.
AREAS_SECONDS = 60
_areas = VersionedCache("dispatch-queue-areas", max_age=AREAS_SECONDS)


def queue_areas() -> list[str]:
    """The areas (site cities) of the orders in the unassigned queue, for the filter (at most
    ``AREAS_SECONDS`` old)."""
    return _areas.get("all", lambda: list(
        unassigned_orders()
        .exclude(site__city="")
        .exclude(site__city__isnull=True)
        .order_by("site__city")
        .values_list("site__city", flat=True)
        .distinct()
    ))


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


QUEUE_LIMIT = 200

# The board's views: how many days each shows.
BOARD_VIEWS = {"day": 1, "3day": 3, "week": 7}


def board_range(day: dt.date, view: str) -> tuple[dt.date, int]:
    """(first day, number of days) the board shows for ``view`` around ``day``: the day itself,
    three days from it, or the week (Monday to Sunday) that holds it."""
    days = BOARD_VIEWS.get(view, 1)
    if view == "week":
        day = day - dt.timedelta(days=day.weekday())
    return day, days


@dataclass
class Travel:
    """The way from one booking to the next on the same day: the gap left for it and, where both
    sites are known, the straight-line km and the estimated drive (``dispatch.travel``)."""

    start: dt.datetime
    end: dt.datetime
    km: float | None
    # Less room than the estimated drive, or than DISPATCH_TRAVEL_BUFFER_MINUTES (what the
    # scoring calls a squeezed window).
    tight: bool
    minutes: float | None = None


@dataclass(frozen=True)
class DayRoute:
    """One technician's booked jobs on one day: in the order of their times, and a suggested order
    (nearest next, from where the technician starts), with the drive each takes."""

    day: dt.date
    booked: list[int]  # work order ids in time order
    suggested: list[int]  # work order ids in the suggested order
    booked_minutes: float
    suggested_minutes: float

    @property
    def extra_minutes(self) -> float:
        """How much more driving the booked order takes than the suggested one."""
        return max(0.0, self.booked_minutes - self.suggested_minutes)


@dataclass
class BoardTechnician:
    facts: TechFacts
    skills: list[tuple[str, int]]
    state: str
    jobs: list[OpenJob]
    # The open jobs booked in the board's range, and those without a window.
    today_jobs: list[OpenJob]
    booked_minutes: int
    position: tuple[float, float] | None
    position_from: str
    shifts_today: list[tuple[dt.datetime, dt.datetime]] | None
    # Working windows over the range (None: no schedule, always available), absences, travel.
    shifts: list[tuple[dt.datetime, dt.datetime]] | None = None
    absences: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    travel: list[Travel] = field(default_factory=list)
    routes: list[DayRoute] = field(default_factory=list)


@dataclass
class Board:
    now: dt.datetime
    day_start: dt.datetime
    queue: list[dict]
    queue_total: int
    technicians: list[BoardTechnician]
    capacity: int
    first_day: dt.date | None = None
    days: int = 1
    range_end: dt.datetime | None = None
    # (date, name) of the company's holidays in the range (business calendars' holiday rows).
    holidays: list[tuple[dt.date, str]] = field(default_factory=list)


def board_holidays(first_day: dt.date, last_day: dt.date) -> list[tuple[dt.date, str]]:
    """The holidays of the business calendars (not the 24×7 ones) between two dates, in one query."""
    rows = (
        CalendarDay.objects.filter(
            kind=CalendarDay.Kind.HOLIDAY, date__gte=first_day, date__lte=last_day, calendar__always_open=False
        )
        .order_by("date", "name")
        .values_list("date", "name")
        .distinct()
    )
    names: dict[dt.date, list[str]] = {}
    for day, name in rows:
        names.setdefault(day, [])
        if name and name not in names[day]:
            names[day].append(name)
    return [(day, " / ".join(n)) for day, n in names.items()]


def _absences(facts: TechFacts, day: dt.date, tz) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    for row in facts.shifts:
        if row.date == day and not row.available:
            if row.start is None:
                start, end = _day_bounds(day)
            else:
                start = timezone.make_aware(dt.datetime.combine(day, row.start), tz)
                end = timezone.make_aware(dt.datetime.combine(day, row.end), tz)
            out.append((start, end))
    return sorted(out)


def _job_point(job: OpenJob) -> tuple[float, float] | None:
    return None if job.latitude is None or job.longitude is None else (job.latitude, job.longitude)


def _travel(jobs: list[OpenJob], buffer_minutes: float, tz=None) -> list[Travel]:
    """Between consecutive bookings of one technician on the same local day."""
    booked = sorted((j for j in jobs if j.start is not None), key=lambda j: j.start)
    if len(booked) < 2:
        return []
    out = []
    tz = tz or timezone.get_current_timezone()
    for before, after in zip(booked, booked[1:]):
        if before.end.astimezone(tz).date() != after.start.astimezone(tz).date() or after.start < before.end:
            continue
        trip = travel.estimate(_job_point(before), _job_point(after), when=before.end)
        gap = (after.start - before.end).total_seconds() / 60.0
        tight = gap < buffer_minutes or (trip.minutes is not None and gap < trip.minutes)
        out.append(Travel(start=before.end, end=after.start, km=None if trip.km is None else round(trip.km, 1),
                          tight=tight, minutes=trip.minutes))
    return out


# A technician's routes, kept per process by what they are computed from (``_route_key``): their
# booked jobs (id, time, place) and where they start. The board asks for every technician's on each
# poll (every 10 s per dispatcher); they change only when those jobs or that position do.
ROUTES_KEPT = 4096
_routes: OrderedDict = OrderedDict()
_routes_lock = threading.Lock()


def _route_key(booked: list[OpenJob], start, tz) -> tuple | None:
    if settings.DISPATCH_ROUTING_URL:
        return None  # the routing server's answers come and go with its cache: never kept here
    return (
        start, str(tz), settings.DISPATCH_SPEED_KMH, settings.DISPATCH_RUSH_SPEED_KMH,
        tuple(map(tuple, settings.DISPATCH_RUSH_HOURS)), settings.DISPATCH_ROAD_FACTOR,
        tuple((j.id, j.start, j.latitude, j.longitude) for j in booked),
    )


def day_routes(jobs: list[OpenJob], start: tuple[float, float] | None, tz=None) -> list[DayRoute]:
    """For each local day with two or more booked jobs: the booked order's drive from ``start``
    and the nearest-next order's (``dispatch.travel.nearest_next``). Computed once per change of
    those jobs or of ``start`` in each process (``_routes``)."""
    booked = sorted((j for j in jobs if j.start is not None), key=lambda j: j.start)
    if len(booked) < 2:
        return []
    tz = tz or timezone.get_current_timezone()
    key = _route_key(booked, start, tz)
    if key is not None:
        with _routes_lock:
            kept = _routes.get(key)
            if kept is not None:
                _routes.move_to_end(key)
                return list(kept)
    routes = _day_routes(booked, start, tz)
    if key is not None:
        with _routes_lock:
            _routes[key] = tuple(routes)
            if len(_routes) > ROUTES_KEPT:
                _routes.popitem(last=False)
    return routes


def _day_routes(booked: list[OpenJob], start, tz) -> list[DayRoute]:
    by_day: dict[dt.date, list[OpenJob]] = {}
    for job in booked:
        by_day.setdefault(job.start.astimezone(tz).date(), []).append(job)
    routes = []
    for day, day_jobs in sorted(by_day.items()):
        if len(day_jobs) < 2:
            continue
        points = [_job_point(j) for j in day_jobs]
        when = day_jobs[0].start
        order, suggested = travel.nearest_next(start, points, when=when)
        routes.append(DayRoute(
            day=day, booked=[j.id for j in day_jobs], suggested=[day_jobs[i].id for i in order],
            booked_minutes=travel.route_minutes(start, points, when=when), suggested_minutes=suggested,
        ))
    return routes


def technician_day_route(*, technician_id: int, day: dt.date, now=None) -> DayRoute | None:
    """One technician's route on ``day`` (``day_routes``), read afresh: for a drop's answer."""
    now = now or timezone.now()
    data = technician_data(Technician.objects.filter(pk=technician_id), days=[day])
    if not data.facts:
        return None
    facts = data.facts[0]
    start, _source = technician_position(facts, now=now, weights=Weights.from_settings())
    jobs = [j for j in data.jobs[facts.id] if j.start is not None and timezone.localdate(j.start) == day]
    routes = day_routes(jobs, start)
    return routes[0] if routes else DayRoute(day, [j.id for j in jobs], [j.id for j in jobs], 0.0, 0.0)


def dispatch_board(
    *, now=None, first_day: dt.date | None = None, days: int = 1, service_type_id=None, city: str = "",
    priority=None, limit: int = QUEUE_LIMIT,
) -> Board:
    """Everything the dispatch board shows for ``days`` days from ``first_day`` (today by default),
    in a fixed number of queries however many days, technicians or jobs.

    The queue (and its count when longer than ``limit``), the active
    technicians with their skills, the range's shifts and absences, open jobs
    and partner scopes (one query each), and the range's holidays (one). Rows
    come as values: no model instances on this path, which is what keeps
    hundreds of technicians fast.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    first_day = first_day or today
    day_list = [first_day + dt.timedelta(days=i) for i in range(days)]
    day_start, _end = _day_bounds(first_day)
    range_end = _day_bounds(day_list[-1])[1]
    fields = ["pk", "created_at", "updated_at", "status", "technician_id", "appointment_start", "appointment_end",
              "priority", "address", "preferred_start", "preferred_end",
              "service_type__default_duration_minutes", "site__city", "site__latitude", "site__longitude",
              "site__location_precision", "site__location_area"]
    if _SLA_DUE:
        fields.append(_SLA_DUE)
        # Each row's SLA targets (workorders/sla.py target_states_rows), for the queue's badges.
        fields += [f for f in SLA_STATE_FIELDS if f not in fields]
    queue_qs = unassigned_queue(service_type_id=service_type_id, city=city, priority=priority)
    queue = list(queue_qs.values(*fields, service_type__name=translated("service_type__name"))[:limit])
    tz = timezone.get_current_timezone()
    for row in queue:
        row["number"] = workorder_number(row["pk"], row["created_at"], tz)
        row["due"] = row.get(_SLA_DUE) if _SLA_DUE else None
    total = len(queue) if len(queue) < limit else queue_qs.count()
    data = technician_data(Technician.objects.filter(active=True), days=[today, *day_list])
    weights = Weights.from_settings()
    # The range's bounds in UTC, the jobs' zone, for comparing: times in two zones compare ten times slower.
    utc_start, utc_end = day_start.astimezone(dt.timezone.utc), range_end.astimezone(dt.timezone.utc)
    technicians = []
    for facts in data.facts:
        jobs = data.jobs[facts.id]
        range_jobs = [j for j in jobs if j.start is None or (j.start < utc_end and j.end > utc_start)]
        booked = sum(
            int((min(j.end, utc_end) - max(j.start, utc_start)).total_seconds() // 60)
            for j in range_jobs
            if j.start is not None
        )
        position, source = technician_position(facts, now=now, weights=weights)
        windows = rules.working_windows(facts, today, tz)
        if facts.has_schedule:
            shifts = [w for day in day_list
                      for w in (windows if day == today else rules.working_windows(facts, day, tz))]
            absences = [a for day in day_list for a in _absences(facts, day, tz)]
        else:
            shifts, absences = None, []
        technicians.append(
            BoardTechnician(
                facts=facts,
                skills=data.skill_names[facts.id],
                state=rules.technician_state(
                    facts, now=now, statuses={j.status for j in jobs}, today_windows=windows
                ),
                jobs=jobs,
                today_jobs=range_jobs,
                booked_minutes=booked,
                position=position,
                position_from=source,
                shifts_today=windows,
                shifts=shifts,
                absences=absences,
                travel=_travel(range_jobs, weights.travel_buffer_minutes, tz),
                routes=day_routes(range_jobs, position, tz),
            )
        )
    return Board(
        now=now,
        day_start=day_start,
        queue=queue,
        queue_total=total,
        technicians=technicians,
        capacity=settings.DISPATCH_CAPACITY,
        first_day=first_day,
        days=days,
        range_end=range_end,
        holidays=board_holidays(day_list[0], day_list[-1]),
    )


@dataclass
class Candidate:
    technician: TechFacts
    score: float | None = None
    parts: dict | None = None
    reasons: list = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.reasons


def workorder_candidates(*, work_order: WorkOrder, window=None, now=None) -> tuple[list[Candidate], list[Candidate]]:
    """(eligible technicians ranked by score, lowest first; the others with their reasons).

    ``window``: the appointment window to judge by (start, end), or None.
    """
    now = now or timezone.now()
    days = [timezone.localdate(now)]
    if window is not None:
        days.append(timezone.localdate(window[0]))
    data = technician_data(Technician.objects.all(), days=days)
    order = order_facts([work_order])[0]
    order.window = window
    weights = Weights.from_settings()
    capacity = settings.DISPATCH_CAPACITY
    eligible, excluded = [], []
    # The parts the job needs, and which vans carry them (one query, none when no parts are needed).
    needs = service_type_parts(work_order.service_type_id)
    carried = van_stock(technician_ids=[f.id for f in data.facts], part_ids=[n.part_id for n in needs])
    for facts in data.facts:
        if facts.id == work_order.technician_id:
            continue  # the current technician: re-assigning to them changes nothing
        reasons = rules.exclusion_reasons(facts, order, now=now, capacity=capacity)
        if reasons:
            excluded.append(Candidate(technician=facts, reasons=reasons))
            continue
        missing = [n.part_number for n in needs if carried.get((facts.id, n.part_id), 0) < n.quantity] if needs else None
        scored = pair_parts(facts, order, open_jobs=rules.open_jobs_besides(facts, order), now=now, weights=weights,
                            parts_missing=missing)
        eligible.append(Candidate(technician=facts, score=scored["score"], parts=scored["parts"]))
    eligible.sort(key=lambda c: (c.score, c.technician.name))
    excluded.sort(key=lambda c: (not c.technician.active, c.technician.name))
    return eligible, excluded


def workorder_for_dispatch(pk: int) -> WorkOrder | None:
    return (
        WorkOrder.objects.select_related("site", "service_type", "customer", "technician__user")
        .filter(pk=pk)
        .first()
    )


# --- The customer's arrival estimate ---------------------------------------------------------

def workorder_arrival(*, work_order: WorkOrder, now=None) -> dt.datetime | None:
    """When the technician should reach ``work_order``'s site: while it is en route, from the
    position their phone sent last (if no older than TRACKING_POSITION_MAX_AGE_MINUTES) by the
    travel estimate (``dispatch.travel``), never earlier than now. None when any of it is unknown.
    """
    if work_order.status != Status.EN_ROUTE or work_order.technician_id is None:
        return None
    now = now or timezone.now()
    technician = work_order.technician
    seen = technician.last_seen_at
    if seen is None or now - seen > dt.timedelta(minutes=settings.TRACKING_POSITION_MAX_AGE_MINUTES):
        return None
    here = _pair(technician.last_latitude, technician.last_longitude)
    site = Site.objects.filter(pk=work_order.site_id).values_list("latitude", "longitude").first()
    there = _pair(*site) if site else None
    trip = travel.estimate(here, there, when=seen)
    if trip.minutes is None:
        return None
    return max(now, seen + dt.timedelta(minutes=trip.minutes))


def workorder_arrival_part(*, work_order: WorkOrder) -> dict:
    """The tracking page's part (``workorders.selectors.register_customer_page_part``)."""
    return {"arrival": workorder_arrival(work_order=work_order)}


# --- Windows a customer may move a visit to (selfservice) ------------------------------------

# When neither the technician keeps a schedule nor the order has a business calendar: weekdays 9-18.
_DEFAULT_HOURS = {weekday: [(dt.time(9), dt.time(18))] for weekday in range(5)}


def _business_calendar(work_order: WorkOrder):
    """The order's SLA calendar (else the first one, else office hours on weekdays), in memory."""
    calendar = None
    if work_order.sla_policy_id:
        calendar = BusinessCalendar.objects.filter(policies__pk=work_order.sla_policy_id).first()
    calendar = calendar or BusinessCalendar.objects.order_by("pk").first()
    if calendar is None:
        return Calendar(tz=timezone.get_current_timezone(), weekly=_DEFAULT_HOURS)
    return Calendar.from_model(calendar, since=timezone.localdate())


def visit_windows_offered(*, work_order: WorkOrder, now=None) -> list[tuple[dt.datetime, dt.datetime]]:
    """The windows a customer may move ``work_order``'s visit to, earliest first.

    Slots of the visit's length (``SELF_SERVICE_SLOT_MINUTES`` without one) over the next
    ``SELF_SERVICE_DAYS`` days, starting no sooner than ``SELF_SERVICE_CUTOFF_HOURS`` from now: in
    the assigned technician's working windows (``rules.working_windows``), without their other
    bookings; unassigned, or a technician without a schedule, in the business calendar's hours.
    The current window is left out. ``workorders.services.workorder_reschedule`` checks the one
    chosen again, with the rows locked.
    """
    now = now or timezone.now()
    earliest = now + dt.timedelta(hours=settings.SELF_SERVICE_CUTOFF_HOURS)
    if work_order.technician_id:
        current = (work_order.appointment_start, work_order.appointment_end)
    else:
        current = (work_order.preferred_start, work_order.preferred_end)
    length = dt.timedelta(minutes=settings.SELF_SERVICE_SLOT_MINUTES)
    if current[0] is not None and current[1] is not None and dt.timedelta(minutes=30) <= current[1] - current[0] <= dt.timedelta(hours=8):
        length = current[1] - current[0]
    first = timezone.localtime(earliest).date()
    days = [first + dt.timedelta(days=n) for n in range(settings.SELF_SERVICE_DAYS + 1)]
    facts = None
    if work_order.technician_id:
        technician = Technician.objects.select_related("user").get(pk=work_order.technician_id)
        facts = technician_facts_for_check(technician, days=days, need_skills=False)
    calendar = None
    offered = []
    for day in days:
        spans = rules.working_windows(facts, day) if facts is not None else None
        if spans is None:
            calendar = calendar or _business_calendar(work_order)
            spans = calendar.spans(day)
        for span_start, span_end in spans:
            start = span_start
            while start + length <= span_end:
                end = start + length
                taken = facts is not None and any(
                    b.start < end and start < b.end and b.work_order_id != work_order.pk for b in facts.bookings
                )
                if start >= earliest and not taken and (start, end) != current:
                    offered.append((start, end))
                start = end
    return offered
