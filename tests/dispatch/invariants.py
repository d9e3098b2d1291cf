"""What must hold after any mix of automatic and manual assignment (PostgreSQL race tests)."""

from dispatch.rules import ACTIVE_STATES
from workorders.models import WorkOrder


def assert_nobody_double_booked_or_over_capacity(capacity):
    by_tech = {}
    for wo in WorkOrder.objects.filter(status__in=ACTIVE_STATES, technician__isnull=False):
        by_tech.setdefault(wo.technician_id, []).append(wo)
    for orders in by_tech.values():
        assert len(orders) <= capacity
        windows = sorted((o.appointment_start, o.appointment_end) for o in orders if o.appointment_start)
        for (_s1, e1), (s2, _e2) in zip(windows, windows[1:]):
            assert e1 <= s2, "overlapping bookings"
