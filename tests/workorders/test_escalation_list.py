"""The managers' escalation list: one row per work order with its highest level, filters by level,
team and age, bulk acknowledge, call-backs first, and a word when escalations were raised late."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import (
    EscalationLevelFactory,
    EscalationMatrixFactory,
    PartnerTechnicianFactory,
    SlaPolicyFactory,
    TechnicianFactory,
    UserFactory,
    workorder_via_service,
)
from sla.models import SlaPolicy
from workorders.models import Escalation
from workorders.services import workorder_transition
from workorders.sla import escalation_sweep
from workorders.survey import survey_answer

T0 = datetime(2025, 9, 16, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LIST = "/staff/escalations/"
ACK = "/staff/escalations/acknowledge/"


def minutes(n):
    return T0 + timedelta(minutes=n)


@pytest.fixture
def policy(db, settings):
    settings.PUBLIC_BASE_URL = "https://service.example.com"
    matrix = EscalationMatrixFactory()
    for percent, name in ((75, "Warn the dispatcher"), (100, "Tell the manager"), (150, "Tell the director")):
        EscalationLevelFactory(matrix=matrix, percent=percent, name=name, notify_roles="")
    SlaPolicy.objects.all().delete()
    return SlaPolicyFactory(is_default=True, escalation_matrix=matrix, first_response_minutes=60,
                            arrival_minutes=120, resolution_minutes=480)


def order_at(minute=0, technician=None):
    with time_machine.travel(minutes(minute), tick=False):
        wo = workorder_via_service()
        if technician is not None:
            wo = workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system",
                                      technician_id=technician.pk)
    return wo


def page(client, **params):
    with time_machine.travel(minutes(125), tick=False):
        response = client.get(LIST, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def rows(html) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-work-order="(\d+)"', html)]


def upto(html) -> str:
    return re.search(r'name="upto" value="(\d+)"', html)[1]


def test_after_downtime_each_order_is_one_row_with_its_highest_level_and_the_lateness_said(policy, client, manager):
    # Given five orders the sweep reached only after two hours (the workers were down)
    orders = [order_at() for _ in range(5)]
    escalation_sweep(now=minutes(125))
    client.force_login(manager)

    html = page(client)

    # Then each order is one row, its highest level first and the lower ones named
    assert sorted(rows(html)) == sorted(wo.pk for wo in orders)
    assert html.count("150% · Tell the director") == 5
    assert "also: 100% First response, 75% First response" in html
    # ... and the page says those were raised late
    assert "15 of these escalations were raised late" in html
    assert html.count("raised late</span>") == 5


def test_filters_by_level_team_and_age(policy, client, manager):
    own, partner = TechnicianFactory(), PartnerTechnicianFactory()
    high = order_at(0, technician=own)       # 150% by 125 min
    low = order_at(60, technician=partner)   # 75% (first response) by 125 min
    waiting = order_at(0)                     # unassigned, 150%
    escalation_sweep(now=minutes(125))
    client.force_login(manager)

    assert sorted(rows(page(client, level=150))) == sorted([high.pk, waiting.pk])
    assert rows(page(client, team="own")) == [high.pk]
    assert rows(page(client, team=str(partner.partner_company_id))) == [low.pk]
    assert rows(page(client, team="unassigned")) == [waiting.pk]
    # The sweep ran at 125 minutes and the page is read then: nothing has waited over an hour yet ...
    assert rows(page(client, age="1h")) == []
    # ... and an hour and a half later all of them have
    with time_machine.travel(minutes(215), tick=False):
        later = client.get(LIST, {"age": "1h"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert sorted(rows(later)) == sorted([high.pk, low.pk, waiting.pk])
    # A filter that cannot be used says so
    assert "A filter could not be used" in page(client, level="abc")
    assert sorted(rows(page(client))) == sorted([high.pk, low.pk, waiting.pk])


def test_bulk_acknowledge_takes_the_ticked_orders_off_up_to_what_the_page_showed(policy, client, manager):
    first, second, third = (order_at() for _ in range(3))
    escalation_sweep(now=minutes(50))  # 75% of the first response on each
    client.force_login(manager)
    html = page(client)
    # An escalation raised after the page was drawn stays open even on a ticked order
    escalation_sweep(now=minutes(61))

    response = client.post(ACK, {"work_order": [first.pk, second.pk], "upto": upto(html)}, follow=True,
                           HTTP_ACCEPT_LANGUAGE="en")

    assert "2 escalations acknowledged." in response.content.decode()
    open_now = Escalation.objects.filter(acknowledged_at__isnull=True)
    assert sorted(open_now.values_list("work_order_id", "percent")) == sorted(
        [(first.pk, 100), (second.pk, 100), (third.pk, 75), (third.pk, 100)])
    assert set(Escalation.objects.filter(acknowledged_at__isnull=False).values_list("acknowledged_by", flat=True)) == {
        manager.pk}


def test_a_rows_own_button_acknowledges_that_order_only(policy, client, dispatcher):
    first, second = order_at(), order_at()
    escalation_sweep(now=minutes(125))
    client.force_login(dispatcher)
    html = page(client)

    client.post(ACK, {"only": first.pk, "work_order": [second.pk], "upto": upto(html)})

    assert set(Escalation.objects.filter(acknowledged_at__isnull=True).values_list("work_order_id", flat=True)) == {
        second.pk}


@pytest.mark.parametrize("data", [{"work_order": ["1"]}, {"work_order": [], "upto": "5"}, {"upto": "x"},
                                  {"work_order": ["²"], "upto": "²"}],
                         ids=["no upto", "nothing ticked", "bad upto", "unicode digits"])
def test_a_broken_acknowledge_changes_nothing_and_says_why(policy, client, manager, data):
    order_at()
    escalation_sweep(now=minutes(50))
    client.force_login(manager)

    html = client.post(ACK, data, follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'class="msg-error"' in html
    assert not Escalation.objects.filter(acknowledged_at__isnull=False).exists()


def test_technicians_and_agents_cannot_acknowledge(policy, client, technician, agent):
    wo = order_at()
    escalation_sweep(now=minutes(50))
    for user in (technician.user, agent):
        client.force_login(user)
        html = client.post(ACK, {"work_order": [wo.pk], "upto": "999999"}, follow=True,
                           HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Only dispatchers and managers handle escalations." in html
    assert not Escalation.objects.filter(acknowledged_at__isnull=False).exists()


def test_call_backs_come_first_in_their_own_list(policy, client, manager):
    tech = TechnicianFactory()
    wo = order_at(0, technician=tech)
    for action in ("accept", "depart", "arrive", "complete"):
        wo = workorder_transition(work_order_id=wo.pk, action=action, actor=tech.user)
    survey_answer(token=wo.surveys.get().token, satisfaction=1, solved=False, recommend=0, comment="Still leaking.")
    order_at()
    escalation_sweep(now=minutes(50))
    client.force_login(manager)

    html = page(client)

    assert html.index('id="callbacks"') < html.index('id="open-escalations"')
    assert "Still leaking." in html
