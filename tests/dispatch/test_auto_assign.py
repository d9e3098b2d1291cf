"""Automatic assignment: the whole queue at once, explained in each event."""

import datetime as dt
import os
import subprocess
import sys

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from core import roles as R
from dispatch import auto_assign
from dispatch.auto_assign import dispatch_auto_assign
from dispatch.tasks import dispatch_auto_assign as auto_assign_task
from tests.factories import (
    PartnerCompanyFactory,
    PartnerTechnicianFactory,
    ServiceTypeFactory,
    SiteFactory,
    SkillFactory,
    TechnicianFactory,
    UserFactory,
    WorkOrderFactory,
)
from workorders.lifecycle import Status
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.services import workorder_transition

from .factories import PartnerScopeFactory, ServiceTypeSkillFactory, ShiftFactory, at, skilled

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def monday_ten_am():
    with time_machine.travel(at(MONDAY, 10), tick=False):
        yield


def site_at(lat, lng, city="Shanghai"):
    return SiteFactory(latitude=lat, longitude=lng, city=city)


def tech_at(lat, lng, **kwargs):
    return TechnicianFactory(home_latitude=lat, home_longitude=lng, **kwargs)


def test_each_order_goes_to_the_best_technician_and_the_event_says_why():
    east, west = tech_at(31.23, 121.60), tech_at(31.23, 121.30)
    near_east = WorkOrderFactory(site=site_at(31.23, 121.61))
    near_west = WorkOrderFactory(site=site_at(31.23, 121.31))

    result = dispatch_auto_assign()

    assert len(result.assigned) == 2 and result.conflicts == [] and result.optimal
    near_east.refresh_from_db()
    near_west.refresh_from_db()
    assert (near_east.technician, near_west.technician) == (east, west)
    assert near_east.status == Status.ASSIGNED
    event = near_east.events.get(action="assign")
    assert event.actor is None and event.actor_role == R.SYSTEM
    assert event.data["technician"] == east.pk
    parts = event.data["parts"]
    assert parts["distance_km"] < 2 and parts["load_jobs"] == 0
    assert event.data["score"] == pytest.approx(sum(parts["costs"].values()), abs=0.01)


def test_not_greedy_the_whole_queue_is_cheaper_than_first_come_first_served(settings):
    # One job each. The urgent order is a little closer to A, but the other order can only
    # go to A (skill): a one-by-one pass would take A for the urgent one and leave the other out.
    settings.DISPATCH_CAPACITY = 1
    pump = SkillFactory(code="pump", name="Pump")
    special = ServiceTypeFactory(code="pumps")
    ServiceTypeSkillFactory(service_type=special, skill=pump, min_level=1)
    a = tech_at(31.23, 121.47)
    skilled(a, pump, 3)
    b = tech_at(31.23, 121.50)
    urgent = WorkOrderFactory(priority=WorkOrder.Priority.URGENT, site=site_at(31.23, 121.475))
    pumps = WorkOrderFactory(service_type=special, site=site_at(31.23, 121.48))

    dispatch_auto_assign()

    urgent.refresh_from_db()
    pumps.refresh_from_db()
    assert (urgent.technician, pumps.technician) == (b, a)


def test_when_capacity_is_short_the_urgent_order_is_served_first(settings):
    settings.DISPATCH_CAPACITY = 1
    tech = tech_at(31.23, 121.47)
    next_door = WorkOrderFactory(priority=WorkOrder.Priority.NORMAL, site=site_at(31.231, 121.471))
    far_but_urgent = WorkOrderFactory(
        priority=WorkOrder.Priority.URGENT, site=site_at(31.60, 121.90),
        created_at=timezone.now() - dt.timedelta(minutes=5),
    )

    result = dispatch_auto_assign()

    far_but_urgent.refresh_from_db()
    next_door.refresh_from_db()
    assert far_but_urgent.technician == tech
    assert next_door.status == Status.NEW and next_door.technician is None
    [left] = result.unassigned
    assert left["number"] == next_door.number and "more urgent" in left["reason"]


