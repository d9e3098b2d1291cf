"""The API describes itself: an OpenAPI schema and docs pages that work offline."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory, WorkOrderFactory
from workorders.api.output import WorkOrderDetailSerializer, WorkOrderSerializer
from workorders.lifecycle import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(agent):
    client = APIClient()
    client.force_login(agent)
    return client


def test_the_schema_endpoint_describes_the_work_order_api(staff_api):
    response = staff_api.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert set(paths["/api/v1/work-orders/"]) == {"get", "post"}
    assert set(paths["/api/v1/work-orders/{id}/"]) == {"get", "patch"}
    assert set(paths["/api/v1/work-orders/{id}/transitions/"]) == {"post"}
    assert "post" in paths["/api/v1/auth/token/"]

    create = paths["/api/v1/work-orders/"]["post"]
    assert {"201", "200", "400", "403"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    transition = paths["/api/v1/work-orders/{id}/transitions/"]["post"]
    assert {"200", "400", "403", "404", "409"} <= set(transition["responses"])
    error_ref = transition["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref.endswith("/Error")
    assert {"error", "detail", "fields"} <= set(schema["components"]["schemas"]["Error"]["properties"])

    listing = paths["/api/v1/work-orders/"]["get"]
    params = {p["name"] for p in listing["parameters"]}
    expected = {"status", "priority", "technician", "created_after", "created_before", "cursor", "sort", "page_size"}
    assert expected <= params
    page = schema["components"]["schemas"]["PaginatedWorkOrderList"]
    assert set(page["properties"]) == {"next", "previous", "results"}, "keyset pages: no count"


def test_the_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert "/api/v1/work-orders/" in out.read_text()


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_load_only_local_assets(url, staff_api):
    response = staff_api.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html and "https://" not in html, "nothing from another host: the docs work offline"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page loads its viewer"
    for asset in assets:
        if asset.startswith(url + "?"):
            continue  # Swagger UI's start-up script, from the page's own address (no inline script)
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not shipped"
    if url == "/api/docs/":
        script = staff_api.get(url, {"script": ""})
        assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
        html += script.content.decode()
    assert "/api/schema/" in html


# -- who may read the schema and the docs -------------------------------------------------------

DOCS = ["/api/schema/", "/api/docs/", "/api/redoc/"]


@pytest.mark.parametrize("url", DOCS)
def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in(url, client):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_an_api_client_without_a_valid_token_gets_no_schema(client):
    response = client.get("/api/schema/", HTTP_AUTHORIZATION="Token not-a-token")

    assert response.status_code in (401, 403)
    assert b"/api/v1/work-orders/" not in response.content


@pytest.mark.parametrize("url", DOCS)
def test_a_user_without_a_role_is_refused(url, client):
    client.force_login(UserFactory(username="nobody"))

    response = client.get(url)

    assert response.status_code == 403
    assert b"/api/v1/work-orders/" not in response.content


@pytest.mark.parametrize("who", ["agent", "dispatcher", "manager", "technician"])
def test_staff_read_the_schema_with_their_session_or_their_api_token(who, request):
    user = request.getfixturevalue(who)
    user = getattr(user, "user", user)
    by_session, by_token = APIClient(), APIClient()
    by_session.force_login(user)
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    for client in (by_session, by_token):
        response = client.get("/api/schema/", {"format": "json"})
        assert response.status_code == 200
        assert "/api/v1/work-orders/" in response.json()["paths"]
    assert by_session.get("/api/docs/").status_code == 200


@pytest.mark.parametrize("url", DOCS)
def test_published_docs_are_open_to_anyone(url, client, settings):
    settings.API_DOCS_PUBLIC = True

    response = client.get(url)

    assert response.status_code == 200


def test_the_hand_built_representation_matches_the_declared_fields(agent, technician):
    """The serializers build rows by hand for speed; the schema shows their declared fields."""
    from workorders.selectors import workorder_detail

    wo = WorkOrderFactory(status=Status.ASSIGNED, technician=technician)
    loaded = workorder_detail(user=agent, pk=wo.pk)  # plain values, as the API's detail reads it
    context = {"request": type("R", (), {"user": agent})()}

    row = WorkOrderSerializer(wo, context=context).data
    detail = WorkOrderDetailSerializer(loaded, context=context).data
    # The same answer whether built from the model or from the detail's values.
    assert detail == WorkOrderDetailSerializer(wo, context=context).data

    assert set(row) == set(WorkOrderSerializer().fields)
    assert set(detail) == set(WorkOrderDetailSerializer().fields)
    declared = WorkOrderDetailSerializer().fields
    assert set(detail["events"][0]) == set(declared["events"].child.fields)
    assert set(detail["customer"]) == set(declared["customer"].fields)
    assert set(detail["technician"]) == set(declared["technician"].fields)
    assert set(detail["service_type"]) == set(declared["service_type"].fields)
    assert set(detail["available_actions"][0]) == set(declared["available_actions"].child.fields)


def _schema(client):
    return client.get("/api/schema/", {"format": "json"}).json()


def _resolve(schema, ref):
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def test_each_transitions_request_says_what_that_action_needs(staff_api):
    """A reason for reject, hold, reopen and cancel; a technician for assign and reassign: what
    the lifecycle table asks, the schema requires (it once left all six optional)."""
    from workorders.lifecycle import TRANSITIONS

    schema = _schema(staff_api)
    body = schema["paths"]["/api/v1/work-orders/{id}/transitions/"]["post"]["requestBody"]
    assert body["required"] is True
    one_of = _resolve(schema, body["content"]["application/json"]["schema"]["$ref"])
    assert one_of["discriminator"]["propertyName"] == "action"
    assert set(one_of["discriminator"]["mapping"]) == set(TRANSITIONS)
    for action, transition in TRANSITIONS.items():
        request = _resolve(schema, one_of["discriminator"]["mapping"][action])
        required = set(request["required"])
        assert ("note" in required) == transition.reason_required, action
        assert ("technician" in required) == transition.needs_technician, action
        if transition.reason_required:
            note = request["properties"]["note"]
            assert note["minLength"] == 1 and note["pattern"].startswith("^["), "not blank"


def test_create_states_its_required_fields_formats_and_every_error_answer(staff_api):
    schema = _schema(staff_api)
    create = schema["paths"]["/api/v1/work-orders/"]["post"]
    request = _resolve(schema, create["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert set(request["required"]) == {"contact_name", "contact_phone", "service_type", "description"}
    assert request["properties"]["contact_phone"]["format"] == "phone"
    assert set(create["requestBody"]["content"]) == {"application/json"}, "JSON only"
    assert {"201", "200", "400", "401", "403", "413", "415", "422"} <= set(create["responses"])
    for status, answer in create["responses"].items():
        if status.startswith("4"):
            assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/Error"), status


def test_the_list_says_empty_parameters_are_ignored_and_which_offsets_it_takes(staff_api):
    listing = _schema(staff_api)["paths"]["/api/v1/work-orders/"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}

    assert "ignored" in listing["description"]
    for name in ("created_after", "customer", "unassigned", "sort", "page_size"):
        assert {"type": "string", "maxLength": 0} in params[name]["schema"]["oneOf"], name
    created = params["created_before"]["schema"]["oneOf"][0]
    assert created["format"] == "date-time"
    assert re.fullmatch(created["pattern"], "2026-03-10T12:00:00+14:00")
    assert not re.fullmatch(created["pattern"], "3367-12-03T13:40:35+17:18")
