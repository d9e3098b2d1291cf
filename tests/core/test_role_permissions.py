"""What each role may do in Django admin (core/apps.py ROLE_PERMISSIONS), on the master data."""

import pytest
from django.urls import reverse

from core import roles as R
from core.apps import grant_role_permissions
from tests.factories import ServiceTypeFactory, SkillFactory, UserFactory

pytestmark = pytest.mark.django_db


def _staff(role):
    user = UserFactory(roles=[role], is_staff=True)
    grant_role_permissions(sender=None)  # what migrate does after its last migration
    return user


@pytest.mark.parametrize("model", ["servicetype", "skill"])
def test_a_manager_keeps_the_catalog_in_admin(client, model):
    client.force_login(_staff(R.MANAGER))
    service_type = ServiceTypeFactory()
    skill = SkillFactory()
    obj = {"servicetype": service_type, "skill": skill}[model]

    assert client.get(reverse(f"admin:catalog_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:catalog_{model}_add")).status_code == 200
    assert client.get(reverse(f"admin:catalog_{model}_change", args=[obj.pk])).status_code == 200
    assert client.get(reverse(f"admin:catalog_{model}_delete", args=[obj.pk])).status_code == 200


def test_a_manager_edits_a_service_types_required_skills():
    manager = _staff(R.MANAGER)
    assert manager.has_perms(["catalog.add_servicetypeskill", "catalog.change_servicetypeskill",
                              "catalog.delete_servicetypeskill"])


@pytest.mark.parametrize("role", [R.DISPATCHER, R.AGENT])
def test_other_office_roles_do_not_edit_the_catalog(client, role):
    client.force_login(_staff(role))
    assert client.get(reverse("admin:catalog_servicetype_changelist")).status_code == 403


@pytest.mark.parametrize("url", [
    "/admin/sla/slapolicy/", "/admin/sla/businesscalendar/", "/admin/sla/calendarday/import/",
    "/admin/knowledge/article/", "/admin/knowledge/article/import/", "/admin/catalog/part/",
    "/admin/catalog/checklistitem/", "/admin/catalog/servicetype/import/",
])
def test_a_manager_runs_the_master_data_without_being_a_superuser(client, url):
    manager = _staff(R.MANAGER)
    assert not manager.is_superuser
    client.force_login(manager)
    assert client.get(url).status_code == 200


def test_a_permission_taken_from_the_managers_group_is_refused_at_once(client):
    from django.contrib.auth.models import Group, Permission

    manager = _staff(R.MANAGER)
    client.force_login(manager)
    assert client.get("/admin/catalog/part/import/").status_code == 200
    Group.objects.get(name=R.MANAGER).permissions.remove(Permission.objects.get(codename="import_part"))
    assert client.get("/admin/catalog/part/import/").status_code == 403
    assert client.get("/admin/catalog/part/").status_code == 200  # the rest of the group's rights stay
