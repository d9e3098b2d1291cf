"""The SLA's reference data is edited in its own admin section, /admin/sla/, and an edit there
reaches the next new order (the app's receivers drop every process's kept copy)."""

import datetime

import pytest

from core.choices import CustomerTier
from sla.models import SlaPolicy
from tests.factories import BusinessCalendarFactory, CustomerFactory, SlaPolicyFactory, workorder_via_service

pytestmark = pytest.mark.django_db


def _minutes_to_first_response(order) -> float:
    return (order.first_response_due - order.sla_started_at).total_seconds() / 60


def test_a_policy_added_in_the_admin_applies_to_the_next_order_of_its_tier(admin_client):
    always = BusinessCalendarFactory(always_open=True)
    SlaPolicy.objects.all().delete()
    SlaPolicyFactory(name="Everyone", calendar=always, is_default=True, first_response_minutes=120)
    gold = CustomerFactory(tier=CustomerTier.GOLD)
    assert _minutes_to_first_response(workorder_via_service(customer=gold)) == 120  # the policies are kept now

    response = admin_client.post("/admin/sla/slapolicy/add/", {
        "name": "Gold customers", "active": "on", "customer_tier": "gold", "calendar": always.pk,
        "first_response_minutes": "15", "at_risk_percent": "75",
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _minutes_to_first_response(workorder_via_service(customer=gold)) == 15
    standard = CustomerFactory(tier=CustomerTier.STANDARD)
    assert _minutes_to_first_response(workorder_via_service(customer=standard)) == 120


def test_the_policy_form_offers_the_customer_tiers_and_refuses_another(admin_client):
    page = admin_client.get("/admin/sla/slapolicy/add/").content.decode()
    assert '<option value="vip">VIP</option>' in page and '<option value="gold">Gold</option>' in page

    response = admin_client.post("/admin/sla/slapolicy/add/", {
        "name": "Platinum", "active": "on", "customer_tier": "platinum", "no_sla": "on", "at_risk_percent": "75",
    })

    assert response.status_code == 200  # the form again, with its error
    assert not SlaPolicy.objects.filter(name="Platinum").exists()


def test_a_calendar_switched_to_24x7_in_the_admin_counts_every_minute_for_the_next_order(admin_client):
    nights = [(weekday, datetime.time(2), datetime.time(3)) for weekday in range(7)]
    nights_only = BusinessCalendarFactory(code="nights", hours=nights)
    SlaPolicy.objects.all().delete()
    SlaPolicyFactory(calendar=nights_only, is_default=True, first_response_minutes=90)
    before = workorder_via_service()
    assert _minutes_to_first_response(before) > 24 * 60  # 90 minutes of 02:00-03:00 nights span two days

    response = admin_client.post(f"/admin/sla/businesscalendar/{nights_only.pk}/change/", {
        "code": "nights", "name": "Nights", "always_open": "on", "time_zone": "Asia/Shanghai",
        "hours-TOTAL_FORMS": "0", "hours-INITIAL_FORMS": "0", "days-TOTAL_FORMS": "0", "days-INITIAL_FORMS": "0",
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _minutes_to_first_response(workorder_via_service()) == 90
