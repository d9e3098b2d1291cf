"""How long a technician takes to drive from one point to another: the one estimate of travel
time that candidates, automatic assignment, the board's route and the customer's arrival use.

Two ways, chosen in settings:

- **straight line** (always available, no network): the great-circle (haversine) distance ×
  ``DISPATCH_ROAD_FACTOR`` (roads are longer than the crow flies), driven at
  ``DISPATCH_SPEED_KMH``, or ``DISPATCH_RUSH_SPEED_KMH`` when leaving in one of the
  ``DISPATCH_RUSH_HOURS`` (local time);
- **a routing service** when ``DISPATCH_ROUTING_URL`` is set: an OSRM-compatible server's table
  API (``/table/v1/<profile>/<lon,lat;...>?sources=..&destinations=..``), asked with
  ``DISPATCH_ROUTING_TIMEOUT`` seconds to answer; each pair's answer is kept in the cache for
  ``DISPATCH_ROUTING_CACHE_SECONDS`` (by its points rounded to about 10 m). A pair the server does
  not answer (down, slow, an error, no route) falls back to the straight line.

Minutes are floats; a pair with an unknown point has NaN (callers decide what unknown costs).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass

import numpy as np
import requests
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088
# Points are rounded to this many decimals for the cache key (1e-4 degrees is about 10 m).
_KEY_DECIMALS = 4
# At most this many points per table request (OSRM's default --max-table-size is 100).
_TABLE_CHUNK = 50


def _haversine_one(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """``haversine_km`` for one pair of points given as plain numbers, in the same steps with
    ``math``: for one pair, numpy's per-call overhead is most of the cost (the board computes
    a few thousand pairs, one or two at a time)."""
    lat1, lon1, lat2, lon2 = math.radians(lat1), math.radians(lon1), math.radians(lat2), math.radians(lon2)
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km; works on floats and on numpy arrays (broadcasting)."""
    if all(type(v) in (float, int) for v in (lat1, lon1, lat2, lon2)):
        return _haversine_one(lat1, lon1, lat2, lon2)
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return float(km) if np.ndim(km) == 0 else km


def speeds_kmh(whens) -> np.ndarray:
    """``speed_kmh`` for many departure times at once (the time zone and the settings read once)."""
    tz = timezone.get_current_timezone()
    rush, normal = settings.DISPATCH_RUSH_SPEED_KMH, settings.DISPATCH_SPEED_KMH
    spans = settings.DISPATCH_RUSH_HOURS
    hours: dict = {}
    out = np.empty(len(whens))
    for k, when in enumerate(whens):
        if when is None:
            out[k] = normal
            continue
        hour = when.astimezone(tz).hour
        if hour not in hours:
            hours[hour] = rush if any(start <= hour < end for start, end in spans) else normal
        out[k] = hours[hour]
    return out


def speed_kmh(when: dt.datetime | None) -> float:
    """The driving speed for leaving at ``when`` (rush hours are slower)."""
    if when is not None:
        hour = timezone.localtime(when).hour
        if any(start <= hour < end for start, end in settings.DISPATCH_RUSH_HOURS):
            return settings.DISPATCH_RUSH_SPEED_KMH
    return settings.DISPATCH_SPEED_KMH


def straight_minutes(lat1, lon1, lat2, lon2, *, when: dt.datetime | None = None, speed=None):
    """Minutes by the straight-line estimate (floats or numpy arrays; NaN where a point is unknown).

    ``speed``: km/h, a number or an array broadcasting with the points (by default the speed for ``when``).
    """
    km = haversine_km(lat1, lon1, lat2, lon2)
    return km * settings.DISPATCH_ROAD_FACTOR / (speed_kmh(when) if speed is None else speed) * 60.0


def km_minutes(km: float, *, when: dt.datetime | None = None) -> float:
    """Minutes for ``km`` of straight-line distance (what an unknown distance counts as)."""
    return km * settings.DISPATCH_ROAD_FACTOR / speed_kmh(when) * 60.0


def _key(lat, lon) -> tuple[float, float]:
    return (round(float(lat), _KEY_DECIMALS), round(float(lon), _KEY_DECIMALS))


