"""Automatic assignment writes all its assignments at once (workorders/services/assign.py).

Given a queue and technicians, when the automatic assignment runs, then each
order it gives away has what a dispatcher's assignment would have written
(status, technician, window, SLA clock, lifecycle event, the technician's
message), plus the score and its parts, in a fixed number of queries; and an
order or a technician somebody else is busy with at that moment is never given
twice or overbooked (PostgreSQL, two connections).
"""

import dataclasses
import datetime as dt
import threading
import time

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from core import roles as R
from core.errors import Forbidden, InvalidInput
from dispatch import services as dispatch_services
from dispatch.auto_assign import dispatch_auto_assign
from tests.concurrency import race
from tests.factories import SiteFactory, TechnicianFactory, UserFactory, WorkOrderFactory
from workorders.lifecycle import TRANSITIONS, Status
from notifications.models import Notification
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.services import workorder_transition
from workorders.services import Assignment, workorders_assign_many

from .factories import at, booked
from tests.dispatch.invariants import assert_nobody_double_booked_or_over_capacity

MONDAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def monday_ten_am():
    with time_machine.travel(at(MONDAY, 10), tick=False):
        yield


def near(lat=31.23, lng=121.47, **kwargs):
    return WorkOrderFactory(site=SiteFactory(latitude=lat, longitude=lng), **kwargs)


# --- what each assignment writes ---------------------------------------------------------


@pytest.mark.django_db
def test_each_automatic_assignment_writes_its_event_with_the_score_and_a_message_to_the_technician():
    dispatcher = UserFactory(roles=[R.DISPATCHER])
    tech = TechnicianFactory(home_latitude=31.23, home_longitude=121.47)
    plain = near()
    windowed = near(preferred_start=at(MONDAY, 14), preferred_end=at(MONDAY, 16))

    result = dispatch_auto_assign(actor=dispatcher)

    assert {a["number"] for a in result.assigned} == {plain.number, windowed.number} and result.conflicts == []
    for wo in (plain, windowed):
        wo.refresh_from_db()
        assert (wo.status, wo.technician, wo.assigned_at) == (Status.ASSIGNED, tech, at(MONDAY, 10))
        [event] = wo.events.filter(action="assign")
        assert (event.from_status, event.to_status, event.actor, event.actor_role) == (
            Status.NEW, Status.ASSIGNED, None, R.SYSTEM
        )
        assert event.data["auto_assign"] is True and event.data["requested_by"] == dispatcher.pk
        assert event.data["technician"] == tech.pk and event.data["technician_name"] == str(tech)
        parts = event.data["parts"]
        assert parts["distance_km"] < 1 and set(parts["costs"]) == {"travel", "load", "skill", "window"}
        assert event.data["score"] == pytest.approx(sum(parts["costs"].values()), abs=0.01)
        [message] = Notification.objects.filter(subject_id=wo.pk)
        assert (message.template, message.channel, message.recipient) == ("technician_assigned", "sms", tech.phone)
        assert message.payload["number"] == wo.number
    assert windowed.appointment_start == at(MONDAY, 14) and windowed.appointment_end == at(MONDAY, 16)
    appointment = windowed.events.get(action="assign").data["appointment"]
    assert [dt.datetime.fromisoformat(x) for x in appointment] == [at(MONDAY, 14), at(MONDAY, 16)]
    # The second one given to the technician counts the first in its load.
    loads = sorted(e.data["parts"]["load_jobs"] for e in WorkOrderEvent.objects.filter(action="assign"))
    assert loads == [0, 1]


