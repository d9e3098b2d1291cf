"""The dispatch board as a dispatcher uses it: queue, technicians, map, timeline, actions."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import roles as R
from catalog.models import Skill
from technicians.models import Shift, Technician, TechnicianSkill
from tests.factories import (
    ServiceTypeFactory,
    SiteFactory,
    SkillFactory,
    TechnicianFactory,
    WorkOrderFactory,
)
from workorders.lifecycle import Status
from workorders.models import WorkOrder, WorkOrderEvent

from .factories import ShiftFactory, at, booked, skilled

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 11, 23)
BOARD = "/dispatch/"
DATA = "/dispatch/board.json"


@pytest.fixture(autouse=True)
def monday_ten_am():
    with time_machine.travel(at(MONDAY, 10), tick=False):
        yield


def get(client, url, **params):
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")


def board(client, **params) -> dict:
    """What board.js draws: the board as data."""
    response = get(client, DATA, **params)
    assert response.status_code == 200
    body = response.json()
    assert body["changed"]
    return body["board"]


def queue_ids(data: dict) -> list[int]:
    return [row["id"] for row in data["queue"]["rows"]]


def technician(data: dict, tech) -> dict:
    [row] = [t for t in data["technicians"] if t["id"] == tech.pk]
    return row


# --- who may see it -------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(BOARD)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who", ["agent", "technician", "partner_technician"])
def test_agents_and_technicians_get_403_everywhere_and_change_nothing(client, request, who):
    person = request.getfixturevalue(who)
    user = person if isinstance(person, User) else person.user
    client.force_login(user)
    wo = WorkOrderFactory()
    tech = TechnicianFactory()
    assert client.get(BOARD).status_code == 403
    assert client.get(DATA).status_code == 403
    assert client.get(reverse("dispatch:candidates", args=[wo.pk])).status_code == 403
    assert client.post(reverse("dispatch:assign", args=[wo.pk]), {"action": "assign", "technician": tech.pk}).status_code == 403
    assert client.get(reverse("dispatch:auto-assign")).status_code == 403
    assert client.post(reverse("dispatch:auto-assign"), {"pick": [f"{wo.pk},{tech.pk},,"]}).status_code == 403
    wo.refresh_from_db()
    assert wo.status == Status.NEW and wo.technician is None


@pytest.mark.parametrize("who", ["dispatcher", "manager", "superuser"])
def test_dispatchers_managers_and_superusers_get_the_board(client, request, who):
    if who == "superuser":
        user = User.objects.create_superuser("root", "root@example.com", "pw")
    else:
        user = request.getfixturevalue(who)
    client.force_login(user)
    response = get(client, BOARD)
    assert response.status_code == 200
    assert b"Unassigned queue" in response.content
    assert get(client, DATA).status_code == 200


# --- the queue --------------------------------------------------------------


def test_the_queue_is_most_urgent_first_then_oldest(client, dispatcher):
    now = timezone.now()
    low_old = WorkOrderFactory(priority=1, created_at=now - dt.timedelta(days=3))
    urgent_new = WorkOrderFactory(priority=4, created_at=now - dt.timedelta(minutes=5))
    urgent_old = WorkOrderFactory(priority=4, created_at=now - dt.timedelta(hours=2))
    normal = WorkOrderFactory(priority=2, created_at=now - dt.timedelta(hours=1))
    WorkOrderFactory(status=Status.ASSIGNED, technician=TechnicianFactory())  # not waiting
    client.force_login(dispatcher)
    data = board(client)
    assert queue_ids(data) == [urgent_old.pk, urgent_new.pk, normal.pk, low_old.pk]
    assert data["queue"]["summary"] == "4 work orders waiting"
    first = data["queue"]["rows"][0]
    assert first["number"] == urgent_old.number and first["priority_label"] == "Urgent"
    assert first["waited"] == "2\xa0hours"


@pytest.mark.skipif(not hasattr(WorkOrder, "first_response_due"), reason="no SLA deadlines on work orders")
def test_within_a_priority_the_order_closest_to_its_sla_deadline_comes_first(client, dispatcher):
    now = timezone.now()
    older_relaxed = WorkOrderFactory(priority=3, created_at=now - dt.timedelta(hours=3),
                                     first_response_due=now + dt.timedelta(hours=8))
    newer_pressing = WorkOrderFactory(priority=3, created_at=now - dt.timedelta(minutes=10),
                                      first_response_due=now + dt.timedelta(minutes=20))
    no_deadline = WorkOrderFactory(priority=3, created_at=now - dt.timedelta(days=1))
    client.force_login(dispatcher)
    data = board(client)
    assert queue_ids(data) == [newer_pressing.pk, older_relaxed.pk, no_deadline.pk]
    assert data["queue"]["rows"][0]["due"] == "respond by 11-23 10:20"


def test_the_queue_filters_by_service_type_area_and_priority(client, dispatcher):
    aircon, boiler = ServiceTypeFactory(name="Aircon"), ServiceTypeFactory(name="Boiler")
    a = WorkOrderFactory(service_type=aircon, site=SiteFactory(city="Shanghai"), priority=4)
    b = WorkOrderFactory(service_type=boiler, site=SiteFactory(city="Shanghai"), priority=2)
    c = WorkOrderFactory(service_type=aircon, site=SiteFactory(city="Suzhou"), priority=2)
    client.force_login(dispatcher)
    assert set(queue_ids(board(client, service_type=aircon.pk))) == {a.pk, c.pk}
    assert set(queue_ids(board(client, area="Shanghai"))) == {a.pk, b.pk}
    assert queue_ids(board(client, priority=2, area="Suzhou")) == [c.pk]
    # The page's filters offer the service types and the cities in the queue, and pass them on.
    html = get(client, BOARD, area="Suzhou").content.decode()
    assert '<option value="Suzhou" selected>' in html and f'<option value="{boiler.pk}">Boiler</option>' in html
    assert 'data-query="area=Suzhou"' in html
    # Nonsense in the query string is ignored, not an error.
    assert get(client, BOARD, priority="x", service_type="y").status_code == 200
    assert len(queue_ids(board(client, priority="x", service_type="y"))) == 3


def test_a_city_new_to_the_queue_joins_the_area_filter_within_a_minute(client, dispatcher, monkeypatch):
    from dispatch import selectors

    WorkOrderFactory(site=SiteFactory(city="Shanghai"))
    client.force_login(dispatcher)
    assert '<option value="Shanghai">' in get(client, BOARD).content.decode()
    WorkOrderFactory(site=SiteFactory(city="Hangzhou"))
    # Each web process keeps the list for AREAS_SECONDS (reading it walks the whole queue) ...
    assert '<option value="Hangzhou">' not in get(client, BOARD).content.decode()
    # ... and reads it again once that has passed.
    monkeypatch.setattr(selectors._areas, "_loaded_at", selectors._areas._loaded_at - selectors.AREAS_SECONDS - 1)
    html = get(client, BOARD).content.decode()
    assert '<option value="Hangzhou">' in html and '<option value="Shanghai">' in html


# --- the technicians, the map, the timeline ----------------------------------


def test_the_technician_panel_shows_skills_state_load_and_position(client, dispatcher):
    gas = SkillFactory(code="gas", name="Gas")
    on_site = TechnicianFactory(user__first_name="Onsite")
    skilled(on_site, gas, 4)
    booked(on_site, at(MONDAY, 9), at(MONDAY, 11), status=Status.IN_PROGRESS)
    booked(on_site, at(MONDAY, 14), at(MONDAY, 15, 30))
    en_route = TechnicianFactory(user__first_name="Driving", last_latitude=31.2, last_longitude=121.4,
                                 last_seen_at=timezone.now() - dt.timedelta(minutes=3))
    booked(en_route, None, None, status=Status.EN_ROUTE)
    off = TechnicianFactory(user__first_name="Evening")
    ShiftFactory(technician=off, weekday=0, start=dt.time(14), end=dt.time(22))
    free = TechnicianFactory(user__first_name="Free")
    client.force_login(dispatcher)
    data = board(client)

    row = technician(data, on_site)
    assert row["state"] == "on_site" and row["state_label"] == "On site" and row["skills"] == "Gas L4"
    assert row["load"] == "2 jobs today, 3.5 h booked · 2/6 open"
    bars = [job["when"] for job in row["jobs"] if "bar" in job]
    assert bars == ["11-23 09:00–11:00", "11-23 14:00–15:30"]  # bars on the day's timeline
    assert technician(data, en_route)["state"] == "en_route"
    assert "seen 3\xa0minutes ago" in technician(data, en_route)["where"]
    evening = technician(data, off)
    assert evening["state"] == "off_shift" and not evening["all_day"] and len(evening["bands"]) == 1
    row = technician(data, free)
    assert row["state"] == "available" and row["where"].startswith("home base") and row["all_day"]


def test_a_technicians_row_follows_every_change_between_polls(client, dispatcher):
    """Rows are kept between polls (dispatch.views._technician_rows): whatever changes in what a
    row shows (a job's time, status or service name, a skill, the minutes since the technician was
    seen, the language) shows on the next poll."""
    tech = TechnicianFactory(user__first_name="Kept", last_latitude=31.2, last_longitude=121.4,
                             last_seen_at=timezone.now() - dt.timedelta(minutes=3))
    job = booked(tech, at(MONDAY, 9), at(MONDAY, 11))
    client.force_login(dispatcher)
    first = technician(board(client), tech)
    assert technician(board(client), tech) == first  # nothing changed: the same row
    assert [j["when"] for j in first["jobs"]] == ["11-23 09:00–11:00"] and "seen 3\xa0minutes ago" in first["where"]

    WorkOrder.objects.filter(pk=job.pk).update(appointment_start=at(MONDAY, 13), appointment_end=at(MONDAY, 15))
    assert [j["when"] for j in technician(board(client), tech)["jobs"]] == ["11-23 13:00–15:00"]
    WorkOrder.objects.filter(pk=job.pk).update(status=Status.ACCEPTED)
    [row_job] = technician(board(client), tech)["jobs"]
    assert row_job["status"] == "accepted" and row_job["status_label"] == "Accepted"
    job.service_type.name_en = "Boiler check"
    job.service_type.save()
    assert technician(board(client), tech)["jobs"][0]["service"] == "Boiler check"
    skilled(tech, SkillFactory(name="Gas"), 2)
    assert technician(board(client), tech)["skills"] == "Gas L2"
    with time_machine.travel(at(MONDAY, 10, 2), tick=False):
        assert "seen 5\xa0minutes ago" in technician(board(client), tech)["where"]
    chinese = client.get(DATA, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["board"]
    assert technician(chinese, tech)["jobs"][0]["status_label"] == "已接单"


def test_the_map_gets_markers_and_a_blank_background_without_a_tile_server(client, dispatcher, settings):
    settings.DISPATCH_TILE_URL = ""
    WorkOrderFactory(site=SiteFactory(latitude=31.25, longitude=121.5))
    WorkOrderFactory(site=SiteFactory(latitude=None, longitude=None))  # no coordinates: not on the map
    TechnicianFactory(home_latitude=31.1, home_longitude=121.3)
    client.force_login(dispatcher)
    data = board(client)
    assert [row["pos"] for row in data["queue"]["rows"] if row["pos"]] == [[31.25, 121.5]]
    assert [t["pos"] for t in data["technicians"]] == [[31.1, 121.3]]
    html = get(client, BOARD).content.decode()
    assert 'id="dispatch-tiles" type="application/json" data-url=""' in html
    # Leaflet itself is served from this site, never from a CDN.
    assert finders.find("leaflet/leaflet.js") and finders.find("leaflet/leaflet.css")
    assert "/static/leaflet/leaflet.js" in html and "//unpkg" not in html and "cdn" not in html.lower()
    settings.DISPATCH_TILE_URL = "https://tiles.example.test/{z}/{x}/{y}.png"
    assert 'data-url="https://tiles.example.test/{z}/{x}/{y}.png"' in get(client, BOARD).content.decode()


def test_the_refresh_endpoint_answers_small_when_nothing_changed(client, dispatcher):
    wo = WorkOrderFactory()
    client.force_login(dispatcher)
    first = get(client, DATA).json()
    assert first["changed"] and [row["id"] for row in first["board"]["queue"]["rows"]] == [wo.pk]
    same = get(client, DATA, version=first["version"]).json()
    assert same == {"changed": False, "version": first["version"], "now": first["now"], "now_iso": first["now_iso"]}
    WorkOrderFactory()
    assert get(client, DATA, version=first["version"]).json()["changed"] is True


def test_an_unchanged_board_still_answers_the_current_time(client, dispatcher):
    """The time is not part of the board: a poll seconds later is "unchanged", and its now-line
    (the time beside the answer) has moved on."""
    tech = TechnicianFactory()
    booked(tech, at(MONDAY, 9), at(MONDAY, 11))
    WorkOrderFactory()
    client.force_login(dispatcher)
    first = get(client, DATA).json()
    assert first["changed"] and "now" not in first["board"]["axis"] and "now_iso" not in first["board"]["axis"]
    assert first["now_iso"] == "2026-11-23T10:00:00+08:00" and 0 < first["now"] < 100
    with time_machine.travel(at(MONDAY, 10) + dt.timedelta(seconds=40), tick=False):
        later = get(client, DATA, version=first["version"]).json()
    assert later["changed"] is False and later["version"] == first["version"] and "board" not in later
    assert later["now_iso"] == "2026-11-23T10:00:40+08:00" and later["now"] > first["now"]


def _many_technicians(count: int):
    """``count`` technicians with a skill, a shift and an open job each, made in bulk."""
    group, _ = Group.objects.get_or_create(name=R.TECHNICIAN)
    skill = Skill.objects.get_or_create(code="gas", defaults={"name": "Gas"})[0]
    start = User.objects.count()
    users = User.objects.bulk_create([User(username=f"bulk{start + i}") for i in range(count)])
    techs = Technician.objects.bulk_create(
        [Technician(user=u, home_latitude=31.2, home_longitude=121.4) for u in users]
    )
    group.user_set.add(*users)
    TechnicianSkill.objects.bulk_create([TechnicianSkill(technician=t, skill=skill, level=3) for t in techs])
    Shift.objects.bulk_create([Shift(technician=t, weekday=0, start=dt.time(8), end=dt.time(18)) for t in techs])
    customer_wo = WorkOrderFactory()
    WorkOrder.objects.bulk_create(
        [
            WorkOrder(
                customer=customer_wo.customer, site=customer_wo.site, service_type=customer_wo.service_type,
                contact_name="x", contact_phone="+8613900000000", address="x", description="x",
                status=Status.ASSIGNED, technician=t, appointment_start=at(MONDAY, 11), appointment_end=at(MONDAY, 12),
            )
            for t in techs
        ]
    )


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert get(client, url).status_code == 200
    return len(ctx.captured_queries)


def test_the_board_issues_the_same_few_queries_for_10_and_500_technicians(client, dispatcher):
    client.force_login(dispatcher)
    for _ in range(5):
        WorkOrderFactory(site=SiteFactory(city="Shanghai"))
    _many_technicians(10)
    get(client, BOARD)  # fills the per-process copies (the logged-in user, roles: core/refcache.py)
    with_ten = (_queries(client, BOARD), _queries(client, DATA))
    assert len(board(client)["technicians"]) == 10
    _many_technicians(490)
    for _ in range(20):
        WorkOrderFactory(site=SiteFactory(city="Suzhou"))
    get(client, BOARD)  # the same warm start: the new memberships dropped the kept role names
    with_five_hundred = (_queries(client, BOARD), _queries(client, DATA))
    assert len(board(client)["technicians"]) == 500
    assert with_ten == with_five_hundred
    assert max(with_five_hundred) <= 15


# --- acting from the board ------------------------------------------------


def test_a_dispatcher_assigns_from_the_candidates_page_with_a_window(client, dispatcher):
    tech = TechnicianFactory(user__first_name="Zhang")
    wo = WorkOrderFactory(preferred_start=at(MONDAY, 14), preferred_end=at(MONDAY, 16))
    client.force_login(dispatcher)
    page = get(client, reverse("dispatch:candidates", args=[wo.pk])).content.decode()
    assert f'data-technician="{tech.pk}"' in page
    assert 'value="2026-11-23T14:00"' in page  # the window asked for is proposed
    response = client.post(
        reverse("dispatch:assign", args=[wo.pk]),
        {"action": "assign", "technician": tech.pk, "appointment_start": "2026-11-23T14:00",
         "appointment_end": "2026-11-23T16:00", "next": BOARD},
        follow=True, HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.redirect_chain[-1][0] == BOARD
    assert f"{wo.number} assigned to {tech}" in response.content.decode()
    wo.refresh_from_db()
    assert wo.technician == tech and wo.appointment_start == at(MONDAY, 14)
    # Now it shows on the technician's timeline, not in the queue.
    data = board(client)
    assert wo.pk not in queue_ids(data)
    [job] = technician(data, tech)["jobs"]
    assert job["id"] == wo.pk and job["when"] == "11-23 14:00–16:00" and "bar" in job and job["unassign"]


def test_a_refused_assignment_shows_the_reason_and_changes_nothing(client, dispatcher):
    tech = TechnicianFactory()
    other = booked(tech, at(MONDAY, 14), at(MONDAY, 15))
    wo = WorkOrderFactory()
    client.force_login(dispatcher)
    response = client.post(
        reverse("dispatch:assign", args=[wo.pk]),
        {"action": "assign", "technician": tech.pk, "appointment_start": "2026-11-23T14:30",
         "appointment_end": "2026-11-23T15:30"},
        follow=True, HTTP_ACCEPT_LANGUAGE="en",
    )
    assert f"already booked 14:00–15:00 on {other.number}" in response.content.decode()
    wo.refresh_from_db()
    assert wo.status == Status.NEW


def test_reassign_and_unassign_from_the_board(client, dispatcher):
    first, second = TechnicianFactory(), TechnicianFactory()
    wo = WorkOrderFactory()
    client.force_login(dispatcher)
    url = reverse("dispatch:assign", args=[wo.pk])
    client.post(url, {"action": "assign", "technician": first.pk})
    client.post(url, {"action": "reassign", "technician": second.pk})
    wo.refresh_from_db()
    assert wo.technician == second
    client.post(url, {"action": "unassign"})
    wo.refresh_from_db()
    assert wo.status == Status.NEW and wo.technician is None
    assert list(wo.events.values_list("action", flat=True)) == ["create", "assign", "reassign", "unassign"]


def test_the_candidates_page_lists_the_excluded_with_reasons(client, dispatcher):
    gas = SkillFactory(code="gas", name="Gas")
    service = ServiceTypeFactory(name="Boiler")
    from .factories import ServiceTypeSkillFactory

    ServiceTypeSkillFactory(service_type=service, skill=gas, min_level=2)
    able = TechnicianFactory()
    skilled(able, gas, 3)
    unable = TechnicianFactory(user__first_name="Novice")
    wo = WorkOrderFactory(service_type=service)
    client.force_login(dispatcher)
    page = get(client, reverse("dispatch:candidates", args=[wo.pk])).content.decode()
    assert "1 technician can take it" in page and "1 technician cannot" in page
    excluded = page.split('id="excluded-h"')[1]
    assert f'data-technician="{unable.pk}"' in excluded and f'data-technician="{able.pk}"' not in excluded
    assert 'data-reason="missing_skill"' in excluded and f"{unable} lacks the skill Gas" in excluded
    assert "Gas L3 / ≥L2" in page


def test_the_fast_number_and_name_helpers_say_what_the_models_say():
    from dispatch.selectors import technician_name, workorder_number

    wo = WorkOrderFactory(created_at=timezone.make_aware(dt.datetime(2025, 12, 31, 23, 30)))
    assert workorder_number(wo.pk, wo.created_at) == wo.number
    for tech in (TechnicianFactory(user__first_name="Wei", user__last_name="Wang"),
                 TechnicianFactory(user__first_name="", user__last_name="")):
        user = tech.user
        assert technician_name(user.username, user.first_name, user.last_name) == str(tech)
