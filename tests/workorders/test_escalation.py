"""Escalations: each level once per order and target, in order, never skipped."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import (
    EscalationLevelFactory,
    EscalationMatrixFactory,
    SlaPolicyFactory,
    TechnicianFactory,
    UserFactory,
    workorder_via_service,
)
from notifications.models import Notification
from sla.models import SlaPolicy
from workorders.models import Escalation, WorkOrder, WorkOrderEvent
from workorders.services import workorder_transition
from workorders.sla import escalation_acknowledge, escalation_sweep, target_states

T0 = datetime(2025, 9, 16, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def minutes(n):
    return T0 + timedelta(minutes=n)


@pytest.fixture
def matrix(db):
    UserFactory(username="disp", email="disp@example.com", roles=["dispatcher"])
    UserFactory(username="boss", email="boss@example.com", roles=["manager"])
    matrix = EscalationMatrixFactory()
    EscalationLevelFactory(matrix=matrix, percent=75, name="Warn the dispatcher", notify_roles="dispatcher")
    EscalationLevelFactory(matrix=matrix, percent=100, name="Tell the manager", notify_roles="manager",
                           raise_priority=True)
    EscalationLevelFactory(matrix=matrix, percent=150, name="Tell the director", notify_roles="",
                           extra_recipients="director@example.com\n+8613900000001")
    return matrix


@pytest.fixture
def policy(matrix):
    """24x7: first response in 60 minutes, arrival in 120, resolution in 480."""
    SlaPolicy.objects.all().delete()
    return SlaPolicyFactory(is_default=True, escalation_matrix=matrix, first_response_minutes=60,
                            arrival_minutes=120, resolution_minutes=480)


def new_order():
    with time_machine.travel(T0, tick=False):
        return workorder_via_service()


def fired(wo):
    return list(Escalation.objects.filter(work_order=wo).order_by("id").values_list("target", "percent"))


def test_each_level_fires_once_when_its_share_of_the_target_has_passed(policy):
    wo = new_order()
    assert wo.next_escalation_at == minutes(45)  # 75% of the first response's 60 minutes

    assert escalation_sweep(now=minutes(44)) == 0
    assert escalation_sweep(now=minutes(45)) == 1
    assert fired(wo) == [("first_response", 75)]
    # Sweeping again at the same moment, or later before the next level: nothing new.
    assert escalation_sweep(now=minutes(45)) == 0
    assert escalation_sweep(now=minutes(59)) == 0
    assert fired(wo) == [("first_response", 75)]

    warn = Notification.objects.get(subject_id=wo.pk, template="escalation")
    assert (warn.channel, warn.recipient, warn.status) == ("email", "disp@example.com", "pending")
    event = WorkOrderEvent.objects.get(work_order=wo, action="escalate")
    assert event.note == "Warn the dispatcher" and event.data["target"] == "first_response"

    assert escalation_sweep(now=minutes(60)) == 1
    wo.refresh_from_db()
    assert wo.priority == WorkOrder.Priority.HIGH  # raised by the 100% level
    assert Notification.objects.filter(subject_id=wo.pk, recipient="boss@example.com").count() == 1


def test_a_late_sweep_raises_each_passed_level_once_per_order_and_says_it_is_late(policy, caplog):
    wo = new_order()
    # The workers were down for two hours: 75%, 100% and 150% of the first response
    # and 75% and 100% of arrival have all passed.
    assert escalation_sweep(now=minutes(125)) == 3
    # Each (target, level) is on record, so none fires again later ...
    assert sorted(fired(wo)) == [("arrival", 75), ("arrival", 100), ("first_response", 75),
                                 ("first_response", 100), ("first_response", 150)]
    assert escalation_sweep(now=minutes(125)) == 0
    # ... but each level is raised once, in order, by the earliest target, speaking for the others
    events = list(WorkOrderEvent.objects.filter(work_order=wo, action="escalate").order_by("id"))
    assert [(e.data["percent"], e.data["targets"]) for e in events] == [
        (75, ["first_response", "arrival"]), (100, ["first_response", "arrival"]), (150, ["first_response"]),
    ]
    # ... saying how late it is
    assert [e.data["late_seconds"] // 60 for e in events] == [80, 65, 35]
    assert "raised 3 escalation(s) late, by up to 80 minutes" in caplog.text
    # ... with one message per level, and only the raised ones on the open list
    assert Notification.objects.filter(subject_id=wo.pk, template="escalation").values("payload__percent").distinct().count() == 3
    assert Notification.objects.filter(subject_id=wo.pk, recipient="boss@example.com").count() == 1
    assert Escalation.objects.filter(work_order=wo, acknowledged_at__isnull=True).count() == 3
    wo.refresh_from_db()
    assert wo.priority == WorkOrder.Priority.URGENT  # the 100% level raised it for each of its two targets
    assert wo.next_escalation_at == minutes(180)  # arrival's 150%
    director = Notification.objects.filter(subject_id=wo.pk, payload__percent=150)
    assert sorted(director.values_list("channel", "recipient")) == [
        ("email", "director@example.com"), ("sms", "+8613900000001"),
    ]


def test_a_sweep_on_time_raises_each_target_at_its_own_time(policy):
    wo = new_order()
    for moment in (45, 60, 90, 120):
        escalation_sweep(now=minutes(moment))
    events = WorkOrderEvent.objects.filter(work_order=wo, action="escalate").order_by("id")
    # At 90 minutes arrival's 75% and first response's 150% are different levels: both are raised.
    assert [(e.data["target"], e.data["percent"]) for e in events] == [
        ("first_response", 75), ("first_response", 100), ("arrival", 75), ("first_response", 150), ("arrival", 100),
    ]
    assert all("late_seconds" not in e.data for e in events)
    wo.refresh_from_db()
    assert wo.priority == WorkOrder.Priority.URGENT  # each target's 100% raised it


def test_a_met_target_stops_escalating_while_the_others_go_on(policy):
    tech = TechnicianFactory()
    wo = new_order()
    with time_machine.travel(minutes(10), tick=False):
        workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system", technician_id=tech.pk)
        wo = workorder_transition(work_order_id=wo.pk, action="accept", actor=tech.user)
    assert wo.next_escalation_at == minutes(90)  # arrival's 75%, first response is done
    assert escalation_sweep(now=minutes(100)) == 1
    assert fired(wo) == [("arrival", 75)]


def test_nothing_escalates_while_on_hold_and_the_clock_picks_up_after_resume(policy):
    tech = TechnicianFactory()
    wo = new_order()
    with time_machine.travel(minutes(5), tick=False) as clock:
        workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system", technician_id=tech.pk)
        workorder_transition(work_order_id=wo.pk, action="accept", actor=tech.user)
        wo = workorder_transition(work_order_id=wo.pk, action="hold", actor=tech.user, note="Customer not home")
        assert wo.next_escalation_at is None
        assert escalation_sweep(now=minutes(600)) == 0
        clock.move_to(minutes(65))  # an hour on hold
        wo = workorder_transition(work_order_id=wo.pk, action="resume", actor=tech.user)
    assert wo.next_escalation_at == minutes(90 + 60)
    assert fired(wo) == []


def test_resolved_cancelled_and_closed_orders_leave_the_sweep(policy):
    wo = new_order()
    workorder_transition(work_order_id=wo.pk, action="cancel", actor=UserFactory(roles=["dispatcher"]),
                         note="Duplicate")
    wo.refresh_from_db()
    assert wo.next_escalation_at is None
    assert escalation_sweep(now=minutes(1000)) == 0
    assert {s.state for s in target_states(wo, now=minutes(1000))} == {"stopped"}


def test_a_repeat_of_a_fired_level_is_a_no_op(policy):
    wo = new_order()
    escalation_sweep(now=minutes(50))
    # Someone (a stale worker, a restored backup) puts the order back in the sweep.
    WorkOrder.objects.filter(pk=wo.pk).update(next_escalation_at=minutes(0))
    assert escalation_sweep(now=minutes(50)) == 0
    assert fired(wo) == [("first_response", 75)]
    assert WorkOrderEvent.objects.filter(work_order=wo, action="escalate").count() == 1
    wo.refresh_from_db()
    assert wo.next_escalation_at == minutes(60)  # and it is back on its real schedule


def test_a_reopened_order_starts_a_new_clock_with_its_own_escalations(policy, manager):
    tech = TechnicianFactory()
    wo = new_order()
    escalation_sweep(now=minutes(50))
    with time_machine.travel(minutes(60), tick=False) as clock:
        for action in ("assign", "accept", "depart", "arrive", "complete"):
            workorder_transition(work_order_id=wo.pk, action=action, actor=tech.user if action != "assign" else None,
                                 actor_role="system" if action == "assign" else None, technician_id=tech.pk)
        clock.move_to(minutes(120))
        wo = workorder_transition(work_order_id=wo.pk, action="reopen", actor=manager, note="Still drips")
    assert wo.sla_cycle == 2 and wo.sla_started_at == minutes(120)
    assert wo.next_escalation_at == minutes(120 + 45)
    assert escalation_sweep(now=minutes(120 + 45)) == 1
    assert Escalation.objects.filter(work_order=wo, target="first_response", percent=75).count() == 2


def test_acknowledging_takes_an_escalation_off_the_open_list(policy, manager, technician):
    wo = new_order()
    escalation_sweep(now=minutes(50))
    esc = Escalation.objects.get(work_order=wo)
    from core.errors import Conflict, Forbidden

    with pytest.raises(Forbidden):
        escalation_acknowledge(escalation_id=esc.pk, actor=technician.user)
    escalation_acknowledge(escalation_id=esc.pk, actor=manager)
    esc.refresh_from_db()
    assert esc.acknowledged_by == manager
    with pytest.raises(Conflict):
        escalation_acknowledge(escalation_id=esc.pk, actor=manager)


def test_managers_see_open_escalations_with_the_sla_state_and_acknowledge_them(policy, client, manager, technician):
    wo = new_order()
    escalation_sweep(now=minutes(50))
    esc = Escalation.objects.get(work_order=wo)

    client.force_login(technician.user)
    assert client.get("/staff/escalations/").status_code == 403

    client.force_login(manager)
    with time_machine.travel(minutes(50), tick=False):
        page = client.get("/staff/escalations/")
    html = page.content.decode()
    assert page.status_code == 200
    assert wo.number in html and "Warn the dispatcher" in html
    assert "sla-at_risk" in html and "10 min left" in html  # 50 of 60 minutes used

    client.post(f"/staff/escalations/{esc.pk}/acknowledge/", follow=True)
    assert wo.number not in client.get("/staff/escalations/").content.decode()
    # The event history keeps it.
    assert WorkOrderEvent.objects.filter(work_order=wo, action="escalate").exists()


def test_an_order_whose_policy_this_process_has_not_seen_yet_still_escalates(policy, matrix):
    """A policy saved in another process a moment ago: this one's copy of the policies
    (core/refcache.py) does not know it yet, and the sweep must not drop the order."""
    wo = new_order()
    escalation_sweep(now=minutes(1))  # this process now holds the policies it knows
    [newer] = SlaPolicy.objects.bulk_create([  # bulk_create: no signal, as from another process
        SlaPolicy(name="Newer", calendar=policy.calendar, escalation_matrix=matrix, first_response_minutes=20,
                  arrival_minutes=None, resolution_minutes=None)
    ])
    WorkOrder.objects.filter(pk=wo.pk).update(sla_policy=newer, next_escalation_at=minutes(15))

    escalation_sweep(now=minutes(16))  # 75% of 20 minutes: 15
    assert fired(wo) == [("first_response", 75)]
    wo.refresh_from_db()
    assert wo.next_escalation_at == minutes(20)  # and the 100% level is next
