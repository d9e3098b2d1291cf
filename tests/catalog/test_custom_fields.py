"""Custom fields of a service type at intake (issue 22): each kind's value is checked by one function
for the pages and the API; a value that does not fit is refused with the field's name, in the
reader's language, and nothing is saved; the values show on the staff detail page."""

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.custom_fields import custom_values_clean
from catalog.models import CustomField
from core.errors import InvalidInput
from tests.factories import ServiceTypeFactory
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db

LIST = "/api/v1/work-orders/"
INTAKE = "/staff/work-orders/new/"


def _field(service_type, key, label, kind, *, required=False, stage="intake", zh_options="", en_options="", **kw):
    zh_label, en_label = label
    return CustomField.objects.create(
        service_type=service_type, key=key, label=zh_label, label_zh_hans=zh_label, label_en=en_label, kind=kind,
        required=required, stage=stage, choices=zh_options, choices_zh_hans=zh_options or None,
        choices_en=en_options or None, **kw,
    )


@pytest.fixture
def inspection(db):
    """An inspection with a question of each kind asked at intake (one of them required)."""
    st = ServiceTypeFactory(code="inspection", name="Safety inspection")
    _field(st, "floors", ("楼层数", "Number of floors"), "number", required=True, position=1)
    _field(st, "building_type", ("建筑类型", "Building type"), "choice", position=2,
           zh_options="home = 住宅\nshop = 商铺", en_options="home = Home\nshop = Shop")
    _field(st, "access", ("进入方式", "How to get in"), "text", position=3)
    _field(st, "last_inspected", ("上次检查日期", "Last inspected"), "date", position=4)
    _field(st, "pets", ("有宠物", "Pets on site"), "yesno", position=5)
    return st


def _fields(st):
    return list(CustomField.objects.filter(service_type=st, stage="intake"))


@pytest.mark.parametrize("key, value, problem", [
    ("floors", "three", "Number of floors: enter a number."),
    ("floors", True, "Number of floors: enter a number."),
    ("floors", "1,5", "Number of floors: enter a number."),  # a decimal comma is not read as 15
    ("building_type", "castle", "Building type: “castle” is not one of the options (home, shop)."),
    ("access", 12, "How to get in: enter text."),
    ("last_inspected", "2026-02-30", "Last inspected: enter a date as YYYY-MM-DD."),
    ("pets", "maybe", "Pets on site: answer yes or no."),
    ("colour", "red", "colour: no such field for this service type."),
])
def test_a_value_that_does_not_fit_its_kind_is_refused_with_the_fields_name(inspection, key, value, problem):
    values = {"floors": 3, key: value}
    with pytest.raises(InvalidInput) as refused:
        custom_values_clean(fields=_fields(inspection), values=values)
    assert refused.value.fields == {f"custom.{key}": [problem]}


def test_a_required_field_left_out_or_empty_is_refused(inspection):
    for values in ({}, {"floors": ""}, {"floors": None}):
        with pytest.raises(InvalidInput) as refused:
            custom_values_clean(fields=_fields(inspection), values=values)
        assert refused.value.fields == {"custom.floors": ["Number of floors is required."]}


def test_the_message_names_the_field_in_the_readers_language(inspection):
    with translation.override("zh-hans"), pytest.raises(InvalidInput) as refused:
        custom_values_clean(fields=_fields(inspection), values={"floors": "三"})
    assert "楼层数" in refused.value.message


def test_good_values_are_stored_as_their_kinds(inspection):
    stored = custom_values_clean(fields=_fields(inspection), values={
        "floors": "12", "building_type": "Shop", "access": "  Ring the bell ", "last_inspected": "2025/3/1",
        "pets": "否",
    })
    assert stored == {"floors": 12, "building_type": "shop", "access": "Ring the bell",
                      "last_inspected": "2025-03-01", "pets": False}
    assert custom_values_clean(fields=_fields(inspection), values={"floors": 2.5})["floors"] == 2.5
    assert custom_values_clean(fields=_fields(inspection), values={"floors": "1,200"})["floors"] == 1200


def test_a_photo_is_not_asked_at_intake(inspection):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        _field(inspection, "photo", ("照片", "Photo"), "photo", stage="intake")


# --- API -------------------------------------------------------------------------------------------


def _api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _body(**custom):
    return {"contact_name": "王芳", "contact_phone": "138 1234 5678", "address": "上海市浦东新区世纪大道100号",
            "service_type": "inspection", "description": "年度安全检查。", "custom": custom}


