"""Customers, sites and equipment in the API (/api/v1/customers/, /sites/, /equipment/): list,
create, read, change from a version (ETag / If-Match or the body's version), sync by
updated_after, and who sees and changes what."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apiclients.services import apiclient_create
from customers.models import Customer, Equipment, Site
from tests.factories import (
    CustomerFactory,
    EquipmentFactory,
    PartnerTechnicianFactory,
    SiteFactory,
    WorkOrderFactory,
)
from tests.clients import as_key, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_rate_limits):
    return fresh_rate_limits


@pytest.fixture
def api(agent):
    return logged_in(agent)


# --- create, read, list ---------------------------------------------------------------------


def test_an_agent_creates_a_customer_a_site_and_equipment(api):
    made = api.post("/api/v1/customers/", {"name": "Li Wei", "phone": "138 1234 5678", "external_ref": "ERP-C-1",
                                          "tier": "gold"}, format="json")
    assert made.status_code == 201, made.json()
    customer = made.json()
    assert customer["phone"] == "+8613812345678"
    assert customer["external_ref"] == "ERP-C-1" and customer["tier"] == "gold"
    assert made["ETag"] == f'"{customer["version"]}"'

    site = api.post("/api/v1/sites/", {"customer": customer["id"], "label": "Home",
                                       "address": "100  Century Avenue, Shanghai", "external_ref": "ERP-S-1"},
                    format="json")
    assert site.status_code == 201, site.json()
    assert site.json()["address"] == "100 Century Avenue, Shanghai"
    assert site.json()["location_precision"] == "pending"

    equipment = api.post("/api/v1/equipment/", {
        "customer": customer["id"], "site": site.json()["id"], "serial": "SN-1", "model": "KFR-35",
        "install_date": "2026-01-01", "warranty_end": "2028-01-01",
    }, format="json")
    assert equipment.status_code == 201, equipment.json()
    assert equipment.json()["site"] == site.json()["id"]

    read = api.get(f"/api/v1/customers/{customer['id']}/")
    assert read.status_code == 200 and read.json()["name"] == "Li Wei"
    assert read["ETag"] == made["ETag"]
    assert Customer.objects.get(external_ref="ERP-C-1").sites.get().external_ref == "ERP-S-1"


def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(api):
    customer = CustomerFactory()
    cases = [
        ("/api/v1/customers/", {"name": "X", "phone": "12"}, "phone"),
        ("/api/v1/customers/", {"name": "X", "phone": "13812345679", "status": "vip"}, "status"),
        ("/api/v1/customers/", {"name": "X", "phone": "13812345679", "id": 5}, "id"),
        ("/api/v1/sites/", {"customer": customer.pk, "address": "A", "latitude": 31.2}, "latitude"),
        ("/api/v1/sites/", {"customer": 10**9, "address": "A"}, "customer"),
        ("/api/v1/equipment/", {"customer": customer.pk, "serial": "S", "model": "M",
                                "install_date": "2026-02-01", "warranty_end": "2026-01-01"}, "warranty_end"),
        ("/api/v1/equipment/", {"customer": customer.pk, "serial": "S", "model": "M",
                                "site": SiteFactory().pk}, "site"),
    ]
    before = (Customer.objects.count(), Site.objects.count(), Equipment.objects.count())
    for url, body, field in cases:
        response = api.post(url, body, format="json")
        assert response.status_code == 400, (url, body, response.json())
        assert field in response.json()["fields"], (field, response.json())
    assert (Customer.objects.count(), Site.objects.count(), Equipment.objects.count()) == before


def test_a_taken_unique_value_is_a_conflict_naming_it(api):
    CustomerFactory(phone="+8613812345678", external_ref="ERP-C-1")
    EquipmentFactory(serial="SN-1")
    phone = api.post("/api/v1/customers/", {"name": "X", "phone": "138-1234-5678"}, format="json")
    assert phone.status_code == 409 and list(phone.json()["fields"]) == ["phone"]
    ref = api.post("/api/v1/customers/", {"name": "X", "phone": "13900001111", "external_ref": "ERP-C-1"},
                   format="json")
    assert ref.status_code == 409 and list(ref.json()["fields"]) == ["external_ref"]
    serial = api.post("/api/v1/equipment/", {"customer": CustomerFactory().pk, "serial": "SN-1", "model": "M"},
                      format="json")
    assert serial.status_code == 409 and list(serial.json()["fields"]) == ["serial"]


def test_lists_sync_by_updated_after_sorted_both_ways_in_cursor_pages(api):
    old = CustomerFactory()
    Customer.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    since = (timezone.now() - timedelta(days=1)).isoformat()

    first = api.get("/api/v1/customers/", {"updated_after": since, "sort": "updated_at", "page_size": 2})
    assert first.status_code == 200
    ids = [row["id"] for row in first.json()["results"]]
    assert ids == [a.pk, b.pk]
    rest = api.get(first.json()["next"])
    assert [row["id"] for row in rest.json()["results"]] == [c.pk] and rest.json()["next"] is None

    newest_first = api.get("/api/v1/customers/", {"sort": "-created_at"}).json()["results"]
    assert [row["id"] for row in newest_first][:3] == [c.pk, b.pk, a.pk]
    assert api.get("/api/v1/customers/", {"sort": "-priority"}).status_code == 400
    assert api.get("/api/v1/customers/", {"updated_after": "yesterday"}).status_code == 400
    by_ref = api.get("/api/v1/customers/", {"external_ref": "nope"}).json()["results"]
    assert by_ref == []


def test_sites_and_equipment_filter_by_customer_and_created_after(api):
    site = SiteFactory()
    other = SiteFactory()
    EquipmentFactory(customer=site.customer, site=site)
    rows = api.get("/api/v1/sites/", {"customer": site.customer_id}).json()["results"]
    assert [row["id"] for row in rows] == [site.pk]
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api.get("/api/v1/sites/", {"created_after": later}).json()["results"] == []
    assert [row["id"] for row in api.get("/api/v1/equipment/", {"site": other.pk}).json()["results"]] == []
    assert len(api.get("/api/v1/equipment/", {"customer": site.customer_id}).json()["results"]) == 1


# --- change from a version -------------------------------------------------------------------


def test_a_change_needs_the_current_version_else_412_with_it(api, dispatcher):
    customer = CustomerFactory(name="Old")
    url = f"/api/v1/customers/{customer.pk}/"
    etag = api.get(url)["ETag"]

    missing = api.patch(url, {"name": "New"}, format="json")
    assert missing.status_code == 428 and missing.json()["error"] == "precondition_required"

    changed = api.patch(url, {"name": "New"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200 and changed.json()["name"] == "New"
    assert changed["ETag"] != etag

    # Another writer with the version read before: 412 with the current one, nothing written.
    stale = logged_in(dispatcher).patch(url, {"name": "Lost"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["error"] == "stale" and f'"{stale.json()["version"]}"' == changed["ETag"]
    assert stale["ETag"] == changed["ETag"]
    customer.refresh_from_db()
    assert customer.name == "New"

    # The body's version instead of the header.
    by_body = api.patch(url, {"notes": "gate code 1234", "version": changed.json()["version"]}, format="json")
    assert by_body.status_code == 200 and by_body.json()["notes"] == "gate code 1234"
    assert api.patch(url, {"notes": "x", "version": changed.json()["version"]}, format="json").status_code == 412


def test_a_change_to_the_same_values_keeps_the_version(api):
    customer = CustomerFactory(name="Same")
    url = f"/api/v1/customers/{customer.pk}/"
    etag = api.get(url)["ETag"]
    again = api.patch(url, {"name": "Same"}, format="json", HTTP_IF_MATCH=etag)
    assert again.status_code == 200 and again["ETag"] == etag


def test_a_read_only_field_in_a_change_is_refused(api):
    site = SiteFactory()
    url = f"/api/v1/sites/{site.pk}/"
    etag = api.get(url)["ETag"]
    moved = api.patch(url, {"customer": CustomerFactory().pk}, format="json", HTTP_IF_MATCH=etag)
    assert moved.status_code == 400 and "customer" in moved.json()["fields"]
    site.refresh_from_db()
    assert api.get(url)["ETag"] == etag


def test_a_new_address_is_located_again(api, django_capture_on_commit_callbacks):
    site = SiteFactory(latitude="31.230400", longitude="121.473700", location_precision="exact")
    url = f"/api/v1/sites/{site.pk}/"
    etag = api.get(url)["ETag"]
    changed = api.patch(url, {"address": "1 Nanjing Road, Shanghai"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["location_precision"] == "pending" and changed.json()["latitude"] is None


def test_a_change_moves_updated_at_so_a_sync_sees_it(api):
    equipment = EquipmentFactory()
    Equipment.objects.filter(pk=equipment.pk).update(updated_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert api.get("/api/v1/equipment/", {"updated_after": since}).json()["results"] == []
    url = f"/api/v1/equipment/{equipment.pk}/"
    assert api.patch(url, {"brand": "Gree"}, format="json", HTTP_IF_MATCH=api.get(url)["ETag"]).status_code == 200
    rows = api.get("/api/v1/equipment/", {"updated_after": since}).json()["results"]
    assert [(row["id"], row["brand"]) for row in rows] == [(equipment.pk, "Gree")]


# --- who sees and changes what ----------------------------------------------------------------


def test_a_technician_sees_the_customers_of_their_orders_and_changes_none(technician):
    order = WorkOrderFactory(technician=technician, status="assigned")
    other = CustomerFactory()
    api = logged_in(technician.user)
    assert [row["id"] for row in api.get("/api/v1/customers/").json()["results"]] == [order.customer_id]
    assert api.get(f"/api/v1/customers/{other.pk}/").status_code == 404
    url = f"/api/v1/customers/{order.customer_id}/"
    refused = api.patch(url, {"name": "X"}, format="json", HTTP_IF_MATCH=api.get(url)["ETag"])
    assert refused.status_code == 403
    assert api.post("/api/v1/customers/", {"name": "X", "phone": "13900001111"}, format="json").status_code == 403


def test_anonymous_callers_are_refused(client, db):
    assert APIClient().get("/api/v1/customers/").status_code == 401


def test_a_key_needs_the_customers_scope(db):
    _client, key = apiclient_create(name="BI", scopes=["work_orders:read"])
    assert as_key(key).get("/api/v1/customers/").status_code == 403
    _client, key = apiclient_create(name="Reader", scopes=["customers:read"])
    assert as_key(key).get("/api/v1/sites/").status_code == 200
    refused = as_key(key).post("/api/v1/customers/", {"name": "X", "phone": "13900001111"}, format="json")
    assert refused.status_code == 403 and not Customer.objects.exists()


def test_a_key_restricted_to_a_customer_sees_and_changes_only_that_customer(db):
    own, other = SiteFactory(), SiteFactory()
    _client, key = apiclient_create(name="Big customer", scopes=["customers:write"], customer=own.customer)
    api = as_key(key)
    assert [row["id"] for row in api.get("/api/v1/customers/").json()["results"]] == [own.customer_id]
    assert [row["id"] for row in api.get("/api/v1/sites/").json()["results"]] == [own.pk]
    assert api.get(f"/api/v1/sites/{other.pk}/").status_code == 404
    assert api.patch(f"/api/v1/sites/{other.pk}/", {"label": "x"}, format="json",
                     HTTP_IF_MATCH='"1"').status_code == 404
    made = api.post("/api/v1/sites/", {"customer": own.customer_id, "address": "2 Bund, Shanghai"}, format="json")
    assert made.status_code == 201
    foreign = api.post("/api/v1/sites/", {"customer": other.customer_id, "address": "x"}, format="json")
    assert foreign.status_code == 400 and "customer" in foreign.json()["fields"]
    assert api.post("/api/v1/customers/", {"name": "X", "phone": "13900001111"}, format="json").status_code == 403


def test_a_key_restricted_to_a_partner_company_sees_the_customers_it_serves(db):
    mine, theirs = PartnerTechnicianFactory(), PartnerTechnicianFactory()
    served = WorkOrderFactory(technician=mine, status="assigned")
    WorkOrderFactory(technician=theirs, status="assigned")
    _client, key = apiclient_create(name="Partner", scopes=["customers:write"], partner_company=mine.partner_company)
    api = as_key(key)
    assert [row["id"] for row in api.get("/api/v1/customers/").json()["results"]] == [served.customer_id]
    url = f"/api/v1/customers/{served.customer_id}/"
    assert api.patch(url, {"name": "X"}, format="json", HTTP_IF_MATCH=api.get(url)["ETag"]).status_code == 403


@pytest.mark.parametrize("field, value", [
    ("phone", "stranger"),  # the stranger's public-form requests would then be filed as this customer's
    ("email", "stranger@example.com"),  # and their emailed requests
    ("tier", "vip"),
    ("code", "C-999"),
    ("notes", "Waive all call-out fees."),
])
def test_a_key_restricted_to_a_customer_may_not_change_its_office_owned_fields(db, field, value):
    own = CustomerFactory(code="C-1", tier="standard", email="own@example.com", notes="Pays late.")
    stranger = "+8613700001111"
    _client, key = apiclient_create(name="Big customer", scopes=["customers:write"], customer=own)
    api = as_key(key)
    url = f"/api/v1/customers/{own.pk}/"
    before = Customer.objects.values().get(pk=own.pk)
    refused = api.patch(url, {field: stranger if value == "stranger" else value, "name": "New name"}, format="json",
                        HTTP_IF_MATCH=api.get(url)["ETag"])
    assert refused.status_code == 403, refused.json()
    assert list(refused.json()["fields"]) == [field]
    assert field in refused.json()["detail"]
    assert Customer.objects.values().get(pk=own.pk) == before


def test_the_refusal_speaks_the_callers_language(db):
    own = CustomerFactory()
    _client, key = apiclient_create(name="Big customer", scopes=["customers:write"], customer=own)
    api = as_key(key)
    url = f"/api/v1/customers/{own.pk}/"
    refused = api.patch(url, {"tier": "vip"}, format="json", HTTP_IF_MATCH=api.get(url)["ETag"],
                        HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 403
    assert "不能修改" in refused.json()["detail"] and "tier" in refused.json()["detail"]


def test_a_key_restricted_to_a_customer_changes_its_name_language_and_reference(db):
    own = CustomerFactory(code="C-1", tier="gold")
    _client, key = apiclient_create(name="Big customer", scopes=["customers:write"], customer=own)
    api = as_key(key)
    url = f"/api/v1/customers/{own.pk}/"
    read = api.get(url).json()
    # Sending the phone number, tier and code the customer has (a full record, as a sync does) changes nothing.
    changed = api.patch(url, {"name": "Li Wei Ltd", "language": "zh-hans", "external_ref": "ERP-9",
                              "phone": read["phone"], "tier": "gold", "code": "C-1"},
                        format="json", HTTP_IF_MATCH=f'"{read["version"]}"')
    assert changed.status_code == 200, changed.json()
    own.refresh_from_db()
    assert (own.name, own.language, own.external_ref, own.tier, own.code) == (
        "Li Wei Ltd", "zh-hans", "ERP-9", "gold", "C-1")


def test_an_office_role_and_an_unrestricted_key_still_change_phone_tier_and_code(api):
    customer = CustomerFactory()
    url = f"/api/v1/customers/{customer.pk}/"
    changed = api.patch(url, {"phone": "13700001111", "tier": "gold", "code": "C-7", "notes": "VIP"},
                        format="json", HTTP_IF_MATCH=api.get(url)["ETag"])
    assert changed.status_code == 200, changed.json()
    _client, key = apiclient_create(name="ERP", scopes=["customers:write"])
    erp = as_key(key)
    changed = erp.patch(url, {"phone": "13700002222", "tier": "standard", "code": "C-8"}, format="json",
                        HTTP_IF_MATCH=erp.get(url)["ETag"])
    assert changed.status_code == 200, changed.json()
    customer.refresh_from_db()
    assert (customer.phone, customer.tier, customer.code, customer.notes) == ("+8613700002222", "standard", "C-8",
                                                                               "VIP")


INTERNAL = {"code", "tier", "notes"}


def test_field_roles_and_partner_keys_read_no_internal_customer_fields(technician):
    partner_tech = PartnerTechnicianFactory()
    order = WorkOrderFactory(technician=technician, status="assigned",
                             customer=CustomerFactory(code="C-1", tier="gold", notes="Difficult; pays late."))
    WorkOrderFactory(technician=partner_tech, status="assigned", customer=order.customer)
    _client, key = apiclient_create(name="Partner", scopes=["customers:read"],
                                    partner_company=partner_tech.partner_company)
    url = f"/api/v1/customers/{order.customer_id}/"
    for api in (logged_in(technician.user), logged_in(partner_tech.user), as_key(key)):
        one = api.get(url).json()
        assert one["name"] == order.customer.name and one["phone"] == order.customer.phone
        assert not INTERNAL & set(one), one
        [row] = api.get("/api/v1/customers/").json()["results"]
        assert not INTERNAL & set(row), row


def test_office_roles_and_the_customers_own_key_read_the_internal_fields(api):
    customer = CustomerFactory(code="C-1", tier="gold", notes="Pays late.")
    _client, key = apiclient_create(name="Big customer", scopes=["customers:read"], customer=customer)
    for caller in (api, as_key(key)):
        one = caller.get(f"/api/v1/customers/{customer.pk}/").json()
        assert (one["code"], one["tier"], one["notes"]) == ("C-1", "gold", "Pays late.")


def test_the_schema_documents_the_endpoints(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/customers/", "/api/v1/sites/", "/api/v1/equipment/"):
        assert set(schema["paths"][path]) == {"get", "post"}
        detail = schema["paths"][path + "{id}/"]
        assert set(detail) == {"get", "patch"}
        assert {"200", "400", "404", "409", "412", "428"} <= set(detail["patch"]["responses"])
        params = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert {"updated_after", "created_after", "external_ref", "sort", "cursor"} <= params


def test_a_value_of_the_wrong_json_type_is_refused(api):
    for body, field in (({"name": "X", "phone": "13900001111", "external_ref": 0}, "external_ref"),
                        ({"name": 5, "phone": "13900001111"}, "name")):
        response = api.post("/api/v1/customers/", body, format="json")
        assert response.status_code == 400 and field in response.json()["fields"], response.json()
    site = api.post("/api/v1/sites/", {"customer": str(CustomerFactory().pk), "address": "A"}, format="json")
    assert site.status_code == 400 and "customer" in site.json()["fields"]
    assert not Customer.objects.filter(name="X").exists() and not Site.objects.exists()


@pytest.mark.parametrize("url", ["/api/v1/customers/", "/api/v1/sites/", "/api/v1/equipment/"])
def test_a_page_costs_the_same_queries_for_5_rows_as_for_25(api, url):
    def count():
        api.get(url, {"page_size": 200})  # warm: the session and the role are read once
        with CaptureQueriesContext(connection) as queries:
            assert api.get(url, {"page_size": 200, "sort": "updated_at"}).status_code == 200
        return len(queries)

    EquipmentFactory.create_batch(5)
    few = count()
    EquipmentFactory.create_batch(20)
    assert count() == few


def test_an_agent_takes_equipment_out_of_service(api):
    equipment = EquipmentFactory()
    url = f"/api/v1/equipment/{equipment.pk}/"
    read = api.get(url)
    assert read.json()["active"] is True

    retired = api.patch(url, {"active": False}, format="json", HTTP_IF_MATCH=read["ETag"])

    assert retired.status_code == 200, retired.json()
    assert retired.json()["active"] is False
    equipment.refresh_from_db()
    assert equipment.active is False
