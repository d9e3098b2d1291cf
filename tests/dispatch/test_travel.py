"""Travel time in dispatch (dispatch/travel.py): candidates are ranked by the estimated drive from
where the technician will be, the "why" says the minutes, a routing server is used when set (and
its failure falls back to the straight line), the batch assignment uses the same costs, and the
board's Gantt orders each technician's day by a route and says what another order adds."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import time_machine
from django.core.cache import cache

from dispatch import travel
from dispatch.rules import Booking, OrderFacts, TechFacts
from dispatch.scoring import Weights, pair_cost_matrix, pair_parts
from dispatch.selectors import workorder_candidates
from tests.factories import SiteFactory, TechnicianFactory, WorkOrderFactory
from workorders.lifecycle import Status

from .factories import at, booked
from .test_board import board, technician
from .test_drop import drop

MONDAY = dt.date(2026, 11, 23)
TUESDAY = MONDAY + dt.timedelta(days=1)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def monday_eleven_am():
    with time_machine.travel(at(MONDAY, 11), tick=False):
        yield


@pytest.fixture(autouse=True)
def plain_roads(settings):
    """Straight line × 1.3 at 30 km/h, rush hours 7-9 at 15 km/h, no routing server."""
    settings.DISPATCH_ROAD_FACTOR, settings.DISPATCH_SPEED_KMH = 1.3, 30.0
    settings.DISPATCH_RUSH_SPEED_KMH, settings.DISPATCH_RUSH_HOURS = 15.0, ((7, 9),)
    settings.DISPATCH_ROUTING_URL = ""


def minutes(a, b) -> float:
    """The drive the settings above give for straight-line points a -> b outside rush hours."""
    return travel.haversine_km(a[0], a[1], b[0], b[1]) * 1.3 / 30 * 60


# --- the estimate -------------------------------------------------------------


def test_rush_hours_are_slower():
    a, b = (31.23, 121.47), (31.30, 121.47)
    calm = travel.estimate(a, b, when=at(MONDAY, 11)).minutes
    rush = travel.estimate(a, b, when=at(MONDAY, 8)).minutes
    assert calm == pytest.approx(minutes(a, b))
    assert rush == pytest.approx(calm * 30 / 15)
    assert travel.estimate(a, None).minutes is None


def test_a_technician_s_day_drives_the_same_pair_by_pair_as_in_numpy(monkeypatch):
    # A day's few stops are worked out in plain Python (travel.SMALL_TABLE); a larger table with
    # numpy. Both give the same route and minutes, and the distance numpy gives for arrays.
    start = (31.2304, 121.4737)
    stops = [(31.30, 121.50), (31.19, 121.44), None, (31.25, 121.60), (31.21, 121.47), (31.27, 121.39)]
    when = at(MONDAY, 8)  # rush hour: the slower speed applies to both
    small = travel.nearest_next(start, stops, when=when), travel.route_minutes(start, stops, when=when)
    small_trip = travel.estimate(stops[0], stops[1], when=when)
    monkeypatch.setattr(travel, "SMALL_TABLE", 0)
    (order, total), booked = travel.nearest_next(start, stops, when=when), travel.route_minutes(start, stops, when=when)
    assert small[0][0] == order and small[0][1] == pytest.approx(total, rel=1e-12)
    assert small[1] == pytest.approx(booked, rel=1e-12) and booked > 0
    assert order[-1] == 2  # the stop with no known place goes last
    km = travel.haversine_km(np.array([31.30]), np.array([121.50]), np.array([31.19]), np.array([121.44]))[0]
    assert small_trip.km == pytest.approx(km, rel=1e-12)
    assert small_trip.minutes == pytest.approx(km * 1.3 / 15 * 60, rel=1e-12)


# --- candidates ----------------------------------------------------------------


def test_the_nearer_technician_ranks_first_and_the_why_states_the_minutes(client, dispatcher):
    site = SiteFactory(latitude=31.23, longitude=121.47)
    near = TechnicianFactory(home_latitude=31.25, home_longitude=121.47)
    far = TechnicianFactory(home_latitude=31.40, home_longitude=121.60)
    wo = WorkOrderFactory(site=site)
    client.force_login(dispatcher)
    html = client.get(f"/dispatch/work-orders/{wo.pk}/candidates/").content.decode()
    assert html.index(f'data-technician="{near.pk}"') < html.index(f'data-technician="{far.pk}"')
    near_min = round(minutes((31.25, 121.47), (31.23, 121.47)))
    far_min = round(minutes((31.40, 121.60), (31.23, 121.47)))
    row = html[html.index(f'data-technician="{near.pk}"'):html.index(f'data-technician="{far.pk}"')]
    assert f"about {near_min} min away" in row and "from home base" in row
    assert f"about {far_min} min away" in html[html.index(f'data-technician="{far.pk}"'):]


def test_with_a_window_the_technician_sets_out_from_the_job_before_it():
    # Li lives far away but has a job next door ending before the window; Wang lives nearer.
    site = SiteFactory(latitude=31.23, longitude=121.47)
    li = TechnicianFactory(home_latitude=31.60, home_longitude=121.90)
    wang = TechnicianFactory(home_latitude=31.30, home_longitude=121.47)
    booked(li, at(TUESDAY, 9), at(TUESDAY, 10), site=SiteFactory(latitude=31.232, longitude=121.471))
    wo = WorkOrderFactory(site=site)
    eligible, _excluded = workorder_candidates(work_order=wo, window=(at(TUESDAY, 11), at(TUESDAY, 12)))
    assert [c.technician.id for c in eligible] == [li.pk, wang.pk]
    assert eligible[0].parts["position_from"] == "job"
    assert eligible[0].parts["travel_minutes"] == pytest.approx(minutes((31.232, 121.471), (31.23, 121.47)), abs=0.1)
    # Without a window (now), the job tomorrow is not where Li is: Wang is nearer.
    eligible, _excluded = workorder_candidates(work_order=wo)
    assert [c.technician.id for c in eligible] == [wang.pk, li.pk]


def test_the_batch_assignment_costs_agree_with_the_candidates_costs():
    weights = Weights()
    now = at(MONDAY, 11)
    techs = [
        TechFacts(id=1, name="a", home=(31.2, 121.5)),
        TechFacts(id=2, name="b", last=(31.25, 121.45), last_seen_at=now - dt.timedelta(minutes=5),
                  bookings=[Booking(90, "WO-90", at(TUESDAY, 8), at(TUESDAY, 9), (31.3, 121.4)),
                            Booking(91, "WO-91", at(TUESDAY, 12), at(TUESDAY, 13), (31.1, 121.6))]),
        TechFacts(id=3, name="c", home=(31.0, 121.0), current=(31.22, 121.48)),
        TechFacts(id=4, name="d"),
    ]
    orders = [
        OrderFacts(id=10, number="WO-10", service_type_id=1, position=(31.23, 121.47), priority=3),
        OrderFacts(id=11, number="WO-11", service_type_id=1, position=(31.28, 121.41),
                   window=(at(TUESDAY, 10), at(TUESDAY, 11))),
        OrderFacts(id=12, number="WO-12", service_type_id=1, position=(31.15, 121.55),
                   window=(at(TUESDAY, 7), at(TUESDAY, 8))),
        OrderFacts(id=13, number="WO-13", service_type_id=1, position=None),
    ]
    matrix = pair_cost_matrix(techs, orders, now=now, weights=weights)
    for i, order in enumerate(orders):
        for j, tech in enumerate(techs):
            parts = pair_parts(tech, order, open_jobs=0, now=now, weights=weights)
            assert matrix[i, j] == pytest.approx(parts["score"], abs=0.01), (order.number, tech.name)
    # Tech b's job ending at 9:00 is where they set out from for the 10:00 window.
    assert pair_parts(techs[1], orders[1], open_jobs=0, now=now, weights=weights)["parts"]["position_from"] == "job"


# --- a routing server -------------------------------------------------------------


class _Router(BaseHTTPRequestHandler):
    answer = 200
    seconds = 600.0
    calls: list = []

    def do_GET(self):
        type(self).calls.append(self.path)
        if self.answer != 200:
            self.send_response(self.answer)
            self.end_headers()
            return
        query = dict(part.split("=", 1) for part in self.path.split("?", 1)[1].split("&"))
        sources = query["sources"].split("%3B") if "%3B" in query["sources"] else query["sources"].split(";")
        destinations = query["destinations"].split("%3B") if "%3B" in query["destinations"] else \
            query["destinations"].split(";")
        body = json.dumps({"code": "Ok", "durations": [[self.seconds] * len(destinations) for _s in sources]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def router(settings):
    cache.clear()
    _Router.answer, _Router.seconds, _Router.calls = 200, 600.0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Router)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.DISPATCH_ROUTING_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.DISPATCH_ROUTING_TIMEOUT = 2
    yield _Router
    server.shutdown()
    server.server_close()
    cache.clear()


def test_a_routing_server_that_answers_is_used_and_its_answers_are_kept(router):
    a, b = (31.23, 121.47), (31.30, 121.47)
    trip = travel.estimate(a, b)
    assert (trip.minutes, trip.routed) == (10.0, True)
    assert len(router.calls) == 1 and router.calls[0].startswith("/table/v1/driving/121.470000,31.230000;")
    assert travel.estimate(a, b).minutes == 10.0
    assert len(router.calls) == 1  # the second time from the cache


def test_candidates_say_by_road_when_the_routing_server_answers(router, client, dispatcher):
    router.seconds = 18 * 60
    tech = TechnicianFactory(home_latitude=31.25, home_longitude=121.47)
    wo = WorkOrderFactory(site=SiteFactory(latitude=31.23, longitude=121.47))
    client.force_login(dispatcher)
    html = client.get(f"/dispatch/work-orders/{wo.pk}/candidates/").content.decode()
    row = html[html.index(f'data-technician="{tech.pk}"'):]
    assert "about 18 min away" in row and "by road" in row


@pytest.mark.parametrize("failure", ["error", "down"])
def test_a_failing_routing_server_falls_back_to_the_straight_line(router, settings, failure):
    if failure == "error":
        router.answer = 500
    else:
        settings.DISPATCH_ROUTING_URL = "http://127.0.0.1:9"  # nothing listens there
    a, b = (31.23, 121.47), (31.30, 121.47)
    trip = travel.estimate(a, b)
    assert trip.routed is False and trip.minutes == pytest.approx(minutes(a, b))
    if failure == "error":
        assert len(router.calls) == 1


# --- the Gantt: each day's route -------------------------------------------------------


def test_the_gantt_suggests_the_nearest_next_order_and_says_what_the_booked_order_adds(client, dispatcher):
    # Home at the south end; sites on one meridian, booked far, near, middle.
    tech = TechnicianFactory(home_latitude=31.0, home_longitude=121.5)
    far = booked(tech, at(TUESDAY, 10), at(TUESDAY, 11), site=SiteFactory(latitude=31.3, longitude=121.5))
    near = booked(tech, at(TUESDAY, 12), at(TUESDAY, 13), site=SiteFactory(latitude=31.1, longitude=121.5))
    middle = booked(tech, at(TUESDAY, 15), at(TUESDAY, 16), site=SiteFactory(latitude=31.2, longitude=121.5))
    client.force_login(dispatcher)
    row = technician(board(client, view="day", date=TUESDAY.isoformat()), tech)
    [route] = row["routes"]
    assert route["booked"] == [far.pk, near.pk, middle.pk]
    assert route["suggested"] == [near.pk, middle.pk, far.pk]
    step = minutes((31.0, 121.5), (31.1, 121.5))  # 0.1 degree of latitude
    assert route["booked_minutes"] == round(6 * step)  # 0.3 + 0.2 + 0.1
    assert route["suggested_minutes"] == round(3 * step)
    assert route["extra_minutes"] == round(3 * step)
    assert f"{round(3 * step)} min more than the suggested order" in route["label"]
    stops = {job["id"]: job["stop"] for job in row["jobs"]}
    assert stops == {near.pk: 1, middle.pk: 2, far.pk: 3}


def test_each_route_is_worked_out_once_per_change_of_its_jobs_and_follows_every_change(
        client, dispatcher, monkeypatch):
    tech = TechnicianFactory(home_latitude=31.0, home_longitude=121.5)
    far = booked(tech, at(TUESDAY, 10), at(TUESDAY, 11), site=SiteFactory(latitude=31.3, longitude=121.5))
    near = booked(tech, at(TUESDAY, 12), at(TUESDAY, 13), site=SiteFactory(latitude=31.1, longitude=121.5))
    client.force_login(dispatcher)
    worked_out = []
    real = travel.nearest_next
    monkeypatch.setattr(travel, "nearest_next", lambda *a, **kw: worked_out.append(1) or real(*a, **kw))

    def route():
        [r] = technician(board(client, view="day", date=TUESDAY.isoformat()), tech)["routes"]
        return r["suggested"], r["booked_minutes"]

    step = minutes((31.0, 121.5), (31.1, 121.5))
    assert route() == ([near.pk, far.pk], round(5 * step))  # booked: 0.3, then 0.2 back
    assert route() == ([near.pk, far.pk], round(5 * step)) and len(worked_out) == 1  # the next poll
    # The far job's site is placed again, nearer than the other: the next poll has the new route.
    far.site.latitude = 31.05
    far.site.save()
    assert route() == ([far.pk, near.pk], round(step)) and len(worked_out) == 2  # 0.05 + 0.05


def test_moving_a_booking_on_the_gantt_says_the_driving_it_adds(client, dispatcher):
    tech = TechnicianFactory(home_latitude=31.0, home_longitude=121.5)
    booked(tech, at(TUESDAY, 10), at(TUESDAY, 11), site=SiteFactory(latitude=31.1, longitude=121.5))
    booked(tech, at(TUESDAY, 12), at(TUESDAY, 13), site=SiteFactory(latitude=31.2, longitude=121.5))
    moved = booked(tech, at(TUESDAY, 15), at(TUESDAY, 16), site=SiteFactory(latitude=31.15, longitude=121.5))
    client.force_login(dispatcher)
    # Moved to 11:00-12:00: between the two others, where it lies on the way.
    response = drop(client, moved, tech, at(TUESDAY, 11), at(TUESDAY, 12))
    assert response.status_code == 200, response.content
    body = response.json()
    step = minutes((31.0, 121.5), (31.05, 121.5))  # 0.05 degree of latitude
    # Before: 0.1 + 0.1 + 0.05 degrees; after: 0.1 + 0.05 + 0.05.
    assert body["travel"]["minutes"] == round(4 * step)
    assert body["travel"]["added_minutes"] == round(4 * step - 5 * step)
    assert f"Driving that day: {round(4 * step)} min (" in body["detail"]
