"""Writes of the technicians app: where a technician's home base is.

A technician's home base is an address (``Technician.home_address``) and a point
(``home_latitude``, ``home_longitude``) that dispatch measures travel from. As for sites
(customers/services.py), the point is found after commit by a Celery task, never on the request:
a technician is "pending" when created or when the address or the point changes (import, admin),
and ``technicians_locate`` then keeps a typed-in point inside the region as "exact" or geocodes the
address (core/geocoding.py). Beat's sweep catches any the task after commit missed.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from core.geocoding import checked_point, geocode_many

from .models import Technician

logger = logging.getLogger(__name__)

P = Technician.Precision


def technician_home_changed(*, technician: Technician, address_changed: bool, point_changed: bool) -> None:
    """An edited home base (admin, import) is located again after commit: a new address geocoded
    (its old point dropped), or typed coordinates checked. ``technician`` is saved by the caller."""
    if not (address_changed or point_changed):
        return
    if address_changed and not point_changed:
        technician.home_latitude = technician.home_longitude = None
    technician.home_precision = P.PENDING


def technicians_locate(*, technician_ids) -> dict[str, int]:
    """Locate the pending technicians among ``technician_ids``: {precision: how many}.

    A typed-in point inside the region (swapped back if given the wrong way round) is kept as
    "exact"; otherwise the home address is geocoded, and a technician without an address or whose
    address is not found has no home point ("unknown"). The provider is asked outside any
    transaction; a result is written only if the technician is still pending at the same address and point.
    """
    rows = list(
        Technician.objects.filter(pk__in=list(technician_ids), home_precision=P.PENDING)
        .order_by("pk").values_list("pk", "home_address", "home_latitude", "home_longitude")
    )
    results: dict[int, tuple] = {}
    to_geocode = []
    for pk, address, lat, lng in rows:
        point = None if lat is None or lng is None else checked_point(lat, lng)
        if point is not None:
            results[pk] = (point[0], point[1], P.EXACT)
        elif address.strip():
            to_geocode.append((pk, address))
        else:
            results[pk] = (None, None, P.UNKNOWN)
    if to_geocode:
        try:
            found = geocode_many([address for _pk, address in to_geocode])
        except Exception:  # a provider bug must not stop the sweep forever
            logger.exception("geocoding %d home base(s) failed", len(to_geocode))
            found = [None] * len(to_geocode)
        for (pk, _address), location in zip(to_geocode, found):
            results[pk] = (None, None, P.UNKNOWN) if location is None else (
                location.latitude, location.longitude, location.precision)
    read = {pk: (address, lat, lng) for pk, address, lat, lng in rows}
    counts: dict[str, int] = {}
    with transaction.atomic():
        for pk, (lat, lng, precision) in results.items():
            updated = Technician.objects.filter(pk=pk, **_unchanged(*read[pk])).update(
                home_latitude=_six(lat), home_longitude=_six(lng), home_precision=precision
            )
            if updated:
                counts[precision] = counts.get(precision, 0) + 1
    return counts


def _unchanged(address, lat, lng) -> dict:
    """Filter for "still pending with the address and point that were read": an admin who typed a
    point (or changed the address) while the provider was asked wins over the stale result."""
    return {
        "home_precision": P.PENDING,
        "home_address": address,
        **({"home_latitude__isnull": True} if lat is None else {"home_latitude": lat}),
        **({"home_longitude__isnull": True} if lng is None else {"home_longitude": lng}),
    }


def _six(value):
    return None if value is None else Decimal(f"{value:.6f}")


def technicians_geocode_pending(*, batch: int | None = None) -> dict[str, int]:
    """Beat's sweep: locate up to ``batch`` technicians still pending (index ``technician_home_pending``)."""
    batch = batch or settings.GEOCODE_SWEEP_BATCH
    ids = list(Technician.objects.filter(home_precision=P.PENDING).order_by("pk").values_list("pk", flat=True)[:batch])
    return technicians_locate(technician_ids=ids) if ids else {}


def technicians_geocode_pending_after_commit() -> None:
    """After a write (an import, an admin edit): one round of the sweep once it commits; beat does the rest."""
    if settings.GEOCODE_ENQUEUE_ON_COMMIT:
        transaction.on_commit(_enqueue_sweep)


def _enqueue_sweep() -> None:
    from .tasks import home_geocode_sweep

    try:
        home_geocode_sweep.apply_async(retry=False)
    except Exception as exc:
        logger.warning("Could not enqueue the home base geocoding sweep (%s); beat runs it anyway", exc)
