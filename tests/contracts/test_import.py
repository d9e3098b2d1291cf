"""Service contracts imported from a file and exported again, in the admin, by managers only."""

import pytest

from contracts.models import Contract
from tests.customers.test_import import bad_rows, import_file, upload
from tests.factories import CustomerFactory, EquipmentFactory, ServiceTypeFactory, SlaPolicyFactory

pytestmark = pytest.mark.django_db

CONTRACTS = "/admin/contracts/contract/"
HEADER = ("contract_number,customer_code,equipment_serial,starts_on,ends_on,service_types,sla_policy,"
          "included_visits,covered_percent,active,notes\n")


@pytest.fixture
def masters():
    customer = CustomerFactory(code="C001")
    EquipmentFactory(customer=customer, serial="SN-1")
    EquipmentFactory(customer=CustomerFactory(code="C002"), serial="SN-OTHER")
    ServiceTypeFactory(code="repair")
    ServiceTypeFactory(code="maintenance")
    SlaPolicyFactory(name="Gold 4h")
    return customer


def test_a_manager_imports_contracts_and_the_same_file_again_changes_nothing(client, manager, masters):
    client.force_login(manager)
    content = HEADER + (
        "C-2026-014,C001,,2026-01-01,2026-12-31,\"repair，maintenance\",Gold 4h,6,100,yes,\n"
        "C-2026-015,C001,SN-1,2026/3/1,2027/2/28,,,,20,,discount only\n"
    )

    _preview, done = import_file(client, CONTRACTS, content, name="contracts.csv")

    assert done.status_code == 302
    first = Contract.objects.get(number="C-2026-014")
    assert sorted(first.service_types.values_list("code", flat=True)) == ["maintenance", "repair"]
    assert (first.customer_id, first.sla_policy.name, first.included_visits, first.covered_percent) == (
        masters.pk, "Gold 4h", 6, 100)
    second = Contract.objects.get(number="C-2026-015")
    assert (second.equipment.serial, second.included_visits, second.covered_percent) == ("SN-1", None, 20)
    again = upload(client, CONTRACTS, content, name="contracts.csv")
    assert "0 to create, 0 to update, 2 unchanged" in again.content.decode()


def test_bad_rows_are_listed_and_nothing_is_written(client, manager, masters):
    client.force_login(manager)
    content = HEADER + (
        "C-1,C999,,2026-01-01,2026-12-31,,,,,,\n"
        "C-2,C001,SN-OTHER,2026-01-01,2026-12-31,,,,,,\n"
        "C-3,C001,,2026-01-01,2025-12-31,nope,No such policy,,150,,\n"
    )

    preview = upload(client, CONTRACTS, content, name="contracts.csv")

    problems = {(line, column) for line, column, _message in bad_rows(preview)}
    assert problems == {(2, "customer_code"), (3, "equipment_serial"), (4, "ends_on"), (4, "service_types"),
                        (4, "sla_policy"), (4, "covered_percent")}
    assert not Contract.objects.exists()


def test_agents_may_not_import_or_see_contracts_in_admin(client, agent):
    client.force_login(agent)
    assert client.get(CONTRACTS + "import/").status_code == 403
    assert client.get(CONTRACTS).status_code == 403
