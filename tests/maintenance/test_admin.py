"""Managers keep the plans in the admin; a plan that mixes two customers is refused."""

import datetime as dt

import pytest
from django.test import Client

from contracts.models import Contract
from maintenance.models import MaintenancePlan
from maintenance.services import plans_sweep
from tests.factories import EquipmentFactory, UserFactory

from .conftest import TODAY, make_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_plan_list_and_a_plan_with_its_visits_open(admin_client, chiller, pm_type):
    plan = make_plan(chiller, pm_type)
    plans_sweep(today=TODAY, horizon_days=31)

    listing = admin_client.get("/admin/maintenance/maintenanceplan/")
    page = admin_client.get(f"/admin/maintenance/maintenanceplan/{plan.pk}/change/")

    assert listing.status_code == 200 and "Chiller quarterly service" in listing.content.decode()
    assert page.status_code == 200 and plan.visits.first().work_order.number in page.content.decode()


def test_a_plan_is_added_in_the_admin_for_the_equipment_s_customer(admin_client, chiller, pm_type):
    response = admin_client.post("/admin/maintenance/maintenanceplan/add/", {
        "name": "Monthly check", "equipment": chiller.pk, "service_type": pm_type.pk, "unit": "months",
        "every": 1, "starts_on": "2026-09-07", "meter_start": 0, "checklist": "", "priority": 2, "active": "on",
        "visits-TOTAL_FORMS": 0, "visits-INITIAL_FORMS": 0,
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    assert MaintenancePlan.objects.get(name="Monthly check").customer == chiller.customer


def test_equipment_and_contract_of_two_customers_are_refused(admin_client, chiller, pm_type):
    other = Contract.objects.create(number="C-OTHER", customer=EquipmentFactory().customer,
                                    starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    response = admin_client.post("/admin/maintenance/maintenanceplan/add/", {
        "name": "Mixed", "equipment": chiller.pk, "contract": other.pk, "service_type": pm_type.pk,
        "unit": "months", "every": 1, "starts_on": "2026-09-07", "meter_start": 0, "priority": 2,
        "visits-TOTAL_FORMS": 0, "visits-INITIAL_FORMS": 0,
    })

    assert response.status_code == 200
    assert "belong to different customers" in response.content.decode()
    assert not MaintenancePlan.objects.filter(name="Mixed").exists()