@pytest.mark.django_db
def test_a_bulk_assignment_writes_what_a_dispatchers_assignment_writes():
    """The same order assigned by hand and by the bulk path ends up the same (SLA clock included)."""
    tech = TechnicianFactory()
    by_hand, in_bulk = near(), near()
    assert by_hand.sla_started_at is None  # an order whose SLA clock has not started: assign starts it

    workorder_transition(work_order_id=by_hand.pk, action="assign", actor_role=R.SYSTEM, technician_id=tech.pk)
    outcome = workorders_assign_many(
        assignments=[Assignment(work_order_id=in_bulk.pk, technician_id=tech.pk)], actor_role=R.SYSTEM
    )

    assert [w["number"] for w in outcome.written] == [in_bulk.number] and outcome.refused == []
    by_hand.refresh_from_db()
    in_bulk.refresh_from_db()
    # Each factory-made order has its own customer, site and service type; the rest must agree.
    skip = {"id", "site", "customer", "service_type", "public_token", "contact_name", "contact_phone", "address"}
    for f in WorkOrder._meta.concrete_fields:
        if f.name not in skip:
            assert getattr(in_bulk, f.attname) == getattr(by_hand, f.attname), f.name
    assert in_bulk.sla_started_at is not None and in_bulk.first_response_due is not None
    hand_event, bulk_event = by_hand.events.get(action="assign"), in_bulk.events.get(action="assign")
    for name in ("from_status", "to_status", "actor_id", "actor_role", "note", "created_at"):
        assert getattr(bulk_event, name) == getattr(hand_event, name), name
    assert {k: v for k, v in bulk_event.data.items() if k not in ("score", "parts")} == hand_event.data
    hand_message, bulk_message = (Notification.objects.get(subject_id=by_hand.pk),
                                   Notification.objects.get(subject_id=in_bulk.pk))
    for name in ("channel", "recipient", "template", "language", "status", "next_attempt_at"):
        assert getattr(bulk_message, name) == getattr(hand_message, name), name
    assert set(bulk_message.payload) == set(hand_message.payload)


@pytest.mark.django_db
def test_the_write_takes_the_same_number_of_queries_for_five_orders_and_for_fifty(settings):
    settings.DISPATCH_CAPACITY = 100

    def run(n):
        TechnicianFactory(home_latitude=31.23, home_longitude=121.47)
        # Two with appointment windows (back to back), the others without.
        windows = [(at(MONDAY, 11), at(MONDAY, 12)), (at(MONDAY, 12), at(MONDAY, 13))] + [(None, None)] * (n - 2)
        orders = [near(priority=1 + i % 4, preferred_start=s, preferred_end=e) for i, (s, e) in enumerate(windows)]
        with CaptureQueriesContext(connection) as ctx:
            result = dispatch_auto_assign(work_order_ids=[o.pk for o in orders])
        assert len(result.assigned) == n
        return len(ctx.captured_queries)

    run(2)  # the first run reads the reference data each process keeps (SLA policies, calendars)
    assert run(5) == run(50)
    assert WorkOrderEvent.objects.filter(action="assign").count() == 57
    assert Notification.objects.filter(template="technician_assigned").count() == 57


# --- what is refused, and bad input -------------------------------------------------------


@pytest.mark.django_db
def test_an_order_no_longer_waiting_is_refused_with_the_lifecycle_reason_and_the_others_are_written():
    tech, other_tech = TechnicianFactory(), TechnicianFactory()
    cancelled = near(status=Status.CANCELLED)
    taken = near()
    workorder_transition(work_order_id=taken.pk, action="assign", actor_role=R.SYSTEM, technician_id=other_tech.pk)
    waiting = near()

    outcome = workorders_assign_many(
        assignments=[Assignment(pk, tech.pk) for pk in (cancelled.pk, taken.pk, waiting.pk)], actor_role=R.SYSTEM
    )

    assert [w["number"] for w in outcome.written] == [waiting.number]
    reasons = {r["number"]: r["reason"] for r in outcome.refused}
    assert reasons == {
        cancelled.number: f"Cannot assign {cancelled.number}: it is cancelled.",
        taken.number: f"{taken.number} is already assigned to {other_tech}.",
    }
    taken.refresh_from_db()
    assert taken.technician == other_tech and taken.events.filter(action="assign").count() == 1
    assert not WorkOrderEvent.objects.filter(work_order=cancelled, action="assign").exists()