def _cache_key(origin, destination) -> str:
    return "travel:%s,%s:%s,%s" % (*origin, *destination)


def _table(origins: list[tuple[float, float]], destinations: list[tuple[float, float]]) -> dict:
    """Ask the routing server for origins × destinations: {(origin, destination): minutes}.

    Raises on any failure (the caller falls back to the straight line).
    """
    points = origins + destinations
    coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
    url = "%s/table/v1/%s/%s" % (settings.DISPATCH_ROUTING_URL.rstrip("/"), settings.DISPATCH_ROUTING_PROFILE,
                                 coordinates)
    params = {
        "sources": ";".join(str(i) for i in range(len(origins))),
        "destinations": ";".join(str(len(origins) + j) for j in range(len(destinations))),
        "annotations": "duration",
    }
    response = requests.get(url, params=params, timeout=settings.DISPATCH_ROUTING_TIMEOUT)
    response.raise_for_status()
    body = response.json()
    if body.get("code") != "Ok":
        raise ValueError(f"routing answered {body.get('code')!r}")
    rows = body["durations"]
    if len(rows) != len(origins) or any(len(row) != len(destinations) for row in rows):
        raise ValueError("routing answered a table of the wrong shape")
    out = {}
    for i, origin in enumerate(origins):
        for j, destination in enumerate(destinations):
            seconds = rows[i][j]
            if seconds is not None and float(seconds) >= 0:
                out[(origin, destination)] = float(seconds) / 60.0
    return out


def _routed(pairs: set[tuple[tuple[float, float], tuple[float, float]]]) -> dict:
    """Minutes for the pairs the routing server (or the cache) knows; the rest are left out."""
    if not pairs:
        return {}
    keys = {pair: _cache_key(*pair) for pair in pairs}
    cached = cache.get_many(list(keys.values()))
    known = {pair: cached[key] for pair, key in keys.items() if key in cached}
    missing = [pair for pair in pairs if pair not in known]
    if not missing:
        return known
    origins = sorted({o for o, _d in missing})
    destinations = sorted({d for _o, d in missing})
    fresh: dict = {}
    try:
        for i in range(0, len(origins), _TABLE_CHUNK):
            for j in range(0, len(destinations), _TABLE_CHUNK):
                fresh.update(_table(origins[i:i + _TABLE_CHUNK], destinations[j:j + _TABLE_CHUNK]))
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        logger.warning("routing service failed (%s); using straight-line travel times", exc)
    if fresh:
        cache.set_many({_cache_key(*pair): minutes for pair, minutes in fresh.items()},
                       settings.DISPATCH_ROUTING_CACHE_SECONDS)
    known.update({pair: fresh[pair] for pair in missing if pair in fresh})
    return known


@dataclass(frozen=True)
class Estimate:
    minutes: float | None  # None: a point is unknown
    km: float | None  # the straight-line distance
    routed: bool = False  # the routing server's answer (else the straight-line estimate)