def test_the_api_creates_an_order_with_its_custom_values_and_shows_them(agent, inspection):
    response = _api(agent).post(LIST, _body(floors="6", building_type="home", pets=True), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["custom"] == {"floors": 6, "building_type": "home", "pets": True}
    wo = WorkOrder.objects.get()
    assert wo.custom == {"floors": 6, "building_type": "home", "pets": True}
    assert _api(agent).get(f"{LIST}{wo.pk}/").json()["custom"] == wo.custom
    assert _api(agent).get(LIST).json()["results"][0]["custom"] == wo.custom
    # Queryable: the GIN index serves containment.
    assert list(WorkOrder.objects.filter(custom__contains={"building_type": "home"})) == [wo]


def test_the_api_refuses_a_bad_value_naming_the_field_and_creates_nothing(agent, inspection):
    response = _api(agent).post(LIST, _body(floors="many"), format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"custom.floors": ["Number of floors: enter a number."]}
    response = _api(agent).post(LIST, _body(building_type="home"), format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"custom.floors": ["Number of floors is required."]}
    assert not WorkOrder.objects.exists()


def test_a_patch_changes_only_the_values_it_names(agent, inspection):
    client = _api(agent)
    wo_id = client.post(LIST, _body(floors=6, access="Gate code 1234"), format="json").json()["id"]
    etag = client.get(f"{LIST}{wo_id}/")["ETag"]

    bad = client.patch(f"{LIST}{wo_id}/", {"custom": {"pets": "perhaps"}}, format="json", headers={"If-Match": etag})
    assert bad.status_code == 400
    assert bad.json()["fields"] == {"custom.pets": ["Pets on site: answer yes or no."]}
    assert WorkOrder.objects.get(pk=wo_id).custom == {"floors": 6, "access": "Gate code 1234"}

    good = client.patch(f"{LIST}{wo_id}/", {"custom": {"pets": "yes", "access": None}}, format="json",
                        headers={"If-Match": etag})
    assert good.status_code == 200, good.json()
    assert good.json()["custom"] == {"floors": 6, "pets": True}
    event = WorkOrder.objects.get(pk=wo_id).events.get(action="update")
    assert event.data["changes"]["custom"] == [{"floors": 6, "access": "Gate code 1234"}, {"floors": 6, "pets": True}]


def test_the_custom_fields_cost_the_api_create_no_query(agent, inspection, service_type):
    """The definitions come with the service types kept in memory: a type with questions creates
    with as many queries as one without."""
    client = _api(agent)
    client.post(LIST, _body(floors=1), format="json")  # reference data loaded, token cached

    def queries(body):
        with CaptureQueriesContext(connection) as ctx:
            assert client.post(LIST, body, format="json").status_code == 201
        return len(ctx)

    plain = {**_body(), "service_type": "ac-repair", "custom": {}, "contact_phone": "138 0000 0001"}
    asked = {**_body(floors=3, building_type="shop"), "contact_phone": "138 0000 0002"}
    assert queries(asked) == queries(plain)


# --- the staff pages ---------------------------------------------------------------------------


@pytest.fixture
def office(agent):
    client = Client(headers={"accept-language": "en"})
    client.force_login(agent)
    return client


def _intake(service_type, **overrides):
    return {"submission_key": str(uuid.uuid4()), "contact_phone": "138 1234 5678", "contact_name": "Zhou Min",
            "contact_email": "", "site": "", "address": "12 Lotus Road", "equipment": "",
            "service_type": service_type.pk, "description": "Yearly check.", "priority": 2, "save": "1",
            **overrides}


def test_the_phone_intake_shows_the_types_questions_once_it_is_chosen(office, inspection):
    page = office.post(INTAKE, {**_intake(inspection), "lookup": "1"}).content.decode()
    assert 'name="custom_floors"' in page and "Number of floors" in page
    assert 'name="custom_building_type"' in page and "Shop" in page
    assert 'required' in page.split('name="custom_floors"')[1].split(">")[0]


def test_the_phone_intake_refuses_a_bad_value_beside_its_field_and_saves_nothing(office, inspection):
    response = office.post(INTAKE, _intake(inspection, custom_floors="", custom_last_inspected="yesterday"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Number of floors is required." in page
    assert "Last inspected: enter a date as YYYY-MM-DD." in page
    assert not WorkOrder.objects.exists()


def test_the_phone_intake_saves_the_values_and_the_detail_page_shows_them(office, inspection):
    response = office.post(INTAKE, _intake(inspection, custom_floors="4", custom_building_type="shop",
                                           custom_pets="no"))
    assert response.status_code == 302, response.content.decode()[:2000]
    wo = WorkOrder.objects.get()
    assert wo.custom == {"floors": 4, "building_type": "shop", "pets": False}

    page = office.get(response["Location"]).content.decode()
    assert "Number of floors</dt><dd>4</dd>" in page
    assert "Building type</dt><dd>Shop</dd>" in page
    assert "Pets on site</dt><dd>No</dd>" in page


def test_the_service_type_api_lists_its_custom_fields_for_integrations(agent, inspection):
    body = _api(agent).get(f"/api/v1/service-types/{inspection.pk}/").json()
    fields = {f["key"]: f for f in body["custom_fields"]}
    assert list(fields) == ["floors", "building_type", "access", "last_inspected", "pets"]
    assert fields["floors"] == {"key": "floors", "label": "Number of floors", "kind": "number", "required": True,
                                "stage": "intake", "options": []}
    assert fields["building_type"]["options"] == [{"code": "home", "label": "Home"}, {"code": "shop", "label": "Shop"}]
