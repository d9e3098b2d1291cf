"""Parts and service types in the API (/api/v1/parts/, /api/v1/service-types/): created and
changed from a version (ETag / If-Match or the body's version) by managers and unrestricted API
clients; parts with the stock on hand across every location (one query per page); synced by
updated_after / created_after."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apiclients.services import apiclient_create
from catalog.models import Part, ServiceType, Skill
from catalog.selectors import service_type_by_code
from inventory.models import StockLevel, StockLocation
from tests.factories import PartnerCompanyFactory
from tests.clients import as_key, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_rate_limits):
    return fresh_rate_limits


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def _part(number="P-1", **values):
    return Part.objects.create(part_number=number, name_en=values.pop("name_en", "Filter"),
                               unit_price=values.pop("unit_price", "9.50"), **values)


def _stock(part, **quantities):
    for code, quantity in quantities.items():
        location, _created = StockLocation.objects.get_or_create(code=code, defaults={"name": code,
                                                                                       "kind": "warehouse"})
        StockLevel.objects.create(location=location, part=part, on_hand=quantity)


def test_a_manager_creates_and_changes_a_part(manager):
    api = logged_in(manager)
    made = api.post("/api/v1/parts/", {"part_number": "FLT-200", "name_zh_hans": "空调滤网", "name_en": "Air filter",
                                       "unit_price": "45.00", "unit_cost": "18.00", "external_ref": "ERP-P-200"},
                    format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["name"], body["unit_price"], body["stock_on_hand"], body["external_ref"]) == (
        "Air filter", "45.00", "0.000", "ERP-P-200")
    assert "unit_cost" not in body
    url = f"/api/v1/parts/{body['id']}/"
    changed = api.patch(url, {"unit_price": "49.00", "version": body["version"]}, format="json")
    assert changed.status_code == 200 and changed.json()["unit_price"] == "49.00"
    stale = api.patch(url, {"unit_price": "1.00"}, format="json", HTTP_IF_MATCH=made["ETag"])
    assert stale.status_code == 412 and f'"{stale.json()["version"]}"' == changed["ETag"]
    assert Part.objects.get(pk=body["id"]).unit_price == Decimal("49.00")
    assert api.patch(url, {"unit_price": "2.00"}, format="json").status_code == 428


def test_stock_on_hand_sums_every_location_in_one_query_per_page(manager):
    api = logged_in(manager)
    parts = [_part(f"P-{i}") for i in range(3)]
    _stock(parts[0], main="10", van="2.5")
    _stock(parts[1], main="4")
    api.get("/api/v1/parts/")
    with CaptureQueriesContext(connection) as few:
        rows = api.get("/api/v1/parts/", {"sort": "id"}).json()["results"]
    assert [row["stock_on_hand"] for row in rows] == ["12.500", "4.000", "0.000"]
    for i in range(3, 12):
        _stock(_part(f"P-{i}"), main="1")
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/parts/").json()["results"]) == 12
    assert len(many) == len(few)
    assert api.get(f"/api/v1/parts/{parts[0].pk}/").json()["stock_on_hand"] == "12.500"


def test_field_roles_read_parts_without_the_company_stock_and_change_nothing(technician, dispatcher, agent):
    part = _part()
    _stock(part, main="3")
    api = logged_in(technician.user)
    row = api.get(f"/api/v1/parts/{part.pk}/").json()
    assert row["part_number"] == "P-1" and "stock_on_hand" not in row
    for user in (technician.user, dispatcher, agent):
        client = logged_in(user)
        url = f"/api/v1/parts/{part.pk}/"
        assert client.patch(url, {"unit_price": "1.00"}, format="json",
                            HTTP_IF_MATCH=client.get(url)["ETag"]).status_code == 403
        assert client.post("/api/v1/parts/", {"part_number": "X", "name_en": "X", "unit_price": "1.00"},
                           format="json").status_code == 403
        assert client.post("/api/v1/service-types/", {"code": "x", "name_en": "X"}, format="json").status_code == 403
    assert Part.objects.get().unit_price == Decimal("9.50") and not ServiceType.objects.exists()


def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(manager):
    api = logged_in(manager)
    Skill.objects.create(code="gas", name="Gas")
    for url, body, field in [
        ("/api/v1/parts/", {"part_number": "A", "name_en": "A", "unit_price": 12.5}, "unit_price"),
        ("/api/v1/parts/", {"part_number": "A", "name_en": "A", "unit_price": "-1"}, "unit_price"),
        ("/api/v1/parts/", {"part_number": "A", "unit_price": "1.00"}, "name_en"),
        ("/api/v1/parts/", {"part_number": "A", "name_en": "A", "unit_price": "1", "stock_on_hand": "5"},
         "stock_on_hand"),
        ("/api/v1/parts/", {"part_number": "A", "name": "A", "unit_price": "1"}, "name"),
        ("/api/v1/service-types/", {"code": "a b", "name_en": "A"}, "code"),
        ("/api/v1/service-types/", {"code": "a", "name_en": "A", "skills": [{"skill": "welding"}]}, "skills"),
        ("/api/v1/service-types/", {"code": "a", "name_en": "A", "skills": [{"skill": "gas", "min_level": 9}]},
         "skills"),
        ("/api/v1/service-types/", {"code": "a", "name_en": "A", "colour": "red"}, "colour"),
    ]:
        refused = api.post(url, body, format="json")
        assert refused.status_code == 400, (body, refused.json())
        assert field in refused.json()["fields"], (body, refused.json())
    assert not Part.objects.exists() and not ServiceType.objects.exists()


def test_a_taken_number_code_or_reference_is_a_conflict_naming_it(manager, service_type):
    _part("P-1", external_ref="ERP-1")
    api = logged_in(manager)
    taken = api.post("/api/v1/parts/", {"part_number": "P-1", "name_en": "A", "unit_price": "1"}, format="json")
    assert taken.status_code == 409 and list(taken.json()["fields"]) == ["part_number"]
    taken = api.post("/api/v1/parts/", {"part_number": "P-2", "name_en": "A", "unit_price": "1",
                                        "external_ref": "ERP-1"}, format="json")
    assert taken.status_code == 409 and list(taken.json()["fields"]) == ["external_ref"]
    taken = api.post("/api/v1/service-types/", {"code": service_type.code, "name_en": "A"}, format="json")
    assert taken.status_code == 409 and list(taken.json()["fields"]) == ["code"]
    assert Part.objects.count() == 1 and ServiceType.objects.count() == 1


def test_a_service_type_with_skills_by_code_and_a_change_seen_by_the_intake(manager):
    gas, electrical = Skill.objects.create(code="gas", name="Gas"), Skill.objects.create(code="el", name="El")
    api = logged_in(manager)
    made = api.post("/api/v1/service-types/", {"code": "boiler", "name_zh_hans": "锅炉保养", "name_en": "Boiler",
                                               "callout_fee": "80.00", "skills": [{"skill": "gas", "min_level": 3}]},
                    format="json")
    assert made.status_code == 201, made.json()
    assert [(s["code"], s["min_level"]) for s in made.json()["skills"]] == [("gas", 3)]
    assert service_type_by_code("boiler").callout_fee == Decimal("80.00")

    url = f"/api/v1/service-types/{made.json()['id']}/"
    changed = api.patch(url, {"callout_fee": "95.00", "skills": [{"skill": electrical.pk}]}, format="json",
                        HTTP_IF_MATCH=made["ETag"])
    assert changed.status_code == 200, changed.json()
    assert [(s["id"], s["min_level"]) for s in changed.json()["skills"]] == [(electrical.pk, 1)]
    # The per-process copies the intake reads are dropped by the change.
    assert service_type_by_code("boiler").callout_fee == Decimal("95.00")
    stale = api.patch(url, {"active": False}, format="json", HTTP_IF_MATCH=made["ETag"])
    assert stale.status_code == 412 and ServiceType.objects.get(code="boiler").active
    assert gas.pk not in ServiceType.objects.get(code="boiler").required_skills.values_list("skill_id", flat=True)


def test_sync_filters_return_exactly_the_changed_rows(manager):
    old, changed, new = _part("P-1"), _part("P-2"), _part("P-3")
    long_ago = timezone.now() - timedelta(days=3)
    Part.objects.filter(pk__in=[old.pk, changed.pk]).update(updated_at=long_ago, created_at=long_ago)
    api = logged_in(manager)
    url = f"/api/v1/parts/{changed.pk}/"
    assert api.patch(url, {"active": False}, format="json", HTTP_IF_MATCH=api.get(url)["ETag"]).status_code == 200
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(api.get("/api/v1/parts/", {"updated_after": since, "sort": "updated_at"})) == [new.pk, changed.pk]
    assert ids(api.get("/api/v1/parts/", {"created_after": since})) == [new.pk]
    assert ids(api.get("/api/v1/parts/", {"sort": "created_at"}))[-1] == new.pk
    assert ids(api.get("/api/v1/parts/", {"active": "false"})) == [changed.pk]


def test_keys_need_the_parts_or_service_types_scope_to_write(db):
    _client, key = apiclient_create(name="ERP", scopes=["parts:write", "service_types:read"])
    erp = as_key(key)
    made = erp.post("/api/v1/parts/", {"part_number": "K-1", "name_en": "Valve", "unit_price": "3.00"},
                    format="json")
    assert made.status_code == 201 and made.json()["stock_on_hand"] == "0.000"
    assert erp.post("/api/v1/service-types/", {"code": "k", "name_en": "K"}, format="json").status_code == 403
    _client, key = apiclient_create(name="Partner", scopes=["parts:write"], partner_company=PartnerCompanyFactory())
    partner = as_key(key)
    row = partner.get(f"/api/v1/parts/{made.json()['id']}/")
    assert row.status_code == 200 and "stock_on_hand" not in row.json()
    assert partner.post("/api/v1/parts/", {"part_number": "K-2", "name_en": "V", "unit_price": "3.00"},
                        format="json").status_code == 403


def test_a_part_retired_or_renumbered_through_the_api_leaves_what_assignment_reserves(manager, service_type):
    from catalog.models import ServiceTypePart
    from catalog.selectors import service_type_parts

    part = _part("CMP-1")
    ServiceTypePart.objects.create(service_type=service_type, part=part, quantity=1)
    assert [p.part_number for p in service_type_parts(service_type.pk)] == ["CMP-1"]  # kept per process now
    api = logged_in(manager)
    url = f"/api/v1/parts/{part.pk}/"
    renamed = api.patch(url, {"part_number": "CMP-2"}, format="json", HTTP_IF_MATCH=api.get(url)["ETag"])
    assert renamed.status_code == 200
    assert [p.part_number for p in service_type_parts(service_type.pk)] == ["CMP-2"]
    retired = api.patch(url, {"active": False}, format="json", HTTP_IF_MATCH=renamed["ETag"])
    assert retired.status_code == 200
    assert service_type_parts(service_type.pk) == ()


def test_a_nul_character_in_a_skill_is_refused_not_a_server_error(manager):
    answer = logged_in(manager).post("/api/v1/service-types/", {"code": "nul", "name_en": "Nul",
                                                                "skills": [{"skill": "hv\u0000ac"}]}, format="json")
    assert answer.status_code == 400 and "skills" in answer.json()["fields"]
    assert not ServiceType.objects.filter(code="nul").exists()
