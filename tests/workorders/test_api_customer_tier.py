"""The customer's tier in the work orders' API: read by office roles and unrestricted API clients,
left out for technicians and partner technicians (as the customers API leaves it out), in the
list, the detail, the search and the answer to a transition."""

import pytest
from rest_framework.test import APIClient

from apiclients.services import apiclient_create
from tests.factories import CustomerFactory, WorkOrderFactory
from tests.workorders.test_api import api, detail_url, transition_url  # noqa: F401
from workorders.lifecycle import Status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_rate_limits):
    return fresh_rate_limits


@pytest.fixture
def order(technician):
    return WorkOrderFactory(technician=technician, status=Status.ASSIGNED, customer=CustomerFactory(tier="gold"))


def test_a_technician_reads_the_customer_without_the_tier(api, technician, order):
    client = api(technician.user)
    [row] = client.get("/api/v1/work-orders/").json()["results"]
    assert row["customer"] == {"id": order.customer_id, "name": order.customer.name, "phone": order.customer.phone}
    assert "tier" not in client.get(detail_url(order.pk)).json()["customer"]
    accepted = client.post(transition_url(order.pk), {"action": "accept"}, format="json")
    assert accepted.status_code == 200 and "tier" not in accepted.json()["customer"]
    found = client.get("/api/v1/work-orders/search/", {"q": order.number}).json()["results"]
    assert [r["id"] for r in found] == [order.pk] and "tier" not in found[0]["customer"]


def test_a_partner_technician_reads_no_tier_either(api, partner_technician):
    order = WorkOrderFactory(technician=partner_technician, status=Status.ASSIGNED,
                             customer=CustomerFactory(tier="gold"))
    assert "tier" not in api(partner_technician.user).get(detail_url(order.pk)).json()["customer"]


def test_office_roles_and_an_unrestricted_key_read_the_tier(api, dispatcher, order):
    assert api(dispatcher).get(detail_url(order.pk)).json()["customer"]["tier"] == "gold"
    assert api(dispatcher).get("/api/v1/work-orders/").json()["results"][0]["customer"]["tier"] == "gold"
    _client, key = apiclient_create(name="ERP", scopes=["work_orders:read"])
    erp = APIClient()
    erp.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert erp.get(detail_url(order.pk)).json()["customer"]["tier"] == "gold"