def minutes_many(lat1, lon1, lat2, lon2, *, when: dt.datetime | None = None, speed=None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(minutes, routed) for each pair of the broadcast arrays: the routing server's minutes
    where it answers (when configured), else the straight-line estimate (at ``speed`` km/h, a
    number or an array, by default the speed for ``when``); NaN where a point is unknown.
    """
    lat1, lon1, lat2, lon2 = (np.asarray(v, dtype=float) for v in (lat1, lon1, lat2, lon2))
    # Computed on the arrays as given (numpy broadcasts): a row of technicians against a column of
    # orders costs one pass over the pairs, not one per input.
    minutes = np.array(straight_minutes(lat1, lon1, lat2, lon2, when=when, speed=speed), dtype=float, ndmin=0)
    shape = np.broadcast_shapes(lat1.shape, lon1.shape, lat2.shape, lon2.shape, minutes.shape)
    if minutes.shape != shape:
        minutes = np.broadcast_to(minutes, shape).copy()
    routed = np.zeros(minutes.shape, dtype=bool)
    if not settings.DISPATCH_ROUTING_URL or minutes.size == 0:
        return minutes, routed
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(lat1, lon1, lat2, lon2)
    known = ~np.isnan(minutes)
    index = np.argwhere(known)
    pairs = {}
    for idx in map(tuple, index):
        pairs[idx] = (_key(lat1[idx], lon1[idx]), _key(lat2[idx], lon2[idx]))
    answers = _routed(set(pairs.values()))
    for idx, pair in pairs.items():
        if pair in answers:
            minutes[idx] = answers[pair]
            routed[idx] = True
    return minutes, routed


def estimate(origin, destination, *, when: dt.datetime | None = None) -> Estimate:
    """Travel from ``origin`` to ``destination`` ((lat, lon) pairs or None), leaving at ``when``."""
    if origin is None or destination is None:
        return Estimate(None, None)
    km = haversine_km(origin[0], origin[1], destination[0], destination[1])
    if not settings.DISPATCH_ROUTING_URL and not isinstance(km, np.ndarray):
        # The straight line, as straight_minutes computes it, without numpy for one pair.
        return Estimate(km * settings.DISPATCH_ROAD_FACTOR / speed_kmh(when) * 60.0, km, False)
    minutes, routed = minutes_many(origin[0], origin[1], destination[0], destination[1], when=when)
    return Estimate(float(minutes), km, bool(routed))


def nearest_next(start, points: list, *, when: dt.datetime | None = None) -> tuple[list[int], float]:
    """A route through ``points`` ((lat, lon) pairs) from ``start`` (or from the first point when
    ``start`` is None): always on to the nearest unvisited one. Returns (the indices in route
    order, its travel minutes). Points that are unknown (None) go last, in their given order.
    """
    known = [i for i, p in enumerate(points) if p is not None]
    unknown = [i for i, p in enumerate(points) if p is None]
    if not known:
        return unknown, 0.0
    coords = [points[i] for i in known] + ([start] if start is not None else [])
    table = _small_table(coords, when)
    if table is None:
        lat = np.array([c[0] for c in coords])
        lon = np.array([c[1] for c in coords])
        table, _routed_mask = minutes_many(lat[:, None], lon[:, None], lat[None, :], lon[None, :], when=when)
    n = len(known)
    left = set(range(n))
    if start is not None:
        here, total = n, 0.0
    else:
        here, total = 0, 0.0
        left.discard(0)
    order = [] if start is not None else [0]
    while left:
        nxt = min(left, key=lambda k: (table[here][k], k))
        total += float(table[here][nxt])
        order.append(nxt)
        left.discard(nxt)
        here = nxt
    return [known[k] for k in order] + unknown, total


# Up to this many points, without a routing service, the tables above are worked out pair by pair
# in plain Python (a technician's day has a handful of stops; numpy pays off on larger tables).
SMALL_TABLE = 12


def _straight_one(a, b, speed: float) -> float:
    """``straight_minutes`` from point ``a`` to point ``b`` ((lat, lon) pairs) at ``speed`` km/h."""
    km = _haversine_one(float(a[0]), float(a[1]), float(b[0]), float(b[1]))
    return km * settings.DISPATCH_ROAD_FACTOR / speed * 60.0


def _small_table(coords: list, when) -> list[list[float]] | None:
    """The straight-line minutes between every two of ``coords`` as nested lists (``table[i][k]``,
    as ``minutes_many`` would give them), or None when the routing service or the size calls for
    ``minutes_many``."""
    if settings.DISPATCH_ROUTING_URL or len(coords) > SMALL_TABLE:
        return None
    speed = speed_kmh(when)
    return [[_straight_one(a, b, speed) for b in coords] for a in coords]


def route_minutes(start, points: list, *, when: dt.datetime | None = None) -> float:
    """Travel minutes visiting ``points`` in the given order from ``start`` (unknown points skipped)."""
    stops = ([start] if start is not None else []) + [p for p in points if p is not None]
    if len(stops) < 2:
        return 0.0
    if not settings.DISPATCH_ROUTING_URL and len(stops) <= SMALL_TABLE:
        speed = speed_kmh(when)
        return float(sum(_straight_one(a, b, speed) for a, b in zip(stops, stops[1:])))
    lat = np.array([p[0] for p in stops])
    lon = np.array([p[1] for p in stops])
    minutes, _routed_mask = minutes_many(lat[:-1], lon[:-1], lat[1:], lon[1:], when=when)
    return float(np.nansum(minutes))
