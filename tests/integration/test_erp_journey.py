"""An ERP's journey through the API with a service account's key: it creates a customer, a site
and a work order with its own references, the order moves to closed (the ERP assigns it through
the API, the technician works it, the customer's survey closes it), a sync by updated_after
returns exactly what changed, a stale change is refused (412), and the signed webhooks of the
order's events arrive and verify."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from apiclients.services import apiclient_create
from notifications import webhooks
from notifications.models import WebhookEndpoint
from notifications.services import notifications_deliver_due
from sla.models import SlaPolicy
from tests.factories import CustomerFactory, TechnicianFactory, UserFactory
from tests.notifications.test_webhooks import Receiver
from workorders.models import Survey
from workorders.services import workorder_transition
from workorders.survey import survey_answer

E = WebhookEndpoint.Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver listens on 127.0.0.1
    stub = Receiver()
    yield stub
    stub.close()


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_rate_limits):
    return fresh_rate_limits


def _ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def _moment_after_now() -> str:
    """A moment strictly after every change so far (the clock moves on at least a microsecond)."""
    moment = timezone.now()
    time.sleep(0.002)
    return moment.isoformat()


def test_an_erp_creates_syncs_and_is_told(receiver, service_type, settings):
    settings.PUBLIC_BASE_URL = "https://service.example.com"
    SlaPolicy.objects.all().delete()
    owner = UserFactory(username="integrator", email="integrator@example.com", is_staff=True, is_superuser=True)
    endpoint = WebhookEndpoint.objects.create(name="ERP", url=receiver.url, secret=webhooks.secret_new(),
                                              events=list(E.values), created_by=owner)
    _client, key = apiclient_create(name="ERP", scopes=["customers:write", "work_orders:write"])
    erp = APIClient()
    erp.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    bystander = CustomerFactory()  # a customer the ERP never touches
    tech = TechnicianFactory()

    # 1. The ERP's customer, site and work order, each with its reference.
    customer = erp.post("/api/v1/customers/", {"name": "Zhang Min", "phone": "139 0000 1111",
                                               "external_ref": "ERP-C-0001"}, format="json")
    assert customer.status_code == 201, customer.json()
    customer = customer.json()
    site = erp.post("/api/v1/sites/", {"customer": customer["id"], "label": "Plant 2",
                                       "address": "88 Century Avenue, Pudong, Shanghai", "external_ref": "ERP-S-0001"},
                    format="json")
    assert site.status_code == 201, site.json()
    site = site.json()
    order = erp.post("/api/v1/work-orders/", {
        "contact_name": "Zhang Min", "contact_phone": "+8613900001111", "service_type": "ac-repair",
        "description": "Chiller 2 trips on start.", "site": site["id"], "external_ref": "ERP-WO-0001",
    }, format="json")
    assert order.status_code == 201, order.json()
    order = order.json()
    assert order["customer"]["id"] == customer["id"] and order["site"] == site["id"]
    assert _ids(erp.get("/api/v1/customers/", {"external_ref": "ERP-C-0001"})) == [customer["id"]]
    assert _ids(erp.get("/api/v1/work-orders/", {"external_ref": "ERP-WO-0001"})) == [order["id"]]

    # 2. Since the ERP's last sync: the customer's tier changes, the order is assigned and worked
    # to closed. The site and the other customer do not change.
    since = _moment_after_now()
    url = f"/api/v1/customers/{customer['id']}/"
    read = erp.get(url)
    changed = erp.patch(url, {"tier": "gold"}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert changed.status_code == 200 and changed.json()["tier"] == "gold"
    # Someone else's change made from the version read before: refused, nothing written.
    stale = erp.patch(url, {"tier": "silver"}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert stale.status_code == 412 and stale.json()["version"] == changed.json()["version"]
    assert erp.get(url).json()["tier"] == "gold"

    assigned = erp.post(f"/api/v1/work-orders/{order['id']}/transitions/",
                        {"action": "assign", "technician": tech.pk}, format="json")
    assert assigned.status_code == 200, assigned.json()
    for action in ("accept", "depart", "arrive", "complete"):
        workorder_transition(work_order_id=order["id"], action=action, actor=tech.user)
    survey_answer(token=Survey.objects.get(work_order_id=order["id"]).token, satisfaction=5, solved=True)
    closed = erp.get(f"/api/v1/work-orders/{order['id']}/").json()
    assert closed["status"] == "closed"

    # 3. The sync: exactly what changed.
    sync = {"updated_after": since, "sort": "updated_at"}
    assert _ids(erp.get("/api/v1/customers/", sync)) == [customer["id"]]
    assert _ids(erp.get("/api/v1/sites/", sync)) == []
    assert _ids(erp.get("/api/v1/work-orders/", sync)) == [order["id"]]
    assert bystander.pk in _ids(erp.get("/api/v1/customers/", {"sort": "-created_at"}))
    # Under the changed order: its story and the customer's answer.
    story = erp.get(f"/api/v1/work-orders/{order['id']}/events/").json()["results"]
    assert [e["action"] for e in story][:2] == ["create", "assign"] and story[-1]["to_status"] == "closed"
    [survey] = erp.get(f"/api/v1/work-orders/{order['id']}/surveys/").json()["results"]
    assert (survey["status"], survey["satisfaction"], survey["solved"]) == ("answered", 5, True)

    # 4. The signed webhooks of the order's events, in order, each verifying with the secret.
    for _round in range(8):
        notifications_deliver_due(now=timezone.now() + timedelta(minutes=5))
    hook = Webhook(endpoint.secret)
    events = [hook.verify(request["body"], request["headers"]) for request in receiver.requests]
    about_order = [e for e in events if e["data"].get("work_order_id") == order["id"]]
    types = [e["type"] for e in about_order]
    assert types[0] == "workorder.created"
    for expected in ("workorder.assigned", "workorder.status_changed", "workorder.completed", "workorder.closed"):
        assert expected in types, types
    assert types.index("workorder.assigned") < types.index("workorder.completed") < types.index("workorder.closed")
    assert about_order[-1]["data"]["external_ref"] == "ERP-WO-0001"
    assert len({request["headers"]["webhook-id"] for request in receiver.requests}) == len(receiver.requests)
