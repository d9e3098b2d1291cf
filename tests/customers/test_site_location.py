"""Every site gets a point after commit (customers.services.sites_locate), whatever created it, and a
dispatcher can place it by hand; bad addresses leave the order dispatchable, flagged "location unknown"."""

import json
import uuid
from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core import roles as R
from customers.models import Site
from customers.services import sites_geocode_pending, sites_locate
from tests.factories import CustomerFactory, ServiceTypeFactory, SiteFactory, TechnicianFactory, WorkOrderFactory
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.services import workorder_transition

pytestmark = pytest.mark.django_db

PUDONG = "上海市浦东新区张江路100号"


@pytest.fixture
def located_on_commit(settings):
    """As in production: a new site is handed to the geocoding task after commit (run at once here)."""
    settings.GEOCODE_ENQUEUE_ON_COMMIT = True
    settings.OUTBOX_ENQUEUE_BATCH_MS = 0  # publish in this thread (the test's transaction), not the batch thread
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def public_form(service_type, address):
    return {
        "submission_key": str(uuid.uuid4()), "contact_name": "王芳", "contact_phone": "138 1234 5678",
        "address": address, "service_type": service_type.pk, "description": "空调漏水", "priority": 2,
    }


def test_a_request_on_the_public_form_is_located_after_commit(
    client, located_on_commit, fresh_rate_limits, django_capture_on_commit_callbacks
):
    service_type = ServiceTypeFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/request/", public_form(service_type, PUDONG))
    assert response.status_code == 302
    site = WorkOrder.objects.get().site
    # Saved without a point: nothing was geocoded on the request.
    assert (site.location_precision, site.latitude) == ("pending", None)
    assert callbacks
    for callback in callbacks:  # the commit: the task runs (eagerly here)
        callback()
    site.refresh_from_db()
    assert site.location_precision == "district" and site.location_area == "上海市 浦东新区"
    assert 31.1 < float(site.latitude) < 31.3 and site.located_at is not None


def test_the_request_only_queues_the_site_and_a_background_thread_hands_it_over(
    client, settings, fresh_rate_limits, monkeypatch, django_capture_on_commit_callbacks
):
    from customers import services

    settings.GEOCODE_ENQUEUE_ON_COMMIT = True
    settings.OUTBOX_ENQUEUE_BATCH_MS = 1000
    published = []
    monkeypatch.setattr(services.LOCATE_PUBLISHER, "publish", published.extend)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/request/", public_form(ServiceTypeFactory(), PUDONG)).status_code == 302
    services.LOCATE_PUBLISHER.flush()
    assert published == [WorkOrder.objects.get().site_id]


def test_an_api_request_and_a_phone_intake_are_located_too(located_on_commit, agent, django_capture_on_commit_callbacks):
    ServiceTypeFactory(code="ac-repair")
    api = APIClient()
    api.force_authenticate(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/work-orders/", {
            "contact_name": "王芳", "contact_phone": "138 1234 5678", "address": "北京市海淀区中关村大街27号",
            "service_type": "ac-repair", "description": "空调漏水", "priority": 3,
        }, format="json")
    assert response.status_code == 201
    site = WorkOrder.objects.get().site
    site.refresh_from_db()
    assert (site.location_precision, site.location_area) == ("district", "北京市 海淀区")

    client = Client(headers={"accept-language": "en"})
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/staff/work-orders/new/", {
            "submission_key": str(uuid.uuid4()), "contact_phone": "139 0000 1111", "contact_name": "周敏",
            "contact_email": "", "site": "", "address": "广东省深圳市南山区科苑路15号", "equipment": "",
            "service_type": ServiceTypeFactory().pk, "description": "冰箱不制冷", "priority": 4, "save": "1",
        })
    assert response.status_code == 302
    site = WorkOrder.objects.get(contact_phone="+8613900001111").site
    site.refresh_from_db()
    assert (site.location_precision, site.location_area) == ("district", "广东省 深圳市 南山区")


