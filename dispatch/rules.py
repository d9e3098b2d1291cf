"""Who may be given a work order: the hard rules of dispatch, as plain Python.

The same functions decide for a dispatcher's assignment (through
``dispatch.services.technician_check_assignable``, inside the locked
transition), for the candidates list (each excluded technician with its
reasons) and, in vectorised form, for the automatic assignment (a test checks
that both agree).

Rules, in the order their reasons are shown:

1. the technician is active (and so is their partner company);
2. a partner company's technician only gets work in that company's scope
   (``PartnerScope``: service type and/or area; no rows = any work);
3. the technician has every skill the service type needs, at its level;
4. shift: with an appointment window, the window lies inside one of the
   technician's working windows that day; without one, the technician still
   has working time left today. A technician with no shifts at all is
   always available;
5. the window does not overlap another of the technician's open bookings;
6. the technician has fewer open jobs than the capacity
   (``DISPATCH_CAPACITY``).

These objects carry what the rules need, loaded by ``dispatch.selectors`` in
a fixed number of queries however many technicians or orders there are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

# The states in which a work order holds its technician's time.
ACTIVE_STATES = ("assigned", "accepted", "en_route", "in_progress", "on_hold")

# Reason codes, in the order they are checked and shown.
INACTIVE = "inactive"
OUTSIDE_SCOPE = "outside_scope"
MISSING_SKILL = "missing_skill"
SKILL_LEVEL = "skill_level"
OFF_SHIFT = "off_shift"
DOUBLE_BOOKED = "double_booked"
OVER_CAPACITY = "over_capacity"
# Double booking and capacity depend on other orders (which may change in a
# moment); the others are about who the technician is.
CONFLICT_CODES = frozenset({DOUBLE_BOOKED, OVER_CAPACITY})


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    def __str__(self):
        return self.message


@dataclass(frozen=True)
class ShiftRow:
    weekday: int | None
    date: dt.date | None
    start: dt.time | None
    end: dt.time | None
    available: bool = True


@dataclass(frozen=True)
class Booking:
    work_order_id: int
    number: str
    start: dt.datetime
    end: dt.datetime
    # The site's point (lat, lon), where the technician will be after this job; None: unknown.
    position: tuple[float, float] | None = None


@dataclass
class TechFacts:
    id: int
    name: str
    active: bool = True
    partner_company_id: int | None = None
    partner_name: str = ""
    partner_active: bool = True
    # skill id -> level
    skills: dict[int, int] = field(default_factory=dict)
    shifts: list[ShiftRow] = field(default_factory=list)
    # Open work orders (ACTIVE_STATES) by id, and the booked windows among them.
    open_job_ids: set[int] = field(default_factory=set)
    bookings: list[Booking] = field(default_factory=list)
    # (service type id or None, city or "") rows of the partner company's scope.
    scopes: list[tuple[int | None, str]] = field(default_factory=list)
    home: tuple[float, float] | None = None
    last: tuple[float, float] | None = None
    last_seen_at: dt.datetime | None = None
    # The site of the job they are driving to or working on now (en route, in progress), if known.
    current: tuple[float, float] | None = None
    # Whether the technician has any shift rows at all (``shifts`` may hold
    # only the rows for the days being looked at); None: judge by ``shifts``.
    scheduled: bool | None = None

    @property
    def has_schedule(self) -> bool:
        return bool(self.shifts) if self.scheduled is None else self.scheduled


@dataclass
class OrderFacts:
    id: int
    number: str
    service_type_id: int
    service_type_name: str = ""
    # skill id -> (minimum level, skill name)
    required: dict[int, tuple[int, str]] = field(default_factory=dict)
    city: str = ""
    position: tuple[float, float] | None = None
    priority: int = 2
    created_at: dt.datetime | None = None
    # The appointment window asked for (aware datetimes), or None.
    window: tuple[dt.datetime, dt.datetime] | None = None


# --- shifts ---------------------------------------------------------------


def _local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value)


def _at(day: dt.date, time: dt.time, tz=None) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, time), tz or timezone.get_current_timezone())


def working_windows(tech: TechFacts, day: dt.date, tz=None) -> list[tuple[dt.datetime, dt.datetime]] | None:
    """The technician's working windows on ``day`` (local), merged; None = no schedule (always available).

    ``tz``: the current time zone, from a caller that asks for many (each lookup costs more than the rest)."""
    if not tech.has_schedule:
        return None
    tz = tz or timezone.get_current_timezone()
    dated = [s for s in tech.shifts if s.date == day and s.available]
    pattern = dated or [s for s in tech.shifts if s.date is None and s.weekday == day.weekday()]
    windows = sorted((_at(day, s.start, tz), _at(day, s.end, tz)) for s in pattern if s.available)
    absences = [s for s in tech.shifts if s.date == day and not s.available]
    for absence in absences:
        if absence.start is None:
            return []
        a_start, a_end = _at(day, absence.start, tz), _at(day, absence.end, tz)
        cut = []
        for start, end in windows:
            if end <= a_start or start >= a_end:
                cut.append((start, end))
                continue
            if start < a_start:
                cut.append((start, a_start))
            if end > a_end:
                cut.append((a_end, end))
        windows = cut
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in windows:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def window_in_shift(tech: TechFacts, start: dt.datetime, end: dt.datetime) -> bool:
    """Whether the appointment window lies inside one working window of the technician."""
    day = _local(start).date()
    windows = working_windows(tech, day)
    if windows is None:
        return True
    return any(w_start <= start and end <= w_end for w_start, w_end in windows)


def on_shift_at(tech: TechFacts, moment: dt.datetime) -> bool:
    windows = working_windows(tech, _local(moment).date())
    if windows is None:
        return True
    return any(w_start <= moment < w_end for w_start, w_end in windows)


def shift_left_today(tech: TechFacts, now: dt.datetime) -> bool:
    """Whether the technician works at some time from ``now`` until the end of today."""
    windows = working_windows(tech, _local(now).date())
    if windows is None:
        return True
    return any(w_end > now for _start, w_end in windows)


# --- the rules ------------------------------------------------------------


def _hhmm(value: dt.datetime) -> str:
    return _local(value).strftime("%H:%M")


def format_window(start: dt.datetime, end: dt.datetime) -> str:
    """'11-24 10:00–12:00' (local time)."""
    return f"{_local(start):%m-%d} {_hhmm(start)}–{_hhmm(end)}"


def in_scope(tech: TechFacts, order: OrderFacts) -> bool:
    if tech.partner_company_id is None or not tech.scopes:
        return True
    city = (order.city or "").strip().casefold()
    return any(
        (service_type_id is None or service_type_id == order.service_type_id)
        and (not scope_city or scope_city.strip().casefold() == city)
        for service_type_id, scope_city in tech.scopes
    )


def skill_reasons(tech: TechFacts, order: OrderFacts) -> list[Reason]:
    reasons = []
    for skill_id, (min_level, skill_name) in sorted(order.required.items(), key=lambda item: item[1][1]):
        level = tech.skills.get(skill_id)
        if level is None:
            reasons.append(
                Reason(
                    MISSING_SKILL,
                    _("%(tech)s lacks the skill %(skill)s.") % {"tech": tech.name, "skill": skill_name},
                )
            )
        elif level < min_level:
            reasons.append(
                Reason(
                    SKILL_LEVEL,
                    _("%(tech)s has %(skill)s at level %(level)d; %(service)s needs level %(min)d.")
                    % {
                        "tech": tech.name,
                        "skill": skill_name,
                        "level": level,
                        "service": order.service_type_name,
                        "min": min_level,
                    },
                )
            )
    return reasons


def overlapping_booking(tech: TechFacts, order: OrderFacts) -> Booking | None:
    if order.window is None:
        return None
    start, end = order.window
    for booking in sorted(tech.bookings, key=lambda b: b.start):
        if booking.work_order_id != order.id and booking.start < end and start < booking.end:
            return booking
    return None


def open_jobs_besides(tech: TechFacts, order: OrderFacts) -> int:
    return len(tech.open_job_ids - {order.id})


def exclusion_reasons(tech: TechFacts, order: OrderFacts, *, now: dt.datetime, capacity: int) -> list[Reason]:
    """Every reason ``tech`` may not be given ``order`` (with ``order.window``); empty = eligible."""
    reasons: list[Reason] = []
    if not tech.active:
        reasons.append(Reason(INACTIVE, _("%(tech)s is not active.") % {"tech": tech.name}))
    elif tech.partner_company_id is not None and not tech.partner_active:
        reasons.append(
            Reason(
                INACTIVE,
                _("%(tech)s works for %(partner)s, which is not active.")
                % {"tech": tech.name, "partner": tech.partner_name},
            )
        )
    if not in_scope(tech, order):
        reasons.append(
            Reason(
                OUTSIDE_SCOPE,
                _("%(service)s in %(area)s is outside the scope of %(partner)s.")
                % {
                    "service": order.service_type_name,
                    "area": order.city or _("an unknown area"),
                    "partner": tech.partner_name,
                },
            )
        )
    reasons += skill_reasons(tech, order)
    if order.window is not None:
        if not window_in_shift(tech, *order.window):
            reasons.append(
                Reason(
                    OFF_SHIFT,
                    _("%(tech)s is off shift at %(window)s.")
                    % {"tech": tech.name, "window": format_window(*order.window)},
                )
            )
    elif not shift_left_today(tech, now):
        reasons.append(
            Reason(
                OFF_SHIFT,
                _("%(tech)s has no working time left today; give an appointment window.") % {"tech": tech.name},
            )
        )
    booking = overlapping_booking(tech, order)
    if booking is not None:
        reasons.append(
            Reason(
                DOUBLE_BOOKED,
                _("%(tech)s is already booked %(start)s–%(end)s on %(number)s.")
                % {"tech": tech.name, "start": _hhmm(booking.start), "end": _hhmm(booking.end), "number": booking.number},
            )
        )
    open_jobs = open_jobs_besides(tech, order)
    if open_jobs >= capacity:
        reasons.append(
            Reason(
                OVER_CAPACITY,
                _("%(tech)s already has %(n)d open jobs (capacity %(cap)d).")
                % {"tech": tech.name, "n": open_jobs, "cap": capacity},
            )
        )
    return reasons


def technician_state(tech: TechFacts, *, now: dt.datetime, statuses: set[str], today_windows=False) -> str:
    """'on_site', 'en_route', 'off_shift' or 'available', from the technician's open jobs' states.

    ``today_windows``: ``working_windows(tech, today)`` if the caller has it already.
    """
    if "in_progress" in statuses:
        return "on_site"
    if "en_route" in statuses:
        return "en_route"
    if today_windows is False:
        on_shift = on_shift_at(tech, now)
    else:
        on_shift = today_windows is None or any(start <= now < end for start, end in today_windows)
    return "available" if on_shift else "off_shift"


# --- the same rules for many pairs at once (automatic assignment) ----------


def eligibility_matrix(techs: list[TechFacts], orders: list[OrderFacts], *, now: dt.datetime, capacity: int):
    """Boolean orders × technicians: True where ``exclusion_reasons`` would be empty.

    Computed per distinct service type, area and day rather than per pair, so
    that a thousand orders over hundreds of technicians take milliseconds.
    """
    import numpy as np

    n, m = len(orders), len(techs)
    ok = np.ones((n, m), dtype=bool)
    if n == 0 or m == 0:
        return ok
    # Who the technician is: active, partner active, room for one more job.
    for j, tech in enumerate(techs):
        if not tech.active or (tech.partner_company_id is not None and not tech.partner_active):
            ok[:, j] = False
        elif len(tech.open_job_ids) >= capacity:
            ok[:, j] = False
            if len(tech.open_job_ids) - 1 < capacity:
                ok[[i for i, o in enumerate(orders) if o.id in tech.open_job_ids], j] = True
    # Partner scope, per (service type, area).
    scoped = [j for j, t in enumerate(techs) if t.partner_company_id is not None and t.scopes]
    if scoped:
        groups: dict[tuple, list[int]] = {}
        for i, order in enumerate(orders):
            groups.setdefault((order.service_type_id, (order.city or "").strip().casefold()), []).append(i)
        for rows in groups.values():
            sample = orders[rows[0]]
            for j in scoped:
                if not in_scope(techs[j], sample):
                    ok[rows, j] = False
    # Skills, per service type.
    by_type: dict[int, list[int]] = {}
    for i, order in enumerate(orders):
        if order.required:
            by_type.setdefault(order.service_type_id, []).append(i)
    for rows in by_type.values():
        sample = orders[rows[0]]
        for j, tech in enumerate(techs):
            if skill_reasons(tech, sample):
                ok[rows, j] = False
    # Shifts: windows inside a working window of their day; without a window, time left today.
    scheduled = [j for j, t in enumerate(techs) if t.has_schedule]
    if scheduled:
        unwindowed = [i for i, o in enumerate(orders) if o.window is None]
        if unwindowed:
            for j in scheduled:
                if not shift_left_today(techs[j], now):
                    ok[unwindowed, j] = False
        by_day: dict[dt.date, list[int]] = {}
        for i, order in enumerate(orders):
            if order.window is not None:
                by_day.setdefault(_local(order.window[0]).date(), []).append(i)
        for day, rows in by_day.items():
            starts = np.array([orders[i].window[0].timestamp() for i in rows])
            ends = np.array([orders[i].window[1].timestamp() for i in rows])
            for j in scheduled:
                inside = np.zeros(len(rows), dtype=bool)
                for w_start, w_end in working_windows(techs[j], day):
                    inside |= (starts >= w_start.timestamp()) & (ends <= w_end.timestamp())
                ok[rows, j] &= inside
    # Existing bookings.
    windowed = [i for i, o in enumerate(orders) if o.window is not None]
    if windowed:
        starts = np.array([orders[i].window[0].timestamp() for i in windowed])
        ends = np.array([orders[i].window[1].timestamp() for i in windowed])
        ids = np.array([orders[i].id for i in windowed])
        for j, tech in enumerate(techs):
            clash = np.zeros(len(windowed), dtype=bool)
            for booking in tech.bookings:
                clash |= (starts < booking.end.timestamp()) & (booking.start.timestamp() < ends) & (
                    ids != booking.work_order_id
                )
            ok[windowed, j] &= ~clash
    return ok
