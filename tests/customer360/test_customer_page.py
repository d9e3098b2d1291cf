"""The customer page (/staff/customers/<id>/) and the customer search (/staff/customers/?q=)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import roles as R
from customers.models import Customer
from tests.customer360.helpers import open_order, part, visit
from tests.factories import (
    CustomerFactory,
    EquipmentFactory,
    EscalationLevelFactory,
    PartnerTechnicianFactory,
    ServiceTypeFactory,
    SlaPolicyFactory,
    SiteFactory,
    TechnicianFactory,
    UserFactory,
    WorkOrderFactory,
    workorder_via_service,
)
from workorders.lifecycle import Status
from workorders.models import Escalation, Survey

pytestmark = pytest.mark.django_db


def _page(client, customer):
    return client.get(reverse("c360:customer", args=[customer.pk]))


@pytest.fixture
def customer():
    c = CustomerFactory(name="Zhou Hua", phone="+8613912345678", code="C-20931", tier=Customer.Tier.GOLD,
                        email="zhou@example.com")
    return c


@pytest.mark.parametrize("role", [R.AGENT, R.DISPATCHER, R.MANAGER])
def test_office_roles_open_the_customer_page(client, customer, role):
    client.force_login(UserFactory(roles=[role]))
    response = _page(client, customer)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Zhou Hua" in html and "C-20931" in html and "zhou@example.com" in html and "Gold" in html


@pytest.mark.parametrize("url_name", ["c360:customer", "c360:equipment", "c360:search"])
def test_technicians_partners_and_users_without_a_role_get_404(client, customer, url_name):
    equipment = EquipmentFactory(customer=customer)
    args = {"c360:customer": [customer.pk], "c360:equipment": [equipment.pk], "c360:search": []}[url_name]
    url = reverse(url_name, args=args)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for user in (TechnicianFactory().user, PartnerTechnicianFactory().user, UserFactory()):
        client.force_login(user)
        assert client.get(url).status_code == 404, user


def test_an_unknown_customer_is_not_found(client, agent):
    client.force_login(agent)
    assert client.get(reverse("c360:customer", args=[999999])).status_code == 404
    assert client.get(reverse("c360:equipment", args=[999999])).status_code == 404


def test_the_page_shows_sites_equipment_orders_surveys_complaints_parts_and_a_timeline(client, agent, customer):
    # Given a customer with two sites: one air conditioner under warranty, one boiler out of it
    today = timezone.localdate()
    home = SiteFactory(customer=customer, label="Home", address="8 Huaihai Road", latitude=31.21, longitude=121.46)
    shop = SiteFactory(customer=customer, label="Shop", address="12 Nanjing Road", latitude=31.24, longitude=121.48)
    aircon = EquipmentFactory(customer=customer, site=home, serial="AC-77001", model="KFR-35GW",
                              warranty_end=today + timedelta(days=200))
    boiler = EquipmentFactory(customer=customer, site=shop, serial="BO-55002", model="L1PB26",
                              warranty_end=today - timedelta(days=10))
    tech = TechnicianFactory(user__first_name="Li", user__last_name="Wei")
    pump = part("Drain pump", 80)
    # ... a completed visit with a part, a low survey answer asking for a call-back, an escalation
    done = visit(tech, aircon, days_ago=20, work_done="Replaced the drain pump.", parts=[(pump, 1)])
    Survey.objects.create(work_order=done, status=Survey.State.ANSWERED, expires_at=timezone.now(),
                          answered_at=timezone.now() - timedelta(days=19), satisfaction=2, solved=False,
                          comment="Still dripping", needs_callback=True)
    level = EscalationLevelFactory()
    # ... and an open order on the boiler
    waiting = open_order(boiler, days_ago=1, description="No hot water")
    Escalation.objects.create(work_order=waiting, target=level.target, level=level, percent=100,
                              due_at=timezone.now())
    other_customers = WorkOrderFactory(description="Someone else's order")
    SlaPolicyFactory()
    with_clock = workorder_via_service(customer=customer)  # open, its SLA clock running
    client.force_login(agent)

    html = _page(client, customer).content.decode()

    # Sites on the map (as data for the page's script), equipment with warranty status
    assert 'id="c360-map"' in html and "31.21" in html and "Huaihai" in html
    assert "AC-77001" in html and "under warranty until" in html
    assert "BO-55002" in html and "warranty ended" in html
    # Every order, the open one first, with its SLA cell
    orders = html[html.index('class="c360-orders"'):html.index('id="surveys-h"')]
    assert orders.index(waiting.number) < orders.index(done.number)
    assert orders.index(with_clock.number) < orders.index(done.number)
    clock_row = orders[orders.index(f'data-work-order="{with_clock.pk}"'):]
    assert 'class="badge sla-on_track' in clock_row[:clock_row.index("</tr>")]
    assert other_customers.number not in html
    # Survey score, the complaint waiting for a call-back, the escalation
    assert "satisfaction 2/5" in html and "Still dripping" in html and "call-back due" in html
    assert level.name in html
    # Parts and charges, and the last visit's technician and parts
    assert "Drain pump" in html and "Li Wei" in html
    last = html[html.index('id="last-visit"'):]
    assert done.number in last[:600] and "Li Wei" in last[:600] and "Drain pump" in last[:800]
    # The timeline mixes them, newest first: the escalation and the open order before the completion
    timeline = html[html.index('id="timeline-h"'):]
    assert timeline.index("No hot water") < timeline.index("Replaced the drain pump.")
    assert "Survey answered" in timeline and "Escalation" in timeline


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_page_costs_the_same_queries_for_two_orders_or_twelve(client, agent, customer):
    tech = TechnicianFactory()
    equipment = EquipmentFactory(customer=customer)
    pump, filter_ = part("Pump"), part("Filter")
    kind = ServiceTypeFactory()

    def some_orders(start):
        for i in range(start, start + 2):
            wo = visit(tech, equipment, days_ago=100 - i, parts=[(pump, 1), (filter_, 2)], service_type=kind)
            Survey.objects.create(work_order=wo, status=Survey.State.ANSWERED, expires_at=timezone.now(),
                                  answered_at=timezone.now(), satisfaction=4, needs_callback=True)
            open_order(equipment, days_ago=i, service_type=kind)

    some_orders(0)
    url = reverse("c360:customer", args=[customer.pk])
    client.force_login(agent)
    client.get(url)  # fills the per-process caches (roles, service types, technicians, SLA policies)
    few = _queries(client, url)
    for start in range(2, 12, 2):
        some_orders(start)
    assert _queries(client, url) == few


def _search(client, q):
    return client.get(reverse("c360:search"), {"q": q})


@pytest.mark.parametrize("typed", ["+86 139-1234-5678", "139 1234 5678", "13912345678", "0086 139 1234 5678",
                                   "5678"])
def test_search_finds_a_customer_by_phone_typed_any_way(client, agent, customer, typed):
    CustomerFactory(name="Someone Else", phone="+8613800000000")
    client.force_login(agent)
    html = _search(client, typed).content.decode()
    assert reverse("c360:customer", args=[customer.pk]) in html
    assert "Someone Else" not in html


@pytest.mark.parametrize("typed", ["Zhou", "zhou hua", "c-20931", "C-20931", "huaihai road", "AC-770", "ac-77001"])
def test_search_finds_a_customer_by_name_code_address_or_serial(client, agent, customer, typed):
    site = SiteFactory(customer=customer, address="8 Huaihai Road, Shanghai")
    EquipmentFactory(customer=customer, site=site, serial="AC-77001")
    CustomerFactory(name="Wang Fang")
    client.force_login(agent)
    html = _search(client, typed).content.decode()
    assert reverse("c360:customer", args=[customer.pk]) in html
    assert "Wang Fang" not in html


def test_search_ranks_the_closest_name_first(client, agent):
    far = CustomerFactory(name="Zhang Weiming Trading Company")
    close = CustomerFactory(name="Zhang Wei")
    client.force_login(agent)
    html = _search(client, "Zhang Wei").content.decode()
    assert html.index(reverse("c360:customer", args=[close.pk])) < html.index(reverse("c360:customer", args=[far.pk]))


@pytest.mark.parametrize("typed", ["x" * 101, "abc\x00"])
def test_bad_search_input_is_refused_with_a_message(client, agent, typed):
    client.force_login(agent)
    response = _search(client, typed)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_nothing_found_says_so(client, agent, customer):
    client.force_login(agent)
    assert "No customer matches." in _search(client, "Nobody Here At All").content.decode()


def test_the_queue_the_search_and_the_detail_link_office_staff_to_the_customer_page(client, agent, technician,
                                                                                    customer):
    equipment = EquipmentFactory(customer=customer)
    wo = WorkOrderFactory(customer=customer, site=equipment.site, equipment=equipment, technician=technician,
                          status=Status.ASSIGNED)
    customer_url = reverse("c360:customer", args=[customer.pk])
    client.force_login(agent)
    assert customer_url in client.get(reverse("staff:list")).content.decode()
    assert customer_url in client.get(reverse("staff:search"), {"q": "Zhou"}).content.decode()
    detail = client.get(reverse("staff:detail", args=[wo.pk])).content.decode()
    assert customer_url in detail and reverse("c360:equipment", args=[equipment.pk]) in detail
    # A technician sees the same pages without the links (the customer page is not theirs)
    client.force_login(technician.user)
    assert customer_url not in client.get(reverse("staff:list")).content.decode()
    assert customer_url not in client.get(reverse("staff:detail", args=[wo.pk])).content.decode()


def test_intake_links_a_repeat_caller_to_their_customer_page(client, agent, customer):
    client.force_login(agent)
    customer_url = reverse("c360:customer", args=[customer.pk])
    page = client.get(reverse("intake:staff-intake"), {"phone": "139 1234 5678"}).content.decode()
    assert customer_url in page
    found = client.get(reverse("intake:customer-lookup"), {"phone": "139 1234 5678"}).json()
    assert found["customer"]["url"] == customer_url
    new = client.get(reverse("intake:customer-lookup"), {"phone": "138 0000 9999"}).json()
    assert new["found"] is False and "customer" not in new


def test_the_api_finds_customers_for_office_roles_only(client, agent, technician, customer):
    url = reverse("api-customer-search")
    assert client.get(url, {"q": "Zhou"}).status_code in (401, 403)  # anonymous
    client.force_login(agent)
    body = client.get(url, {"q": "+86 139-1234-5678"}).json()
    assert body["customers"][0]["id"] == customer.pk and body["customers"][0]["matched"] == ["phone"]
    assert body["customers"][0]["url"] == reverse("c360:customer", args=[customer.pk])
    assert client.get(url, {"q": "x" * 101}).json()["error"] == "invalid"
    client.force_login(technician.user)
    assert client.get(url, {"q": "Zhou"}).status_code == 404


def test_two_characters_of_a_chinese_name_find_the_names_starting_with_them(client, agent):
    wang = CustomerFactory(name="王芳")
    wang_long = CustomerFactory(name="王芳华")
    other = CustomerFactory(name="李王芳")
    client.force_login(agent)
    html = _search(client, "王芳").content.decode()
    assert reverse("c360:customer", args=[wang.pk]) in html
    assert reverse("c360:customer", args=[wang_long.pk]) in html
    assert reverse("c360:customer", args=[other.pk]) not in html  # two characters: the start of a name
    # Three characters find them anywhere in a name
    inside = CustomerFactory(name="陈王芳华")
    assert reverse("c360:customer", args=[inside.pk]) in _search(client, "王芳华").content.decode()
