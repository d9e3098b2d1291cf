"""An integration syncing work orders: ``updated_after`` and sorts by ``updated_at`` and
``created_at``, both ways, in cursor pages; ``external_ref`` set on creation and filtered on."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import WorkOrderFactory
from tests.workorders.test_api import LIST, api, detail_url, ids, request_body, walk  # noqa: F401
from workorders.models import WorkOrder

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)


def _touched(wo, at):
    """``wo`` as last changed at ``at``."""
    WorkOrder.objects.filter(pk=wo.pk).update(updated_at=at)
    wo.refresh_from_db()
    return wo


@pytest.fixture
def orders(db):
    """Seven orders: changed an hour apart, the last three in the same microsecond (ties by id);
    created in the opposite order."""
    made = []
    for i in range(7):
        wo = WorkOrderFactory(created_at=T0 - timedelta(days=i))
        made.append(_touched(wo, T0 + timedelta(hours=min(i, 4))))
    return made


def test_updated_after_and_before_select_what_changed(api, dispatcher, orders):
    client = api(dispatcher)

    def listed(**params):
        response = client.get(LIST, params)
        assert response.status_code == 200, response.json()
        return set(ids(response))

    assert listed(updated_after=(T0 + timedelta(hours=3)).isoformat()) == {wo.pk for wo in orders[3:]}
    assert listed(updated_before=(T0 + timedelta(hours=1)).isoformat()) == {orders[0].pk}
    assert listed(updated_after=T0.isoformat(), updated_before=(T0 + timedelta(hours=2)).isoformat()) == {
        orders[0].pk, orders[1].pk,
    }
    # In another offset, the same moment.
    utc = (T0 + timedelta(hours=3)).astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")
    assert listed(updated_after=utc) == {wo.pk for wo in orders[3:]}


@pytest.mark.parametrize("sort, key", [
    ("updated_at", lambda wo: (wo.updated_at, wo.pk)),
    ("-updated_at", lambda wo: (wo.updated_at, wo.pk)),
    ("created_at", lambda wo: (wo.created_at, wo.pk)),
    ("-created_at", lambda wo: (wo.created_at, wo.pk)),
])
def test_sorts_by_a_moment_walk_every_row_once_and_back(api, dispatcher, orders, sort, key):
    client = api(dispatcher)
    expected = [wo.pk for wo in sorted(orders, key=key, reverse=sort.startswith("-"))]

    pages = walk(client, LIST, {"sort": sort, "page_size": 2})

    assert [pk for page in pages for pk in page] == expected, "in order, ties by id, no gaps, no repeats"
    second = client.get(client.get(LIST, {"sort": sort, "page_size": 2}).json()["next"]).json()
    back = client.get(second["previous"]).json()
    assert ids_of(back) == expected[:2]


def ids_of(body):
    return [row["id"] for row in body["results"]]


def test_a_sync_picks_up_each_change_once(api, dispatcher, orders):
    """Given an integration that synced everything, when an order changes, then the next sync
    from the latest `updated_at` it saw finds that order (and what shares that moment)."""
    client = api(dispatcher)
    synced = [row for page in _walk_rows(client, {"sort": "updated_at", "page_size": 3}) for row in page]
    assert {row["id"] for row in synced} == {wo.pk for wo in orders}
    last_seen = synced[-1]["updated_at"]

    changed = orders[0]
    detail = client.get(detail_url(changed.pk))
    response = client.patch(detail_url(changed.pk), {"priority": 4}, format="json",
                            headers={"If-Match": detail["ETag"]})
    assert response.status_code == 200, response.json()

    again = [row for page in _walk_rows(client, {"sort": "updated_at", "updated_after": last_seen}) for row in page]
    assert again[-1]["id"] == changed.pk and again[-1]["priority"] == 4
    assert {row["id"] for row in again} == {changed.pk} | {wo.pk for wo in orders[4:]}, (
        "the change, and the orders of the last moment seen (updated_after includes it)"
    )


def _walk_rows(client, params):
    response = client.get(LIST, params)
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        yield body["results"]
        if body["next"] is None:
            return
        response = client.get(body["next"])


@pytest.mark.parametrize("params", [
    {"sort": "updated"},
    {"updated_after": "yesterday"},
    {"updated_before": "2026-06-01T09:00:00+23:00"},
])
def test_bad_sync_parameters_are_refused_naming_them(api, dispatcher, orders, params):
    response = api(dispatcher).get(LIST, params)

    assert response.status_code == 400
    assert set(params) <= set(response.json()["fields"])


def test_a_cursor_of_another_sort_is_refused(api, dispatcher, orders):
    client = api(dispatcher)
    by_time = client.get(LIST, {"sort": "-updated_at", "page_size": 2}).json()["next"]
    by_id = client.get(LIST, {"page_size": 2}).json()["next"]
    time_cursor = by_time.split("cursor=")[1].split("&")[0]
    id_cursor = by_id.split("cursor=")[1].split("&")[0]

    for params in ({"sort": "-id", "cursor": time_cursor}, {"sort": "priority", "cursor": time_cursor},
                   {"sort": "-updated_at", "cursor": id_cursor}):
        response = client.get(LIST, params)
        assert response.status_code == 400, params
        assert "cursor" in response.json()["fields"]


def test_a_page_sorted_by_a_moment_costs_the_same_queries_for_10_and_100_rows(
    api, dispatcher, django_assert_num_queries
):
    for i in range(120):
        WorkOrderFactory(priority=(i % 4) + 1)
    client = api(dispatcher)
    client.get(LIST, {"page_size": 1})  # fills the per-process caches
    params = {"sort": "-updated_at", "updated_after": "2020-01-01T00:00:00Z"}

    with CaptureQueriesContext(connection) as small:
        assert len(client.get(LIST, {**params, "page_size": 10}).json()["results"]) == 10
    with django_assert_num_queries(len(small)):
        body = client.get(LIST, {**params, "page_size": 100}).json()
    assert len(body["results"]) == 100
    with django_assert_num_queries(len(small)):
        assert client.get(body["next"]).json()["results"]
    assert len(small) <= 5, [q["sql"] for q in small]


def test_an_integration_creates_with_its_reference_and_finds_the_order_by_it(api, agent, service_type):
    client = api(agent)

    response = client.post(LIST, request_body(external_ref="  CRM-77  "), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["external_ref"] == "CRM-77"
    WorkOrderFactory()  # another order, without one

    assert ids(client.get(LIST, {"external_ref": "CRM-77"})) == [response.json()["id"]]
    assert ids(client.get(LIST, {"external_ref": "CRM-78"})) == []
    assert client.get(detail_url(response.json()["id"])).json()["external_ref"] == "CRM-77"


def test_a_reference_another_order_has_is_refused_and_nothing_is_created(api, agent, service_type):
    client = api(agent)
    assert client.post(LIST, request_body(external_ref="CRM-1"), format="json").status_code == 201
    count = WorkOrder.objects.count()

    response = client.post(LIST, request_body(external_ref="CRM-1", contact_phone="139 0000 1111"), format="json")

    assert response.status_code == 400
    assert "external_ref" in response.json()["fields"]
    assert WorkOrder.objects.count() == count


def test_a_blank_reference_is_none_and_many_orders_may_have_none(api, agent, service_type):
    client = api(agent)
    for phone in ("138 1234 5678", "139 0000 1111"):
        response = client.post(LIST, request_body(external_ref="", contact_phone=phone), format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["external_ref"] is None
