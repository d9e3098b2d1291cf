"""Two writers at the same moment on separate connections (customers/services.py)."""

import pytest

from core.errors import Conflict, PreconditionFailed
from core.versions import etag_of
from customers.models import Customer
from customers.services import customer_create, customer_update
from tests.concurrency import race
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_of_two_changes_from_one_version_the_second_gets_412():
    agent = UserFactory(roles=["agent"])
    customer = CustomerFactory(name="Old")
    version = [etag_of(customer.updated_at)]
    results = race([
        lambda: customer_update(actor=agent, customer_id=customer.pk, changes={"name": "A"}, if_match=version),
        lambda: customer_update(actor=agent, customer_id=customer.pk, changes={"name": "B"}, if_match=version),
    ])
    winners = [r for r in results if isinstance(r, Customer)]
    assert len(winners) == 1
    assert [type(r) for r in results if not isinstance(r, Customer)] == [PreconditionFailed]
    customer.refresh_from_db()
    assert customer.name == winners[0].name


def test_two_new_customers_with_one_phone_number_make_one_and_a_conflict():
    agent = UserFactory(roles=["agent"])
    results = race([
        lambda: customer_create(actor=agent, values={"name": "A", "phone": "13900002222"}),
        lambda: customer_create(actor=agent, values={"name": "B", "phone": "139 0000 2222"}),
    ])
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Customer"]
    conflict = next(r for r in results if isinstance(r, Conflict))
    assert list(conflict.fields) == ["phone"]
    assert Customer.objects.filter(phone="+8613900002222").count() == 1
