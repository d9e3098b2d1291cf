"""What a transition does to a work order besides moving its status: the named effects the
lifecycle table (``lifecycle.TRANSITIONS``) lists for each transition."""

from customers.models import Site

from .models import WorkOrder


def site_points(site_ids) -> dict[int, list]:
    """site id -> [latitude, longitude, precision] of the sites that have a point (one query)."""
    ids = {pk for pk in site_ids if pk}
    if not ids:
        return {}
    return {
        pk: [float(lat), float(lng), precision]
        for pk, lat, lng, precision in Site.objects.filter(pk__in=ids, latitude__isnull=False, longitude__isnull=False)
        .values_list("pk", "latitude", "longitude", "location_precision")
    }


def give_to_technician(work_order: WorkOrder, *, technician, appointment_start, appointment_end, now,
                       event_data: dict, point: list | None = None) -> list[str]:
    """Set what assign and re-assign change on the (locked) order and say it in the event's data.

    ``point``: where the order's site was placed when it was dispatched ([latitude, longitude,
    precision], ``site_points``); the event keeps it, so the order keeps the point it was
    dispatched on even if the site's pin moves later.

    Returns the fields to save. Shared by ``workorder_transition`` and the bulk
    ``workorders.services_assign.workorders_assign_many``.
    """
    if point is not None:
        event_data["point"] = point
    event_data.update(
        {
            "technician": technician.pk,
            "technician_name": str(technician),
            "previous_technician": work_order.technician_id,
        }
    )
    if appointment_start is not None:
        event_data["appointment"] = [appointment_start.isoformat(), appointment_end.isoformat()]
    work_order.technician = technician
    work_order.appointment_start = appointment_start
    work_order.appointment_end = appointment_end
    work_order.assigned_at = now
    work_order.accepted_at = None
    return ["technician", "appointment_start", "appointment_end", "assigned_at", "accepted_at"]
