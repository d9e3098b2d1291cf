"""Service contracts and warranty: which orders they cover, counted visits, the SLA policy they
bring, what intake and the work order show, and the price on the service report."""

import datetime as dt
import io
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from completion.services import completion_submit
from contracts.models import Contract
from tests.factories import (
    CustomerFactory, EquipmentFactory, ServiceTypeFactory, SlaPolicyFactory, workorder_via_service,
)
from tests.technicians.helpers import signature_png
from workorders.lifecycle import Status
from workorders.models import WorkOrder
from workorders.services import workorder_transition

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    """Every order below is created on TODAY (noon, local time)."""
    noon = timezone.make_aware(dt.datetime.combine(TODAY, dt.time(12)))
    monkeypatch.setattr(timezone, "now", lambda: noon)


def contract(customer, *, types=(), **kw):
    values = {"number": f"C-2026-{Contract.objects.count() + 1:03d}", "customer": customer,
              "starts_on": TODAY - dt.timedelta(days=30), "ends_on": TODAY + dt.timedelta(days=300), **kw}
    made = Contract.objects.create(**values)
    made.service_types.set(types)
    return made


def test_a_contract_covers_its_service_type_for_free_and_counts_the_visits():
    customer, repair, install = CustomerFactory(), ServiceTypeFactory(), ServiceTypeFactory()
    c = contract(customer, types=[repair], included_visits=2)

    first = workorder_via_service(customer=customer, service_type=repair)
    other_type = workorder_via_service(customer=customer, service_type=install)
    second = workorder_via_service(customer=customer, service_type=repair)
    third = workorder_via_service(customer=customer, service_type=repair)

    assert (first.contract_id, first.coverage, first.coverage_percent) == (c.pk, "contract", 100)
    assert second.contract_id == c.pk
    assert other_type.contract_id is None and other_type.coverage == ""
    # Beyond the included visits: not covered.
    assert third.contract_id is None and third.coverage == "" and third.coverage_percent == 0


def test_a_cancelled_order_gives_its_visit_back(agent):
    customer, repair = CustomerFactory(), ServiceTypeFactory()
    contract(customer, included_visits=1)
    first = workorder_via_service(customer=customer, service_type=repair)
    workorder_transition(work_order_id=first.pk, action="cancel", actor=agent, note="Customer fixed it")

    again = workorder_via_service(customer=customer, service_type=repair)

    assert again.coverage == "contract"


def test_an_expired_or_inactive_contract_or_another_customers_covers_nothing():
    customer, repair = CustomerFactory(), ServiceTypeFactory()
    contract(customer, starts_on=TODAY - dt.timedelta(days=400), ends_on=TODAY - dt.timedelta(days=1))
    contract(customer, starts_on=TODAY + dt.timedelta(days=1), ends_on=TODAY + dt.timedelta(days=30))
    contract(customer, active=False)
    contract(CustomerFactory())

    order = workorder_via_service(customer=customer, service_type=repair)

    assert order.coverage == "" and order.contract_id is None


def test_a_contract_for_one_piece_of_equipment_covers_only_that_one():
    customer, repair = CustomerFactory(), ServiceTypeFactory()
    covered, other = EquipmentFactory(customer=customer), EquipmentFactory(customer=customer)
    c = contract(customer, equipment=covered)

    assert workorder_via_service(customer=customer, service_type=repair, equipment=covered).contract_id == c.pk
    assert workorder_via_service(customer=customer, service_type=repair, equipment=other).contract_id is None
    assert workorder_via_service(customer=customer, service_type=repair).contract_id is None


def test_warranty_covers_the_equipment_until_its_last_day():
    customer, repair = CustomerFactory(), ServiceTypeFactory()
    until_today = EquipmentFactory(customer=customer, install_date=None, warranty_end=TODAY)
    ended = EquipmentFactory(customer=customer, install_date=None, warranty_end=TODAY - dt.timedelta(days=1))

    covered = workorder_via_service(customer=customer, service_type=repair, equipment=until_today)
    not_covered = workorder_via_service(customer=customer, service_type=repair, equipment=ended)

    assert (covered.coverage, covered.coverage_percent, covered.coverage_until) == ("warranty", 100, TODAY)
    assert covered.contract_id is None
    assert not_covered.coverage == ""


