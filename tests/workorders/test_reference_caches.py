"""Reference data kept in each web process (core/refcache.py) still follows every edit.

Service types, SLA policies, the technician filter's names and users' roles are read
from memory instead of the database on each request. These stories check that an
edit (what Django admin does: a model save) is seen by the very next request, and
that another worker's edit is seen within a second.
"""

import uuid

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import refcache
from core import roles as R
from tests.factories import SlaPolicyFactory, TechnicianFactory, workorder_via_service

pytestmark = pytest.mark.django_db

LIST_URL = "/staff/work-orders/"


def api_as(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def create_body(code):
    return {
        "contact_name": "王芳",
        "contact_phone": "138 1234 5678",
        "address": "上海市浦东新区世纪大道100号",
        "service_type": code,
        "description": "空调漏水。",
    }


def test_a_service_type_retired_in_admin_is_refused_by_the_next_request(client, agent, service_type):
    api = api_as(agent)
    assert api.post("/api/v1/work-orders/", create_body("ac-repair"), format="json").status_code == 201
    assert "Air conditioner repair" in client.get("/request/").content.decode()

    service_type.active = False
    service_type.save()  # as the admin's change form does

    response = api.post("/api/v1/work-orders/", create_body("ac-repair"), format="json")
    assert response.status_code == 400
    assert "service_type" in response.json()["fields"]
    assert "Air conditioner repair" not in client.get("/request/").content.decode()


def test_a_renamed_service_type_shows_its_new_name_in_the_queue_filter(client, dispatcher, service_type):
    client.force_login(dispatcher)
    assert "Air conditioner repair" in client.get(LIST_URL).content.decode()

    service_type.name = "Air conditioning service"
    service_type.save()

    page = client.get(LIST_URL).content.decode()
    assert "Air conditioning service" in page and "Air conditioner repair" not in page


def test_an_edited_sla_policy_applies_to_the_next_new_order(service_type):
    policy = SlaPolicyFactory(service_type=service_type, first_response_minutes=60)
    first = workorder_via_service(service_type=service_type)
    assert (first.first_response_due - first.sla_started_at).total_seconds() == 60 * 60

    policy.first_response_minutes = 30
    policy.save()

    second = workorder_via_service(service_type=service_type)
    assert (second.first_response_due - second.sla_started_at).total_seconds() == 30 * 60


def test_a_renamed_technician_appears_under_the_new_name_in_the_queue_filter(client, dispatcher):
    tech = TechnicianFactory(user__first_name="Wei", user__last_name="Li")
    client.force_login(dispatcher)
    assert f'<option value="{tech.pk}">Wei Li</option>' in client.get(LIST_URL).content.decode()

    tech.user.last_name = "Zhang"
    tech.user.save()

    page = client.get(LIST_URL, {"technician": tech.pk}).content.decode()
    assert f'<option value="{tech.pk}" selected>Wei Zhang</option>' in page


def test_a_role_taken_away_ends_access_on_the_next_request(client, dispatcher):
    client.force_login(dispatcher)
    assert client.get(LIST_URL).status_code == 200

    dispatcher.groups.remove(Group.objects.get(name=R.DISPATCHER))

    assert client.get(LIST_URL).status_code == 403


def test_another_workers_change_is_seen_within_a_second_and_nothing_is_older_than_the_age_limit(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(refcache.time, "monotonic", lambda: clock[0])
    shared = refcache.VersionedCache("test-story")
    loads = []

    def load():
        loads.append(clock[0])
        return len(loads)

    assert shared.get("value", load) == 1
    assert shared.get("value", load) == 1  # kept: no second load

    cache.set(shared.key, f"bumped-by-another-worker-{uuid.uuid4().hex}", None)  # new in every run
    assert shared.get("value", load) == 1  # not looked at again within the second
    clock[0] += refcache.CHECK_SECONDS + 0.1
    assert shared.get("value", load) == 2  # seen

    clock[0] += refcache.MAX_AGE_SECONDS + 1  # no change announced, but too old
    assert shared.get("value", load) == 3
