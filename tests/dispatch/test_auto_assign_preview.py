"""Automatic assignment proposes, the dispatcher decides: a preview that changes nothing, with the
reason for each proposal and for each order left out; accept all or some; undo for a few minutes
while the technician has not accepted."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from core import roles as R
from tests.factories import ServiceTypeFactory, SkillFactory, TechnicianFactory, WorkOrderFactory
from workorders.lifecycle import Status
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.services import workorder_transition

from .factories import ServiceTypeSkillFactory, ShiftFactory, at, skilled

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 11, 23)
PREVIEW = reverse("dispatch:auto-assign")


@pytest.fixture(autouse=True)
def monday_ten_am():
    with time_machine.travel(at(MONDAY, 10), tick=False) as traveller:
        yield traveller


def preview(client) -> str:
    response = client.get(PREVIEW, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def picks(html: str) -> dict[int, str]:
    """The proposals' checkbox values by work order, as the page posts them."""
    return {int(v.split(",")[0]): v for v in re.findall(r'name="pick" id="pick-\d+" checked\s+value="([^"]+)"', html)}


def left_out(html: str) -> dict[int, str]:
    section = html.split('id="left-out-h"')[1]
    return {int(pk): code for pk, code in re.findall(r'data-work-order="(\d+)" data-reason="(\w+)"', section)}


