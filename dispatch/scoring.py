"""The cost of giving a work order to a technician, and its parts.

Lower is better. For an eligible pair (see ``dispatch.rules``)::

    cost = W_TRAVEL * minutes * (1 + W_URGENCY * (priority - 1))   # travel, weighed more for urgent orders
         + W_LOAD     * open jobs (counting the ones given in the same run)
         + W_SKILL    * levels above what the service type needs (keep experts free)
         + W_WINDOW   * squeeze (0..1: how little room the window leaves next to
                                 another booking, under DISPATCH_TRAVEL_BUFFER_MINUTES)
         + W_PARTS    * parts the job needs that the technician's van does not carry
                        (candidates page only; the part is then reserved from a warehouse)

``minutes`` is the estimated drive (``dispatch.travel``: straight line × road factor at the
speed for the time of day, or the routing server) from where the technician will be
(``technician_origin``): for a window, the site of their job that ends last before it on
that day; else the site of the job they are on now (en route, in progress); else their last
known position if seen within DISPATCH_POSITION_MAX_AGE_HOURS; else their home base. When a
point is unknown it counts as DISPATCH_UNKNOWN_DISTANCE_KM of straight line. The weights are
settings (DISPATCH_WEIGHT_*).

Leaving an order unassigned costs its urgency penalty (``unassigned_penalty``),
which is larger than any assignment could cost, larger for each priority step
and a little larger for older orders: the solver serves as many orders as it
can, the most urgent first, and only then minimises travel and load.

``pair_parts`` explains one pair for a page or an event; ``pair_cost_matrix``
computes the same numbers for all pairs at once for the solver (a test checks
they agree).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.utils import timezone

from . import travel
from .rules import OrderFacts, TechFacts
from .travel import haversine_km  # noqa: F401  (kept importable from here)


@dataclass(frozen=True)
class Weights:
    travel: float = 0.4
    load: float = 4.0
    skill: float = 2.0
    window: float = 10.0
    parts: float = 15.0
    urgency: float = 0.5
    travel_buffer_minutes: float = 60.0
    unknown_distance_km: float = 50.0
    position_max_age_hours: float = 12.0

    @classmethod
    def from_settings(cls) -> Weights:
        return cls(
            travel=settings.DISPATCH_WEIGHT_TRAVEL,
            load=settings.DISPATCH_WEIGHT_LOAD,
            skill=settings.DISPATCH_WEIGHT_SKILL,
            window=settings.DISPATCH_WEIGHT_WINDOW,
            parts=settings.DISPATCH_WEIGHT_PARTS,
            urgency=settings.DISPATCH_WEIGHT_URGENCY,
            travel_buffer_minutes=settings.DISPATCH_TRAVEL_BUFFER_MINUTES,
            unknown_distance_km=settings.DISPATCH_UNKNOWN_DISTANCE_KM,
            position_max_age_hours=settings.DISPATCH_POSITION_MAX_AGE_HOURS,
        )


def technician_position(tech: TechFacts, *, now: dt.datetime, weights: Weights) -> tuple[tuple[float, float] | None, str]:
    """Where the technician is taken to be: (position, 'last'|'home'|'')."""
    if tech.last is not None and tech.last_seen_at is not None:
        if now - tech.last_seen_at <= dt.timedelta(hours=weights.position_max_age_hours):
            return tech.last, "last"
    if tech.home is not None:
        return tech.home, "home"
    if tech.last is not None:
        return tech.last, "last"
    return None, ""


def technician_origin(tech: TechFacts, order: OrderFacts, *, now: dt.datetime, weights: Weights
                      ) -> tuple[tuple[float, float] | None, str]:
    """Where the technician will set out from for ``order``: (position, 'job'|'last'|'home'|'').

    With a window: the site of their booking that ends last before the window starts, on the
    same local day. Without: the site of the job they are on now. Else ``technician_position``.
    """
    if order.window is not None:
        start = order.window[0]
        day = timezone.localdate(start)
        before = [
            b for b in tech.bookings
            if b.position is not None and b.work_order_id != order.id and b.end <= start
            and timezone.localdate(b.end) == day
        ]
        if before:
            return max(before, key=lambda b: b.end).position, "job"
    elif tech.current is not None:
        return tech.current, "job"
    return technician_position(tech, now=now, weights=weights)


def departure(order: OrderFacts, now: dt.datetime) -> dt.datetime:
    """When the drive to ``order`` happens (for the speed by time of day): its window's start, else now."""
    return order.window[0] if order.window is not None else now


def skill_surplus(tech: TechFacts, order: OrderFacts) -> int:
    """Levels above the required ones, summed over the service type's skills."""
    return sum(max(0, tech.skills.get(skill_id, 0) - min_level) for skill_id, (min_level, _n) in order.required.items())


