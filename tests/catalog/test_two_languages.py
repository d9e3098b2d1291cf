"""Master data in both languages: each name has a Chinese and an English value, pages show the
active language's with a fallback to the other, and the old mixed names were split."""

import importlib
import re

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils import translation

from catalog.models import ChecklistItem, Part, ServiceType, Skill
from core.i18n import split_bilingual
from tests.factories import ChecklistItemFactory, ServiceTypeFactory, UserFactory


@pytest.mark.parametrize("text, parts", [
    ("空调维修 Air conditioner repair", ("空调维修", "Air conditioner repair")),
    ("Air conditioner repair 空调维修", ("空调维修", "Air conditioner repair")),
    ("空调维修 / Air conditioner repair", ("空调维修", "Air conditioner repair")),
    ("空调（Air conditioning）", ("空调", "Air conditioning")),
    ("R32 冷媒 Refrigerant R32", ("R32 冷媒", "Refrigerant R32")),
    ("铜管（保温） Insulated copper pipe", ("铜管（保温）", "Insulated copper pipe")),
    ("压缩机 1.5匹 Compressor 1.5 HP", ("压缩机 1.5匹", "Compressor 1.5 HP")),
    ("冷媒 R32", ("冷媒 R32", "")),
    ("KFR-35GW 空调", ("KFR-35GW 空调", "")),
    ("空调不制冷，外机有异响。", ("空调不制冷，外机有异响。", "")),
    ("Compressor", ("", "Compressor")),
    ("  ", ("", "")),
    (None, ("", "")),
])
def test_a_mixed_name_is_split_into_its_chinese_and_english_part(text, parts):
    assert split_bilingual(text) == parts


@pytest.mark.django_db
def test_a_name_is_read_in_the_active_language_with_the_other_as_fallback():
    both = ServiceType.objects.create(code="ac", name_zh_hans="空调维修", name_en="Air conditioner repair")
    chinese_only = Skill.objects.create(code="gas", name_zh_hans="燃气")
    with translation.override("en"):
        assert str(ServiceType.objects.get(pk=both.pk)) == "Air conditioner repair"
        assert Skill.objects.get(pk=chinese_only.pk).name == "燃气"
    with translation.override("zh-hans"):
        assert str(ServiceType.objects.get(pk=both.pk)) == "空调维修"
        assert list(ServiceType.objects.filter(name="空调维修")) == [both]


@pytest.mark.django_db
def test_the_migration_splits_the_mixed_names_into_the_two_columns():
    service_type = ServiceTypeFactory(code="ac-repair")
    item = ChecklistItemFactory(service_type=service_type)
    part = Part.objects.create(part_number="R32-KG", name="x", unit="kg", unit_price=65)
    # As the rows were before the columns existed: one mixed name, no translations.
    ServiceType.objects.rewrite(False).filter(pk=service_type.pk).update(
        name="空调维修 Air conditioner repair", name_zh_hans=None, name_en=None,
        description="检查外机 Check the outdoor unit", description_zh_hans=None, description_en=None)
    ChecklistItem.objects.rewrite(False).filter(pk=item.pk).update(text="测试绝缘 Test the insulation", text_zh_hans=None, text_en=None)
    Part.objects.rewrite(False).filter(pk=part.pk).update(name="R32 冷媒 Refrigerant R32", name_zh_hans=None, name_en=None)

    name = "0007_master_data_in_two_languages"
    state = MigrationLoader(connection).project_state(("catalog", name))
    importlib.import_module(f"catalog.migrations.{name}").split_names(state.apps, None)

    row = ServiceType.objects.values("name_zh_hans", "name_en", "description_zh_hans", "description_en").get()
    assert row == {"name_zh_hans": "空调维修", "name_en": "Air conditioner repair",
                   "description_zh_hans": "检查外机", "description_en": "Check the outdoor unit"}
    assert ChecklistItem.objects.values_list("text_zh_hans", "text_en").get() == ("测试绝缘", "Test the insulation")
    assert Part.objects.values_list("name_zh_hans", "name_en").get() == ("R32 冷媒", "Refrigerant R32")


