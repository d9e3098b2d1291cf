"""How the API list is written: the JSON an integration reads, whatever path wrote it.

The list's body is written by orjson (core.renderers); these check that a client gets
what DRF's own JSON renderer writes: compact UTF-8, U+2028/U+2029 escaped, datetimes
as ISO 8601 in local time, the same rows as the serializer describes, and the
pretty-printed and browsable forms still there.
"""

import json
from datetime import UTC, datetime

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.authtoken.models import Token
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from core.renderers import FastJSONRenderer, PlainBody
from tests.factories import WorkOrderFactory
from workorders.api.output import WorkOrderSerializer
from workorders.lifecycle import Status
from workorders.models import WorkOrder

LIST = "/api/v1/work-orders/"


@pytest.fixture
def client(dispatcher):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=dispatcher).key}")
    return client


def drf_json(data) -> bytes:
    """What DRF's JSONRenderer writes for ``data`` with this project's settings."""
    return JSONRenderer().render(data, "application/json")


def test_the_list_is_compact_utf8_json_as_drfs_renderer_writes_it(client, technician):
    wo = WorkOrderFactory(
        status=Status.ASSIGNED,
        technician=technician,
        description="空调漏水\u2028第二行\u2029 \"quoted\" \\ \x01 é",
        preferred_start=datetime(2026, 5, 1, 1, 0, 0, 123456, tzinfo=UTC),
        preferred_end=datetime(2026, 5, 1, 4, 0, tzinfo=UTC),
    )

    response = client.get(LIST)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert response.content == drf_json(body)
    assert b"\\u2028" in response.content and "空调漏水".encode() in response.content
    (row,) = body["results"]
    assert row["number"] == wo.number
    assert row["description"] == wo.description
    assert row["preferred_start"] == "2026-05-01T09:00:00.123456+08:00"
    assert row["preferred_end"] == "2026-05-01T12:00:00+08:00"
    assert datetime.fromisoformat(row["created_at"]) == wo.created_at
    assert row["created_at"].endswith("+08:00")
    assert body["next"] is None and body["previous"] is None


def test_a_time_from_before_standard_time_is_written_in_utc_not_rounded(client):
    """Shanghai's local mean time was +08:05:43, an offset RFC 3339 (the schema's date-time)
    cannot write: the moment goes in UTC, exactly, in the list, the detail and a create's answer."""
    wo = WorkOrderFactory(preferred_start=datetime(1890, 1, 1, tzinfo=UTC))

    response = client.get(LIST)

    (row,) = response.json()["results"]
    assert row["preferred_start"] == "1890-01-01T00:00:00+00:00"
    assert response.content == drf_json(response.json())
    assert client.get(f"{LIST}{wo.pk}/").json()["preferred_start"] == "1890-01-01T00:00:00+00:00"
    assert WorkOrderSerializer(wo).data["preferred_start"] == "1890-01-01T00:00:00+00:00"


def test_list_rows_are_the_serializers_rows(client, dispatcher, technician):
    WorkOrderFactory(status=Status.ASSIGNED, technician=technician, priority=1)
    WorkOrderFactory(status=Status.NEW)

    rows = client.get(LIST).json()["results"]

    context = {"request": type("R", (), {"user": dispatcher})()}
    for row in rows:
        expected = WorkOrderSerializer(WorkOrder.objects.get(pk=row["id"]), context=context).data
        assert row == json.loads(drf_json(expected))


def test_the_list_pretty_printed_and_in_the_browsable_api(client):
    wo = WorkOrderFactory(preferred_start=datetime(2026, 5, 1, 1, 0, tzinfo=UTC))
    compact = client.get(LIST).json()

    pretty = client.get(LIST, HTTP_ACCEPT="application/json; indent=4")
    assert pretty.status_code == 200
    assert pretty.content.decode() == json.dumps(compact, indent=4, ensure_ascii=False)

    page = client.get(LIST, HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert wo.number in page.content.decode()
    assert "2026-05-01T09:00:00+08:00" in page.content.decode()

    assert client.get(LIST, {"format": "json"}).json() == compact


def test_a_valid_status_filter_then_bad_ones_are_each_answered_as_alone(client):
    new = WorkOrderFactory(status=Status.NEW)
    WorkOrderFactory(status=Status.CANCELLED)

    for _ in range(2):
        response = client.get(LIST, {"status": "new"})
        assert [r["id"] for r in response.json()["results"]] == [new.pk]
        bad = client.get(LIST, {"status": "bogus"})
        assert bad.status_code == 400 and list(bad.json()["fields"]) == ["status"]
        bad = client.get(LIST, {"status": "new", "priority": "9"})
        assert bad.status_code == 400 and list(bad.json()["fields"]) == ["priority"]


@pytest.mark.parametrize(
    "data",
    [
        {"big": 2**70},  # beyond orjson's integers
        {1: "a non-string key"},
        {"lazy": gettext_lazy("Status")},
    ],
)
def test_a_plain_body_orjson_cannot_write_goes_the_standard_way(data):
    assert FastJSONRenderer().render(PlainBody(data), "application/json") == drf_json(data)


def test_other_bodies_go_the_standard_way():
    data = {"small": 1e-05, "large": 1e16, "when": datetime(2026, 5, 1, tzinfo=UTC)}
    assert FastJSONRenderer().render(data, "application/json") == drf_json(data)
