"""The cache (core/cache.py) with Redis unreachable: misses instead of errors, rate limits
counted in memory, and nothing changed during the outage read stale once Redis is back.

Each test runs its own redis-server (``private_redis``) and stops or freezes it.
"""

import logging
import time

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from core import roles as R
from tests.factories import ServiceTypeFactory, UserFactory
from tests.workorders.test_intake_public import form_data
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def test_with_redis_stopped_the_cache_answers_as_a_miss_and_says_so_once(private_redis, caplog):
    cache = caches["default"]
    cache.set("greeting", "hello")
    assert cache.get("greeting") == "hello"
    # Given Redis stops
    private_redis.stop()
    # When code reads and writes the cache
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        assert cache.get("greeting", "fallback") == "fallback"
        cache.set("greeting", "bonjour")
        assert cache.add("other", 1) is False
        assert cache.get_many(["greeting", "other"]) == {}
        assert "greeting" not in cache
        assert cache.delete("greeting") is False
        assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
        with pytest.raises(ValueError):
            cache.incr("counter")
        assert cache.get_or_set("computed", lambda: 42) == 42
        for _ in range(50):
            cache.get("greeting")
    # Then nothing raised, and the outage was logged once, not once per call
    warnings = [r for r in caplog.records if r.name == "core.cache"]
    assert len(warnings) == 1 and "Cache unreachable" in warnings[0].getMessage()
    assert caches["default"].ping() is False


def test_while_redis_is_down_the_public_form_is_still_limited_per_process(private_redis, settings):
    settings.PUBLIC_FORM_RATE = "3/m"
    service_type = ServiceTypeFactory()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    # Given Redis is down
    private_redis.stop()
    # When one address posts the form four times (within one rate window: the clock stands still,
    # or a slow machine's four posts may straddle the window's edge)
    with time_machine.travel(time.time(), tick=False):
        # (four callers: one caller's repeats would join the first request)
        answers = [client.post("/request/", form_data(service_type, contact_phone=f"138 1234 56{n:02d}")).status_code
                   for n in range(4)]
    # Then the first three are taken and the fourth is refused, as with Redis
    assert answers == [302, 302, 302, 429]
    assert WorkOrder.objects.count() == 3
    # ... and another address is not limited
    assert client.post("/request/", form_data(service_type), REMOTE_ADDR="10.1.2.3").status_code == 302


def test_a_session_ended_while_redis_did_not_answer_is_not_revived_when_it_answers_again(private_redis):
    # Given a dispatcher logged in, with their session kept in Redis
    UserFactory(username="dispatcher", roles=[R.DISPATCHER], is_staff=True)
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert browser.post("/accounts/login/", {"username": "dispatcher", "password": "pw"}).status_code == 302
    assert browser.get(reverse("staff:list")).status_code == 200
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value
    # When Redis stops answering but keeps its data (a network partition) ...
    private_redis.freeze()
    # ... they log out (the session row is deleted; the copy in Redis cannot be)
    assert browser.post(reverse("logout")).status_code == 302
    # ... and Redis answers again with the old copy still in it
    private_redis.thaw()
    time.sleep(0.3)  # past the 0.2 s the test's cache waits before trying Redis again
    # Then the old session cookie opens nothing
    stolen = Client(HTTP_ACCEPT_LANGUAGE="en")
    stolen.cookies[settings.SESSION_COOKIE_NAME] = cookie
    answer = stolen.get(reverse("staff:list"))
    assert answer.status_code == 302 and answer.url.startswith(reverse("login"))
    # ... while logging in again works, with Redis in use again
    assert browser.post("/accounts/login/", {"username": "dispatcher", "password": "pw"}).status_code == 302
    assert browser.get(reverse("staff:list")).status_code == 200
    assert caches["default"].ping() is True
