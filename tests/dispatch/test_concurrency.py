"""Dispatchers and automatic assignment acting at the same moment, on PostgreSQL.

Each thread has its own database connection; a barrier releases them together.
"""

import datetime as dt
import threading

import pytest
import time_machine

from core import roles as R
from core.errors import ApplicationError, Conflict
from dispatch import auto_assign
from dispatch import services as dispatch_services
from dispatch.auto_assign import dispatch_auto_assign
from tests.concurrency import race
from tests.factories import SiteFactory, TechnicianFactory, UserFactory, WorkOrderFactory
from workorders.lifecycle import Status
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.services import workorder_transition

from .factories import at, booked
from tests.dispatch.invariants import assert_nobody_double_booked_or_over_capacity

pytestmark = pytest.mark.django_db(transaction=True)

MONDAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def monday_ten_am():
    with time_machine.travel(at(MONDAY, 10), tick=False):
        yield


def assign(actor, wo, tech, start=None, end=None):
    return lambda: workorder_transition(
        work_order_id=wo.pk, action="assign", actor=actor, technician_id=tech.pk,
        appointment_start=start, appointment_end=end,
    )


def assert_each_order_assigned_at_most_once():
    for wo in WorkOrder.objects.all():
        assigns = WorkOrderEvent.objects.filter(work_order=wo, action="assign").count()
        assert assigns == (1 if wo.technician_id else 0), wo.number


def test_two_dispatchers_assign_one_order_one_wins_the_other_is_told_to_whom():
    first, second = UserFactory(roles=[R.DISPATCHER]), UserFactory(roles=[R.DISPATCHER])
    tech_a, tech_b = TechnicianFactory(), TechnicianFactory()
    wo = WorkOrderFactory()
    results = race([assign(first, wo, tech_a), assign(second, wo, tech_b)])
    [error] = [r for r in results if isinstance(r, ApplicationError)]
    assert isinstance(error, Conflict)
    wo.refresh_from_db()
    assert f"{wo.number} is already assigned to {wo.technician}." == error.message
    assert WorkOrderEvent.objects.filter(work_order=wo, action="assign").count() == 1


def test_two_dispatchers_book_one_technician_into_overlapping_windows_one_is_refused():
    first, second = UserFactory(roles=[R.DISPATCHER]), UserFactory(roles=[R.DISPATCHER])
    tech = TechnicianFactory()
    wo1, wo2 = WorkOrderFactory(), WorkOrderFactory()
    results = race([
        assign(first, wo1, tech, at(MONDAY, 10), at(MONDAY, 12)),
        assign(second, wo2, tech, at(MONDAY, 11), at(MONDAY, 13)),
    ])
    [error] = [r for r in results if isinstance(r, ApplicationError)]
    [winner] = [r for r in results if not isinstance(r, ApplicationError)]
    assert isinstance(error, Conflict)
    window = "10:00–12:00" if winner.pk == wo1.pk else "11:00–13:00"
    assert f"already booked {window} on {winner.number}." in error.message
    assert WorkOrder.objects.filter(technician=tech).count() == 1


def test_two_dispatchers_take_the_last_free_slot_one_is_refused(settings):
    settings.DISPATCH_CAPACITY = 2
    first, second = UserFactory(roles=[R.DISPATCHER]), UserFactory(roles=[R.DISPATCHER])
    tech = TechnicianFactory()
    booked(tech, None, None)
    wo1, wo2 = WorkOrderFactory(), WorkOrderFactory()
    results = race([assign(first, wo1, tech), assign(second, wo2, tech)])
    [error] = [r for r in results if isinstance(r, ApplicationError)]
    assert "already has 2 open jobs (capacity 2)" in error.message
    assert_nobody_double_booked_or_over_capacity(capacity=2)


