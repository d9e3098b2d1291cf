"""Phone intake for agents at /staff/work-orders/new/: a repeat caller is recognised by phone."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core import roles as R
from customers.models import Customer, Site
from tests.factories import CustomerFactory, EquipmentFactory, SiteFactory, UserFactory
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db

URL = "/staff/work-orders/new/"
LOOKUP = "/staff/customers/lookup/"


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def caller():
    """A repeat caller with two sites and a piece of equipment at the second."""
    customer = CustomerFactory(name="Zhou Min", phone="+8613812345678", email="zhou@example.com")
    home = SiteFactory(customer=customer, label="Home", address="12 Lotus Road, Minhang")
    shop = SiteFactory(customer=customer, label="Shop", address="300 Nanjing Road, Huangpu")
    fridge = EquipmentFactory(customer=customer, site=shop, serial="FRIDGE-0042", brand="Midea", model="BCD-520")
    return customer, home, shop, fridge


@pytest.fixture
def stranger():
    """Someone else's site and equipment, which must never be offered to or linked from Zhou's call."""
    other = CustomerFactory(name="Qian Other", phone="+8613700000000")
    return SiteFactory(customer=other, address="9 Elsewhere Street"), EquipmentFactory(customer=other, serial="NOT-ZHOU")


def save_data(service_type, **overrides):
    data = {
        "submission_key": str(uuid.uuid4()),
        "contact_phone": "138 1234 5678",
        "contact_name": "Zhou Min",
        "contact_email": "",
        "site": "",
        "address": "",
        "equipment": "",
        "service_type": service_type.pk,
        "description": "Fridge is warm since yesterday.",
        "priority": WorkOrder.Priority.URGENT,
        "save": "1",
    }
    data.update(overrides)
    return data


# -- who may use it -----------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/staff/work-orders/new/")
    assert client.get(LOOKUP, {"phone": "13812345678"}).status_code == 401


@pytest.mark.parametrize("who", ["technician", "partner_technician", "nobody"])
def test_field_staff_and_users_without_a_role_are_forbidden(client, who, request, service_type):
    user = UserFactory(username="nobody") if who == "nobody" else request.getfixturevalue(who).user
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert client.post(URL, save_data(service_type, address="1 Road")).status_code == 403
    assert client.get(LOOKUP, {"phone": "13812345678"}).status_code == 403
    assert WorkOrder.objects.count() == 0


@pytest.mark.parametrize("who", ["agent", "dispatcher", "manager"])
def test_office_roles_may_take_a_request(client, who, request, service_type):
    client.force_login(request.getfixturevalue(who))
    assert client.get(URL).status_code == 200
    response = client.post(URL, save_data(service_type, address="5 Tianshan Road"))
    wo = WorkOrder.objects.get()
    assert response.status_code == 302
    assert wo.events.get().actor_role == who


# -- a repeat caller ----------------------------------------------------------


@pytest.mark.parametrize("spelling", ["138 1234 5678", "+86 13812345678", "+86-138-1234-5678", "13812345678"])
def test_a_repeat_caller_is_recognised_whatever_the_spelling_and_their_sites_offered(
    client, agent, caller, stranger, spelling
):
    customer, home, shop, fridge = caller
    client.force_login(agent)
    # When the agent types the number and presses "Look up" (no JavaScript)
    response = client.post(URL, {"contact_phone": spelling, "description": "half-typed note", "lookup": "1"})
    # Then the page says who it is, and offers their sites and equipment, and no one else's
    assert response.status_code == 200
    html = response.content.decode()
    assert "Repeat caller: Zhou Min" in html
    form = response.context["form"]
    assert [c[0] for c in form.fields["site"].choices][1:] == [home.pk, shop.pk]
    assert [c[0] for c in form.fields["equipment"].choices][1:] == [fridge.pk]
    assert "12 Lotus Road, Minhang" in html and "300 Nanjing Road, Huangpu" in html and "FRIDGE-0042" in html
    assert "9 Elsewhere Street" not in html and "NOT-ZHOU" not in html
    # And the caller's name and email are filled in; what was typed is kept; no errors yet
    assert form["contact_name"].value() == "Zhou Min"
    assert form["contact_email"].value() == "zhou@example.com"
    assert "half-typed note" in html
    assert not form.errors


def test_the_json_lookup_gives_the_same_caller_for_the_page_script(client, agent, caller):
    customer, home, shop, fridge = caller
    client.force_login(agent)
    data = client.get(LOOKUP, {"phone": "+86 138 1234 5678"}).json()
    assert data["found"] is True
    assert data["phone"] == "+8613812345678"
    assert data["customer"]["name"] == "Zhou Min"
    assert [s["id"] for s in data["sites"]] == [home.pk, shop.pk]
    assert data["equipment"] == [{"id": fridge.pk, "label": "Midea BCD-520 #FRIDGE-0042 (Shop)", "site": shop.pk}]


def test_retired_equipment_is_not_offered_on_the_page_or_in_the_lookup(client, agent, caller):
    customer, home, shop, fridge = caller
    EquipmentFactory(customer=customer, site=shop, serial="OLD-FRIDGE-0001", active=False)
    client.force_login(agent)

    response = client.post(URL, {"contact_phone": "13812345678", "description": "", "lookup": "1"})
    assert [c[0] for c in response.context["form"].fields["equipment"].choices][1:] == [fridge.pk]
    assert "OLD-FRIDGE-0001" not in response.content.decode()
    assert [e["id"] for e in client.get(LOOKUP, {"phone": "13812345678"}).json()["equipment"]] == [fridge.pk]


def test_the_json_lookup_of_a_new_number_or_a_bad_number(client, agent):
    client.force_login(agent)
    assert client.get(LOOKUP, {"phone": "139 0000 2222"}).json() == {
        "found": False,
        "phone": "+8613900002222",
        "message": "New caller: a customer record will be created.",
    }
    bad = client.get(LOOKUP, {"phone": "12"})
    assert bad.status_code == 400
    assert list(bad.json()["fields"]) == ["phone"]


def test_the_page_also_looks_up_from_the_address_bar(client, agent, caller):
    client.force_login(agent)
    response = client.get(URL, {"phone": "138-1234-5678"})
    assert "Repeat caller: Zhou Min" in response.content.decode()
    assert len(response.context["form"].fields["site"].choices) == 3


def test_the_new_work_order_links_to_the_chosen_site_and_equipment(client, agent, caller, service_type):
    customer, home, shop, fridge = caller
    client.force_login(agent)
    start = timezone.localtime() + timedelta(days=1)
    response = client.post(
        URL,
        save_data(
            service_type,
            contact_phone="+86 138 1234 5678",
            site=shop.pk,
            equipment=fridge.pk,
            preferred_start=start.strftime("%Y-%m-%dT14:00"),
            preferred_end=start.strftime("%Y-%m-%dT16:00"),
        ),
    )
    wo = WorkOrder.objects.get()
    # Then the agent lands on the work order's staff page
    assert response.status_code == 302
    assert response["Location"] == f"/staff/work-orders/{wo.pk}/"
    # And it belongs to the known customer, at the chosen site, for the chosen equipment
    assert (wo.customer, wo.site, wo.equipment) == (customer, shop, fridge)
    assert wo.address == "300 Nanjing Road, Huangpu"
    assert wo.channel == WorkOrder.Channel.PHONE
    assert wo.created_by == agent
    assert wo.priority == WorkOrder.Priority.URGENT
    assert wo.contact_phone == "+8613812345678"
    event = wo.events.get()
    assert (event.action, event.actor, event.actor_role) == ("create", agent, R.AGENT)
    # And no customer or site was added
    assert Customer.objects.count() == 1
    assert Site.objects.filter(customer=customer).count() == 2


def test_choosing_only_the_equipment_puts_the_work_at_its_site(client, agent, caller, service_type):
    customer, home, shop, fridge = caller
    client.force_login(agent)
    client.post(URL, save_data(service_type, equipment=fridge.pk))
    wo = WorkOrder.objects.get()
    assert (wo.site, wo.equipment) == (shop, fridge)


def test_a_repeat_caller_at_a_new_address_gets_a_new_site(client, agent, caller, service_type):
    customer, *_ = caller
    client.force_login(agent)
    client.post(URL, save_data(service_type, address="77 New Flat Road, Xuhui"))
    wo = WorkOrder.objects.get()
    assert wo.customer == customer
    assert wo.site.address == "77 New Flat Road, Xuhui"
    assert Site.objects.filter(customer=customer).count() == 3
    assert Customer.objects.count() == 1


def test_another_customers_site_or_equipment_cannot_be_linked(client, agent, caller, stranger, service_type):
    other_site, other_equipment = stranger
    client.force_login(agent)
    response = client.post(URL, save_data(service_type, site=other_site.pk, equipment=other_equipment.pk))
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"site", "equipment"}
    assert WorkOrder.objects.count() == 0


# -- a new caller -------------------------------------------------------------


def test_a_new_caller_creates_exactly_one_customer_and_site(client, agent, service_type):
    client.force_login(agent)
    # The agent looks the number up first: nobody known
    looked = client.post(URL, {"contact_phone": "139 1111 2222", "lookup": "1"})
    assert "New caller: a customer record will be created." in looked.content.decode()
    assert Customer.objects.count() == 0
    # Then saves, with a double click
    data = save_data(service_type, contact_phone="139 1111 2222", contact_name="Sun Li", address="3 Maple Road")
    client.post(URL, data)
    client.post(URL, data)
    customer = Customer.objects.get()
    assert (customer.name, customer.phone) == ("Sun Li", "+8613911112222")
    wo = WorkOrder.objects.get()
    assert (wo.customer, wo.site.address, wo.site.customer) == (customer, "3 Maple Road", customer)
    # A second call from the same person, spelled differently, finds the same record
    client.post(URL, save_data(service_type, contact_phone="+86 139-1111-2222", contact_name="Sun Li",
                               address="3 Maple Road"))
    assert Customer.objects.count() == 1
    assert WorkOrder.objects.count() == 2
    assert Site.objects.count() == 1


# -- bad input ----------------------------------------------------------------


def test_a_bad_phone_on_look_up_is_shown_beside_the_phone_field(client, agent):
    client.force_login(agent)
    response = client.post(URL, {"contact_phone": "555", "lookup": "1"})
    assert response.context["form"].errors == {
        "contact_phone": ["Enter a valid mobile phone number, for example 138 1234 5678."]
    }
    assert 'value="555"' in response.content.decode()


def test_save_errors_name_their_fields_and_save_nothing(client, agent, service_type):
    client.force_login(agent)
    day = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%d")
    response = client.post(
        URL,
        save_data(
            service_type,
            contact_phone="12",
            contact_email="not-an-email",
            description="",
            preferred_start=f"{day}T12:00",
            preferred_end=f"{day}T10:00",
        ),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"contact_phone", "contact_email", "description", "address", "preferred_end"}
    assert WorkOrder.objects.count() == Customer.objects.count() == 0

    response = client.post(URL, save_data(service_type, address="1 Road", preferred_start=f"{day}T12:00",
                                          preferred_end=f"{day}T10:00"))
    assert response.context["form"].errors == {
        "preferred_end": ["The end of the time window must be after its start."]
    }
    assert WorkOrder.objects.count() == 0


def test_look_up_without_a_number_asks_for_one(client, agent):
    client.force_login(agent)
    response = client.post(URL, {"contact_phone": "", "lookup": "1"})
    assert response.context["form"].errors == {"contact_phone": ["This field is required."]}
    assert "New caller" not in response.content.decode()


def test_a_bad_number_in_the_address_bar_is_not_called_a_new_caller(client, agent):
    client.force_login(agent)
    response = client.get(URL, {"phone": "abc"})
    assert list(response.context["form"].errors) == ["contact_phone"]
    assert "New caller" not in response.content.decode()


def test_a_site_and_a_new_address_together_are_ambiguous(client, agent, caller, service_type):
    customer, home, shop, fridge = caller
    client.force_login(agent)
    response = client.post(URL, save_data(service_type, site=home.pk, address="77 New Flat Road"))
    assert response.context["form"].errors == {"address": ["Choose a site or type a new address, not both."]}
    assert WorkOrder.objects.count() == 0
