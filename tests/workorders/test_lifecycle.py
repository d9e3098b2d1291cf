"""The lifecycle, driven from the one transition table.

For every transition, every role and every state: the transition succeeds
exactly when the table allows it, and otherwise changes nothing.
"""

import pytest

from core import roles as R
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.factories import PartnerTechnicianFactory, TechnicianFactory, UserFactory, WorkOrderFactory
from workorders.lifecycle import PREVIOUS, TRANSITIONS, Status
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.services import workorder_transition

ALL_ROLES = [R.AGENT, R.DISPATCHER, R.TECHNICIAN, R.PARTNER_TECHNICIAN, R.MANAGER, R.SYSTEM, R.CUSTOMER]


def _actor_for(role, technician, partner_technician):
    """The user who acts in ``role`` (None for the system and the customer)."""
    if role in (R.SYSTEM, R.CUSTOMER):
        return None
    if role == R.TECHNICIAN:
        return technician.user
    if role == R.PARTNER_TECHNICIAN:
        return partner_technician.user
    return UserFactory(username=f"{role}-actor", roles=[role])


@pytest.mark.django_db
@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("action", sorted(TRANSITIONS))
def test_transition_allowed_exactly_as_the_table_says(action, role):
    transition = TRANSITIONS[action]
    technician = TechnicianFactory()
    partner_technician = PartnerTechnicianFactory()
    new_technician = TechnicianFactory()
    actor = _actor_for(role, technician, partner_technician)
    for status in Status:
        # The order is assigned to whoever acts in a field role, so that only
        # the table (not visibility) decides.
        assignee = partner_technician if role == R.PARTNER_TECHNICIAN else technician
        # A service type with a manager's review, so that complete stops at resolved
        # (without one, the service moves straight on to follow_up: test_survey.py).
        wo = WorkOrderFactory(status=status, technician=assignee, hold_return_status=Status.IN_PROGRESS
                              if status == Status.ON_HOLD else "", service_type__requires_review=True)
        allowed = role in transition.roles and status in transition.sources_for(role)
        kwargs = dict(work_order_id=wo.pk, action=action, actor=actor, note="because", technician_id=new_technician.pk)
        if actor is None:
            kwargs["actor_role"] = role
        if allowed:
            result = workorder_transition(**kwargs)
            expected = Status.IN_PROGRESS if transition.target == PREVIOUS else transition.target
            assert result.status == expected, (action, role, status)
            event = wo.events.order_by("-id").first()
            assert (event.action, event.from_status, event.to_status) == (action, status, expected)
            assert event.actor_role == role
        else:
            expected_error = Conflict if role in transition.roles else Forbidden
            with pytest.raises(expected_error):
                workorder_transition(**kwargs)
            wo.refresh_from_db()
            assert wo.status == status, (action, role, status)
            assert wo.events.count() == 1, "a refused transition writes no event"


@pytest.mark.django_db
def test_happy_path_leaves_a_complete_audit_trail(dispatcher, technician, manager):
    wo = WorkOrderFactory(service_type__requires_review=True)
    steps = [
        (dispatcher, "assign", {"technician_id": technician.pk}),
        (technician.user, "accept", {}),
        (technician.user, "depart", {"latitude": 31.2304, "longitude": 121.4737}),
        (technician.user, "arrive", {"latitude": 31.2401, "longitude": 121.4901}),
        (technician.user, "hold", {"note": "waiting for parts"}),
        (technician.user, "resume", {}),
        (technician.user, "complete", {"note": "replaced the drain pump"}),
        (manager, "follow_up", {}),
        (manager, "close", {"note": "customer happy"}),
    ]
    for actor, action, extra in steps:
        wo = workorder_transition(work_order_id=wo.pk, action=action, actor=actor, **extra)
    assert wo.status == Status.CLOSED
    events = list(wo.events.order_by("id"))
    assert [(e.from_status, e.to_status) for e in events] == [
        ("", "new"), ("new", "assigned"), ("assigned", "accepted"), ("accepted", "en_route"),
        ("en_route", "in_progress"), ("in_progress", "on_hold"), ("on_hold", "in_progress"),
        ("in_progress", "resolved"), ("resolved", "follow_up"), ("follow_up", "closed"),
    ]
    hold = events[5]
    assert hold.note == "waiting for parts" and hold.actor == technician.user
    arrive = events[4]
    assert float(arrive.latitude) == pytest.approx(31.2401)
    technician.refresh_from_db()
    assert float(technician.last_latitude) == pytest.approx(31.2401)
    assert wo.resolved_at and wo.closed_at and wo.accepted_at and wo.arrived_at