def window_squeeze(tech: TechFacts, order: OrderFacts, *, weights: Weights) -> tuple[float, float | None]:
    """(squeeze 0..1, minutes to the nearest other booking or None)."""
    if order.window is None or not tech.bookings or weights.travel_buffer_minutes <= 0:
        return 0.0, None
    start, end = order.window
    gaps = [
        max((booking.start - end).total_seconds(), (start - booking.end).total_seconds()) / 60.0
        for booking in tech.bookings
        if booking.work_order_id != order.id
    ]
    if not gaps:
        return 0.0, None
    gap = max(0.0, min(gaps))
    return max(0.0, 1.0 - gap / weights.travel_buffer_minutes), gap


def urgency_factor(priority: int, weights: Weights) -> float:
    return 1.0 + weights.urgency * (priority - 1)


def pair_parts(tech: TechFacts, order: OrderFacts, *, open_jobs: int, now: dt.datetime, weights: Weights,
               parts_missing: list[str] | None = None) -> dict:
    """The score of one pair and its parts, for the candidates list and the assignment event.

    ``open_jobs`` is the technician's load counted for this assignment (their
    open jobs, plus the ones given before this one in the same automatic run).
    ``parts_missing``: the part numbers the job needs that the technician's van lacks (None when
    the job needs no parts or they were not looked up: no parts cost then).
    """
    position, source = technician_origin(tech, order, now=now, weights=weights)
    when = departure(order, now)
    trip = travel.estimate(position, order.position, when=when)
    if trip.minutes is not None:
        km, minutes, known = trip.km, trip.minutes, True
    else:
        km, known = weights.unknown_distance_km, False
        minutes = travel.km_minutes(km, when=when)
    surplus = skill_surplus(tech, order)
    squeeze, gap = window_squeeze(tech, order, weights=weights)
    costs = {
        "travel": weights.travel * minutes * urgency_factor(order.priority, weights),
        "load": weights.load * open_jobs,
        "skill": weights.skill * surplus,
        "window": weights.window * squeeze,
    }
    if parts_missing is not None:
        costs["parts"] = weights.parts * len(parts_missing)
    result = {
        "score": round(sum(costs.values()), 3),
        "parts": {
            "distance_km": round(km, 2),
            "distance_known": known,
            "travel_minutes": round(minutes, 1),
            "travel_routed": trip.routed,
            "position_from": source,
            "priority": order.priority,
            "load_jobs": open_jobs,
            "skill_surplus": surplus,
            "skill_levels": {
                str(skill_id): [tech.skills.get(skill_id, 0), min_level]
                for skill_id, (min_level, _n) in order.required.items()
            },
            "window_gap_minutes": None if gap is None else round(gap),
            "costs": {name: round(value, 3) for name, value in costs.items()},
        },
    }
    if parts_missing is not None:
        result["parts"]["parts_missing"] = list(parts_missing)
    return result


def pair_cost_matrix(
    techs: list[TechFacts], orders: list[OrderFacts], *, now: dt.datetime, weights: Weights
) -> np.ndarray:
    """The pair costs of ``pair_parts`` without the load part, for all orders × technicians."""
    n, m = len(orders), len(techs)
    cost = np.zeros((n, m))
    if n == 0 or m == 0:
        return cost
    # Travel minutes from where each technician will be, weighed by urgency.
    cost += weights.travel * travel_matrix(techs, orders, now=now, weights=weights) * np.array(
        [urgency_factor(o.priority, weights) for o in orders])[:, None]
    # Skill surplus: one row per service type.
    if weights.skill:
        by_type: dict[int, np.ndarray] = {}
        for i, order in enumerate(orders):
            row = by_type.get(order.service_type_id)
            if row is None:
                row = by_type[order.service_type_id] = np.array([skill_surplus(t, order) for t in techs], dtype=float)
            cost[i] += weights.skill * row
    # Window squeeze next to existing bookings.
    windowed = [i for i, o in enumerate(orders) if o.window is not None]
    if windowed and weights.window and weights.travel_buffer_minutes > 0:
        starts = np.array([orders[i].window[0].timestamp() for i in windowed])
        ends = np.array([orders[i].window[1].timestamp() for i in windowed])
        ids = np.array([orders[i].id for i in windowed])
        gap = np.full((len(windowed), m), np.inf)
        for j, tech in enumerate(techs):
            for booking in tech.bookings:
                g = np.maximum(booking.start.timestamp() - ends, starts - booking.end.timestamp()) / 60.0
                g = np.where(ids == booking.work_order_id, np.inf, np.maximum(g, 0.0))
                gap[:, j] = np.minimum(gap[:, j], g)
        squeeze = np.where(np.isinf(gap), 0.0, np.maximum(0.0, 1.0 - gap / weights.travel_buffer_minutes))
        cost[windowed] += weights.window * squeeze
    return cost