def test_the_database_refuses_an_overlap_even_if_the_check_were_skipped(monkeypatch):
    dispatcher = UserFactory(roles=[R.DISPATCHER])
    tech = TechnicianFactory()
    booked(tech, at(MONDAY, 10), at(MONDAY, 12))
    wo = WorkOrderFactory()
    monkeypatch.setattr(dispatch_services, "technician_check_assignable", lambda **kwargs: None)
    with pytest.raises(Conflict) as caught:
        workorder_transition(
            work_order_id=wo.pk, action="assign", actor=dispatcher, technician_id=tech.pk,
            appointment_start=at(MONDAY, 11), appointment_end=at(MONDAY, 13),
        )
    assert "already booked at an overlapping time" in caught.value.message
    wo.refresh_from_db()
    assert wo.status == Status.NEW and not wo.events.filter(action="assign").exists()


def test_a_dispatcher_acting_between_solve_and_write_makes_auto_assign_skip_and_report(monkeypatch, settings):
    """Deterministic interleaving: the dispatcher's assignments land after the solve, before the writes."""
    settings.DISPATCH_CAPACITY = 1
    dispatcher = UserFactory(roles=[R.DISPATCHER])
    near = TechnicianFactory(home_latitude=31.23, home_longitude=121.47)
    far = TechnicianFactory(home_latitude=31.40, home_longitude=121.80)
    wanted = WorkOrderFactory(site=SiteFactory(latitude=31.23, longitude=121.47), priority=4)
    other = WorkOrderFactory(site=SiteFactory(latitude=31.40, longitude=121.80))
    filler = WorkOrderFactory(site=SiteFactory(latitude=31.50, longitude=121.90))
    solved, manual_done = threading.Event(), threading.Event()
    real_solve = auto_assign.solver.solve

    def solve_and_wait(**kwargs):
        solution = real_solve(**kwargs)
        solved.set()
        assert manual_done.wait(30)
        return solution

    monkeypatch.setattr(auto_assign.solver, "solve", solve_and_wait)

    def by_hand():
        assert solved.wait(30)
        try:
            # The order the solver gave to `near` goes to `far` by hand, and `near` is filled up.
            workorder_transition(work_order_id=wanted.pk, action="assign", actor=dispatcher, technician_id=far.pk)
            workorder_transition(work_order_id=filler.pk, action="assign", actor=dispatcher, technician_id=near.pk)
        finally:
            manual_done.set()

    results = race([lambda: dispatch_auto_assign(work_order_ids=[wanted.pk, other.pk]), by_hand])
    outcome = results[0]
    assert {c["number"] for c in outcome.conflicts} == {wanted.number, other.number}
    assert outcome.assigned == []
    assert any(f"already assigned to {far}" in c["reason"] for c in outcome.conflicts)
    assert any("capacity 1" in c["reason"] for c in outcome.conflicts)
    assert_each_order_assigned_at_most_once()
    assert_nobody_double_booked_or_over_capacity(capacity=1)


def test_auto_assign_racing_a_dispatcher_never_assigns_twice_or_overbooks(settings):
    settings.DISPATCH_CAPACITY = 2
    dispatcher = UserFactory(roles=[R.DISPATCHER])
    techs = [TechnicianFactory(home_latitude=31.2 + i / 100, home_longitude=121.4) for i in range(3)]
    orders = []
    for i in range(10):
        start = at(MONDAY, 11 + (i % 4))
        orders.append(
            WorkOrderFactory(
                site=SiteFactory(latitude=31.2 + i / 200, longitude=121.4),
                preferred_start=start if i % 2 else None,
                preferred_end=start + dt.timedelta(hours=2) if i % 2 else None,
                priority=1 + i % 4,
            )
        )

    def by_hand():
        done = 0
        for wo in reversed(orders):
            for tech in techs:
                try:
                    workorder_transition(
                        work_order_id=wo.pk, action="assign", actor=dispatcher, technician_id=tech.pk,
                        appointment_start=wo.preferred_start, appointment_end=wo.preferred_end,
                    )
                    done += 1
                    break
                except ApplicationError:
                    continue
        return done

    results = race([dispatch_auto_assign, by_hand])
    outcome, manual = results
    assert not isinstance(outcome, Exception) and not isinstance(manual, Exception)
    assigned = WorkOrder.objects.filter(status=Status.ASSIGNED).count()
    assert assigned == len(outcome.assigned) + manual
    assert assigned == 6  # three technicians × capacity two: every slot is used once
    assert_each_order_assigned_at_most_once()
    assert_nobody_double_booked_or_over_capacity(capacity=2)
