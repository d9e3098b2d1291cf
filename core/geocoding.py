"""Addresses to points: one geocoding service with providers chosen in settings (``GEOCODER``).

- ``offline`` (the default, needs no network): cpca reads a Chinese address into province,
  city and district from the national administrative divisions it ships, with each
  division's centre; the address is placed at the centre of the smallest division found, and
  the precision says which one it was ("district", "city", "province"). An address in which
  no division is found has no point (precision "unknown").
- ``amap``: an AMap-style HTTP geocoder (``GEOCODER_URL``, ``GEOCODER_KEY``), called through
  geopy with ``GEOCODER_TIMEOUT``; its answers are kept in the cache per normalised address
  (``GEOCODER_CACHE_SECONDS``). A timeout, an error, a rate limit, an answer that cannot be
  read or one outside the region falls back to the offline provider for that address.

Every point is checked against the configured region (``GEOCODER_BOUNDS``): a pair that is
inside only with latitude and longitude swapped is swapped back; any other pair outside is
refused. Nothing here touches the database; ``customers.services.sites_locate`` (sites) and
``technicians.services.technicians_locate`` (home bases) write the results, in a Celery task
after the row's commit.

Points are in the coordinates the Chinese map services use (GCJ-02), as are the division
centres cpca ships; a tile server for the dispatch board should use the same.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.utils.module_loading import import_string

from .choices import LocationPrecision as P

logger = logging.getLogger(__name__)

# The four municipalities: their province is also their city.
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
# City-level entries of the divisions table that only group districts or counties.
GROUPING_LEVELS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    precision: str  # a LocationPrecision value
    area: str = ""  # the divisions found, e.g. "上海市 浦东新区"


class GeocoderFailed(Exception):
    """The provider did not answer usefully (timeout, error, rate limit, garbage): try the fallback."""


def normalize(address: str) -> str:
    """The form an address is cached under: no spaces at all, full-width letters and digits as ASCII."""
    text = "".join((address or "").split())
    return text.translate(_FULL_WIDTH)


_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


# --- the region ---------------------------------------------------------------------------


def in_bounds(latitude: float, longitude: float, bounds=None) -> bool:
    south, west, north, east = bounds or settings.GEOCODER_BOUNDS
    return south <= latitude <= north and west <= longitude <= east


def checked_point(latitude, longitude, bounds=None) -> tuple[float, float] | None:
    """A point inside the region, with latitude and longitude swapped back if they were given
    the wrong way round, or None (not numbers, not finite, outside the region either way)."""
    try:
        lat, lng = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng)):
        return None
    if in_bounds(lat, lng, bounds):
        return lat, lng
    if in_bounds(lng, lat, bounds):
        return lng, lat
    return None


# --- offline: cpca ------------------------------------------------------------------------


class OfflineGeocoder:
    """Province, city and district by cpca; the point is the smallest division's centre."""

    name = "offline"

    def geocode(self, address: str) -> Location | None:
        return self.geocode_many([address])[0]

    def geocode_many(self, addresses: list[str]) -> list[Location | None]:
        """One pass of cpca over all the addresses (it builds one table per call, so a batch is
        much cheaper per address than one call each)."""
        cpca = _cpca()
        texts = [normalize(a) for a in addresses]
        if not texts:
            return []
        codes = cpca.transform(texts)["adcode"].tolist()
        return [self._location(code, text) for code, text in zip(codes, texts)]

    def _location(self, adcode, text: str) -> Location | None:
        if not isinstance(adcode, str) or len(adcode) < 6:
            return None
        found = _divisions()
        adcode = adcode[:6]
        if found.get(adcode, ("",))[0] in GROUPING_LEVELS:
            # cpca read a grouping level alone (its table has Chongqing's "县", so any "…县" matches
            # it): only the province counts, and only if the address names it.
            adcode = adcode[:2] + "0000"
            if found.get(adcode, ("",))[0][:2] not in text:
                return None
        # The divisions read, largest first (grouping levels such as "市辖区" name no place).
        levels = [adcode[:2] + "0000", adcode[:4] + "00", adcode]
        names = [found[c][0] for c in dict.fromkeys(levels) if c in found and found[c][0] not in GROUPING_LEVELS]
        # The point: the smallest division that has a centre (district, else city, else province).
        for code in reversed(levels):
            entry = found.get(code)
            if entry is None or entry[1] is None:
                continue
            if code.endswith("0000"):
                precision = P.CITY if code[:2] in MUNICIPALITIES else P.PROVINCE
            elif code.endswith("00"):
                precision = P.CITY
            else:
                precision = P.DISTRICT
            return Location(entry[1][0], entry[1][1], precision, " ".join(names)[:80])
        return None


@lru_cache(maxsize=1)
def _cpca():
    import cpca  # ~0.1 s and the national divisions table; imported by the worker on first use

    return cpca


@lru_cache(maxsize=1)
def _divisions() -> dict[str, tuple[str, tuple[float, float] | None]]:
    """6-digit division code -> (name, (latitude, longitude) or None), from cpca's table."""
    out = {}
    for code, info in _cpca().ad_2_addr_dict.items():
        try:
            point = (float(info.latitude), float(info.longitude))
        except (TypeError, ValueError):
            point = None
        out[code[:6]] = (info.name, point)
    return out