def test_hard_rules_hold_skills_scope_shift_and_overlapping_windows():
    gas = SkillFactory(code="gas", name="Gas")
    boiler = ServiceTypeFactory(code="boiler", name="Boiler")
    ServiceTypeSkillFactory(service_type=boiler, skill=gas, min_level=3)
    aircon = ServiceTypeFactory(code="aircon", name="Aircon")
    partner = PartnerCompanyFactory()
    PartnerScopeFactory(partner_company=partner, service_type=aircon)

    novice = tech_at(31.23, 121.47)  # right next to everything, but Gas L1
    skilled(novice, gas, 1)
    expert = tech_at(31.40, 121.70)
    skilled(expert, gas, 4)
    ShiftFactory(technician=expert, weekday=0, start=dt.time(9), end=dt.time(17))
    aircon_partner = PartnerTechnicianFactory(partner_company=partner, home_latitude=31.23, home_longitude=121.47)

    boiler_morning = WorkOrderFactory(
        service_type=boiler, site=site_at(31.23, 121.47), preferred_start=at(MONDAY, 11), preferred_end=at(MONDAY, 13)
    )
    boiler_overlapping = WorkOrderFactory(
        service_type=boiler, site=site_at(31.23, 121.47), preferred_start=at(MONDAY, 12), preferred_end=at(MONDAY, 14),
        priority=WorkOrder.Priority.HIGH,
    )
    boiler_evening = WorkOrderFactory(
        service_type=boiler, site=site_at(31.23, 121.47), preferred_start=at(MONDAY, 18), preferred_end=at(MONDAY, 19)
    )

    result = dispatch_auto_assign()

    for wo in (boiler_morning, boiler_overlapping, boiler_evening):
        wo.refresh_from_db()
    # Only the expert may do boilers; they work 9-17, and 11-13 overlaps 12-14: the high-priority one wins.
    assert boiler_overlapping.technician == expert
    assert boiler_overlapping.appointment_start == at(MONDAY, 12)
    assert boiler_morning.technician is None and boiler_evening.technician is None
    assert {u["number"] for u in result.unassigned} == {boiler_morning.number, boiler_evening.number}
    assert not WorkOrder.objects.filter(technician__in=[novice, aircon_partner]).exists()


def test_an_order_whose_asked_for_window_has_passed_is_left_for_a_person():
    tech_at(31.23, 121.47)
    stale = WorkOrderFactory(preferred_start=at(MONDAY, 7), preferred_end=at(MONDAY, 9))
    result = dispatch_auto_assign()
    stale.refresh_from_db()
    assert stale.status == Status.NEW
    assert [u["number"] for u in result.unassigned] == [stale.number]
    assert "passed" in result.unassigned[0]["reason"]


def test_load_counts_the_orders_given_earlier_in_the_same_run(settings):
    settings.DISPATCH_CAPACITY = 5
    tech_at(31.23, 121.47)
    orders = [WorkOrderFactory(site=site_at(31.23, 121.47)) for _ in range(3)]
    dispatch_auto_assign()
    loads = sorted(
        e.data["parts"]["load_jobs"] for e in WorkOrderEvent.objects.filter(work_order__in=orders, action="assign")
    )
    assert loads == [0, 1, 2]


def test_a_conflict_while_writing_is_skipped_and_reported_and_the_rest_go_ahead(monkeypatch):
    dispatcher = UserFactory(roles=[R.DISPATCHER])
    tech_at(31.23, 121.47)
    b = tech_at(31.30, 121.60)
    first = WorkOrderFactory(site=site_at(31.23, 121.47))
    second = WorkOrderFactory(site=site_at(31.30, 121.60))
    real_solve = auto_assign.solver.solve

    def solve_then_a_dispatcher_acts(**kwargs):
        solution = real_solve(**kwargs)
        # Between the solve and the writes, a dispatcher gives the first order to B by hand.
        workorder_transition(work_order_id=first.pk, action="assign", actor=dispatcher, technician_id=b.pk)
        return solution

    monkeypatch.setattr(auto_assign.solver, "solve", solve_then_a_dispatcher_acts)
    result = dispatch_auto_assign()

    [conflict] = result.conflicts
    assert conflict["number"] == first.number and f"already assigned to {b}" in conflict["reason"]
    assert [x["number"] for x in result.assigned] == [second.number]
    first.refresh_from_db()
    assert first.technician == b
    assert first.events.filter(action="assign").count() == 1


def test_running_twice_assigns_nothing_twice():
    tech_at(31.23, 121.47)
    WorkOrderFactory(site=site_at(31.23, 121.47))
    assert len(dispatch_auto_assign().assigned) == 1
    again = dispatch_auto_assign()
    assert again.assigned == [] and again.unassigned == []
    assert WorkOrderEvent.objects.filter(action="assign").count() == 1


def test_the_periodic_task_runs_the_service():
    tech_at(31.23, 121.47)
    WorkOrderFactory(site=site_at(31.23, 121.47))
    outcome = auto_assign_task()
    assert outcome["assigned"] == 1 and outcome["conflicts"] == 0


@pytest.mark.parametrize("value, scheduled", [("1", True), ("0", False)])
def test_the_beat_entry_exists_only_when_the_setting_turns_it_on(value, scheduled):
    env = {**os.environ, "DISPATCH_AUTO_ASSIGN_ENABLED": value, "DJANGO_SETTINGS_MODULE": "config.settings"}
    code = "from django.conf import settings; print('dispatch-auto-assign' in settings.CELERY_BEAT_SCHEDULE)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(scheduled)