def accept(client, values) -> str:
    response = client.post(PREVIEW, {"pick": values}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response


@pytest.fixture
def queue():
    """Two orders anyone may take, one needing a skill nobody has, one in a window nobody works."""
    tech = TechnicianFactory(home_latitude=31.2, home_longitude=121.5, user__first_name="Able")
    ShiftFactory(technician=tech, weekday=0, start=dt.time(8), end=dt.time(18))
    easy = [WorkOrderFactory(priority=p) for p in (4, 2)]
    gas = SkillFactory(code="gas", name="Gas")
    needs_gas = WorkOrderFactory(service_type=ServiceTypeSkillFactory(
        service_type=ServiceTypeFactory(code="gas-fit", name="Gas fitting"), skill=gas, min_level=2).service_type)
    at_night = WorkOrderFactory(preferred_start=at(MONDAY, 21), preferred_end=at(MONDAY, 22))
    return {"tech": tech, "easy": easy, "gas": needs_gas, "night": at_night}


def test_the_preview_proposes_and_explains_and_changes_nothing(client, dispatcher, queue):
    client.force_login(dispatcher)

    html = preview(client)

    # Then both easy orders are proposed to the one technician, the most urgent first, with why
    proposed = picks(html)
    assert list(proposed) == [wo.pk for wo in queue["easy"]]
    assert all(v.split(",")[1] == str(queue["tech"].pk) for v in proposed.values())
    assert "2 assignments proposed." in html and "Nothing has changed yet." in html
    assert "0/6 open" in html and "1/6 open" in html
    # ... and the others are left out with the rule that stops them
    assert left_out(html) == {queue["gas"].pk: "no_skill", queue["night"].pk: "outside_hours"}
    assert "No technician has the skills Gas fitting needs." in html
    assert "Everyone with the skills is off shift at 11-23 21:00–22:00." in html
    # ... and nothing was written
    assert not WorkOrderEvent.objects.filter(action="assign").exists()
    assert set(WorkOrder.objects.values_list("status", flat=True)) == {Status.NEW}


def test_an_order_left_out_because_everyone_is_full_says_so(client, dispatcher, settings):
    settings.DISPATCH_CAPACITY = 1
    tech = TechnicianFactory()
    WorkOrderFactory(status=Status.ASSIGNED, technician=tech)
    waiting = WorkOrderFactory()
    client.force_login(dispatcher)

    html = preview(client)

    assert left_out(html) == {waiting.pk: "at_capacity"}
    assert "Everyone with the skills is at capacity (1 open jobs)." in html


def test_accepting_some_writes_only_those_and_records_who_asked(client, dispatcher, queue):
    client.force_login(dispatcher)
    proposed = picks(preview(client))
    keep, drop = queue["easy"]

    # When the dispatcher unticks one and accepts
    response = accept(client, [proposed[keep.pk]])

    # Then only the ticked one is assigned, by the dispatcher who accepted it, with its score
    keep.refresh_from_db()
    drop.refresh_from_db()
    assert (keep.status, keep.technician_id) == (Status.ASSIGNED, queue["tech"].pk)
    assert (drop.status, drop.technician_id) == (Status.NEW, None)
    event = keep.events.get(action="assign")
    assert event.actor == dispatcher and event.actor_role == R.DISPATCHER
    assert event.data["requested_by"] == dispatcher.pk and event.data["auto_assign"] is True
    assert "score" in event.data and event.data["batch"]
    # ... and the result page lists it with an undo
    html = response.content.decode()
    assert "1 work order assigned." in html and keep.number in html and drop.number not in html
    assert f'name="work_order" value="{keep.pk}"' in html


def test_accepting_nothing_changes_nothing(client, dispatcher, queue):
    client.force_login(dispatcher)
    preview(client)

    response = accept(client, [])

    assert "Nothing was selected; nothing has changed." in response.content.decode()
    assert not WorkOrderEvent.objects.filter(action="assign").exists()


def test_an_order_someone_assigned_meanwhile_is_skipped_and_listed(client, dispatcher, queue):
    client.force_login(dispatcher)
    proposed = picks(preview(client))
    taken, free = queue["easy"]
    other = TechnicianFactory(user__first_name="Other")
    workorder_transition(work_order_id=taken.pk, action="assign", actor=dispatcher, technician_id=other.pk)

    html = accept(client, list(proposed.values())).content.decode()

    taken.refresh_from_db()
    free.refresh_from_db()
    assert taken.technician == other and free.technician == queue["tech"]
    skipped = html.split('id="refused-h"')[1]
    assert taken.number in skipped


@pytest.mark.parametrize("value", ["1,2", "x,1,,", "1,2,1700000000,", "9" * 30 + ",1,,", "²,1,,",
                                   "1,2,99999999999,99999999999"])
def test_a_selection_that_cannot_be_read_is_refused_and_changes_nothing(client, dispatcher, queue, value):
    client.force_login(dispatcher)
    proposed = picks(preview(client))

    html = accept(client, [*proposed.values(), value]).content.decode()

    assert "The selection could not be read" in html
    assert not WorkOrderEvent.objects.filter(action="assign").exists()


def _accepted_run(client, dispatcher, queue):
    client.force_login(dispatcher)
    response = accept(client, list(picks(preview(client)).values()))
    return response.redirect_chain[-1][0]


def test_undo_within_the_time_sends_orders_back_to_the_queue_with_the_reason(client, dispatcher, queue):
    run = _accepted_run(client, dispatcher, queue)
    first, second = queue["easy"]

    html = client.post(run + "undo/", {"work_order": [first.pk]}, follow=True,
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.technician_id) == (Status.NEW, None)
    assert second.status == Status.ASSIGNED
    undo = first.events.get(action="unassign")
    assert undo.note == "Undo of an automatic assignment." and undo.actor == dispatcher
    assert "1 work order is back in the queue." in html and "Back in the queue" in html


def test_undo_after_the_technician_accepted_is_refused_with_the_reason(client, dispatcher, queue):
    run = _accepted_run(client, dispatcher, queue)
    first, _second = queue["easy"]
    workorder_transition(work_order_id=first.pk, action="accept", actor=queue["tech"].user)

    html = client.post(run + "undo/", {"work_order": [first.pk]}, follow=True,
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()

    first.refresh_from_db()
    assert first.status == Status.ACCEPTED and first.technician == queue["tech"]
    assert f"{first.number}: Able" in html and "has already accepted it" in html


def test_undo_after_the_time_has_passed_is_refused(client, dispatcher, queue, monday_ten_am, settings):
    settings.DISPATCH_UNDO_MINUTES = 10
    run = _accepted_run(client, dispatcher, queue)
    first, _second = queue["easy"]
    monday_ten_am.shift(dt.timedelta(minutes=11))

    page = client.get(run, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    html = client.post(run + "undo/", {"work_order": [first.pk]}, follow=True,
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "The time to undo has passed" in page and 'name="work_order"' not in page
    first.refresh_from_db()
    assert first.status == Status.ASSIGNED
    assert "can be undone for 10 minutes; that time has passed" in html


def test_undo_touches_only_the_runs_own_orders(client, dispatcher, queue):
    run = _accepted_run(client, dispatcher, queue)
    by_hand = WorkOrderFactory()
    workorder_transition(work_order_id=by_hand.pk, action="assign", actor=dispatcher,
                         technician_id=queue["tech"].pk)

    client.post(run + "undo/", {"work_order": [by_hand.pk]})

    by_hand.refresh_from_db()
    assert by_hand.status == Status.ASSIGNED


def test_another_dispatchers_run_is_not_found(client, dispatcher, manager, queue):
    run = _accepted_run(client, dispatcher, queue)
    client.force_login(manager)

    assert client.get(run).status_code == 404
    assert client.post(run + "undo/", {"work_order": [queue["easy"][0].pk]}).status_code == 404
    assert WorkOrder.objects.get(pk=queue["easy"][0].pk).status == Status.ASSIGNED


@pytest.mark.parametrize("who", ["agent", "technician"])
def test_agents_and_technicians_may_not_preview_or_accept(client, request, who, queue):
    person = request.getfixturevalue(who)
    client.force_login(getattr(person, "user", person))
    assert client.get(PREVIEW).status_code == 403
    assert client.post(PREVIEW, {"pick": [f"{queue['easy'][0].pk},{queue['tech'].pk},,"]}).status_code == 403
    assert not WorkOrderEvent.objects.filter(action="assign").exists()


def test_a_window_that_passed_since_the_preview_is_skipped_and_said(client, dispatcher, monday_ten_am):
    tech = TechnicianFactory()
    ShiftFactory(technician=tech, weekday=0, start=dt.time(8), end=dt.time(18))
    wo = WorkOrderFactory(preferred_start=at(MONDAY, 10, 30), preferred_end=at(MONDAY, 11, 30))
    client.force_login(dispatcher)
    proposed = picks(preview(client))
    monday_ten_am.shift(dt.timedelta(hours=2))

    html = accept(client, list(proposed.values())).content.decode()

    wo.refresh_from_db()
    assert wo.status == Status.NEW
    assert "The window proposed has passed since the preview." in html.split('id="refused-h"')[1]


def test_the_run_page_shows_each_window_once(client, dispatcher):
    tech = TechnicianFactory()
    ShiftFactory(technician=tech, weekday=0, start=dt.time(8), end=dt.time(18))
    WorkOrderFactory(preferred_start=at(MONDAY, 14), preferred_end=at(MONDAY, 16))
    client.force_login(dispatcher)

    html = accept(client, list(picks(preview(client)).values())).content.decode()

    assert "<td>11-23 14:00–16:00</td>" in html


def test_an_undo_naming_something_unreadable_changes_nothing(client, dispatcher, queue):
    run = _accepted_run(client, dispatcher, queue)

    response = client.post(run + "undo/", {"work_order": ["²", "x"]}, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200 and "Nothing was selected" in response.content.decode()
    assert set(WorkOrder.objects.filter(pk__in=[o.pk for o in queue["easy"]]).values_list("status", flat=True)) == {
        Status.ASSIGNED}