# --- online: an AMap-style HTTP geocoder through geopy ------------------------------------

# AMap's "level" of an answer -> our precision; anything finer (road, building, door) is "street".
AMAP_LEVELS = {"国家": None, "省": P.PROVINCE, "市": P.CITY, "区县": P.DISTRICT, "开发区": P.DISTRICT}
# AMap answers status "0" with these codes when the key is over its quota or rate.
AMAP_RATE_LIMITED = {"10003", "10004", "10014", "10019", "10020", "10021", "10029", "10044", "10045"}


def _amap_client():
    from geopy.adapters import URLLibAdapter
    from geopy.exc import GeocoderQuotaExceeded, GeocoderServiceError
    from geopy.geocoders.base import Geocoder

    class AMap(Geocoder):
        """GET ``url?key=…&address=…&output=JSON`` -> ``{"status": "1", "geocodes": [{"location":
        "lng,lat", "level": …, "province", "city", "district"}]}``."""

        def __init__(self, *, url: str, key: str, timeout: float):
            scheme = "https" if url.startswith("https:") else "http"
            # The standard library's client: one try per address (requests' adapter retries twice,
            # which made a dead service cost three timeouts); the fallback is the retry.
            super().__init__(scheme=scheme, timeout=timeout, user_agent="fieldservice", adapter_factory=URLLibAdapter)
            self.url, self.key = url, key

        def geocode(self, query: str):
            url = f"{self.url}?{urlencode({'key': self.key, 'address': query, 'output': 'JSON'})}"
            return self._call_geocoder(url, self._parse)

        @staticmethod
        def _parse(page):
            if not isinstance(page, dict):
                raise GeocoderServiceError("not a JSON object")
            if str(page.get("status")) != "1":
                code = str(page.get("infocode", ""))
                error = GeocoderQuotaExceeded if code in AMAP_RATE_LIMITED else GeocoderServiceError
                raise error(f"{code} {page.get('info', '')}".strip())
            geocodes = page.get("geocodes") or []
            return geocodes[0] if geocodes and isinstance(geocodes[0], dict) else None

    return AMap


class AmapGeocoder:
    """An AMap-style geocoder; each failure falls back to ``OfflineGeocoder`` for that address."""

    name = "amap"

    def __init__(self):
        self.client = _amap_client()(
            url=settings.GEOCODER_URL, key=settings.GEOCODER_KEY, timeout=settings.GEOCODER_TIMEOUT
        )
        self.fallback = OfflineGeocoder()

    def geocode(self, address: str) -> Location | None:
        return self.geocode_many([address])[0]

    def geocode_many(self, addresses: list[str]) -> list[Location | None]:
        out: list[Location | None] = []
        for address in addresses:
            key = "geocode:amap:" + hashlib.sha256(normalize(address).encode()).hexdigest()
            kept = cache.get(key)
            if kept is not None:
                out.append(Location(*kept) if kept else None)
                continue
            try:
                found = self._ask(address)
            except GeocoderFailed as exc:
                logger.warning("geocoder %s failed for an address (%s); using the offline one", self.name, exc)
                out.append(self.fallback.geocode(address))
                continue
            if found is None:  # the service does not know it: perhaps the divisions do
                found = self.fallback.geocode(address)
            cache.set(key, tuple(vars(found).values()) if found else (), settings.GEOCODER_CACHE_SECONDS)
            out.append(found)
        return out

    def _ask(self, address: str) -> Location | None:
        from geopy.exc import GeopyError

        try:
            answer = self.client.geocode(normalize(address))
        except GeopyError as exc:
            raise GeocoderFailed(f"{type(exc).__name__}: {exc}") from exc
        if answer is None:
            return None
        try:
            lng, lat = (float(x) for x in str(answer["location"]).split(","))
        except (KeyError, TypeError, ValueError) as exc:
            raise GeocoderFailed(f"unreadable location {answer.get('location')!r}") from exc
        point = checked_point(lat, lng)
        if point is None:
            raise GeocoderFailed(f"{lat},{lng} is outside the region")
        precision = AMAP_LEVELS.get(str(answer.get("level", "")), P.STREET)
        if precision is None:
            return None
        parts = [answer.get(k) for k in ("province", "city", "district")]
        area = " ".join(dict.fromkeys(p for p in parts if isinstance(p, str) and p))
        return Location(point[0], point[1], precision, area[:80])


PROVIDERS = {"offline": OfflineGeocoder, "amap": AmapGeocoder}


def geocoder():
    """The provider named by ``GEOCODER`` (a name above, or the dotted path of a class)."""
    name = settings.GEOCODER
    return (PROVIDERS.get(name) or import_string(name))()


def geocode_many(addresses: list[str]) -> list[Location | None]:
    """Points for the addresses, each inside the region or None ("location unknown")."""
    results = geocoder().geocode_many(list(addresses))
    out = []
    for found in results:
        point = None if found is None else checked_point(found.latitude, found.longitude)
        out.append(None if point is None else Location(point[0], point[1], found.precision, found.area))
    return out
