"""Dragging on the board's Gantt: an order dropped from the queue onto a technician's row is
assigned with that window, a booking dragged to another time or technician is moved; every drop
goes through the same transition and checks as the buttons, and a refused one changes nothing."""

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from core import roles as R
from core.errors import Conflict
from dispatch.selectors import workorder_version
from dispatch.services import workorder_drop
from tests.concurrency import race
from tests.factories import ServiceTypeFactory, SkillFactory, TechnicianFactory, UserFactory, WorkOrderFactory
from workorders.lifecycle import Status
from workorders.models import WorkOrder, WorkOrderEvent

from .factories import ServiceTypeSkillFactory, ShiftFactory, at, booked, skilled

MONDAY = dt.date(2026, 11, 23)
TUESDAY = MONDAY + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def monday_ten_am():
    with time_machine.travel(at(MONDAY, 10), tick=False):
        yield


def drop_url(wo_or_pk) -> str:
    return f"/dispatch/work-orders/{getattr(wo_or_pk, 'pk', wo_or_pk)}/drop/"


def version(wo) -> str:
    row = WorkOrder.objects.get(pk=wo.pk)
    return workorder_version(row.updated_at, row.status, row.technician_id, row.appointment_start,
                             row.appointment_end)


def drop(client, wo, tech, start, end, *, seen=None, change=None):
    body = {"technician": getattr(tech, "pk", tech), "start": start.isoformat(), "end": end.isoformat(),
            "version": seen or version(wo)}
    body.update(change or {})
    return client.post(drop_url(wo), json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def snapshot(wo):
    row = WorkOrder.objects.get(pk=wo.pk)
    return (row.status, row.technician_id, row.appointment_start, row.appointment_end, row.updated_at,
            row.events.count())


@pytest.mark.django_db
class TestDrops:
    def test_an_order_dropped_from_the_queue_is_assigned_with_that_window(self, client, dispatcher):
        tech = TechnicianFactory(user__first_name="Wei", user__last_name="Li")
        wo = WorkOrderFactory()
        client.force_login(dispatcher)
        response = drop(client, wo, tech, at(TUESDAY, 9), at(TUESDAY, 11))
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["action"] == "assign" and body["technician"] == tech.pk
        assert body["detail"] == f"{wo.number} booked for Wei Li, 11-24 09:00–11:00."
        wo.refresh_from_db()
        assert (wo.status, wo.technician_id) == (Status.ASSIGNED, tech.pk)
        assert (wo.appointment_start, wo.appointment_end) == (at(TUESDAY, 9), at(TUESDAY, 11))
        event = wo.events.get(action="assign")
        assert event.actor == dispatcher and event.data["via"] == "board"
        assert body["version"] == version(wo)

    def test_a_booking_dragged_to_another_time_is_rescheduled_for_the_same_technician(self, client, dispatcher):
        tech = TechnicianFactory()
        wo = booked(tech, at(TUESDAY, 9), at(TUESDAY, 11), status=Status.ACCEPTED)
        client.force_login(dispatcher)
        response = drop(client, wo, tech, at(TUESDAY, 14), at(TUESDAY, 16))
        assert response.status_code == 200, response.content
        wo.refresh_from_db()
        assert wo.technician_id == tech.pk and (wo.appointment_start, wo.appointment_end) == (
            at(TUESDAY, 14), at(TUESDAY, 16))
        # A new time: the technician confirms again.
        assert wo.status == Status.ASSIGNED and wo.accepted_at is None
        assert wo.events.filter(action="reassign").count() == 1
        # Dropped back where it is: nothing changes, no event.
        before = snapshot(wo)
        response = drop(client, wo, tech, at(TUESDAY, 14), at(TUESDAY, 16))
        assert response.status_code == 200 and response.json()["action"] == "none"
        assert snapshot(wo) == before

    def test_a_booking_dragged_to_another_technician_is_reassigned(self, client, dispatcher):
        first, second = TechnicianFactory(), TechnicianFactory()
        wo = booked(first, at(TUESDAY, 9), at(TUESDAY, 11))
        client.force_login(dispatcher)
        response = drop(client, wo, second, at(TUESDAY, 9), at(TUESDAY, 11))
        assert response.status_code == 200 and response.json()["action"] == "reassign"
        wo.refresh_from_db()
        assert wo.technician_id == second.pk
        assert wo.events.get(action="reassign").data["previous_technician"] == first.pk

    def test_refused_without_the_skill(self, client, dispatcher):
        gas = SkillFactory(name="Gas")
        boiler = ServiceTypeFactory(name="Boiler")
        ServiceTypeSkillFactory(service_type=boiler, skill=gas, min_level=2)
        tech = TechnicianFactory(user__first_name="Novice")
        wo = WorkOrderFactory(service_type=boiler)
        before = snapshot(wo)
        client.force_login(dispatcher)
        response = drop(client, wo, tech, at(TUESDAY, 9), at(TUESDAY, 11))
        assert response.status_code == 400
        assert response.json()["error"] == "missing_skill" and "Novice lacks the skill Gas." in response.json()["detail"]
        assert snapshot(wo) == before
        skilled(tech, gas, 1)
        response = drop(client, wo, tech, at(TUESDAY, 9), at(TUESDAY, 11))
        assert response.status_code == 400 and "needs level 2" in response.json()["detail"]
        assert snapshot(wo) == before

    def test_refused_outside_the_shift(self, client, dispatcher):
        tech = TechnicianFactory(user__first_name="Early")
        ShiftFactory(technician=tech, weekday=TUESDAY.weekday(), start=dt.time(8), end=dt.time(12))
        wo = WorkOrderFactory()
        before = snapshot(wo)
        client.force_login(dispatcher)
        response = drop(client, wo, tech, at(TUESDAY, 13), at(TUESDAY, 15))
        assert response.status_code == 400
        assert response.json() == {
            "error": "off_shift", "detail": "Early is off shift at 11-24 13:00–15:00.",
            "fields": {"technician": ["Early is off shift at 11-24 13:00–15:00."]},
        }
        assert snapshot(wo) == before
        assert drop(client, wo, tech, at(TUESDAY, 9), at(TUESDAY, 11)).status_code == 200

    def test_refused_over_capacity(self, client, dispatcher, settings):
        settings.DISPATCH_CAPACITY = 2
        tech = TechnicianFactory(user__first_name="Busy")
        booked(tech, at(TUESDAY, 8), at(TUESDAY, 9))
        booked(tech, at(TUESDAY, 15), at(TUESDAY, 16))
        wo = WorkOrderFactory()
        before = snapshot(wo)
        client.force_login(dispatcher)
        response = drop(client, wo, tech, at(TUESDAY, 10), at(TUESDAY, 11))
        assert response.status_code == 409 and response.json()["error"] == "over_capacity"
        assert response.json()["detail"] == "Busy already has 2 open jobs (capacity 2)."
        assert snapshot(wo) == before

    def test_refused_double_booking(self, client, dispatcher):
        tech = TechnicianFactory(user__first_name="Taken")
        other = booked(tech, at(TUESDAY, 9), at(TUESDAY, 11))
        wo = WorkOrderFactory()
        before = snapshot(wo)
        client.force_login(dispatcher)
        response = drop(client, wo, tech, at(TUESDAY, 10), at(TUESDAY, 12))
        assert response.status_code == 409 and response.json()["error"] == "double_booked"
        assert response.json()["detail"] == f"Taken is already booked 09:00–11:00 on {other.number}."
        assert snapshot(wo) == before
        # Moving the other booking onto itself, half an hour later, is not a clash with itself.
        assert drop(client, other, tech, at(TUESDAY, 9, 30), at(TUESDAY, 11, 30)).status_code == 200

    def test_refused_when_the_board_was_stale(self, client, dispatcher):
        first, second = TechnicianFactory(), TechnicianFactory()
        wo = WorkOrderFactory()
        seen = version(wo)
        client.force_login(dispatcher)
        assert drop(client, wo, first, at(TUESDAY, 9), at(TUESDAY, 11), seen=seen).status_code == 200
        before = snapshot(wo)
        # A second board still showed the order in the queue.
        response = drop(client, wo, second, at(TUESDAY, 13), at(TUESDAY, 15), seen=seen)
        assert response.status_code == 409 and response.json()["error"] == "stale"
        assert "changed by someone else" in response.json()["detail"]
        assert snapshot(wo) == before

    def test_an_order_under_way_does_not_move(self, client, dispatcher):
        tech, other = TechnicianFactory(), TechnicianFactory()
        wo = booked(tech, at(MONDAY, 9), at(MONDAY, 11), status=Status.IN_PROGRESS)
        before = snapshot(wo)
        client.force_login(dispatcher)
        response = drop(client, wo, other, at(TUESDAY, 9), at(TUESDAY, 11))
        assert response.status_code == 409 and snapshot(wo) == before

    @pytest.mark.parametrize("change, field", [
        ({"technician": "x"}, "technician"),
        ({"technician": None}, "technician"),
        ({"start": "tomorrow"}, "start"),
        ({"end": ""}, "end"),
        ({"version": None}, "version"),
    ])
    def test_bad_input_is_400_and_changes_nothing(self, client, dispatcher, change, field):
        tech = TechnicianFactory()
        wo = WorkOrderFactory()
        before = snapshot(wo)
        client.force_login(dispatcher)
        response = drop(client, wo, tech, at(TUESDAY, 9), at(TUESDAY, 11), change=change)
        assert response.status_code == 400 and field in response.json()["fields"]
        assert snapshot(wo) == before

    def test_a_backwards_or_overlong_window_or_unreadable_body_is_400(self, client, dispatcher):
        tech = TechnicianFactory()
        wo = WorkOrderFactory()
        before = snapshot(wo)
        client.force_login(dispatcher)
        response = drop(client, wo, tech, at(TUESDAY, 11), at(TUESDAY, 9))
        assert response.status_code == 400 and response.json()["detail"] == (
            "The end of the time window must be after its start.")
        response = drop(client, wo, tech, at(TUESDAY, 6), at(TUESDAY, 23))
        assert response.status_code == 400 and "at most 12 hours" in response.json()["detail"]
        response = client.post(drop_url(wo), "{not json", content_type="application/json")
        assert response.status_code == 400 and response.json()["error"] == "invalid"
        response = client.post(drop_url(wo), "[1, 2]", content_type="application/json")
        assert response.status_code == 400
        assert drop(client, wo, 999999, at(TUESDAY, 9), at(TUESDAY, 11)).status_code == 400  # no such technician
        assert snapshot(wo) == before

    def test_no_such_order_is_404(self, client, dispatcher):
        tech = TechnicianFactory()
        client.force_login(dispatcher)
        body = {"technician": tech.pk, "start": at(TUESDAY, 9).isoformat(), "end": at(TUESDAY, 10).isoformat(),
                "version": "x"}
        response = client.post(drop_url(987654), json.dumps(body), content_type="application/json")
        assert response.status_code == 404 and response.json()["error"] == "not_found"

    def test_orders_outside_the_users_scope_are_404_in_the_service(self):
        # The service reads the order through the actor's visibility (workorders.selectors): someone
        # who may not see an order gets "no such work order", as for one that does not exist.
        outsider = UserFactory(roles=[R.TECHNICIAN])
        TechnicianFactory(user=outsider)
        tech = TechnicianFactory()
        wo = WorkOrderFactory()
        before = snapshot(wo)
        with pytest.raises(Exception) as caught:
            workorder_drop(work_order_id=wo.pk, technician_id=tech.pk, start=at(TUESDAY, 9), end=at(TUESDAY, 10),
                           seen_version=version(wo), actor=outsider)
        assert getattr(caught.value, "status_code", None) == 404
        assert snapshot(wo) == before

    @pytest.mark.parametrize("who", ["agent", "technician"])
    def test_only_dispatchers_and_managers_may_drop(self, client, request, who, manager):
        person = request.getfixturevalue(who)
        user = getattr(person, "user", person)
        tech = TechnicianFactory()
        wo = WorkOrderFactory()
        before = snapshot(wo)
        client.force_login(user)
        response = drop(client, wo, tech, at(TUESDAY, 9), at(TUESDAY, 11))
        assert response.status_code == 403 and response.json()["error"] == "forbidden"
        client.logout()
        assert drop(client, wo, tech, at(TUESDAY, 9), at(TUESDAY, 11)).status_code == 403
        assert snapshot(wo) == before
        client.force_login(manager)
        assert drop(client, wo, tech, at(TUESDAY, 9), at(TUESDAY, 11)).status_code == 200

    def test_the_drop_needs_the_pages_csrf_token(self, dispatcher):
        tech = TechnicianFactory()
        wo = WorkOrderFactory()
        before = snapshot(wo)
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(dispatcher)
        body = json.dumps({"technician": tech.pk, "start": at(TUESDAY, 9).isoformat(),
                           "end": at(TUESDAY, 10).isoformat(), "version": version(wo)})
        assert strict.post(drop_url(wo), body, content_type="application/json").status_code == 403
        assert snapshot(wo) == before
        strict.get("/dispatch/")
        token = strict.cookies["csrftoken"].value
        response = strict.post(drop_url(wo), body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 200

    def test_the_rest_api_drops_the_same_way(self, dispatcher, agent):
        from rest_framework.test import APIClient

        tech = TechnicianFactory(user__first_name="Api")
        booked(tech, at(TUESDAY, 9), at(TUESDAY, 11))
        wo = WorkOrderFactory()
        api = APIClient()
        url = f"/api/v1/dispatch/work-orders/{wo.pk}/drop/"
        body = {"technician": tech.pk, "start": at(TUESDAY, 10).isoformat(), "end": at(TUESDAY, 12).isoformat(),
                "version": version(wo)}
        api.force_authenticate(agent)
        assert api.post(url, body, format="json").status_code == 403
        api.force_authenticate(dispatcher)
        response = api.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 409 and response.json()["error"] == "double_booked"
        response = api.post(url, {**body, "start": at(TUESDAY, 12).isoformat(), "end": at(TUESDAY, 13).isoformat()},
                            format="json")
        assert response.status_code == 200 and response.json()["action"] == "assign"
        assert api.post(url, {"technician": tech.pk}, format="json").status_code == 400

    def test_the_board_sends_what_a_drop_needs(self, client, dispatcher):
        tech = TechnicianFactory()
        wo = WorkOrderFactory(service_type=ServiceTypeFactory(default_duration_minutes=90))
        job = booked(tech, at(MONDAY, 14), at(MONDAY, 15))
        client.force_login(dispatcher)
        data = client.get("/dispatch/board.json").json()["board"]
        [row] = data["queue"]["rows"]
        assert row["minutes"] == 90 and row["version"] == version(wo)
        [item] = [j for t in data["technicians"] for j in t["jobs"]]
        assert item["id"] == job.pk and item["movable"] and item["version"]
        assert data["links"]["drop"] == "/dispatch/work-orders/987654321/drop/"


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_drop_the_same_order_at_once_one_wins():
    first, second = UserFactory(roles=[R.DISPATCHER]), UserFactory(roles=[R.DISPATCHER])
    tech_a, tech_b = TechnicianFactory(), TechnicianFactory()
    wo = WorkOrderFactory()
    seen = version(wo)

    def dropper(actor, tech, hour):
        return lambda: workorder_drop(work_order_id=wo.pk, technician_id=tech.pk, start=at(TUESDAY, hour),
                                      end=at(TUESDAY, hour + 2), seen_version=seen, actor=actor)

    results = race([dropper(first, tech_a, 9), dropper(second, tech_b, 13)])
    errors = [r for r in results if isinstance(r, Exception)]
    [winner] = [r for r in results if not isinstance(r, Exception)]
    [error] = errors
    assert isinstance(error, Conflict) and error.code == "stale"
    wo.refresh_from_db()
    assert wo.technician_id == winner[0].technician_id
    assert WorkOrderEvent.objects.filter(work_order=wo, action__in=["assign", "reassign"]).count() == 1


def test_the_version_token_is_the_same_in_every_process_and_zone():
    """The board makes it in one worker, the drop checks it in another (and in a release later):
    a hash of the order's values only, kept per process but never different from one made afresh."""
    updated = dt.datetime(2026, 11, 23, 2, 3, 4, 567890, tzinfo=dt.timezone.utc)
    start = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)
    end = start + dt.timedelta(hours=2)
    token = workorder_version(updated, "assigned", 7, start, end)
    assert token == "32dc1c1827dc1f0b9c09"  # sha1 of the values, as every release has made it
    shanghai = timezone.get_fixed_timezone(8 * 60)
    workorder_version.cache_clear()
    assert workorder_version(updated.astimezone(shanghai), "assigned", 7, start.astimezone(shanghai),
                             end.astimezone(shanghai)) == token
    assert workorder_version(updated + dt.timedelta(microseconds=1), "assigned", 7, start, end) != token
    assert workorder_version(updated, "accepted", 7, start, end) != token
    assert workorder_version(updated, "assigned", 8, start, end) != token
    assert workorder_version(updated, "assigned", 7, start, end + dt.timedelta(minutes=30)) != token
