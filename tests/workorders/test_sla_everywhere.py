"""Each SLA target's state shows wherever work orders appear: the staff queue and detail
page, the dispatch board's queue, the technician's jobs, the API; escalations show in
the work order's history."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import EscalationLevelFactory, SlaPolicyFactory, workorder_via_service
from sla.models import SlaPolicy
from workorders.services import workorder_transition
from workorders.sla import escalation_sweep

T0 = datetime(2025, 9, 16, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def minutes(n):
    return T0 + timedelta(minutes=n)


@pytest.fixture
def policy(db):
    """24x7: first response in 60 minutes, arrival in 120, resolution in 480; a 75% warning
    and a 100% level that raises the priority."""
    SlaPolicy.objects.all().delete()
    level = EscalationLevelFactory(percent=75, name="Warn the dispatcher", notify_roles="dispatcher")
    EscalationLevelFactory(matrix=level.matrix, percent=100, name="Tell the manager", notify_roles="manager",
                           raise_priority=True)
    return SlaPolicyFactory(is_default=True, escalation_matrix=level.matrix, first_response_minutes=60,
                            arrival_minutes=120, resolution_minutes=480)


@pytest.fixture
def order(policy):
    with time_machine.travel(T0, tick=False):
        return workorder_via_service()


def test_the_staff_queue_shows_each_target_with_time_left_or_over(order, client, dispatcher):
    client.force_login(dispatcher)
    with time_machine.travel(minutes(50), tick=False):
        html = client.get("/staff/work-orders/").content.decode()
    assert order.number in html
    # 50 of 60 minutes used: at risk, 10 minutes left; the other targets are on track.
    assert '<span class="badge sla-at_risk" title="First response">First response: At risk · 10 min left' in html
    assert "Arrival: On track · 1 h 10 min left" in html

    with time_machine.travel(minutes(75), tick=False):
        html = client.get("/staff/work-orders/").content.decode()
    assert "First response: Breached · 15 min over" in html


def test_the_detail_page_shows_the_targets_and_the_escalations_in_the_history(order, client, dispatcher):
    escalation_sweep(now=minutes(61))  # 75% and 100% of the first response have passed
    client.force_login(dispatcher)
    with time_machine.travel(minutes(61), tick=False):
        html = client.get(f"/staff/work-orders/{order.pk}/").content.decode()
    assert "First response: Breached · 1 min over" in html
    assert html.count("SLA escalation") == 2
    assert "Warn the dispatcher" in html and "Tell the manager" in html
    assert "First response at 75%" in html and "First response at 100%" in html
    assert "priority raised to High" in html


def test_the_api_gives_each_target_its_state_due_time_and_seconds_left(order, dispatcher):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=dispatcher).key}")
    with time_machine.travel(minutes(50), tick=False):
        listed = client.get("/api/v1/work-orders/").json()["results"]
        detail = client.get(f"/api/v1/work-orders/{order.pk}/").json()
    [row] = [r for r in listed if r["id"] == order.pk]
    assert row["sla"] == detail["sla"]
    first, arrival, resolution = detail["sla"]
    assert (first["target"], first["state"], first["seconds"]) == ("first_response", "at_risk", 600)
    assert first["due"] == "2025-09-16T11:00:00+08:00" and first["met_at"] is None
    assert (arrival["state"], resolution["state"]) == ("on_track", "on_track")


def test_a_met_target_shows_as_met_in_the_api_and_on_the_technicians_pages(order, technician, client):
    with time_machine.travel(minutes(20), tick=False):
        workorder_transition(work_order_id=order.pk, action="assign", actor_role="system",
                             technician_id=technician.pk)
        workorder_transition(work_order_id=order.pk, action="accept", actor=technician.user)
    client.force_login(technician.user)
    with time_machine.travel(minutes(130), tick=False):
        jobs = client.get("/tech/").content.decode()
        page = client.get(f"/tech/jobs/{order.pk}/").content.decode()
    for html in (jobs, page):
        assert "First response: Met" in html
        assert "Arrival: Breached · 10 min over" in html


def test_the_dispatch_boards_queue_shows_the_targets(order, client, dispatcher):
    client.force_login(dispatcher)
    with time_machine.travel(minutes(50), tick=False):
        body = client.get("/dispatch/board.json", HTTP_ACCEPT_LANGUAGE="en").json()["board"]
    [row] = [r for r in body["queue"]["rows"] if r["id"] == order.pk]
    assert row["sla"][0] == {"state": "at_risk", "text": "First response: At risk · 10 min left"}


def test_an_order_without_an_sla_shows_no_targets(db, client, dispatcher):
    SlaPolicy.objects.all().delete()
    SlaPolicyFactory(is_default=True, no_sla=True, calendar=None)
    wo = workorder_via_service()
    client.force_login(dispatcher)
    html = client.get("/staff/work-orders/").content.decode()
    assert wo.number in html and "sla-on_track" not in html
    assert "First response:" not in client.get(f"/staff/work-orders/{wo.pk}/").content.decode()