def test_an_address_that_cannot_be_placed_is_flagged_and_the_order_stays_dispatchable(
    client, dispatcher, fresh_rate_limits
):
    service_type = ServiceTypeFactory()
    assert client.post("/request/", public_form(service_type, "behind the blue gate")).status_code == 302
    sites_geocode_pending()
    wo = WorkOrder.objects.get()
    assert wo.site.location_precision == "unknown" and wo.site.latitude is None
    client.force_login(dispatcher)
    [row] = client.get("/dispatch/board.json").json()["board"]["queue"]["rows"]
    assert row["id"] == wo.pk and row["pos"] is None
    assert (row["place"], row["place_label"]) == ("unknown", "location unknown")
    tech = TechnicianFactory()
    workorder_transition(work_order_id=wo.pk, action="assign", actor=dispatcher, technician_id=tech.pk)
    assert WorkOrder.objects.get(pk=wo.pk).technician_id == tech.pk


def test_typed_coordinates_are_kept_swapped_back_or_replaced_by_the_address():
    # (Swapped pairs cannot be stored for China, whose longitudes are over 90: the import and the
    # pin endpoint turn them round before saving; tests/customers/test_import.py.)
    inside = SiteFactory(address=PUDONG, latitude=Decimal("31.2"), longitude=Decimal("121.5"))
    outside = SiteFactory(address=PUDONG, latitude=Decimal("48.85"), longitude=Decimal("2.35"))
    none_at_all = SiteFactory(address="somewhere", latitude=None, longitude=None)
    assert sites_geocode_pending() == {"exact": 1, "district": 1, "unknown": 1}
    for site in (inside, outside, none_at_all):
        site.refresh_from_db()
    assert (inside.latitude, inside.longitude, inside.location_precision) == (Decimal("31.2"), Decimal("121.5"), "exact")
    assert outside.location_precision == "district" and 31 < outside.latitude < 32
    assert none_at_all.location_precision == "unknown"
    # Running again changes nothing (the task may be delivered twice).
    assert sites_geocode_pending() == {}


def test_a_pin_placed_while_the_geocoder_works_is_not_overwritten(monkeypatch):
    site = SiteFactory(address=PUDONG, latitude=None, longitude=None)

    def slow_geocoder(addresses):
        Site.objects.filter(pk=site.pk).update(latitude=31.21, longitude=121.61, location_precision="manual")
        from core.geocoding import OfflineGeocoder

        return OfflineGeocoder().geocode_many(addresses)

    monkeypatch.setattr("customers.services.geocode_many", slow_geocoder)
    assert sites_locate(site_ids=[site.pk]) == {}
    site.refresh_from_db()
    assert (site.location_precision, site.latitude) == ("manual", Decimal("31.210000"))


def test_a_broken_geocoder_leaves_the_sites_unknown_and_never_raises(monkeypatch):
    site = SiteFactory(address=PUDONG, latitude=None, longitude=None)

    def broken(addresses):
        raise RuntimeError("provider bug")

    monkeypatch.setattr("customers.services.geocode_many", broken)
    assert sites_locate(site_ids=[site.pk]) == {"unknown": 1}


def test_an_edited_address_in_the_admin_is_located_again(client, django_capture_on_commit_callbacks,
                                                        located_on_commit):
    admin = CustomerFactory()  # a customer to edit under
    from tests.factories import UserFactory

    boss = UserFactory(username="boss", is_staff=True, is_superuser=True)
    site = SiteFactory(customer=admin, address=PUDONG, latitude=None, longitude=None)
    sites_geocode_pending()
    client.force_login(boss)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/customers/site/{site.pk}/change/", {
            "customer": admin.pk, "label": "", "address": "广东省深圳市南山区科苑路15号", "city": "",
            "latitude": "", "longitude": "",
        })
    assert response.status_code == 302, response.content.decode()[:2000]
    site.refresh_from_db()
    assert (site.location_precision, site.location_area) == ("district", "广东省 深圳市 南山区")


# --- the dispatcher's pin -----------------------------------------------------------------------


