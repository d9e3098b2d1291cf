"""API clients: an administrator creates one in the admin and sees its key once; the key signs
the client in as its service user; scopes, restrictions, revocation, rotation and the rate limit."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone
from rest_framework.test import APIClient

from apiclients.models import ApiClient, ApiKey
from apiclients.services import apiclient_create, apiclient_revoke, apiclient_rotate, apiclient_update
from tests.factories import PartnerTechnicianFactory, UserFactory, WorkOrderFactory
from tests.workorders.test_api import request_body
from tests.clients import as_key

ALL = ["work_orders:write", "technicians:read", "service_types:read", "parts:read", "stock:read"]


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_rate_limits):
    return fresh_rate_limits


def test_an_administrator_creates_a_client_and_sees_its_key_once(admin_client, service_type):
    response = admin_client.post("/admin/apiclients/apiclient/add/", {
        "name": "ERP", "scopes": ["work_orders:write", "parts:read"], "requests_per_minute": "600",
        "active": "on", "keys-TOTAL_FORMS": "0", "keys-INITIAL_FORMS": "0",
    }, follow=True)
    assert response.redirect_chain, response.content
    # The page after saving shows the key.
    keys = re.findall(r"not shown again\): (\S+\.\w+)", response.content.decode())
    assert len(keys) == 1
    key = keys[0]
    client = ApiClient.objects.get(name="ERP")
    stored = client.keys.get()
    assert key not in stored.hashed_key and key.startswith(stored.prefix + ".")
    # The client's page shows the key's prefix, never the key again.
    page = admin_client.get(f"/admin/apiclients/apiclient/{client.pk}/change/").content.decode()
    assert stored.prefix in page and key not in page

    created = as_key(key).post("/api/v1/work-orders/", request_body(), format="json")
    assert created.status_code == 201, created.json()
    assert as_key(key).get("/api/v1/parts/").status_code == 200


def test_the_form_refuses_two_restrictions(admin_client):
    partner = PartnerTechnicianFactory().partner_company
    customer = WorkOrderFactory().customer
    response = admin_client.post("/admin/apiclients/apiclient/add/", {
        "name": "CRM", "scopes": ["work_orders:read"], "requests_per_minute": "600",
        "partner_company": partner.pk, "customer": customer.pk,
        "keys-TOTAL_FORMS": "0", "keys-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert not ApiClient.objects.exists()


def test_what_the_client_does_is_its_own_in_the_history(db, service_type, client):
    api_client, key = apiclient_create(name="Call centre", scopes=["work_orders:write"])
    created = as_key(key).post("/api/v1/work-orders/", request_body(), format="json").json()

    detail = as_key(key).get(f"/api/v1/work-orders/{created['id']}/").json()
    event = detail["events"][0]
    assert (event["action"], event["actor"], event["actor_role"]) == ("create", "api:Call centre", "integration")

    cancelled = as_key(key).post(f"/api/v1/work-orders/{created['id']}/transitions/",
                                 {"action": "cancel", "note": "Duplicate in the CRM"}, format="json")
    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["status"] == "cancelled"

    # The staff page names the client.
    client.force_login(UserFactory(username="boss", roles=["manager"], is_staff=True))
    page = client.get(f"/staff/work-orders/{created['id']}/").content.decode()
    assert "Call centre (Integration)" in page


def test_a_read_only_scope_refuses_writes(db, service_type):
    _client, key = apiclient_create(name="BI", scopes=["work_orders:read"])
    order = WorkOrderFactory()

    assert as_key(key).get(f"/api/v1/work-orders/{order.pk}/").status_code == 200
    refused = as_key(key).post("/api/v1/work-orders/", request_body(), format="json")
    assert refused.status_code == 403
    assert refused.json()["error"] == "permission_denied"
    moved = as_key(key).post(f"/api/v1/work-orders/{order.pk}/transitions/", {"action": "cancel", "note": "x"},
                             format="json")
    assert moved.status_code == 403
    order.refresh_from_db()
    assert order.status == "new"
    # A resource outside its scopes: refused even to read.
    assert as_key(key).get("/api/v1/parts/").status_code == 403


def test_a_client_restricted_to_a_partner_company_sees_only_its_data(db):
    mine, theirs = PartnerTechnicianFactory(), PartnerTechnicianFactory()
    own_order = WorkOrderFactory(technician=mine, status="assigned")
    other_order = WorkOrderFactory(technician=theirs, status="assigned")
    unassigned = WorkOrderFactory()
    _client, key = apiclient_create(name="Partner ERP", scopes=ALL, partner_company=mine.partner_company)
    api = as_key(key)

    listed = [row["id"] for row in api.get("/api/v1/work-orders/").json()["results"]]
    assert listed == [own_order.pk]
    assert api.get(f"/api/v1/work-orders/{own_order.pk}/").status_code == 200
    assert api.get(f"/api/v1/work-orders/{other_order.pk}/").status_code == 404
    assert api.get(f"/api/v1/work-orders/{unassigned.pk}/").status_code == 404
    cancel = api.post(f"/api/v1/work-orders/{other_order.pk}/transitions/", {"action": "cancel", "note": "x"},
                      format="json")
    assert cancel.status_code == 404
    assert [row["id"] for row in api.get("/api/v1/technicians/").json()["results"]] == [mine.pk]
    assert api.get(f"/api/v1/technicians/{theirs.pk}/").status_code == 404
    # It may not create orders it could not see.
    assert api.post("/api/v1/work-orders/", request_body(), format="json").status_code == 403


def test_a_client_restricted_to_a_customer_sees_that_customers_orders(db):
    own, other = WorkOrderFactory(), WorkOrderFactory()
    _client, key = apiclient_create(name="Big customer", scopes=["work_orders:read", "technicians:read"],
                                    customer=own.customer)
    api = as_key(key)
    assert [row["id"] for row in api.get("/api/v1/work-orders/").json()["results"]] == [own.pk]
    assert api.get(f"/api/v1/work-orders/{other.pk}/").status_code == 404
    assert api.get("/api/v1/technicians/").json()["results"] == []


@pytest.mark.parametrize("header", ["Api-Key nonsense", "Api-Key abcdefgh.wrongsecret", "Api-Key ", "Api-Key a.b.c"])
def test_an_unknown_key_is_401_with_a_clear_body(db, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get("/api/v1/work-orders/")
    assert response.status_code == 401
    assert response.json() == {"error": "authentication_failed", "detail": "This API key is not valid."}


def test_a_wrong_secret_for_a_known_prefix_is_401(db):
    _client, key = apiclient_create(name="ERP", scopes=ALL)
    prefix = key.split(".")[0]
    response = as_key(f"{prefix}.{'x' * 32}").get("/api/v1/work-orders/")
    assert response.status_code == 401
    assert response.json()["detail"] == "This API key is not valid."


def test_a_revoked_key_is_401_at_once(db):
    client, key = apiclient_create(name="ERP", scopes=ALL)
    assert as_key(key).get("/api/v1/work-orders/").status_code == 200  # now kept in this process

    assert apiclient_revoke(client_id=client.pk) == 1

    response = as_key(key).get("/api/v1/work-orders/")
    assert response.status_code == 401
    assert response.json() == {"error": "authentication_failed", "detail": "This API key was revoked."}


def test_an_expired_key_and_an_inactive_client_are_401(db):
    client, key = apiclient_create(name="ERP", scopes=ALL)
    stored = client.keys.get()
    stored.expiry_date = timezone.now() - timedelta(seconds=1)
    stored.save()
    assert as_key(key).get("/api/v1/work-orders/").json()["detail"] == "This API key has expired."

    client2, key2 = apiclient_create(name="CRM", scopes=ALL)
    apiclient_update(client_id=client2.pk, name="CRM", scopes=ALL, active=False)
    response = as_key(key2).get("/api/v1/work-orders/")
    assert (response.status_code, response.json()["detail"]) == (401, "This API client is inactive.")


def test_rotation_keeps_the_old_key_for_the_grace_period_or_not_at_all(db):
    client, old = apiclient_create(name="ERP", scopes=ALL)
    new = apiclient_rotate(client_id=client.pk, grace=timedelta(hours=1))
    assert new != old
    assert as_key(old).get("/api/v1/work-orders/").status_code == 200
    assert as_key(new).get("/api/v1/work-orders/").status_code == 200
    old_key = ApiKey.objects.get(prefix=old.split(".")[0])
    assert timezone.now() < old_key.expiry_date <= timezone.now() + timedelta(hours=1)

    newest = apiclient_rotate(client_id=client.pk, grace=timedelta(0))
    assert as_key(old).get("/api/v1/work-orders/").status_code == 401
    assert as_key(new).get("/api/v1/work-orders/").status_code == 401
    assert as_key(newest).get("/api/v1/work-orders/").status_code == 200


def test_the_admin_actions_rotate_and_revoke(admin_client):
    client, old = apiclient_create(name="ERP", scopes=ALL)
    response = admin_client.post("/admin/apiclients/apiclient/", {
        "action": "rotate_now", "_selected_action": [client.pk]})
    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    new = next(m.group(1) for text in shown if (m := re.search(r": (\S+\.\S+)$", text)))
    assert as_key(old).get("/api/v1/work-orders/").status_code == 401
    assert as_key(new).get("/api/v1/work-orders/").status_code == 200

    admin_client.post("/admin/apiclients/apiclient/", {"action": "revoke_keys", "_selected_action": [client.pk]})
    assert as_key(new).get("/api/v1/work-orders/").status_code == 401


def test_the_rate_limit_answers_429_with_retry_after(db):
    _client, key = apiclient_create(name="ERP", scopes=ALL, requests_per_minute=3)
    _other, other_key = apiclient_create(name="CRM", scopes=ALL, requests_per_minute=3)
    api = as_key(key)
    assert [api.get("/api/v1/parts/").status_code for _ in range(3)] == [200, 200, 200]

    refused = api.get("/api/v1/parts/")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["error"] == "throttled"
    # Per client: another client is not slowed down.
    assert as_key(other_key).get("/api/v1/parts/").status_code == 200


def test_a_service_user_cannot_sign_in_with_a_password(db, client):
    api_client, _key = apiclient_create(name="ERP", scopes=ALL)
    assert not api_client.user.has_usable_password()
    token = APIClient().post("/api/v1/auth/token/", {"username": "api:ERP", "password": ""}, format="json")
    assert token.status_code == 400


def test_the_schema_documents_the_key(db, manager):
    client = APIClient()
    client.force_login(manager)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    scheme = schema["components"]["securitySchemes"]["apiKeyAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    list_op = schema["paths"]["/api/v1/work-orders/"]["get"]
    assert {"apiKeyAuth": []} in list_op["security"]


def test_a_change_in_the_admin_takes_effect_at_once(admin_client, service_type):
    client, key = apiclient_create(name="ERP", scopes=["work_orders:write"])
    assert as_key(key).post("/api/v1/work-orders/", request_body(), format="json").status_code == 201

    response = admin_client.post(f"/admin/apiclients/apiclient/{client.pk}/change/", {
        "name": "ERP (read only)", "scopes": ["work_orders:read"], "requests_per_minute": "600", "active": "on",
        "keys-TOTAL_FORMS": "1", "keys-INITIAL_FORMS": "1", "keys-0-id": client.keys.get().pk,
        "keys-0-client": client.pk,
    })
    assert response.status_code == 302, response.content

    assert as_key(key).post("/api/v1/work-orders/", request_body(), format="json").status_code == 403
    assert as_key(key).get("/api/v1/work-orders/").status_code == 200
    client.user.refresh_from_db()
    assert (client.user.username, client.user.first_name) == ("api:ERP (read only)", "ERP (read only)")


def test_each_request_is_logged_as_the_clients(db, caplog):
    client, key = apiclient_create(name="ERP", scopes=ALL)
    with caplog.at_level("INFO", logger="apiclients.requests"):
        as_key(key).get("/api/v1/parts/?active=true")
    lines = [r.getMessage() for r in caplog.records if r.name == "apiclients.requests"]
    assert lines == [f"api client ERP ({client.pk}, key {key.split('.')[0]}): GET /api/v1/parts/?active=true"]


# --- invoicing, triage and part requests take scopes too -----------------------------------------


@pytest.mark.parametrize("url, scope", [
    ("/api/v1/invoicing/pending/", "invoicing"),
    ("/api/v1/invoicing/batches/", "invoicing"),
    ("/api/v1/triage/model/", "triage"),
    ("/api/v1/stock/requests/", "stock"),
])
def test_a_key_with_the_scope_reads_and_one_without_is_403_naming_it(db, url, scope):
    _client, key = apiclient_create(name="With", scopes=[f"{scope}:read"])
    assert as_key(key).get(url).status_code == 200
    _client, key = apiclient_create(name="Without", scopes=[s for s in ALL if not s.startswith(scope)])
    refused = as_key(key).get(url)
    assert refused.status_code == 403 and f"{scope}:read" in refused.json()["detail"]


def test_handing_work_over_for_invoicing_needs_the_write_scope(db):
    _client, key = apiclient_create(name="Reader", scopes=["invoicing:read"])
    refused = as_key(key).post("/api/v1/invoicing/batches/", {}, format="json")
    assert refused.status_code == 403 and "invoicing:write" in refused.json()["detail"]
    _client, key = apiclient_create(name="Accounting", scopes=["invoicing:write"])
    assert as_key(key).post("/api/v1/invoicing/batches/", {}, format="json").status_code == 204  # nothing waits


def test_a_restricted_key_gets_no_invoicing_or_triage_even_with_the_scope(db):
    partner = PartnerTechnicianFactory().partner_company
    _client, key = apiclient_create(name="Partner", scopes=["invoicing:read", "triage:read"],
                                    partner_company=partner)
    assert as_key(key).get("/api/v1/invoicing/pending/").status_code == 403
    assert as_key(key).get("/api/v1/triage/model/").status_code == 404


def test_a_key_with_the_triage_scope_gets_suggestions_for_an_order(db):
    order = WorkOrderFactory(description="The air conditioner drips water")
    _client, key = apiclient_create(name="Call centre", scopes=["triage:read"])
    answer = as_key(key).get(f"/api/v1/triage/work-orders/{order.pk}/")
    assert answer.status_code == 200 and "suggested" in answer.json()
