"""Stock in a real browser: a manager moves parts in admin, the stock page shows them, and the
dispatch candidates page says whose van carries what a job needs; all under the site's CSP."""

from __future__ import annotations

import pytest

from catalog.models import ServiceTypePart
from core.apps import grant_role_permissions
from inventory.models import StockLocation
from inventory.services import stock_receive
from tests.factories import PartFactory, ServiceTypeFactory, TechnicianFactory, UserFactory, WorkOrderFactory

from .support import csp_violations

pytestmark = pytest.mark.e2e

PASSWORD = "stock-pass-2468"


def test_a_manager_restocks_a_van_and_the_dispatcher_sees_who_carries_the_part(people, site):
    manager = UserFactory(username="boss", password=PASSWORD, roles=["manager", "dispatcher"], is_staff=True)
    grant_role_permissions(sender=None)
    tech = TechnicianFactory(user__first_name="Li")
    compressor = PartFactory(part_number="CMP-15P", name="Compressor")
    aircon = ServiceTypeFactory(code="aircon-repair")
    ServiceTypePart.objects.create(service_type=aircon, part=compressor, quantity=1)
    warehouse = StockLocation.objects.create(code="wh", name="Central warehouse", kind="warehouse")
    van = StockLocation.objects.create(code="van", name="Li's van", kind="van", technician=tech)
    stock_receive(location_id=warehouse.pk, part_id=compressor.pk, quantity=3, actor=manager)
    order = WorkOrderFactory(service_type=aircon)

    person = people.open("manager", "desktop", "en")
    person.go("/admin/login/?next=/admin/inventory/stockmove/add/")
    person.page.fill("#id_username", "boss")
    person.page.fill("#id_password", PASSWORD)
    with person.page.expect_navigation():
        person.page.click("input[type=submit]")
    person.page.select_option("#id_action", "transfer")
    person.page.select_option("#id_location", str(warehouse.pk))
    person.page.select_option("#id_part", str(compressor.pk))
    person.page.fill("#id_amount", "1")
    person.page.select_option("#id_destination", str(van.pk))
    with person.page.expect_navigation():
        person.page.click("input[name=_save]")

    person.go(f"/staff/stock/{van.pk}/")
    row = person.page.inner_text('tr[data-part="CMP-15P"]')
    assert "CMP-15P" in row and "1" in row

    person.go(f"/dispatch/work-orders/{order.pk}/candidates/")
    assert "Carries all" in person.page.inner_text(f'tr[data-technician="{tech.pk}"]')
    assert csp_violations(people.all) == []
    assert person.script_errors == []
