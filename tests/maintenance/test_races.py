"""Two sweeps at once, and a plan edited while a sweep runs, create no visit twice (PostgreSQL)."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from maintenance.models import MaintenancePlan, PlanVisit
from maintenance.services import plans_sweep
from tests.concurrency import race
from tests.factories import EquipmentFactory
from workorders.models import WorkOrder

from .conftest import TODAY, make_plan

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_sweeps_at_once_create_each_visit_and_order_once(pm_type):
    for _ in range(30):
        make_plan(EquipmentFactory(), pm_type, unit=MaintenancePlan.Unit.WEEKS, every=2)

    results = race([lambda: plans_sweep(today=TODAY, horizon_days=60, batch=7) for _ in range(3)])

    per_plan = 5  # Sep 7, 21, Oct 5, 19, Nov 2
    assert sum(results) == 30 * per_plan
    assert PlanVisit.objects.count() == 30 * per_plan == WorkOrder.objects.count()
    assert not PlanVisit.objects.filter(work_order__isnull=True).exists()


def test_the_unique_visit_holds_even_when_two_sweeps_see_the_same_plan(pm_type, monkeypatch):
    """Without the plan lock (as if both read the plan before either wrote), the unique
    (plan, due day) still lets only one write each visit and its order."""
    from django.db.models.query import QuerySet

    plan = make_plan(EquipmentFactory(), pm_type)
    original = QuerySet.select_for_update

    def no_lock(self, **kwargs):
        return self
    monkeypatch.setattr(QuerySet, "select_for_update", no_lock)

    results = race([lambda: plans_sweep(today=TODAY, horizon_days=92) for _ in range(3)])

    assert sum(results) == 4
    assert plan.visits.count() == 4 == WorkOrder.objects.count()
    monkeypatch.setattr(QuerySet, "select_for_update", original)


def test_a_plan_being_edited_is_left_to_the_next_sweep_which_follows_the_edit(pm_type):
    plan = make_plan(EquipmentFactory(), pm_type)
    editing, release = threading.Event(), threading.Event()

    def edit():
        try:
            with transaction.atomic():
                MaintenancePlan.objects.filter(pk=plan.pk).update(unit=MaintenancePlan.Unit.WEEKS, every=6)
                editing.set()
                release.wait(10)
        finally:
            connection.close()

    editor = threading.Thread(target=edit)
    editor.start()
    editing.wait(10)
    try:
        assert plans_sweep(today=TODAY, horizon_days=92) == 0  # the row is locked: skipped, not waited for
    finally:
        release.set()
        editor.join()

    assert plans_sweep(today=TODAY, horizon_days=92) == 3  # Sep 7, Oct 19, Nov 30: the edited schedule
    assert sorted(plan.visits.values_list("due_on", flat=True)) == [
        dt.date(2026, 9, 7), dt.date(2026, 10, 19), dt.date(2026, 11, 30)]


def test_a_sweep_with_nothing_due_locks_no_plan(pm_type):
    plan = make_plan(EquipmentFactory(), pm_type)
    plans_sweep(today=TODAY, horizon_days=31)
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmax FROM maintenance_maintenanceplan WHERE id = %s", [plan.pk])
        locked_before = cursor.fetchone()[0]

    assert plans_sweep(today=TODAY + dt.timedelta(days=1), horizon_days=31) == 0

    with connection.cursor() as cursor:
        cursor.execute("SELECT xmax FROM maintenance_maintenanceplan WHERE id = %s", [plan.pk])
        assert cursor.fetchone()[0] == locked_before  # no row lock taken (it would write the row's xmax)
