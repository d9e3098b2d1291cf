"""The catalog and technicians in the API, as read: service types with their skills, parts,
technicians with skills and availability; visibility as on the pages; sync by updated_at."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from catalog.models import Part, ServiceTypeSkill, Skill
from technicians.models import Shift, Technician, TechnicianSkill
from tests.factories import PartnerTechnicianFactory, ServiceTypeFactory, UserFactory
from tests.workorders.test_api import api  # noqa: F401

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_service_types_come_with_the_skills_they_need(api, technician):
    st = ServiceTypeFactory(code="boiler", name="Boiler service")
    skill = Skill.objects.create(code="gas", name="Gas")
    ServiceTypeSkill.objects.create(service_type=st, skill=skill, min_level=3)

    body = api(technician.user).get(f"/api/v1/service-types/{st.pk}/").json()

    assert (body["code"], body["name"], body["active"]) == ("boiler", "Boiler service", True)
    assert body["skills"] == [{"id": skill.pk, "code": "gas", "name": "Gas", "min_level": 3}]


def test_parts_are_listed_synced_by_updated_at_and_found_by_reference(api, dispatcher):
    parts = [Part.objects.create(part_number=f"P-{i}", name=f"Part {i}", unit_price="9.50") for i in range(5)]
    for i, part in enumerate(parts):
        Part.objects.filter(pk=part.pk).update(updated_at=T0 + timedelta(hours=i))
    Part.objects.filter(pk=parts[2].pk).update(external_ref="ERP-P2", active=False)
    client = api(dispatcher)

    first = client.get("/api/v1/parts/", {"sort": "updated_at", "page_size": 2})
    assert ids(first) == [parts[0].pk, parts[1].pk]
    assert ids(client.get(first.json()["next"])) == [parts[2].pk, parts[3].pk]
    assert ids(client.get("/api/v1/parts/", {"updated_after": (T0 + timedelta(hours=3)).isoformat()})) == [
        parts[4].pk, parts[3].pk]
    assert ids(client.get("/api/v1/parts/", {"external_ref": "ERP-P2"})) == [parts[2].pk]
    assert ids(client.get("/api/v1/parts/", {"active": "false"})) == [parts[2].pk]
    row = client.get(f"/api/v1/parts/{parts[0].pk}/").json()
    assert (row["part_number"], row["unit_price"], row["external_ref"]) == ("P-0", "9.50", None)


def test_a_change_in_the_admin_moves_updated_at(dispatcher):
    part = Part.objects.create(part_number="P-1", name="Valve", unit_price="3.00")
    Part.objects.filter(pk=part.pk).update(updated_at=T0)
    part.refresh_from_db()

    part.name = "Valve, brass"
    part.save()

    assert part.updated_at > T0


@pytest.mark.parametrize("params, field", [
    ({"sort": "priority"}, "sort"), ({"updated_after": "soon"}, "updated_after"), ({"active": "maybe"}, "active"),
    ({"external_ref": "x" * 101}, "external_ref"), ({"cursor": "garbage"}, "cursor"),
])
def test_bad_list_parameters_are_refused_naming_them(api, dispatcher, params, field):
    response = api(dispatcher).get("/api/v1/parts/", params)

    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_a_technician_sees_their_skills_and_availability(api, technician, other_technician):
    skill = Skill.objects.create(code="aircon", name="Air conditioning")
    TechnicianSkill.objects.create(technician=technician, skill=skill, level=4)
    Shift.objects.create(technician=technician, weekday=0, start=time(9), end=time(18))
    Shift.objects.create(technician=technician, date=date(2026, 6, 3), available=False)
    client = api(technician.user)

    assert ids(client.get("/api/v1/technicians/")) == [technician.pk]
    body = client.get(f"/api/v1/technicians/{technician.pk}/").json()
    assert body["skills"] == [{"id": skill.pk, "code": "aircon", "name": "Air conditioning", "level": 4}]
    assert {"weekday": 0, "date": None, "start": "09:00:00", "end": "18:00:00", "available": True} in body[
        "availability"]
    assert {"weekday": None, "date": "2026-06-03", "start": None, "end": None, "available": False} in body[
        "availability"]
    response = client.get(f"/api/v1/technicians/{other_technician.pk}/")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_a_partner_technician_sees_their_company_only(api, partner_technician, technician):
    colleague = PartnerTechnicianFactory(partner_company=partner_technician.partner_company)
    client = api(partner_technician.user)

    assert set(ids(client.get("/api/v1/technicians/"))) == {partner_technician.pk, colleague.pk}
    assert client.get(f"/api/v1/technicians/{technician.pk}/").status_code == 404


def test_office_roles_see_every_technician_and_users_without_a_role_nothing(
    api, manager, technician, partner_technician
):
    assert set(ids(api(manager).get("/api/v1/technicians/"))) == set(Technician.objects.values_list("pk", flat=True))
    nobody = api(UserFactory())
    for url in ("/api/v1/technicians/", "/api/v1/parts/", "/api/v1/service-types/"):
        assert nobody.get(url).status_code == 403
        assert api().get(url).status_code == 401


def test_the_api_neither_replaces_nor_deletes_master_data(api, manager):
    part = Part.objects.create(part_number="P-1", name="Valve", unit_price="3.00")

    for method in ("post", "put", "delete"):  # a change is a PATCH (tests/catalog/test_api.py)
        response = getattr(api(manager), method)(f"/api/v1/parts/{part.pk}/", {}, format="json")
        assert response.status_code == 405
    assert Part.objects.get(pk=part.pk).name == "Valve"
