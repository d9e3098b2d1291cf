"""The cost of giving a work order to a technician, and its parts.

Lower is better. For an eligible pair (see ``dispatch.rules``)::

    cost = W_DISTANCE * km * (1 + W_URGENCY * (priority - 1))   # travel, weighed more for urgent orders
         + W_LOAD     * open jobs (counting the ones given in the same run)
         + W_SKILL    * levels above what the service type needs (keep experts free)
         + W_WINDOW   * squeeze (0..1: how little room the window leaves next to
                                 another booking, under DISPATCH_TRAVEL_BUFFER_MINUTES)
         + W_PARTS    * parts the job needs that the technician's van does not carry
                        (candidates page only; the part is then reserved from a warehouse)

``km`` is the great-circle (haversine) distance from the technician's last known
position, if seen within DISPATCH_POSITION_MAX_AGE_HOURS, else from the home
base, to the work order's site; when either is unknown it counts as
DISPATCH_UNKNOWN_DISTANCE_KM. The weights are settings (DISPATCH_WEIGHT_*).

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

from .rules import OrderFacts, TechFacts

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Weights:
    distance: float = 1.0
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
            distance=settings.DISPATCH_WEIGHT_DISTANCE,
            load=settings.DISPATCH_WEIGHT_LOAD,
            skill=settings.DISPATCH_WEIGHT_SKILL,
            window=settings.DISPATCH_WEIGHT_WINDOW,
            parts=settings.DISPATCH_WEIGHT_PARTS,
            urgency=settings.DISPATCH_WEIGHT_URGENCY,
            travel_buffer_minutes=settings.DISPATCH_TRAVEL_BUFFER_MINUTES,
            unknown_distance_km=settings.DISPATCH_UNKNOWN_DISTANCE_KM,
            position_max_age_hours=settings.DISPATCH_POSITION_MAX_AGE_HOURS,
        )


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km; works on floats and on numpy arrays (broadcasting)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return float(km) if np.ndim(km) == 0 else km


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
    position, source = technician_position(tech, now=now, weights=weights)
    if position is not None and order.position is not None:
        km = haversine_km(position[0], position[1], order.position[0], order.position[1])
        known = True
    else:
        km, known = weights.unknown_distance_km, False
    surplus = skill_surplus(tech, order)
    squeeze, gap = window_squeeze(tech, order, weights=weights)
    costs = {
        "distance": weights.distance * km * urgency_factor(order.priority, weights),
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
    # Distance, weighed by urgency.
    t_pos = [technician_position(t, now=now, weights=weights)[0] for t in techs]
    t_lat = np.array([p[0] if p else np.nan for p in t_pos])
    t_lon = np.array([p[1] if p else np.nan for p in t_pos])
    o_lat = np.array([o.position[0] if o.position else np.nan for o in orders])
    o_lon = np.array([o.position[1] if o.position else np.nan for o in orders])
    km = haversine_km(o_lat[:, None], o_lon[:, None], t_lat[None, :], t_lon[None, :])
    km = np.where(np.isnan(km), weights.unknown_distance_km, km)
    factor = np.array([urgency_factor(o.priority, weights) for o in orders])
    cost += weights.distance * km * factor[:, None]
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
