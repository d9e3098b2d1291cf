""""My requests": a phone verified by an SMS code lists that phone's requests, for a short while."""

import copy
import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from notifications.models import Notification
from tests.factories import CustomerFactory, WorkOrderFactory
from workorders.lifecycle import Status

pytestmark = pytest.mark.django_db

URL = "/my-requests/"
PHONE = "+8613812345678"


@pytest.fixture(autouse=True)
def _limits(fresh_rate_limits, settings):
    settings.SELF_SERVICE_CODE_PHONE_RATE = "3/h"
    settings.SELF_SERVICE_CODE_IP_RATE = "10/h"
    settings.SELF_SERVICE_CHECK_IP_RATE = "100/h"
    settings.SELF_SERVICE_CODE_ATTEMPTS = 5


@pytest.fixture
def orders(db):
    wang = CustomerFactory(phone=PHONE)
    mine = [WorkOrderFactory(customer=wang), WorkOrderFactory(customer=wang, status=Status.CLOSED)]
    # Made for Wang by a neighbour's account, with Wang's phone as the contact: Wang's too.
    mine.append(WorkOrderFactory(contact_phone=PHONE))
    other = WorkOrderFactory(customer=CustomerFactory(phone="+8613900000000"))
    return mine, other


def ask_code(client, phone="138 1234 5678", **extra):
    return client.post(URL, {"step": "phone", "phone": phone}, **extra)


def sent_code(phone=PHONE) -> str:
    return Notification.objects.filter(template="selfservice_code", recipient=phone).latest("id").payload["code"]


def enter(client, code, phone=PHONE):
    return client.post(URL, {"step": "code", "phone": phone, "code": code})


def test_a_verified_phone_sees_its_own_requests_only(client, orders):
    mine, other = orders
    response = ask_code(client)
    assert response.status_code == 200 and 'id="code-form"' in response.content.decode()
    message = Notification.objects.get(template="selfservice_code")
    assert message.channel == Notification.Channel.SMS and message.recipient == PHONE

    assert enter(client, sent_code()).status_code == 302
    page = client.get(URL).content.decode()
    for order in mine:
        assert reverse("intake:track", args=[order.public_token]) in page
    assert other.number not in page and other.public_token not in page


def test_a_wrong_code_shows_nothing_and_a_code_works_once(client, orders):
    ask_code(client)
    code = sent_code()
    wrong = "000000" if code != "000000" else "111111"
    response = enter(client, wrong)
    assert response.status_code == 400 and "not right or has expired" in response.content.decode()
    assert orders[0][0].public_token not in client.get(URL).content.decode()
    assert enter(client, code).status_code == 302
    client.post(reverse("selfservice:sign-out"))
    assert enter(client, code).status_code == 400


def test_a_code_expires(client, orders, settings):
    ask_code(client)
    code = sent_code()
    stored = cache.get(f"selfservice:code:{PHONE}")
    stored["expires"] = time.time() - 1
    cache.set(f"selfservice:code:{PHONE}", stored, 60)
    assert enter(client, code).status_code == 400
    assert orders[0][0].public_token not in client.get(URL).content.decode()


def test_guessing_locks_the_phone_even_for_the_right_code(client, orders):
    ask_code(client)
    code = sent_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        assert enter(client, wrong).status_code == 400
    response = enter(client, wrong)
    assert response.status_code == 429 and "Too many wrong codes" in response.content.decode()
    assert enter(client, code).status_code == 429
    # Asking for a new code does not lift the lock.
    assert ask_code(client).status_code == 429
    assert Notification.objects.filter(template="selfservice_code").count() == 1


class _ReadsBeforeWrites:
    """The cache as guesses sent at the same moment see it: every one reads the code as it was
    before any of them wrote (the other calls go to the real cache)."""

    def __init__(self, real, key):
        self.real, self.key, self.first = real, key, real.get(key)

    def get(self, key, default=None, **kwargs):
        return copy.deepcopy(self.first) if key == self.key else self.real.get(key, default, **kwargs)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_guesses_at_the_same_moment_are_each_counted(client, orders, monkeypatch):
    from selfservice import services

    ask_code(client)
    code = sent_code()
    wrong = "000000" if code != "000000" else "111111"
    monkeypatch.setattr(services, "cache", _ReadsBeforeWrites(cache, f"selfservice:code:{PHONE}"))
    statuses = [enter(client, wrong).status_code for _ in range(12)]
    # Five wrong codes allowed, as one after the other; then the phone is locked, right code or not.
    assert statuses[:4] == [400] * 4 and set(statuses[4:]) == {429}
    response = enter(client, code)
    assert response.status_code == 429 and "Too many wrong codes" in response.content.decode()
    assert orders[0][0].public_token not in client.get(URL).content.decode()


def test_codes_entered_are_rate_limited_per_address(client, orders, settings):
    settings.SELF_SERVICE_CHECK_IP_RATE = "3/h"
    ask_code(client)
    code = sent_code()
    for phone in ("+8613811111111", "+8613822222222", "+8613833333333"):
        assert enter(client, "123456", phone=phone).status_code == 400
    # From this address no more codes are looked at, not even the right one for another phone.
    assert enter(client, code).status_code == 429
    assert orders[0][0].public_token not in client.get(URL).content.decode()
    # Another address is not affected.
    from django.test import Client

    assert enter(Client(REMOTE_ADDR="10.0.0.9"), code).status_code == 302


def test_codes_are_rate_limited_per_phone(client, orders):
    for _ in range(3):
        assert ask_code(client).status_code == 200
    assert ask_code(client).status_code == 429
    assert Notification.objects.filter(template="selfservice_code").count() == 3


def test_codes_are_rate_limited_per_address(client, orders, settings):
    settings.SELF_SERVICE_CODE_IP_RATE = "2/h"
    assert ask_code(client, phone="+8613811111111").status_code == 200
    assert ask_code(client, phone="+8613822222222").status_code == 200
    assert ask_code(client).status_code == 429
    assert not Notification.objects.filter(template="selfservice_code", recipient=PHONE).exists()


def test_a_number_without_requests_gets_the_same_page_and_no_sms(client, orders):
    response = ask_code(client, phone="+8613755555555")
    assert response.status_code == 200 and 'id="code-form"' in response.content.decode()
    assert not Notification.objects.filter(template="selfservice_code").exists()


def test_a_bad_phone_is_refused(client):
    response = ask_code(client, phone="call me")
    assert response.status_code == 400
    assert not Notification.objects.exists()


def test_the_session_is_short_lived(client, orders):
    ask_code(client)
    enter(client, sent_code())
    session = client.session
    session["selfservice"]["until"] = time.time() - 1
    session.save()
    page = client.get(URL).content.decode()
    assert 'id="phone-form"' in page and orders[0][0].public_token not in page


def test_the_page_speaks_chinese(orders):
    from django.test import Client

    page = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(URL).content.decode()
    assert "我的服务申请" in page