@pytest.mark.django_db
def test_a_technician_who_may_not_take_an_order_is_refused_with_every_reason(settings):
    settings.DISPATCH_CAPACITY = 1
    tech = TechnicianFactory()
    booked(tech, at(MONDAY, 11), at(MONDAY, 13))
    wo = near(preferred_start=at(MONDAY, 12), preferred_end=at(MONDAY, 14))

    outcome = workorders_assign_many(
        assignments=[Assignment(wo.pk, tech.pk, at(MONDAY, 12), at(MONDAY, 14))], actor_role=R.SYSTEM
    )

    [refused] = outcome.refused
    assert f"{tech} is already booked 11:00–13:00 on" in refused["reason"]
    assert "already has 1 open jobs (capacity 1)" in refused["reason"]
    wo.refresh_from_db()
    assert wo.status == Status.NEW and not Notification.objects.filter(subject_id=wo.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "assignments, message",
    [
        (lambda wo, t: [Assignment(wo.pk, t.pk), Assignment(wo.pk, t.pk)], "is given more than once"),
        (lambda wo, t: [Assignment(wo.pk, t.pk, at(MONDAY, 14), at(MONDAY, 13))], "must be after its start"),
        (lambda wo, t: [Assignment(wo.pk, t.pk, at(MONDAY, 14), None)], "Give both the start and the end"),
        (lambda wo, t: [Assignment(wo.pk, 0)], "Choose a technician"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(assignments, message):
    tech = TechnicianFactory()
    wo = near()
    with pytest.raises(InvalidInput) as caught:
        workorders_assign_many(assignments=assignments(wo, tech), actor_role=R.SYSTEM)
    assert message in caught.value.message
    wo.refresh_from_db()
    assert wo.status == Status.NEW and not wo.events.filter(action="assign").exists()


@pytest.mark.django_db
def test_who_may_assign_comes_from_the_transition_table(monkeypatch):
    tech = TechnicianFactory()
    wo = near()
    agent = UserFactory(roles=[R.AGENT])
    with pytest.raises(Forbidden):  # agents may not assign (lifecycle.TRANSITIONS)
        workorders_assign_many(assignments=[Assignment(wo.pk, tech.pk)], actor=agent)
    # Take the system's right to assign away in the table, and automatic assignment loses it too.
    monkeypatch.setitem(
        TRANSITIONS, "assign", dataclasses.replace(TRANSITIONS["assign"], roles=frozenset({R.DISPATCHER}))
    )
    with pytest.raises(Forbidden):
        dispatch_auto_assign()
    wo.refresh_from_db()
    assert wo.status == Status.NEW and not wo.events.filter(action="assign").exists()


# --- two connections (PostgreSQL) --------------------------------------------------------


def _someone_waits_for_a_lock(timeout=20) -> bool:
    """Whether another session of this database is (or within ``timeout`` s starts) waiting for a row lock.

    Asked on a connection of its own: a session's view of pg_stat_activity stays
    the same for the whole of its transaction.
    """
    watcher = connections.create_connection("default")
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with watcher.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    return True
            time.sleep(0.02)
        return False
    finally:
        watcher.close()


class PausedAssignment:
    """A dispatcher's assignment that stops, rows locked and rules checked, until told to go on."""

    def __init__(self, monkeypatch):
        self.holding, self.go = threading.Event(), threading.Event()
        real = dispatch_services.technician_check_assignable

        def check_then_wait(**kwargs):
            real(**kwargs)
            self.holding.set()
            assert self.go.wait(30)

        # Only the one-order path calls this; the bulk path checks with technicians_check_assignable_many.
        monkeypatch.setattr(dispatch_services, "technician_check_assignable", check_then_wait)


@pytest.mark.django_db(transaction=True)
def test_an_order_a_dispatcher_is_assigning_at_that_moment_is_skipped_reported_and_assigned_once(monkeypatch):
    dispatcher = UserFactory(roles=[R.DISPATCHER])
    TechnicianFactory(home_latitude=31.23, home_longitude=121.47)
    far = TechnicianFactory(home_latitude=31.60, home_longitude=121.90)
    contested, other = near(priority=4), near(31.24, 121.48)
    paused = PausedAssignment(monkeypatch)
    auto_done = threading.Event()

    def by_hand():
        try:
            return workorder_transition(
                work_order_id=contested.pk, action="assign", actor=dispatcher, technician_id=far.pk
            )
        finally:
            paused.go.set()

    def automatic():
        assert paused.holding.wait(30)  # the dispatcher holds the order's row
        try:
            return dispatch_auto_assign()
        finally:
            auto_done.set()

    def release_when_done():
        # The run never waits for the dispatcher: it skips the row they hold (else this takes 30 s and fails).
        assert paused.holding.wait(30)
        finished = auto_done.wait(30)
        paused.go.set()
        return finished

    outcome, manual, finished_first = race([automatic, by_hand, release_when_done])

    assert finished_first is True
    assert not isinstance(outcome, Exception) and not isinstance(manual, Exception), (outcome, manual)
    [conflict] = outcome.conflicts
    assert conflict["number"] == contested.number
    assert conflict["reason"] == (
        f"{contested.number} is being changed by someone else at this moment; it stays in the queue."
    )
    assert [a["number"] for a in outcome.assigned] == [other.number]
    contested.refresh_from_db()
    assert contested.technician == far
    assert WorkOrderEvent.objects.filter(work_order=contested, action="assign").count() == 1
    assert Notification.objects.filter(subject_id=contested.pk).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("clash", ["capacity", "window"])
def test_a_technician_booked_by_hand_during_the_run_is_not_overbooked(monkeypatch, settings, clash):
    """The dispatcher holds the technician's row; the run waits for it and then sees the new booking."""
    settings.DISPATCH_CAPACITY = 2
    dispatcher = UserFactory(roles=[R.DISPATCHER])
    tech = TechnicianFactory(home_latitude=31.23, home_longitude=121.47)
    if clash == "capacity":
        booked(tech, None, None)
        manual_window = auto_window = (None, None)
    else:
        manual_window, auto_window = (at(MONDAY, 11), at(MONDAY, 13)), (at(MONDAY, 12), at(MONDAY, 14))
    for_auto = near(preferred_start=auto_window[0], preferred_end=auto_window[1])
    for_hand = near()
    paused = PausedAssignment(monkeypatch)

    def by_hand():
        try:
            return workorder_transition(
                work_order_id=for_hand.pk, action="assign", actor=dispatcher, technician_id=tech.pk,
                appointment_start=manual_window[0], appointment_end=manual_window[1],
            )
        finally:
            paused.go.set()

    def automatic():
        assert paused.holding.wait(30)
        return dispatch_auto_assign(work_order_ids=[for_auto.pk])

    def release_when_blocked():
        assert paused.holding.wait(30)
        blocked = _someone_waits_for_a_lock()
        paused.go.set()
        return blocked

    outcome, manual, blocked = race([automatic, by_hand, release_when_blocked])

    assert blocked is True  # the run did wait for the technician's row
    assert not isinstance(outcome, Exception) and not isinstance(manual, Exception), (outcome, manual)
    assert outcome.assigned == []
    [conflict] = outcome.conflicts
    assert conflict["number"] == for_auto.number
    if clash == "capacity":
        assert f"{tech} already has 2 open jobs (capacity 2)." == conflict["reason"]
    else:
        assert f"{tech} is already booked 11:00–13:00 on {for_hand.number}." == conflict["reason"]
    for_auto.refresh_from_db()
    assert for_auto.status == Status.NEW and for_auto.technician is None
    assert not WorkOrderEvent.objects.filter(work_order=for_auto, action="assign").exists()
    assert_nobody_double_booked_or_over_capacity(capacity=2)


@pytest.mark.django_db
def test_the_database_refuses_an_overlap_even_if_the_check_missed_it_and_the_rest_are_written(monkeypatch):
    tech = TechnicianFactory()
    booked(tech, at(MONDAY, 10), at(MONDAY, 12))
    overlapping, fine = near(), near()

    def sees_no_bookings(*, pairs, now=None):
        return {wo.pk: {"score": 0.0, "parts": {}} for wo, _t, _w in pairs}, {}

    monkeypatch.setattr(dispatch_services, "technicians_check_assignable_many", sees_no_bookings)
    outcome = workorders_assign_many(
        assignments=[
            Assignment(overlapping.pk, tech.pk, at(MONDAY, 11), at(MONDAY, 13)),
            Assignment(fine.pk, tech.pk, at(MONDAY, 13), at(MONDAY, 15)),
        ],
        actor_role=R.SYSTEM,
    )

    assert [w["number"] for w in outcome.written] == [fine.number]
    [refused] = outcome.refused
    assert refused["number"] == overlapping.number
    assert refused["reason"] == f"{tech} is already booked at an overlapping time."
    overlapping.refresh_from_db()
    assert overlapping.status == Status.NEW and not overlapping.events.filter(action="assign").exists()
    assert not Notification.objects.filter(subject_id=overlapping.pk).exists()
    assert fine.events.filter(action="assign").count() == 1
