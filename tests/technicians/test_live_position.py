"""The technician's phone sends its position while a job is en route or on site, with their consent
(asked once on the job page); the customer's tracking page shows an arrival estimate from it."""

import datetime as dt
import json

import pytest
import time_machine
from django.utils import timezone

from technicians.models import Technician
from tests.factories import SiteFactory, WorkOrderFactory
from workorders.lifecycle import Status

pytestmark = pytest.mark.django_db

SITE = (31.23, 121.47)


@pytest.fixture(autouse=True)
def monday_eleven_am(settings):
    settings.DISPATCH_ROAD_FACTOR, settings.DISPATCH_SPEED_KMH = 1.3, 30.0
    settings.DISPATCH_RUSH_HOURS, settings.DISPATCH_ROUTING_URL = ((7, 9),), ""
    moment = timezone.make_aware(dt.datetime(2026, 11, 23, 11, 0))
    with time_machine.travel(moment, tick=False) as traveller:
        yield traveller


def job(technician, status=Status.EN_ROUTE, day=0):
    start = timezone.now() + dt.timedelta(days=day)
    return WorkOrderFactory(technician=technician, status=status, site=SiteFactory(latitude=SITE[0], longitude=SITE[1]),
                            appointment_start=start, appointment_end=start + dt.timedelta(hours=2))


def send(client, wo, lat, lng):
    return client.post(f"/tech/jobs/{wo.pk}/position/", json.dumps({"latitude": lat, "longitude": lng}),
                       content_type="application/json")


def consent(technician, value=True):
    Technician.objects.filter(pk=technician.pk).update(location_consent=value)


def last(technician):
    row = Technician.objects.get(pk=technician.pk)
    return row.last_latitude, row.last_longitude, row.last_seen_at


def test_consent_is_asked_once_on_the_job_page(client, technician):
    wo = job(technician)
    client.force_login(technician.user)
    assert 'id="location-consent"' in client.get(f"/tech/jobs/{wo.pk}/").content.decode()
    response = client.post("/tech/location-consent/", {"consent": "yes", "next": f"/tech/jobs/{wo.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/tech/jobs/{wo.pk}/"
    assert Technician.objects.get(pk=technician.pk).location_consent is True
    html = client.get(f"/tech/jobs/{wo.pk}/").content.decode()
    assert 'id="location-consent"' not in html
    assert f'data-url="/tech/jobs/{wo.pk}/position/"' in html  # the phone starts sending


def test_a_no_is_kept_and_nothing_is_sent(client, technician):
    wo = job(technician)
    client.force_login(technician.user)
    client.post("/tech/location-consent/", {"consent": "no", "next": f"/tech/jobs/{wo.pk}/"})
    html = client.get(f"/tech/jobs/{wo.pk}/").content.decode()
    assert 'id="location-consent"' not in html and "/position/" not in html
    before = last(technician)
    response = send(client, wo, 31.3, 121.5)
    assert response.status_code == 403 and response.json()["error"] == "no_consent"
    assert last(technician) == before


def test_a_position_is_taken_only_while_the_job_is_en_route_or_on_site(client, technician):
    consent(technician)
    client.force_login(technician.user)
    for day, status in enumerate((Status.ASSIGNED, Status.ACCEPTED, Status.ON_HOLD, Status.RESOLVED)):
        wo = job(technician, status, day=day + 1)
        response = send(client, wo, 31.3, 121.5)
        assert response.status_code == 409, status
        assert last(technician)[2] is None
    for day, status in enumerate((Status.EN_ROUTE, Status.IN_PROGRESS)):
        wo = job(technician, status, day=10 + day)
        assert send(client, wo, 31.3, 121.5).status_code == 204
        lat, lng, seen = last(technician)
        assert (float(lat), float(lng), seen) == (31.3, 121.5, timezone.now())


def test_bad_positions_are_refused_and_change_nothing(client, technician):
    consent(technician)
    wo = job(technician)
    client.force_login(technician.user)
    for lat, lng in (("north", 121.5), (None, 121.5), (121.5, 31.3), (95, 10), (40.7, -74.0)):
        assert send(client, wo, lat, lng).status_code == 400, (lat, lng)
    assert client.post(f"/tech/jobs/{wo.pk}/position/", "[1, 2]", content_type="application/json").status_code == 400
    assert last(technician)[2] is None


def test_another_technician_cannot_send_for_someone_elses_job(client, technician, other_technician):
    consent(technician)
    consent(other_technician)
    wo = job(technician)
    client.force_login(other_technician.user)
    assert send(client, wo, 31.3, 121.5).status_code == 404
    assert send(client, WorkOrderFactory.build(pk=999999), 31.3, 121.5).status_code == 404
    assert last(technician)[2] is None and last(other_technician)[2] is None


def test_staff_cannot_post_positions(client, dispatcher, technician):
    consent(technician)
    wo = job(technician)
    client.force_login(dispatcher)
    assert send(client, wo, 31.3, 121.5).status_code == 403
    assert last(technician)[2] is None


# --- the customer's tracking page ---------------------------------------------------------------


def drive(lat, lng) -> float:
    from dispatch.travel import haversine_km

    return haversine_km(lat, lng, SITE[0], SITE[1]) * 1.3 / 30 * 60


def test_the_tracking_page_shows_an_arrival_that_follows_each_position(client, technician, monday_eleven_am):
    technician.user.first_name, technician.user.last_name = "Wei", "Zhang"
    technician.user.save()
    consent(technician)
    wo = job(technician)
    phone = client.__class__()
    phone.force_login(technician.user)
    customer = client.__class__()

    page = customer.get(f"/track/{wo.public_token}/").content.decode()
    assert "Your technician: Wei" in page and "Zhang" not in page
    assert 'id="arrival"' in page and "Expected arrival" not in page  # no position yet

    assert send(phone, wo, 31.40, 121.47).status_code == 204
    first = timezone.localtime() + dt.timedelta(minutes=drive(31.40, 121.47))
    page = customer.get(f"/track/{wo.public_token}/").content.decode()
    assert f"Expected arrival: about {first:%H:%M}" in page

    monday_eleven_am.shift(dt.timedelta(minutes=10))
    assert send(phone, wo, 31.26, 121.47).status_code == 204
    second = timezone.localtime() + dt.timedelta(minutes=drive(31.26, 121.47))
    page = customer.get(f"/track/{wo.public_token}/").content.decode()
    assert f"{second:%H:%M}" != f"{first:%H:%M}"
    assert f"Expected arrival: about {second:%H:%M}" in page
    # Only the first name and the estimate: not the phone number nor the position.
    assert technician.phone not in page and "31.26" not in page and "121.47" not in page


def test_an_old_position_gives_no_arrival(client, technician, monday_eleven_am, settings):
    settings.TRACKING_POSITION_MAX_AGE_MINUTES = 30
    consent(technician)
    wo = job(technician)
    client.force_login(technician.user)
    assert send(client, wo, 31.40, 121.47).status_code == 204
    monday_eleven_am.shift(dt.timedelta(minutes=31))
    page = client.__class__().get(f"/track/{wo.public_token}/").content.decode()
    assert "Expected arrival" not in page and "on the way" in page