def travel_matrix(techs: list[TechFacts], orders: list[OrderFacts], *, now: dt.datetime, weights: Weights
                  ) -> np.ndarray:
    """The travel minutes of ``pair_parts`` for all orders × technicians (unknown points at
    DISPATCH_UNKNOWN_DISTANCE_KM), each order at the speed of its departure time."""
    n, m = len(orders), len(techs)
    speed = travel.speeds_kmh([departure(o, now) for o in orders])
    o_lat = np.array([o.position[0] if o.position else np.nan for o in orders])
    o_lon = np.array([o.position[1] if o.position else np.nan for o in orders])

    def row(points):
        return (np.array([p[0] if p else np.nan for p in points]), np.array([p[1] if p else np.nan for p in points]))

    # Where each technician sets out from: without a window, the job they are on now, else their
    # position; with a window, their position unless a booking before it that day says otherwise.
    position = [technician_position(t, now=now, weights=weights)[0] for t in techs]
    now_lat, now_lon = row([t.current if t.current is not None else p for t, p in zip(techs, position)])
    pos_lat, pos_lon = row(position)
    windowed = np.array([o.window is not None for o in orders], dtype=bool)
    minutes = np.empty((n, m))
    for mask, (t_lat, t_lon) in ((~windowed, (now_lat, now_lon)), (windowed, (pos_lat, pos_lon))):
        if mask.any():
            minutes[mask], _routed = travel.minutes_many(
                t_lat[None, :], t_lon[None, :], o_lat[mask][:, None], o_lon[mask][:, None], speed=speed[mask][:, None])
    # Pairs whose origin is the site of the technician's booking ending last before the window that day.
    rows = np.flatnonzero(windowed)
    if rows.size and any(b.position is not None for t in techs for b in t.bookings):
        tz = timezone.get_current_timezone()
        starts = np.array([orders[i].window[0].timestamp() for i in rows])
        days = np.array([orders[i].window[0].astimezone(tz).toordinal() for i in rows])
        ids = np.array([orders[i].id for i in rows])
        pair_i, pair_j, pair_lat, pair_lon = [], [], [], []
        for j, tech in enumerate(techs):
            best = np.full(rows.size, -np.inf)
            origin = np.full((rows.size, 2), np.nan)
            for booking in tech.bookings:
                if booking.position is None:
                    continue
                end = booking.end.timestamp()
                hit = (end <= starts) & (days == booking.end.astimezone(tz).toordinal()) & (
                    ids != booking.work_order_id) & (end > best)
                best[hit] = end
                origin[hit] = booking.position
            found = np.flatnonzero(np.isfinite(best))
            if found.size:
                pair_i.append(rows[found])
                pair_j.append(np.full(found.size, j))
                pair_lat.append(origin[found, 0])
                pair_lon.append(origin[found, 1])
        if pair_i:
            pi, pj = np.concatenate(pair_i), np.concatenate(pair_j)
            minutes[pi, pj], _routed = travel.minutes_many(
                np.concatenate(pair_lat), np.concatenate(pair_lon), o_lat[pi], o_lon[pi], speed=speed[pi])
    unknown = weights.unknown_distance_km * settings.DISPATCH_ROAD_FACTOR / speed * 60.0
    return np.where(np.isnan(minutes), unknown[:, None], minutes)


def unassigned_penalty(orders: list[OrderFacts], *, max_pair_cost: float, now: dt.datetime) -> np.ndarray:
    """What leaving each order unassigned costs in the solver's objective.

    With n orders and every assignment costing at most ``max_pair_cost``, any
    whole solution's assignment costs add up to at most C = n * max_pair_cost.
    An order's penalty is B + (priority - 1) * B + age bonus, with B larger than
    C plus all age bonuses together: serving one more order is always worth
    more than any saving in travel or load, and (where only capacity limits
    the choice) a more urgent order always wins over a less urgent one, which
    is what "the most urgent orders are served first" means. The age bonus
    (up to one ``max_pair_cost`` after three days of waiting) prefers older
    orders of the same priority.
    """
    n = len(orders)
    age_unit = max(max_pair_cost, 1.0)
    total = n * age_unit
    base = 2 * total + 1.0
    penalty = np.empty(n)
    for i, order in enumerate(orders):
        waited = 0.0
        if order.created_at is not None:
            waited = min(1.0, max(0.0, (now - order.created_at).total_seconds() / (72 * 3600)))
        penalty[i] = base * order.priority + age_unit * waited
    return penalty
