"""Technicians in the API (/api/v1/technicians/): created and changed from a version (ETag /
If-Match or the body's version) by dispatchers, managers and unrestricted API clients, with
skills named by id or code; synced by updated_after / created_after; seen as on the pages."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apiclients.services import apiclient_create
from catalog.models import Skill
from core import roles as R
from technicians.models import Technician
from tests.factories import PartnerTechnicianFactory, TechnicianFactory
from tests.clients import as_key, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_rate_limits):
    return fresh_rate_limits


@pytest.fixture
def skills(db):
    return Skill.objects.create(code="hvac", name="HVAC"), Skill.objects.create(code="electrical", name="Electrical")


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_a_dispatcher_creates_a_technician_with_skills_by_code_and_id(dispatcher, skills):
    hvac, electrical = skills
    api = logged_in(dispatcher)
    made = api.post("/api/v1/technicians/", {
        "username": "wang.fang", "first_name": "Fang", "last_name": "Wang", "phone": "139 0000 1111",
        "skills": [{"skill": "hvac", "level": 3}, {"skill": electrical.pk}], "external_ref": "HR-T-1",
    }, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert made["ETag"] == f'"{body["version"]}"'
    assert (body["username"], body["name"], body["phone"], body["external_ref"]) == (
        "wang.fang", "Fang Wang", "+8613900001111", "HR-T-1")
    assert sorted((s["code"], s["level"]) for s in body["skills"]) == [("electrical", 1), ("hvac", 3)]
    assert body["availability"] == [] and body["partner_company"] is None
    technician = Technician.objects.get(pk=body["id"])
    assert R.roles_of(technician.user) == {R.TECHNICIAN} and not technician.user.has_usable_password()


def test_a_partner_companys_technician_gets_the_partner_role(manager):
    company = PartnerTechnicianFactory().partner_company
    made = logged_in(manager).post("/api/v1/technicians/", {"username": "li.partner", "partner_company":
                                                            company.pk}, format="json")
    assert made.status_code == 201, made.json()
    assert R.roles_of(Technician.objects.get(pk=made.json()["id"]).user) == {R.PARTNER_TECHNICIAN}


def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(dispatcher, skills):
    api = logged_in(dispatcher)
    before = Technician.objects.count()
    for body, field in [
        ({"username": "a", "skills": [{"skill": "plumbing"}]}, "skills"),
        ({"username": "a", "skills": [{"skill": "hvac"}, {"skill": skills[0].pk}]}, "skills"),
        ({"username": "a", "skills": [{"skill": "hvac", "level": 6}]}, "skills"),
        ({"username": "a b"}, "username"),
        ({"username": "a", "partner_company": 999999}, "partner_company"),
        ({"username": "a", "name": "A"}, "name"),
        ({"username": "a", "availability": []}, "availability"),
        ({"username": "a", "salary": 1}, "salary"),
        ({"username": "a", "phone": 13900001111}, "phone"),
    ]:
        refused = api.post("/api/v1/technicians/", body, format="json")
        assert refused.status_code == 400, body
        assert field in refused.json()["fields"], (body, refused.json())
    assert Technician.objects.count() == before


def test_a_taken_username_employee_number_or_reference_is_a_conflict_naming_it(dispatcher):
    TechnicianFactory(user__username="taken", employee_number="E-1", external_ref="HR-1")
    api = logged_in(dispatcher)
    for field, value in [("username", "taken"), ("employee_number", "E-1"), ("external_ref", "HR-1")]:
        body = {"username": "fresh", field: value}
        refused = api.post("/api/v1/technicians/", body, format="json")
        assert refused.status_code == 409 and list(refused.json()["fields"]) == [field]
    assert not Technician.objects.filter(user__username="fresh").exists()


def test_a_change_needs_the_current_version_else_412(dispatcher, manager, skills):
    technician = TechnicianFactory(user__first_name="Old")
    url = f"/api/v1/technicians/{technician.pk}/"
    api = logged_in(dispatcher)
    read = api.get(url)
    assert api.patch(url, {"first_name": "New"}, format="json").status_code == 428

    changed = api.patch(url, {"first_name": "New", "skills": [{"skill": "hvac", "level": 2}]}, format="json",
                        HTTP_IF_MATCH=read["ETag"])
    assert changed.status_code == 200, changed.json()
    assert changed.json()["first_name"] == "New" and [s["code"] for s in changed.json()["skills"]] == ["hvac"]
    assert changed["ETag"] != read["ETag"]

    stale = logged_in(manager).patch(url, {"phone": "13900002222"}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert stale.status_code == 412 and f'"{stale.json()["version"]}"' == changed["ETag"]
    technician.refresh_from_db()
    assert technician.phone != "+8613900002222"

    by_body = api.patch(url, {"skills": [], "version": changed.json()["version"]}, format="json")
    assert by_body.status_code == 200 and by_body.json()["skills"] == []
    assert technician.skill_levels.count() == 0
    same = api.patch(url, {"skills": [], "version": by_body.json()["version"]}, format="json")
    assert same.status_code == 200 and same["ETag"] == by_body["ETag"]


def test_username_and_company_are_read_only_in_a_change(dispatcher):
    technician = TechnicianFactory()
    url = f"/api/v1/technicians/{technician.pk}/"
    api = logged_in(dispatcher)
    etag = api.get(url)["ETag"]
    refused = api.patch(url, {"username": "renamed", "partner_company": None, "created_at": "2026-01-01T00:00Z"},
                        format="json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 400
    assert set(refused.json()["fields"]) == {"username", "partner_company", "created_at"}
    assert api.get(url)["ETag"] == etag


def test_sync_filters_return_exactly_the_changed_rows(dispatcher):
    old, changed, new = TechnicianFactory(), TechnicianFactory(), TechnicianFactory()
    long_ago = timezone.now() - timedelta(days=3)
    Technician.objects.filter(pk__in=[old.pk, changed.pk]).update(updated_at=long_ago, created_at=long_ago)
    api = logged_in(dispatcher)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    url = f"/api/v1/technicians/{changed.pk}/"
    assert api.patch(url, {"active": False}, format="json", HTTP_IF_MATCH=api.get(url)["ETag"]).status_code == 200

    assert ids(api.get("/api/v1/technicians/", {"updated_after": since, "sort": "updated_at"})) == [
        new.pk, changed.pk]
    assert ids(api.get("/api/v1/technicians/", {"created_after": since})) == [new.pk]
    assert ids(api.get("/api/v1/technicians/", {"sort": "-created_at"}))[-2:] == sorted([old.pk, changed.pk],
                                                                                        reverse=True)
    assert ids(api.get("/api/v1/technicians/", {"active": "false"})) == [changed.pk]


def test_field_roles_and_agents_read_but_do_not_write(agent, technician, partner_technician):
    colleague = PartnerTechnicianFactory(partner_company=partner_technician.partner_company)
    stranger = PartnerTechnicianFactory()
    partner = logged_in(partner_technician.user)
    assert sorted(ids(partner.get("/api/v1/technicians/"))) == sorted([partner_technician.pk, colleague.pk])
    assert partner.get(f"/api/v1/technicians/{stranger.pk}/").status_code == 404
    assert partner.patch(f"/api/v1/technicians/{stranger.pk}/", {"active": False}, format="json",
                         HTTP_IF_MATCH='"1"').status_code == 404
    url = f"/api/v1/technicians/{colleague.pk}/"
    assert partner.patch(url, {"active": False}, format="json",
                         HTTP_IF_MATCH=partner.get(url)["ETag"]).status_code == 403
    for user in (agent, technician.user, partner_technician.user):
        assert logged_in(user).post("/api/v1/technicians/", {"username": "x"}, format="json").status_code == 403
    assert Technician.objects.filter(pk=colleague.pk, active=True).exists()


def test_keys_write_with_the_technicians_scope_and_a_partner_key_keeps_its_company(db):
    _client, key = apiclient_create(name="HR", scopes=["technicians:write"])
    assert as_key(key).post("/api/v1/technicians/", {"username": "hr.made"}, format="json").status_code == 201
    _client, key = apiclient_create(name="Reader", scopes=["technicians:read"])
    refused = as_key(key).post("/api/v1/technicians/", {"username": "read.only"}, format="json")
    assert refused.status_code == 403
    mine, theirs = PartnerTechnicianFactory(), PartnerTechnicianFactory()
    _client, key = apiclient_create(name="Partner", scopes=["technicians:write"],
                                    partner_company=mine.partner_company)
    partner = as_key(key)
    assert ids(partner.get("/api/v1/technicians/")) == [mine.pk]
    assert partner.get(f"/api/v1/technicians/{theirs.pk}/").status_code == 404
    # A partner company's key keeps that company's technicians: it changes them ...
    url = f"/api/v1/technicians/{mine.pk}/"
    assert partner.patch(url, {"active": False}, format="json",
                         HTTP_IF_MATCH=partner.get(url)["ETag"]).status_code == 200
    mine.refresh_from_db()
    assert mine.active is False
    # ... and creates new ones, which join the company in the partner technician role,
    made = partner.post("/api/v1/technicians/", {"username": "partner.new", "phone": "139 0000 2222"}, format="json")
    assert made.status_code == 201 and made.json()["partner_company"] == mine.partner_company_id
    new = Technician.objects.get(pk=made.json()["id"])
    assert new.partner_company_id == mine.partner_company_id
    assert list(new.user.groups.values_list("name", flat=True)) == [R.PARTNER_TECHNICIAN]
    # but never another company's: refused naming the field, nothing written.
    refused = partner.post("/api/v1/technicians/", {"username": "partner.other",
                                                     "partner_company": theirs.partner_company_id}, format="json")
    assert refused.status_code == 400 and list(refused.json()["fields"]) == ["partner_company"]
    assert not Technician.objects.filter(user__username="partner.other").exists()
    assert partner.patch(f"/api/v1/technicians/{theirs.pk}/", {"active": False}, format="json",
                         HTTP_IF_MATCH='"x"').status_code == 404
    assert sorted(ids(partner.get("/api/v1/technicians/"))) == sorted([mine.pk, new.pk])


def test_a_page_costs_the_same_queries_for_3_rows_as_for_12(dispatcher, skills):
    api = logged_in(dispatcher)
    api.get("/api/v1/technicians/")
    counts = []
    for n in (3, 9):
        for _i in range(n):
            TechnicianFactory().skill_levels.create(skill=skills[0], level=2)
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/technicians/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_home_address_is_shown_to_those_who_change_technicians_and_to_its_owner(dispatcher):
    me = PartnerTechnicianFactory(home_address="1 My Road")
    colleague = PartnerTechnicianFactory(partner_company=me.partner_company, home_address="2 Colleague Road")
    listed = {row["id"]: row for row in logged_in(me.user).get("/api/v1/technicians/").json()["results"]}
    assert listed[me.pk]["home_address"] == "1 My Road"
    assert "home_address" not in listed[colleague.pk]
    assert "home_address" not in logged_in(me.user).get(f"/api/v1/technicians/{colleague.pk}/").json()
    assert logged_in(dispatcher).get(f"/api/v1/technicians/{colleague.pk}/").json()["home_address"] == \
        "2 Colleague Road"


def test_a_key_reads_home_addresses_only_with_the_technicians_write_scope(db):
    mine = PartnerTechnicianFactory(home_address="1 Partner Road")
    for scope, shown in (("technicians:read", False), ("technicians:write", True)):
        for company in (None, mine.partner_company):
            _client, key = apiclient_create(name=f"{scope} {company}", scopes=[scope], partner_company=company)
            row = as_key(key).get(f"/api/v1/technicians/{mine.pk}/").json()
            assert ("home_address" in row) is shown, (scope, company)