@pytest.mark.django_db
@pytest.mark.parametrize("action,status", [("reject", Status.ASSIGNED), ("hold", Status.IN_PROGRESS),
                                           ("cancel", Status.NEW), ("reopen", Status.CLOSED)])
def test_reason_is_required_and_nothing_changes_without_it(action, status, manager, technician):
    wo = WorkOrderFactory(status=status, technician=technician)
    actor = technician.user if action in ("reject", "hold") else manager
    with pytest.raises(InvalidInput) as err:
        workorder_transition(work_order_id=wo.pk, action=action, actor=actor, note="   ")
    assert "note" in err.value.fields
    wo.refresh_from_db()
    assert wo.status == status and wo.events.count() == 1


@pytest.mark.django_db
def test_reject_returns_the_order_to_the_queue_without_technician(technician):
    wo = WorkOrderFactory(status=Status.ASSIGNED, technician=technician)
    wo = workorder_transition(work_order_id=wo.pk, action="reject", actor=technician.user, note="too far")
    assert wo.status == Status.NEW and wo.technician is None


@pytest.mark.django_db
def test_resume_returns_to_the_state_the_hold_left(technician):
    wo = WorkOrderFactory(status=Status.EN_ROUTE, technician=technician)
    workorder_transition(work_order_id=wo.pk, action="hold", actor=technician.user, note="customer absent")
    wo = workorder_transition(work_order_id=wo.pk, action="resume", actor=technician.user)
    assert wo.status == Status.EN_ROUTE


@pytest.mark.django_db
def test_technician_cannot_touch_another_technicians_order(technician, other_technician):
    wo = WorkOrderFactory(status=Status.ASSIGNED, technician=other_technician)
    with pytest.raises(NotFound):
        workorder_transition(work_order_id=wo.pk, action="accept", actor=technician.user)
    wo.refresh_from_db()
    assert wo.status == Status.ASSIGNED


@pytest.mark.django_db
def test_assign_to_inactive_technician_is_refused(dispatcher):
    idle = TechnicianFactory(active=False)
    wo = WorkOrderFactory()
    with pytest.raises(InvalidInput) as err:
        workorder_transition(work_order_id=wo.pk, action="assign", actor=dispatcher, technician_id=idle.pk)
    assert "not active" in err.value.message
    wo.refresh_from_db()
    assert wo.status == Status.NEW and wo.technician is None


@pytest.mark.django_db
def test_assigning_an_assigned_order_names_the_current_technician(dispatcher, technician, other_technician):
    wo = WorkOrderFactory()
    workorder_transition(work_order_id=wo.pk, action="assign", actor=dispatcher, technician_id=technician.pk)
    with pytest.raises(Conflict) as err:
        workorder_transition(work_order_id=wo.pk, action="assign", actor=dispatcher, technician_id=other_technician.pk)
    assert str(technician) in err.value.message
    wo.refresh_from_db()
    assert wo.technician == technician


@pytest.mark.django_db
def test_appointment_window_must_end_after_it_starts(dispatcher, technician):
    from django.utils import timezone

    wo = WorkOrderFactory()
    start = timezone.now()
    with pytest.raises(InvalidInput) as err:
        workorder_transition(work_order_id=wo.pk, action="assign", actor=dispatcher, technician_id=technician.pk,
                             appointment_start=start, appointment_end=start)
    assert "appointment_end" in err.value.fields
    assert WorkOrder.objects.get(pk=wo.pk).status == Status.NEW


@pytest.mark.django_db
def test_unknown_action_and_bad_position_are_refused(technician):
    wo = WorkOrderFactory(status=Status.ACCEPTED, technician=technician)
    with pytest.raises(InvalidInput):
        workorder_transition(work_order_id=wo.pk, action="teleport", actor=technician.user)
    with pytest.raises(InvalidInput) as err:
        workorder_transition(work_order_id=wo.pk, action="depart", actor=technician.user, latitude=91, longitude=0)
    assert "position" in err.value.fields
    assert WorkOrderEvent.objects.filter(work_order=wo).count() == 1
