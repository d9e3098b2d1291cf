"""What the technicians' phones change: the consent to share location, and the positions sent
while a job is en route or on site.

Positions are taken only while the technician's own job is en route or in progress (on site),
and only after the technician said yes once (``Technician.location_consent``, asked on the job
page). Each accepted position becomes the technician's last known position (the dispatch board,
the candidates' travel times, the customer's arrival estimate).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import roles as R
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.geocoding import in_bounds
from technicians.models import Technician
from workorders.lifecycle import Status

from . import selectors

# The states in which the phone may send positions for a job.
TRACKED_STATES = (Status.EN_ROUTE, Status.IN_PROGRESS)


def technician_location_consent(*, user, consent: bool) -> Technician:
    """Record the technician's answer to "share your location while on a job?"."""
    technician = R.technician_profile(user)
    if technician is None:
        raise NotFound(_("You have no technician profile."))
    Technician.objects.filter(pk=technician.pk).update(location_consent=consent)
    technician.location_consent = consent
    return technician


def position_record(*, user, work_order_id: int, latitude, longitude, now=None) -> Technician:
    """Take a position the technician's phone sent for their job ``work_order_id``.

    NotFound when the job is not theirs (whether or not it exists); Forbidden without their
    consent; Conflict unless the job is en route or on site; InvalidInput for a point that is not
    a number pair inside the configured region. Nothing changes on any error.
    """
    technician = R.technician_profile(user)
    if technician is None:
        raise NotFound(_("No such work order."))
    try:
        lat, lng = float(latitude), float(longitude)
    except (TypeError, ValueError):
        raise InvalidInput(_("Send the position as two numbers: latitude and longitude."),
                           fields={"latitude": [_("A number is needed.")]}) from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or not in_bounds(lat, lng):
        raise InvalidInput(_("That position is outside the service region."), fields={"latitude": [
            _("That position is outside the service region.")]})
    now = now or timezone.now()
    with transaction.atomic():
        # The technician's row locked: the consent and the job's state read here hold until the write.
        locked = Technician.objects.select_for_update().filter(pk=technician.pk).values("location_consent").first()
        job = selectors.tech_job_state(user=user, pk=work_order_id)
        if job is None or job["technician_id"] != technician.pk:
            raise NotFound(_("No such work order."))
        if not locked or locked["location_consent"] is not True:
            raise Forbidden(_("Location sharing is off: turn it on on the job page first."), code="no_consent")
        if job["status"] not in TRACKED_STATES:
            raise Conflict(_("Positions are taken only while the job is en route or on site."), code="not_under_way")
        Technician.objects.filter(pk=technician.pk).update(last_latitude=round(lat, 6), last_longitude=round(lng, 6),
                                                           last_seen_at=now)
    technician.last_latitude, technician.last_longitude, technician.last_seen_at = lat, lng, now
    return technician