def place(client, wo, lat, lng, **kw):
    pk = getattr(wo, "pk", wo)
    return client.post(f"/dispatch/work-orders/{pk}/location/", json.dumps({"latitude": lat, "longitude": lng}),
                       content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", **kw)


def test_a_dispatcher_drags_a_pin_and_the_site_keeps_it_for_its_next_orders(client, dispatcher, agent):
    wo = WorkOrderFactory(site__address=PUDONG, site__latitude=None, site__longitude=None)
    sites_geocode_pending()
    client.force_login(dispatcher)
    row = client.get("/dispatch/board.json").json()["board"]["queue"]["rows"][0]
    assert row["place"] == "approx" and row["pos"] is not None

    response = place(client, wo, 31.2041, 121.5908)
    assert response.status_code == 200 and response.json()["precision"] == "manual"
    site = Site.objects.get(pk=wo.site_id)
    assert (site.latitude, site.longitude, site.location_precision) == (
        Decimal("31.204100"), Decimal("121.590800"), "manual")
    row = client.get("/dispatch/board.json").json()["board"]["queue"]["rows"][0]
    assert row["place"] == "exact" and row["pos"] == [31.2041, 121.5908]
    # Geocoding again (the admin's action, a sweep) never moves a pin placed by hand.
    assert sites_locate(site_ids=[site.pk]) == {}
    # The next order at that site starts from the pin.
    again = WorkOrderFactory(customer=site.customer, site=site)
    rows = {r["id"]: r for r in client.get("/dispatch/board.json").json()["board"]["queue"]["rows"]}
    assert (rows[again.pk]["pos"], rows[again.pk]["place"]) == ([31.2041, 121.5908], "exact")


@pytest.mark.parametrize("lat, lng, status", [(48.85, 2.35, 400), (0, 0, 400), (181, 10, 400), ("x", 1, 400),
                                              (None, 121.5, 400)])
def test_a_pin_outside_the_region_or_unreadable_is_refused_and_changes_nothing(client, dispatcher, lat, lng, status):
    wo = WorkOrderFactory()
    before = Site.objects.filter(pk=wo.site_id).values_list("latitude", "longitude", "location_precision").get()
    client.force_login(dispatcher)
    response = place(client, wo, lat, lng)
    assert response.status_code == status and response.json()["detail"]
    assert Site.objects.filter(pk=wo.site_id).values_list("latitude", "longitude", "location_precision").get() == before


def test_only_dispatchers_and_managers_place_pins_with_the_pages_csrf_token(client, agent, technician, dispatcher):
    wo = WorkOrderFactory()
    for user in (agent, technician.user):
        client.force_login(user)
        assert place(client, wo, 31.2, 121.5).status_code == 403
    client.logout()
    assert place(client, wo, 31.2, 121.5).status_code == 403
    assert place(client, 999999, 31.2, 121.5).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(dispatcher)
    assert place(strict, wo, 31.2, 121.5).status_code == 403
    assert Site.objects.get(pk=wo.site_id).location_precision != "manual"
    strict.get("/dispatch/")
    token = strict.cookies["csrftoken"].value
    assert place(strict, wo, 31.2, 121.5, HTTP_X_CSRFTOKEN=token).status_code == 200
    client.force_login(dispatcher)
    assert place(client, 999999, 31.2, 121.5).status_code == 404


def test_the_api_places_a_pin_the_same_way(dispatcher, agent):
    wo = WorkOrderFactory()
    api = APIClient()
    url = f"/api/v1/dispatch/work-orders/{wo.pk}/location/"
    api.force_authenticate(agent)
    assert api.post(url, {"latitude": 31.2, "longitude": 121.5}, format="json").status_code == 403
    api.force_authenticate(dispatcher)
    assert api.post(url, {"latitude": 48.85, "longitude": 2.35}, format="json").status_code == 400
    response = api.post(url, {"latitude": 121.5, "longitude": 31.2}, format="json")  # swapped
    assert response.status_code == 200
    assert (response.json()["latitude"], response.json()["longitude"]) == (31.2, 121.5)
    assert api.post("/api/v1/dispatch/work-orders/999999/location/", {"latitude": 31.2, "longitude": 121.5},
                    format="json").status_code == 404


def test_an_order_keeps_the_point_it_was_dispatched_on(dispatcher):
    wo = WorkOrderFactory(site__latitude=Decimal("31.23"), site__longitude=Decimal("121.47"))
    sites_geocode_pending()
    tech = TechnicianFactory()
    workorder_transition(work_order_id=wo.pk, action="assign", actor=dispatcher, technician_id=tech.pk)
    Site.objects.filter(pk=wo.site_id).update(latitude=31.3, longitude=121.6, location_precision="manual")
    event = WorkOrderEvent.objects.get(work_order=wo, action="assign")
    assert event.data["point"] == [31.23, 121.47, "exact"]