@pytest.mark.django_db
def test_the_admin_edits_both_languages_of_a_service_type(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    service_type = ServiceType.objects.create(code="ac", name_zh_hans="空调维修", name_en="Air conditioner repair")

    page = client.get(reverse("admin:catalog_servicetype_change", args=[service_type.pk])).content.decode()

    assert 'name="name_zh_hans"' in page and 'value="空调维修"' in page
    assert 'name="name_en"' in page and 'value="Air conditioner repair"' in page
    # Tabs or not (jQuery UI installed or not), every script comes from this site, never a CDN.
    scripts = re.findall(r'<script[^>]* src="([^"]+)"', page)
    assert scripts and all(src.startswith("/") and not src.startswith("//") for src in scripts), scripts
    assert ("/static/jquery-ui/jquery-ui.min.js" in scripts) == settings.JQUERY_UI_AVAILABLE


@pytest.mark.django_db
@pytest.mark.parametrize("language, names, error", [
    ("en", ("Air conditioner repair", "Refrigeration"), "No such service type."),
    ("zh-hans", ("空调维修", "制冷"), "不存在该服务类型。"),
])
def test_the_api_answers_names_and_errors_in_the_accept_language(dispatcher, language, names, error):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from catalog.models import ServiceTypeSkill

    service_type = ServiceType.objects.create(code="ac", name_zh_hans="空调维修", name_en="Air conditioner repair")
    skill = Skill.objects.create(code="cold", name_zh_hans="制冷", name_en="Refrigeration")
    ServiceTypeSkill.objects.create(service_type=service_type, skill=skill, min_level=2)
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=dispatcher)[0].key}")

    body = client.get(f"/api/v1/service-types/{service_type.pk}/").json()
    missing = client.get(f"/api/v1/service-types/{service_type.pk + 1000}/")

    assert (body["name"], body["skills"][0]["name"]) == names
    assert missing.status_code == 404 and missing.json()["detail"] == error


PARTS = "/admin/catalog/part/"


def _import_parts(client, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    preview = client.post(PARTS + "import/", {"import_file": SimpleUploadedFile("parts.csv", content.encode()),
                                              "format": "0"})
    form = preview.context.get("confirm_form") if preview.context else None
    if form is not None:
        data = {name: form.initial[name] for name in ("import_file_name", "original_file_name", "format")}
        client.post(PARTS + "process_import/", {**data, "resource": ""})
    return preview


@pytest.mark.django_db
def test_parts_import_names_in_both_columns_or_one_mixed_name(client, manager):
    client.force_login(manager)
    _import_parts(client, "part_number,name_zh_hans,name_en,unit_price\nP-1,排水泵,Drain pump,120\nP-2,,Igniter,45\n"
                          "P-3,空调滤网,,25\n")
    _import_parts(client, "part_number,name,unit_price\nP-4,空调滤网 Air conditioner filter,25\n")

    names = dict(Part.objects.values_list("part_number", "name_zh_hans"))
    english = dict(Part.objects.values_list("part_number", "name_en"))
    assert names == {"P-1": "排水泵", "P-2": "", "P-3": "空调滤网", "P-4": "空调滤网"}
    assert english == {"P-1": "Drain pump", "P-2": "Igniter", "P-3": "", "P-4": "Air conditioner filter"}
    again = _import_parts(client, "part_number,name_zh_hans,name_en,unit_price\nP-1,排水泵,Drain pump,120\n")
    assert "0 to create, 0 to update, 1 unchanged" in again.content.decode()
    with translation.override("zh-hans"):
        assert Part.objects.get(part_number="P-2").name == "Igniter"  # no Chinese name: the English one


@pytest.mark.django_db
def test_a_part_without_a_name_in_either_language_is_refused(client, manager):
    client.force_login(manager)
    preview = _import_parts(client, "part_number,name_zh_hans,name_en,unit_price\nP-1,,,120\n")

    errors = {column for row in preview.context["result"].invalid_rows for column in row.field_specific_errors}
    assert errors == {"name_zh_hans"} and not Part.objects.exists()


@pytest.mark.django_db
def test_exports_and_templates_carry_both_languages():
    from catalog.resources import ServiceTypeResource

    ServiceType.objects.create(code="ac", name_zh_hans="空调维修", name_en="Air conditioner repair")
    exported = ServiceTypeResource().export()
    row = dict(zip(exported.headers, exported[0]))

    assert (row["name_zh_hans"], row["name_en"]) == ("空调维修", "Air conditioner repair")
    headers = ServiceTypeResource().template_headers()
    assert "name_zh_hans 名称（中文）" in headers and "name_en 名称（英文）" in headers
    assert not any(h.split()[0] == "name" for h in headers)
