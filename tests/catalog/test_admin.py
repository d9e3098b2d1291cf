"""The catalog in Django admin: a service type's page holds its required skills and its checklist."""

import pytest
from django.urls import reverse

from catalog.models import ServiceTypeSkill
from tests.factories import ChecklistItemFactory, ServiceTypeFactory, SkillFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_service_types_page_shows_its_required_skills_and_checklist(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    service_type = ServiceTypeFactory(name="Boiler service")
    ServiceTypeSkill.objects.create(service_type=service_type, skill=SkillFactory(name="Gas safety"), min_level=3)
    ChecklistItemFactory(service_type=service_type, text="Check the flue for leaks")

    page = client.get(reverse("admin:catalog_servicetype_change", args=[service_type.pk])).content.decode()

    assert "Check the flue for leaks" in page
    assert 'name="required_skills-0-min_level" value="3"' in page


def test_skills_and_checklist_items_have_their_own_lists(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    SkillFactory(name="Gas safety")
    ChecklistItemFactory(text="Check the flue for leaks")

    assert "Gas safety" in client.get(reverse("admin:catalog_skill_changelist")).content.decode()
    assert "Check the flue for leaks" in client.get(reverse("admin:catalog_checklistitem_changelist")).content.decode()


def test_a_service_types_page_holds_its_custom_fields(client):
    from catalog.models import CustomField

    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    service_type = ServiceTypeFactory(name="Safety inspection")
    CustomField.objects.create(service_type=service_type, key="before_photo", label="Photo before",
                               label_en="Photo before", kind="photo", stage="completion", required=True)

    page = client.get(reverse("admin:catalog_servicetype_change", args=[service_type.pk])).content.decode()

    assert 'name="custom_fields-0-key" value="before_photo"' in page
    assert 'name="custom_fields-0-label_en"' in page and 'name="custom_fields-0-choices_zh_hans"' in page


def test_a_custom_field_that_cannot_work_is_refused_when_saved(db):
    from django.core.exceptions import ValidationError

    from catalog.models import CustomField

    service_type = ServiceTypeFactory(name="Safety inspection")
    mismatched = CustomField(service_type=service_type, key="building", label="建筑", kind="choice",
                             choices_zh_hans="home = 住宅\nshop = 商铺", choices_en="home = Home\nfactory = Factory")
    with pytest.raises(ValidationError) as refused:
        mismatched.full_clean()
    assert "same in both languages" in str(refused.value)
    empty = CustomField(service_type=service_type, key="building", label="Building", kind="choice")
    with pytest.raises(ValidationError, match="at least one option"):
        empty.full_clean()
    photo_at_intake = CustomField(service_type=service_type, key="photo", label="Photo", kind="photo",
                                  stage="intake")
    with pytest.raises(ValidationError, match="at completion"):
        photo_at_intake.full_clean()
