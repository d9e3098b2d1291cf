"""The user behind a session and API tokens are read from memory (core/auth.py), yet
a deactivated user, a changed password or a revoked token stops working at once in
the process that made the change, within a second in the others, and within
``AUTH_MAX_AGE_SECONDS`` whatever way the row was changed."""

import uuid

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import auth, refcache

pytestmark = pytest.mark.django_db

LIST_URL = "/staff/work-orders/"
API_URL = "/api/v1/work-orders/"


def api_with(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def clock(monkeypatch):
    """The refcache clock, moved by hand (``clock[0] += seconds``)."""
    now = [5000.0]
    monkeypatch.setattr(refcache.time, "monotonic", lambda: now[0])
    return now


def test_a_user_deactivated_in_admin_is_refused_on_the_next_request(client, dispatcher):
    client.force_login(dispatcher)
    api = api_with(Token.objects.create(user=dispatcher).key)
    assert client.get(LIST_URL).status_code == 200
    assert api.get(API_URL).status_code == 200

    dispatcher.is_active = False
    dispatcher.save()  # what the admin's change form does

    response = client.get(LIST_URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = api.get(API_URL)
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"


def test_a_deleted_token_is_refused_and_a_new_one_works(agent):
    token = Token.objects.create(user=agent)
    old = api_with(token.key)
    assert old.get(API_URL).status_code == 200

    token.delete()
    assert old.get(API_URL).status_code == 401

    new = api_with(Token.objects.create(user=agent).key)
    assert new.get(API_URL).status_code == 200
    assert old.get(API_URL).status_code == 401


def test_deleting_a_user_ends_their_session_and_their_token(client, dispatcher):
    client.force_login(dispatcher)
    api = api_with(Token.objects.create(user=dispatcher).key)
    assert client.get(LIST_URL).status_code == 200 and api.get(API_URL).status_code == 200

    dispatcher.delete()

    assert client.get(LIST_URL).status_code == 302
    assert api.get(API_URL).status_code == 401


def test_a_changed_password_logs_out_other_sessions(client, dispatcher):
    client.force_login(dispatcher)
    assert client.get(LIST_URL).status_code == 200

    dispatcher.set_password("a-new-secret-1234")
    dispatcher.save()

    assert client.get(LIST_URL).status_code == 302


def test_a_known_user_and_token_cost_no_query(client, dispatcher):
    client.force_login(dispatcher)
    api = api_with(Token.objects.create(user=dispatcher).key)
    client.get(LIST_URL)
    api.get(API_URL)
    with CaptureQueriesContext(connection) as ctx:
        api.get(API_URL)
    assert not any("authtoken_token" in q["sql"] or 'FROM "auth_user"' in q["sql"] for q in ctx.captured_queries)
    with CaptureQueriesContext(connection) as ctx:
        client.get(LIST_URL)
    assert not any('FROM "auth_user"' in q["sql"] for q in ctx.captured_queries)


def test_another_workers_deactivation_is_seen_within_a_second(dispatcher, clock):
    api = api_with(Token.objects.create(user=dispatcher).key)
    assert api.get(API_URL).status_code == 200

    # Another worker saves the user: the row changes and that worker writes a new
    # version token; this process has not heard of it yet.
    User.objects.filter(pk=dispatcher.pk).update(is_active=False)
    cache.set(auth.USERS.key, f"bumped-by-another-worker-{uuid.uuid4().hex}", None)
    assert api.get(API_URL).status_code == 200  # its copy, for at most a second

    clock[0] += refcache.CHECK_SECONDS + 0.1
    assert api.get(API_URL).status_code == 401


def test_another_workers_token_deletion_is_seen_within_a_second(agent, clock):
    token = Token.objects.create(user=agent)
    api = api_with(token.key)
    assert api.get(API_URL).status_code == 200

    Token.objects.filter(pk=token.pk)._raw_delete(connection.alias)  # the row gone, no signal here
    cache.set(auth.TOKENS.key, f"bumped-by-another-worker-{uuid.uuid4().hex}", None)
    clock[0] += refcache.CHECK_SECONDS + 0.1
    assert api.get(API_URL).status_code == 401


def test_a_change_that_sends_no_signal_is_seen_within_the_age_limit(client, dispatcher, clock):
    client.force_login(dispatcher)
    api = api_with(Token.objects.create(user=dispatcher).key)
    assert client.get(LIST_URL).status_code == 200 and api.get(API_URL).status_code == 200

    User.objects.filter(pk=dispatcher.pk).update(is_active=False)  # no signal, no version token
    clock[0] += refcache.CHECK_SECONDS + 0.1
    assert api.get(API_URL).status_code == 200  # still the kept row ...

    clock[0] += auth.AUTH_MAX_AGE_SECONDS
    assert api.get(API_URL).status_code == 401  # ... but never for longer than the limit
    assert client.get(LIST_URL).status_code == 302


def test_each_request_gets_its_own_user_instance(dispatcher):
    first = auth.user_by_pk(dispatcher.pk)
    first.first_name = "changed in one request"
    first._role_names = frozenset({"manager"})
    second = auth.user_by_pk(dispatcher.pk)
    assert second is not first
    assert second.first_name == dispatcher.first_name
    assert not hasattr(second, "_role_names")


def test_unknown_tokens_are_refused_and_not_remembered(agent):
    Token.objects.create(user=agent)
    before = len(auth.TOKENS._values)
    for n in range(20):
        response = api_with(f"{n:040x}").get(API_URL)
        assert response.status_code == 401
        assert response.json()["error"] == "authentication_failed"
    assert len(auth.TOKENS._values) == before
