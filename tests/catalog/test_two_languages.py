"""Master data in both languages: each name has a Chinese and an English value, pages show the
active language's with a fallback to the other, and the old mixed names were split."""

import importlib

import pytest
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

    name = "0006_master_data_in_two_languages"
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