def test_the_contract_comes_before_the_warranty_and_a_used_up_one_leaves_the_warranty():
    customer, repair = CustomerFactory(), ServiceTypeFactory()
    piece = EquipmentFactory(customer=customer, install_date=None, warranty_end=TODAY + dt.timedelta(days=10))
    c = contract(customer, included_visits=1, covered_percent=50)

    first = workorder_via_service(customer=customer, service_type=repair, equipment=piece)
    second = workorder_via_service(customer=customer, service_type=repair, equipment=piece)

    assert (first.coverage, first.contract_id, first.coverage_percent) == ("contract", c.pk, 50)
    assert (second.coverage, second.contract_id) == ("warranty", None)


def test_a_contracts_sla_policy_wins_over_the_tiers():
    customer = CustomerFactory(tier="vip")
    repair = ServiceTypeFactory()
    tier_policy = SlaPolicyFactory(customer_tier="vip", first_response_minutes=60)
    contract_policy = SlaPolicyFactory(first_response_minutes=15)
    contract(customer, sla_policy=contract_policy)

    covered = workorder_via_service(customer=customer, service_type=repair)
    plain = workorder_via_service(customer=CustomerFactory(tier="vip"), service_type=repair)

    assert covered.sla_policy_id == contract_policy.pk
    assert covered.first_response_due == timezone.now() + dt.timedelta(minutes=15)
    assert plain.sla_policy_id == tier_policy.pk


def test_later_contract_edits_do_not_change_an_order():
    customer, repair = CustomerFactory(), ServiceTypeFactory()
    c = contract(customer, covered_percent=100)
    order = workorder_via_service(customer=customer, service_type=repair)

    Contract.objects.filter(pk=c.pk).update(covered_percent=10, active=False)
    order.refresh_from_db()

    assert (order.contract_id, order.coverage_percent) == (c.pk, 100)


def test_a_contract_with_orders_cannot_be_deleted():
    from django.db.models import ProtectedError

    customer = CustomerFactory()
    c = contract(customer)
    workorder_via_service(customer=customer)
    with pytest.raises(ProtectedError):
        c.delete()


def test_a_contract_cannot_end_before_it_starts():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        contract(CustomerFactory(), starts_on=TODAY, ends_on=TODAY - dt.timedelta(days=1))


def test_no_contract_in_the_company_costs_no_query(django_assert_num_queries):
    from contracts.selectors import company_has_contracts, coverage_for

    customer = CustomerFactory()
    company_has_contracts()  # the flag, kept by the process
    with django_assert_num_queries(0):
        assert not coverage_for(customer_id=customer.pk, service_type_id=1, day=TODAY).covered
    contract(customer)  # drops the flag: the next lookup asks the database
    with django_assert_num_queries(2):
        assert coverage_for(customer_id=customer.pk, service_type_id=1, day=TODAY).covered
    with django_assert_num_queries(1):
        assert coverage_for(customer_id=customer.pk, service_type_id=1, day=TODAY).covered


# --- what people see -------------------------------------------------------------------------


def test_phone_intake_shows_a_repeat_callers_contract_and_visits_left(client, agent):
    customer, repair = CustomerFactory(phone="+8613800138000"), ServiceTypeFactory()
    contract(customer, number="C-2026-014", included_visits=6)
    workorder_via_service(customer=customer, service_type=repair)
    EquipmentFactory(customer=customer, install_date=None, warranty_end=TODAY + dt.timedelta(days=5), serial="SN-W1")
    client.force_login(agent)

    page = client.get(reverse("intake:staff-intake"), {"phone": "13800138000"}).content.decode()
    data = client.get(reverse("intake:customer-lookup"), {"phone": "13800138000"}).json()

    assert "Contract C-2026-014, 5 of 6 visits left" in page
    assert "Contract C-2026-014, 5 of 6 visits left" in data["cover"]
    assert any("SN-W1" in line and "under warranty" in line for line in data["cover"])


