"""Whatever a client sends, the API answers in its error shape with a 4xx, never a 500,
and changes nothing."""

import base64
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from core import roles as R
from core.parsers import JSON_MAX_DEPTH
from tests.factories import TechnicianFactory, UserFactory, WorkOrderFactory
from workorders.lifecycle import Status
from workorders.models import WorkOrder, WorkOrderEvent

LIST = "/api/v1/work-orders/"
SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(db):
    client = APIClient()
    client.force_authenticate(UserFactory(username="disp", roles=[R.DISPATCHER]))
    return client


def nested(depth: int) -> str:
    """A create body whose description is ``depth - 1`` lists deep (the body itself is one level)."""
    return '{"description": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def assert_error_shape(response, status, error):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == error and body["detail"]


# --- JSON bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [JSON_MAX_DEPTH + 1, 100_000])
def test_json_nested_too_deep_is_refused_with_400(office, depth):
    response = office.post(LIST, nested(depth), content_type="application/json")

    assert_error_shape(response, 400, "parse_error")
    assert str(JSON_MAX_DEPTH) in response.json()["detail"]
    assert WorkOrder.objects.count() == 0


def test_json_nested_to_the_limit_is_read_as_usual(office):
    response = office.post(LIST, nested(JSON_MAX_DEPTH), content_type="application/json")

    assert_error_shape(response, 400, "invalid")  # read, then refused field by field
    assert "description" in response.json()["fields"]


def test_a_transition_nested_too_deep_is_refused_and_changes_nothing(office):
    wo = WorkOrderFactory()

    body = '{"action": "cancel", "note": ' + "[" * 5000 + "]" * 5000 + "}"
    response = office.post(f"{LIST}{wo.pk}/transitions/", body, content_type="application/json")

    assert_error_shape(response, 400, "parse_error")
    wo.refresh_from_db()
    assert wo.status == Status.NEW and wo.events.count() == 1


