"""The staff search box (workorders/search.py): one text finds work orders by number, and
customers by name, phone number typed any common way, address fragment or equipment serial."""

import re

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import CustomerFactory, EquipmentFactory, SiteFactory, WorkOrderFactory
from workorders.lifecycle import Status

pytestmark = pytest.mark.django_db

URL = "/staff/work-orders/search/"
API_URL = "/api/v1/work-orders/search/"


def _shown_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<td><a href="/staff/work-orders/(\d+)/">', response.content.decode())]


@pytest.fixture
def world(db, technician, other_technician):
    """Three customers with their sites, equipment and orders; one order is the technician's."""
    wang = CustomerFactory(name="王建国", phone="+8613800001234")
    wang_site = SiteFactory(customer=wang, address="上海市浦东新区张江路100号3栋")
    wang_ac = EquipmentFactory(customer=wang, site=wang_site, serial="SNAC20260042")
    li = CustomerFactory(name="李秀英", phone="+8613911112222")
    li_site = SiteFactory(customer=li, address="上海市徐汇区肇嘉浜路1069号")
    smith = CustomerFactory(name="Anna Smith", phone="+8615012345678")
    orders = {
        "wang_old": WorkOrderFactory(customer=wang, site=wang_site),
        "wang_ac": WorkOrderFactory(customer=wang, site=wang_site, equipment=wang_ac, status=Status.ASSIGNED,
                                    technician=technician),
        "li": WorkOrderFactory(customer=li, site=li_site, status=Status.ASSIGNED, technician=other_technician),
        "smith": WorkOrderFactory(customer=smith),
    }
    return orders


def _page(user, q, language="en"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client.get(URL, {"q": q})


@pytest.mark.parametrize("typed", ["138 0000 1234", "13800001234", "+86 138-0000-1234", "(+86) 138 0000 1234"])
def test_an_agent_finds_a_caller_by_the_number_however_it_is_typed(agent, world, typed):
    response = _page(agent, typed)
    assert response.status_code == 200
    assert sorted(_shown_ids(response)) == sorted([world["wang_old"].pk, world["wang_ac"].pk])
    body = response.content.decode()
    assert "王建国" in body and "+8613800001234" in body
    assert f'href="/staff/work-orders/?customer={world["wang_old"].customer_id}"' in body
    assert "李秀英" not in body


def test_a_fragment_of_the_number_finds_the_customers_holding_it(agent, world):
    response = _page(agent, "2222")
    assert _shown_ids(response) == [world["li"].pk]
    assert "李秀英" in response.content.decode()


def test_name_address_and_serial_fragments_find_their_orders(agent, world):
    assert _shown_ids(_page(agent, "秀英")) == [world["li"].pk]
    assert _shown_ids(_page(agent, "anna smi")) == [world["smith"].pk]  # any letter case
    assert sorted(_shown_ids(_page(agent, "张江路100"))) == sorted([world["wang_old"].pk, world["wang_ac"].pk])
    assert _shown_ids(_page(agent, "ac2026004")) == [world["wang_ac"].pk]


def test_an_order_number_finds_that_order_first(agent, world):
    wo = world["li"]
    number = f"WO-{wo.created_at.year}-{wo.pk:06d}"
    assert _shown_ids(_page(agent, number))[0] == wo.pk
    assert _shown_ids(_page(agent, f" {wo.pk} "))[0] == wo.pk


def test_newest_first(agent, world):
    assert _shown_ids(_page(agent, "王建国")) == [world["wang_ac"].pk, world["wang_old"].pk]


def test_nothing_found_says_so(agent, world):
    response = _page(agent, "没有这个客户")
    assert response.status_code == 200 and _shown_ids(response) == []
    assert "No work orders match." in response.content.decode()


def test_a_technician_finds_only_their_own_orders_and_no_customer_list(technician, world):
    response = _page(technician.user, "上海市")
    assert _shown_ids(response) == [world["wang_ac"].pk]
    body = response.content.decode()
    assert "李秀英" not in body and "+8613800001234" not in body and "customer-matches" not in body


def test_a_query_too_long_or_with_a_nul_is_refused_with_the_reason(agent, world):
    response = _page(agent, "x" * 101)
    assert response.status_code == 400
    assert "at most 100 characters" in response.content.decode()
    response = _page(agent, "王\x00")
    assert response.status_code == 400 and _shown_ids(response) == []


def test_the_page_and_the_box_speak_chinese(agent, world):
    response = _page(agent, "王建国", language="zh-hans")
    body = response.content.decode()
    assert "<h1>搜索</h1>" in body
    assert 'action="/staff/work-orders/search/"' in body  # the box in the top bar
    assert "客户" in body


def test_the_search_box_is_on_every_office_page(agent, technician):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(agent)
    assert 'action="/staff/work-orders/search/"' in client.get("/staff/work-orders/").content.decode()
    client.force_login(technician.user)
    assert 'action="/staff/work-orders/search/"' not in client.get("/tech/").content.decode()


def test_anonymous_visitors_are_sent_to_log_in(world):
    response = Client().get(URL, {"q": "王建国"})
    assert response.status_code == 302 and "/login" in response["Location"]


def _api(user=None):
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_the_api_answers_the_same_search(dispatcher, world):
    response = _api(dispatcher).get(API_URL, {"q": "138 0000 1234"})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "138 0000 1234"
    assert [r["id"] for r in body["results"]] == [world["wang_ac"].pk, world["wang_old"].pk]
    assert body["results"][0]["customer"]["name"] == "王建国"
    assert body["customers"] == [{"id": world["wang_ac"].customer_id, "name": "王建国", "phone": "+8613800001234",
                                  "tier": "standard"}]
    assert body["more"] is False


def test_the_api_hides_customers_from_technicians_and_refuses_bad_input(technician, world):
    body = _api(technician.user).get(API_URL, {"q": "上海市"}).json()
    assert [r["id"] for r in body["results"]] == [world["wang_ac"].pk]
    assert body["customers"] == []
    assert _api(technician.user).get(API_URL, {"q": "x" * 101}).status_code == 400
    assert _api().get(API_URL, {"q": "王"}).status_code == 401