def test_the_work_order_page_says_what_covers_it(client, agent):
    customer = CustomerFactory()
    contract(customer, number="C-2026-014", included_visits=6)
    order = workorder_via_service(customer=customer)
    plain = workorder_via_service(customer=CustomerFactory())
    client.force_login(agent)

    covered_page = client.get(reverse("staff:detail", args=[order.pk])).content.decode()
    plain_page = client.get(reverse("staff:detail", args=[plain.pk])).content.decode()

    assert "Contract C-2026-014, 5 of 6 visits left" in covered_page
    assert "C-2026-014" not in plain_page and "Not covered" in plain_page


def test_the_customers_tracking_page_says_the_request_is_covered(client):
    customer = CustomerFactory()
    contract(customer, number="C-2026-014")
    covered = workorder_via_service(customer=customer)
    plain = workorder_via_service(customer=CustomerFactory())

    assert "Contract C-2026-014" in client.get(reverse("intake:track", args=[covered.public_token])).content.decode()
    assert 'id="coverage"' not in client.get(reverse("intake:track", args=[plain.public_token])).content.decode()


def test_the_customer_page_lists_the_contracts_for_office_staff_only(client, agent, technician):
    customer = CustomerFactory()
    c = contract(customer, number="C-2026-077", included_visits=4)
    workorder_via_service(customer=customer)
    client.force_login(agent)

    page = client.get(reverse("c360:customer", args=[customer.pk])).content.decode()

    assert f'id="contract-{c.pk}"' in page and "1 of 4 (3 left)" in page
    client.force_login(technician.user)
    assert client.get(reverse("c360:customer", args=[customer.pk])).status_code == 404


def test_contracts_are_managed_in_admin_by_managers_not_by_agents(client, agent, manager):
    customer = CustomerFactory()
    c = contract(customer)
    client.force_login(agent)
    assert client.get(reverse("admin:contracts_contract_change", args=[c.pk])).status_code == 403
    client.force_login(manager)
    page = client.get(reverse("admin:contracts_contract_changelist")).content.decode()
    assert c.number in page
    assert client.get(reverse("admin:contracts_contract_change", args=[c.pk])).status_code == 200


# --- the price ------------------------------------------------------------------------------


def _complete(order, technician, **kw):
    WorkOrder.objects.filter(pk=order.pk).update(technician=technician, status=Status.IN_PROGRESS)
    report, _ = completion_submit(
        work_order_id=order.pk, actor=technician.user, submission_key=uuid.uuid4(), work_done="Fixed.",
        labour_minutes=60, signer_name="王芳", signature=signature_png(), checklist={}, parts=[], photos=[], **kw,
    )
    return report


def _pdf_text(client, order) -> str:
    content = client.get(reverse("completion:report-pdf", args=[order.pk])).content
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_covered_work_is_priced_at_zero_with_the_reason_on_the_pdf(client, manager, technician):
    customer = CustomerFactory()
    repair = ServiceTypeFactory(callout_fee=50)
    contract(customer, number="C-2026-014")
    order = workorder_via_service(customer=customer, service_type=repair)

    report = _complete(order, technician)

    assert report.total_amount == 0 and report.covered_amount == 170  # 50 call-out + 120 labour
    client.force_login(manager)
    text = _pdf_text(client, order)
    assert "Contract C-2026-014" in text and "-¥170.00" in text


def test_a_discount_contract_takes_its_share_off(technician):
    customer = CustomerFactory()
    contract(customer, covered_percent=20)
    order = workorder_via_service(customer=customer, service_type=ServiceTypeFactory(callout_fee=50))

    report = _complete(order, technician)

    assert (report.covered_amount, report.total_amount) == (34, 136)


def test_warranty_work_says_so_on_the_pdf(client, manager, technician):
    customer = CustomerFactory()
    piece = EquipmentFactory(customer=customer, install_date=None, warranty_end=dt.date(2026, 12, 31))
    order = workorder_via_service(customer=customer, equipment=piece, service_type=ServiceTypeFactory(callout_fee=50))

    report = _complete(order, technician)

    assert report.total_amount == 0
    client.force_login(manager)
    assert "Under warranty until" in _pdf_text(client, order)
