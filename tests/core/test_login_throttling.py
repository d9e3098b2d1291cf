"""Login throttling (django-axes) on every login path: the login page, the admin's and the API token.

After LOGIN_FAILURE_LIMIT (5) wrong passwords for one username from one address, that pair is
refused, even with the right password, for LOGIN_LOCKOUT_MINUTES (15) or until an administrator
unlocks it. Pages show a page, the API answers 429 with its usual error body.
"""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from axes.models import AccessAttempt
from core import roles as R
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN = "/admin/login/"
API = "/api/v1/auth/token/"
PATHS = [LOGIN, ADMIN, API]


@pytest.fixture
def dispatcher(db):
    return UserFactory(username="dispatcher", roles=[R.DISPATCHER], is_staff=True)  # password "pw"


def attempt(client, path, password, *, username="dispatcher", **extra):
    data = {"username": username, "password": password}
    if path == API:
        return client.post(path, data, content_type="application/json", **extra)
    return client.post(path, data, **extra)


def logged_in(answer, path) -> bool:
    """Whether the answer to an attempt on ``path`` let the user in."""
    if path == API:
        return answer.status_code == 200 and "token" in answer.json()
    return answer.status_code == 302


def fail_until_locked(client, path, **extra):
    answers = [attempt(client, path, "wrong", **extra) for _ in range(5)]
    assert [a.status_code for a in answers[:4]] == [400 if path == API else 200] * 4  # "wrong password"
    return answers[-1]


def assert_locked_out(answer, path):
    assert answer.status_code == 429
    if path == API:
        body = answer.json()
        assert body["error"] == "locked_out"
        assert "Try again in 15 minutes" in body["detail"]
        assert answer["Retry-After"] == "900"
    else:
        page = answer.content.decode()
        assert "Too many failed logins" in page and "Try again in 15 minutes" in page


@pytest.mark.parametrize("path", PATHS)
def test_five_wrong_passwords_lock_the_right_one_out(client, dispatcher, path):
    # Given five wrong passwords for one user from one address
    fifth = fail_until_locked(client, path)
    # Then the fifth answer already says so
    assert_locked_out(fifth, path)
    # When the right password comes next
    answer = attempt(client, path, "pw")
    # Then it is refused as well, and nobody is logged in
    assert_locked_out(answer, path)
    assert not logged_in(answer, path)
    assert client.get("/staff/work-orders/").status_code == 302  # to the login page


@pytest.mark.parametrize("path", PATHS)
def test_another_address_or_another_user_is_not_locked(client, dispatcher, path):
    UserFactory(username="agent", roles=[R.AGENT], is_staff=True)
    fail_until_locked(client, path, REMOTE_ADDR="198.51.100.7")
    # The same user from another address gets in
    assert logged_in(attempt(Client(), path, "pw", REMOTE_ADDR="198.51.100.8"), path)
    # ... and another user from the locked address too
    assert logged_in(attempt(Client(), path, "pw", username="agent", REMOTE_ADDR="198.51.100.7"), path)
    # ... while the locked pair stays locked
    assert_locked_out(attempt(Client(), path, "pw", REMOTE_ADDR="198.51.100.7"), path)


@pytest.mark.parametrize("path", PATHS)
def test_a_forged_x_forwarded_for_does_not_reset_the_count(client, dispatcher, path):
    # Given an attacker who sends another X-Forwarded-For with every guess
    for n in range(4):
        attempt(client, path, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    # Then the fifth guess locks them out all the same, with the right password refused after it
    assert_locked_out(attempt(client, path, "wrong", HTTP_X_FORWARDED_FOR="203.0.113.99"), path)
    assert_locked_out(attempt(client, path, "pw", HTTP_X_FORWARDED_FOR="192.0.2.1"), path)


def test_behind_a_trusted_proxy_the_client_is_the_address_the_proxy_saw(client, dispatcher, settings):
    # Given one proxy in front, which appends the address it received the connection from
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    # When a client at 198.51.100.7 guesses five times, writing its own X-Forwarded-For in front
    for n in range(5):
        attempt(client, LOGIN, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.7", **proxy)
    # Then that client is locked out, whatever it writes in front
    locked = attempt(client, LOGIN, "pw", HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.7", **proxy)
    assert_locked_out(locked, LOGIN)
    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"
    # ... while another client behind the same proxy logs in
    assert logged_in(attempt(Client(), LOGIN, "pw", HTTP_X_FORWARDED_FOR="198.51.100.8", **proxy), LOGIN)


@pytest.mark.parametrize("path", PATHS)
def test_after_the_lockout_time_the_right_password_works_again(client, dispatcher, path):
    fail_until_locked(client, path)
    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        assert_locked_out(attempt(client, path, "pw"), path)
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert logged_in(attempt(client, path, "pw"), path)


def test_a_successful_login_forgets_the_earlier_failures(client, dispatcher):
    for _ in range(4):
        attempt(client, API, "wrong")
    assert logged_in(attempt(client, API, "pw"), API)
    for _ in range(4):
        attempt(Client(), LOGIN, "wrong")
    assert logged_in(attempt(Client(), LOGIN, "pw"), LOGIN)
    assert logged_in(attempt(Client(), API, "pw"), API)


def test_an_administrator_unlocks_a_user_in_admin(client, dispatcher):
    # Given a dispatcher locked out
    fail_until_locked(client, LOGIN)
    assert_locked_out(attempt(client, LOGIN, "pw"), LOGIN)
    # When an administrator finds the attempts in admin and deletes them
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "dispatcher" in listing.content.decode()
    locked = AccessAttempt.objects.get(username="dispatcher")
    assert admin.post(f"/admin/axes/accessattempt/{locked.pk}/delete/", {"post": "yes"}).status_code == 302
    # Then the dispatcher logs in at once
    assert logged_in(attempt(client, LOGIN, "pw"), LOGIN)


def test_the_lockout_speaks_chinese_to_a_chinese_browser(dispatcher):
    browser = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    fail_until_locked(browser, LOGIN)
    page = attempt(browser, LOGIN, "pw")
    assert page.status_code == 429 and "登录失败次数过多" in page.content.decode()
    api = Client(HTTP_ACCEPT_LANGUAGE="zh-hans", REMOTE_ADDR="198.51.100.9")
    fail_until_locked(api, API)
    assert "登录失败次数过多" in attempt(api, API, "pw").json()["detail"]


def test_one_count_for_all_three_paths(client, dispatcher):
    # Two wrong passwords on the page, two in admin and one to the API lock every path
    for path in (LOGIN, LOGIN, ADMIN, ADMIN):
        attempt(client, path, "wrong")
    assert_locked_out(attempt(client, API, "wrong"), API)
    for path in PATHS:
        assert_locked_out(attempt(client, path, "pw"), path)


def test_the_lockout_holds_with_redis_down(client, dispatcher, private_redis):
    private_redis.stop()
    assert_locked_out(fail_until_locked(client, LOGIN), LOGIN)
    assert_locked_out(attempt(client, LOGIN, "pw"), LOGIN)
    assert logged_in(attempt(Client(), LOGIN, "pw", REMOTE_ADDR="198.51.100.8"), LOGIN)