def test_a_body_over_the_upload_limit_is_refused_with_413(office, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    body = json.dumps({"contact_name": "王芳", "description": "x" * 3_000})

    response = office.post(LIST, body, content_type="application/json")

    assert_error_shape(response, 413, "too_large")
    assert WorkOrder.objects.count() == 0


def test_a_body_that_is_not_utf8_or_not_json_is_refused_with_400(office):
    assert_error_shape(office.post(LIST, b'{"description": "\xff\xfe"}', content_type="application/json"),
                       400, "parse_error")
    assert_error_shape(office.post(LIST, "{'single': 'quotes'}", content_type="application/json"), 400, "parse_error")
    assert_error_shape(office.post(LIST, '{"priority": NaN}', content_type="application/json"), 400, "parse_error")


def test_work_orders_take_json_only(office):
    response = office.post(LIST, {"contact_name": "王芳"}, format="multipart")

    assert_error_shape(response, 415, "unsupported_media_type")


def test_a_token_form_with_too_many_fields_is_refused_in_the_api_shape(db, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    form = "&".join(f"f{i}=x" for i in range(50))

    response = APIClient().post("/api/v1/auth/token/", form, content_type="application/x-www-form-urlencoded")

    assert_error_shape(response, 400, "parse_error")


@pytest.mark.parametrize("path", ["/api/v1/work-orders/abc/", "/api/v1/nothing-here/", "/api/v1/work-orders/1/x/"])
def test_an_api_address_no_route_matches_is_a_json_404(office, path):
    assert_error_shape(office.get(path), 404, "not_found")


def test_a_page_address_no_route_matches_is_still_the_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- List parameters -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["created_after", "created_before", "due_after", "due_before"])
@pytest.mark.parametrize("value", ["3367-12-03T13:40:35+17:18", "2026-01-01T00:00:00-14:30", "2026-01-01T00:00+23:59"])
def test_a_time_zone_offset_no_zone_has_is_refused_naming_the_parameter(office, name, value):
    WorkOrderFactory()

    response = office.get(LIST, {name: value})

    assert_error_shape(response, 400, "invalid")
    assert response.json()["fields"] == {name: ["Give a time zone offset between -14:00 and +14:00."]}


def test_dates_with_real_offsets_and_at_the_ends_of_the_calendar_filter_as_they_say(office):
    day = datetime(2026, 3, 10, 12, 0, tzinfo=SHANGHAI)
    early = WorkOrderFactory(created_at=day - timedelta(days=1))
    late = WorkOrderFactory(created_at=day + timedelta(days=1))

    def listed(**params):
        response = office.get(LIST, params)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    # 12:00 in Shanghai is 18:00 the day before in Kiribati (+14:00) and 18:00 in Honolulu's -10:00 ...
    assert listed(created_after="2026-03-11T18:00:00+14:00") == {late.pk}
    assert listed(created_before="2026-03-09T18:00:00-10:00") == {early.pk}
    assert listed(created_after="2026-03-10T12:00:00") == {late.pk}, "no offset: the site's time zone"
    # ... and a moment before year 1 or after year 9999 in UTC selects every row or none, without a 500.
    assert listed(created_after="0001-01-01T00:00:00+05:00") == {early.pk, late.pk}
    assert listed(created_before="0001-01-01T00:00:00+05:00") == set()
    assert listed(created_before="9999-12-31T23:59:59-05:00") == {early.pk, late.pk}
    assert listed(created_after="9999-12-31T23:59:59-05:00") == set()


LIST_PARAMETERS = ["status", "priority", "service_type", "technician", "unassigned", "customer", "phone", "number",
                   "created_after", "created_before", "due_after", "due_before", "cursor", "sort", "page_size"]


def test_every_list_parameter_given_empty_is_ignored(office):
    orders = {WorkOrderFactory(status=status).pk for status in (Status.NEW, Status.CLOSED)}

    for name in LIST_PARAMETERS:
        response = office.get(LIST, {name: ""})
        assert response.status_code == 200, (name, response.json())
        assert {row["id"] for row in response.json()["results"]} == orders, name
    everything_empty = office.get(LIST, dict.fromkeys(LIST_PARAMETERS, ""))
    assert {row["id"] for row in everything_empty.json()["results"]} == orders


@pytest.mark.parametrize("params, field", [
    ({"unassigned": "maybe"}, "unassigned"),
    ({"unassigned": "null"}, "unassigned"),
    ({"customer": "0.5"}, "customer"),
    ({"status": ["new", "lost"]}, "status"),
])
def test_list_values_of_the_wrong_kind_are_refused_naming_the_parameter(office, params, field):
    WorkOrderFactory()

    response = office.get(LIST, params)

    assert_error_shape(response, 400, "invalid")
    assert field in response.json()["fields"]


def test_unassigned_true_and_false_still_filter(office):
    free = WorkOrderFactory()
    taken = WorkOrderFactory(status=Status.ASSIGNED, technician=TechnicianFactory())

    assert [r["id"] for r in office.get(LIST, {"unassigned": "true"}).json()["results"]] == [free.pk]
    assert [r["id"] for r in office.get(LIST, {"unassigned": "false"}).json()["results"]] == [taken.pk]


def _cursor(direction, values) -> str:
    return base64.urlsafe_b64encode(json.dumps([direction, values]).encode()).decode().rstrip("=")


@pytest.mark.parametrize("sort, values", [
    ("-id", [10**30]), ("id", [-(2**63) - 1]), ("-priority", [2, 2**63]), ("-id", [True]), ("id", [1.5]),
])
@pytest.mark.parametrize("direction", ["next", "prev"])
def test_a_cursor_with_keys_no_row_can_have_is_refused_naming_it(office, sort, values, direction):
    """A cursor is opaque, but a client can forge one: a key beyond 64 bits reached PostgreSQL (a 500)."""
    WorkOrderFactory()

    response = office.get(LIST, {"sort": sort, "cursor": _cursor(direction, values)})

    assert_error_shape(response, 400, "invalid")
    assert "cursor" in response.json()["fields"]


def test_a_cursor_at_the_edge_of_64_bits_is_still_a_cursor(office):
    WorkOrderFactory()

    response = office.get(LIST, {"sort": "-id", "cursor": _cursor("next", [2**63 - 1])})

    assert response.status_code == 200 and len(response.json()["results"]) == 1


# --- Idempotency-Key -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "   ", "not-a-uuid", "{12345678-1234-5678-1234-567812345678}"])
def test_an_idempotency_key_that_is_not_a_uuid_in_its_usual_form_is_refused(office, value):
    response = office.post(LIST, {"contact_name": "王芳"}, format="json", HTTP_IDEMPOTENCY_KEY=value)

    assert_error_shape(response, 400, "invalid")
    assert "Idempotency-Key" in response.json()["fields"]
    assert WorkOrderEvent.objects.count() == 0
