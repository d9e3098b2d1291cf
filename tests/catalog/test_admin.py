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
