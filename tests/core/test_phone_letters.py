"""A phone number with letters in it is refused everywhere a phone number is read.

The phone-number library reads letters as the digits of a phone keypad ("138-CALL-5678" would
become +8613822555678); a number typed with letters is a typo or a trick, so it is refused with
a clear message and nothing is saved.
"""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.errors import InvalidInput
from core.validation import normalize_phone
from customers.models import Customer
from technicians.models import PartnerCompany
from tests.factories import CustomerFactory, UserFactory
from tests.workorders.test_api import request_body
from tests.workorders.test_intake_public import form_data
from workorders.models import WorkOrder

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

LETTERS = "138-CALL-5678"
MESSAGE = "Enter the phone number in digits; letters are not allowed."


@pytest.mark.parametrize("raw", [LETTERS, "1381234567a", "tel 13812345678", "138 1234 5678 ext 2", "一三八12345678"])
def test_the_normaliser_refuses_any_letter(raw):
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(raw, field="contact_phone")
    assert caught.value.fields == {"contact_phone": [MESSAGE]}


@pytest.mark.parametrize("raw", ["138 1234 5678", "+86 138-1234-5678", "(+86) 13812345678"])
def test_digits_with_the_usual_separators_still_pass(raw):
    assert normalize_phone(raw) == "+8613812345678"


def test_the_public_form_refuses_letters_and_saves_nothing(client, service_type):
    response = client.post("/request/", form_data(service_type, contact_phone=LETTERS))

    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    assert not WorkOrder.objects.exists() and not Customer.objects.exists()


def test_the_phone_intake_refuses_letters(client, agent):
    client.force_login(agent)

    looked_up = client.get("/staff/customers/lookup/", {"phone": LETTERS})

    assert looked_up.status_code == 400
    assert looked_up.json()["fields"]["phone"] == [MESSAGE]


def test_the_api_refuses_letters_and_saves_nothing(agent, service_type):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent).key}")

    response = api.post("/api/v1/work-orders/", request_body(contact_phone=LETTERS), format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["contact_phone"] == [MESSAGE]
    assert not WorkOrder.objects.exists()


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_admin_refuses_letters_in_a_customers_phone(admin_client):
    customer = CustomerFactory(phone="+8613812345678", name="Wang Fang")
    url = f"/admin/customers/customer/{customer.pk}/change/"
    form = {"name": "Wang Fang", "phone": LETTERS, "email": "", "tier": customer.tier, "language": "en",
            "notes": "", **_empty_inlines("sites"), **_empty_inlines("equipment")}

    response = admin_client.post(url, form)

    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    customer.refresh_from_db()
    assert customer.phone == "+8613812345678"


def test_the_admin_stores_a_typed_number_as_the_rest_of_the_system_does(admin_client):
    response = admin_client.post("/admin/technicians/partnercompany/add/", {
        "name": "Hao Service", "contact_phone": "139 1111 2222", "active": "on", **_empty_inlines("scopes"),
    })
    refused = admin_client.post("/admin/technicians/partnercompany/add/", {
        "name": "Trick Service", "contact_phone": "139-ABCD-2222", "active": "on", **_empty_inlines("scopes"),
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    assert PartnerCompany.objects.get(name="Hao Service").contact_phone == "+8613911112222"
    assert refused.status_code == 200 and MESSAGE in refused.content.decode()
    assert not PartnerCompany.objects.filter(name="Trick Service").exists()


def _empty_inlines(prefix):
    return {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
