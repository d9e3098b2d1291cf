"""Two escalation sweeps at the same moment (two workers, or beat firing twice), on PostgreSQL."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from tests.factories import EscalationLevelFactory, SlaPolicyFactory, UserFactory, workorder_via_service
from notifications.models import Notification
from sla.models import SlaPolicy
from workorders.models import Escalation, WorkOrderEvent
from workorders.sla import escalation_sweep

pytestmark = pytest.mark.django_db(transaction=True)


def _together(n, fn):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


@pytest.mark.parametrize("batch", [500, 3], ids=["one batch", "small batches"])
def test_two_sweeps_at_once_fire_each_escalation_once(batch):
    UserFactory(username="boss", email="boss@example.com", roles=["manager"])
    SlaPolicy.objects.all().delete()
    level = EscalationLevelFactory(percent=100, notify_roles="manager")
    SlaPolicyFactory(is_default=True, escalation_matrix=level.matrix, first_response_minutes=30,
                     arrival_minutes=None, resolution_minutes=None)
    start = time_machine.travel("2025-09-16 10:00 +0800", tick=False)
    start.start()
    try:
        orders = [workorder_via_service() for _ in range(12)]
    finally:
        start.stop()
    due = orders[0].next_escalation_at + timedelta(minutes=1)

    results, errors = _together(2, lambda: escalation_sweep(now=due, batch=batch))

    assert errors == []
    assert sum(results) == 12
    assert Escalation.objects.count() == 12
    assert WorkOrderEvent.objects.filter(action="escalate").count() == 12
    assert Notification.objects.filter(template="escalation", recipient="boss@example.com").count() == 12
    # And a third sweep afterwards finds nothing left to do.
    assert escalation_sweep(now=due) == 0
