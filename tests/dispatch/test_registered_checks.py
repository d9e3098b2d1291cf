"""Dispatch's rules reach the lifecycle by registration (dispatch/apps.py), and their absence is loud.

``workorders`` does not import ``dispatch``: assign and re-assign run whatever check is
registered for them. Without one, assigning would skip the skill, shift and capacity
rules, so it refuses instead, before anything is locked or written.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import roles as R
from core.errors import InvalidInput
from dispatch import services as dispatch_services
from tests.factories import TechnicianFactory, UserFactory, WorkOrderFactory
from workorders import lifecycle
from workorders.checks import technician_checks_registered
from workorders.lifecycle import TRANSITIONS, Status
from workorders.models import WorkOrderEvent
from workorders.services import workorder_transition
from workorders.services import Assignment, workorders_assign_many

from .factories import ServiceTypeSkillFactory


@pytest.fixture
def nothing_registered(monkeypatch):
    monkeypatch.setattr(lifecycle, "_TECHNICIAN_CHECKS", {})


def test_dispatch_registers_its_checks_at_start_up():
    needing = sorted(t.action for t in TRANSITIONS.values() if t.needs_technician)
    assert needing == ["assign", "reassign"]
    for action in needing:
        assert callable(lifecycle.technician_check(action))
    assert callable(lifecycle.technician_check("assign", many=True))
    assert technician_checks_registered() == []


@pytest.mark.django_db
def test_the_registered_check_is_dispatchs_and_refuses_with_its_reasons(monkeypatch):
    seen = []
    real = dispatch_services.technician_check_assignable

    def recording(**kwargs):
        seen.append(kwargs["technician"].pk)
        return real(**kwargs)

    monkeypatch.setattr(dispatch_services, "technician_check_assignable", recording)
    wo, tech = WorkOrderFactory(), TechnicianFactory()
    ServiceTypeSkillFactory(service_type=wo.service_type)

    with pytest.raises(InvalidInput) as caught:
        workorder_transition(work_order_id=wo.pk, action="assign", actor_role=R.SYSTEM, technician_id=tech.pk)

    assert seen == [tech.pk]
    assert "lacks the skill" in caught.value.message
    wo.refresh_from_db()
    assert wo.status == Status.NEW and wo.technician is None


@pytest.mark.django_db
def test_assigning_with_no_registered_check_fails_loudly_and_changes_nothing(nothing_registered):
    dispatcher = UserFactory(roles=[R.DISPATCHER])
    wo, tech = WorkOrderFactory(), TechnicianFactory()

    with pytest.raises(ImproperlyConfigured, match="No technician check is registered for 'assign'"):
        workorder_transition(work_order_id=wo.pk, action="assign", actor=dispatcher, technician_id=tech.pk)

    wo.refresh_from_db()
    assert wo.status == Status.NEW and wo.technician is None
    assert not WorkOrderEvent.objects.filter(work_order=wo, action="assign").exists()


@pytest.mark.django_db
def test_reassigning_with_no_registered_check_fails_loudly_and_changes_nothing(monkeypatch):
    dispatcher = UserFactory(roles=[R.DISPATCHER])
    wo, first, second = WorkOrderFactory(), TechnicianFactory(), TechnicianFactory()
    workorder_transition(work_order_id=wo.pk, action="assign", actor=dispatcher, technician_id=first.pk)
    monkeypatch.setattr(lifecycle, "_TECHNICIAN_CHECKS", {})

    with pytest.raises(ImproperlyConfigured, match="'reassign'"):
        workorder_transition(work_order_id=wo.pk, action="reassign", actor=dispatcher, technician_id=second.pk)

    wo.refresh_from_db()
    assert wo.status == Status.ASSIGNED and wo.technician == first
    assert not WorkOrderEvent.objects.filter(work_order=wo, action="reassign").exists()


@pytest.mark.django_db
def test_assigning_many_with_no_registered_check_fails_loudly_and_changes_nothing(nothing_registered):
    wo, tech = WorkOrderFactory(), TechnicianFactory()

    with pytest.raises(ImproperlyConfigured, match="set-based technician check is registered for 'assign'"):
        workorders_assign_many(assignments=[Assignment(wo.pk, tech.pk)], actor_role=R.SYSTEM)

    wo.refresh_from_db()
    assert wo.status == Status.NEW and wo.technician is None
    assert not WorkOrderEvent.objects.filter(work_order=wo, action="assign").exists()


def test_the_system_check_names_each_transition_left_without_its_check(nothing_registered):
    errors = technician_checks_registered()
    assert [e.id for e in errors] == ["workorders.E002", "workorders.E002"]
    assert "'assign'" in errors[0].msg and "'reassign'" in errors[1].msg


def test_only_a_transition_that_needs_a_technician_takes_a_check():
    with pytest.raises(ImproperlyConfigured):
        lifecycle.register_check("accept", one=lambda **kwargs: None)
    with pytest.raises(ImproperlyConfigured):
        lifecycle.register_check("no_such_action", one=lambda **kwargs: None)
