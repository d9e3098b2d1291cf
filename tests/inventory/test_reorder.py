"""Reorder points: one notification per fall below the point, and the reorder list's suggestions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import ReorderPoint
from inventory.reorder import reorder_list, reorder_point_set, suggested_quantity
from inventory.services import stock_release, stock_reserve, stock_use
from notifications.models import Notification
from tests.factories import UserFactory

from .helpers import assert_ledger_balances, part, put, stock_manager, warehouse

pytestmark = pytest.mark.django_db


def _alerts():
    return list(Notification.objects.filter(template="stock_below_reorder_point")
                .values_list("recipient", flat=True).order_by("id"))


@pytest.fixture
def low(manager):
    manager.email = "boss@example.com"
    manager.save()
    wh, filter_ = warehouse(name="Central"), part(part_number="FLT-1", name="Filter")
    put(wh, filter_, 10)
    reorder_point_set(location=wh, part=filter_, point=5, quantity=20, actor=manager)
    return wh, filter_


def test_falling_below_the_point_notifies_once_per_crossing(low):
    wh, filter_ = low
    stock_use(location_id=wh.pk, part_id=filter_.pk, quantity=5, work_order_id=1)  # 5 left: not below
    assert _alerts() == []
    stock_use(location_id=wh.pk, part_id=filter_.pk, quantity=1, work_order_id=1)  # 4: below
    assert _alerts() == ["boss@example.com"]
    stock_use(location_id=wh.pk, part_id=filter_.pk, quantity=1, work_order_id=2)  # 3: still below
    stock_reserve(location_id=wh.pk, part_id=filter_.pk, quantity=1, work_order_id=3)
    assert _alerts() == ["boss@example.com"]
    body = Notification.objects.get(template="stock_below_reorder_point").payload
    assert (body["part"], body["location"], body["available"], body["point"]) == ("FLT-1 Filter", "Central", "4", "5")

    put(wh, filter_, 10)  # back above: the next fall is a new crossing
    assert ReorderPoint.objects.get().below is False
    stock_use(location_id=wh.pk, part_id=filter_.pk, quantity=9, work_order_id=4)
    assert _alerts() == ["boss@example.com", "boss@example.com"]
    assert_ledger_balances()


def test_a_reservation_counts_and_its_release_rearms(low):
    wh, filter_ = low
    stock_reserve(location_id=wh.pk, part_id=filter_.pk, quantity=6, work_order_id=7)  # available 4
    assert len(_alerts()) == 1
    stock_release(work_order_ids=[7])  # available 10 again
    assert ReorderPoint.objects.get().below is False
    stock_reserve(location_id=wh.pk, part_id=filter_.pk, quantity=6, work_order_id=8)
    assert len(_alerts()) == 2


def test_storekeepers_are_told_too():
    from django.contrib.auth.models import Permission

    keeper = UserFactory(username="keeper", email="store@example.com")
    keeper.user_permissions.add(Permission.objects.get(codename="handle_partrequest"))
    wh, filter_ = warehouse(), part()
    put(wh, filter_, 3)
    reorder_point_set(location=wh, part=filter_, point=3, quantity=1, actor=stock_manager())
    stock_use(location_id=wh.pk, part_id=filter_.pk, quantity=1, work_order_id=1)
    assert "store@example.com" in _alerts()


def test_the_reorder_list_suggests_from_the_last_90_days_of_use(client, low, manager):
    wh, filter_ = low
    old = timezone.now() - timedelta(days=120)
    stock_use(location_id=wh.pk, part_id=filter_.pk, quantity=2, work_order_id=1)
    from inventory.models import StockMove

    StockMove.objects.filter(kind="use").update(created_at=old)  # outside the 90 days: not counted
    stock_use(location_id=wh.pk, part_id=filter_.pk, quantity=6, work_order_id=2)  # 2 left
    rows = reorder_list()
    assert [(r.location_id, r.part_id, r.available, r.used) for r in rows] == [(wh.pk, filter_.pk, 2, 6)]
    # back to the point (3) plus 30 days at 6 per 90 days (2) = 5, but at least the reorder quantity 20
    assert rows[0].suggested == 20
    client.force_login(manager)
    page = client.get(reverse("stock:reorder")).content.decode()
    assert f'data-reorder="{rows[0].reorder_point_id}"' in page


def test_the_suggestion_rule():
    assert suggested_quantity(available=Decimal(1), point=Decimal(5), reorder_quantity=Decimal(0),
                              used=Decimal(90), fractional=False) == 34  # 4 + 30
    assert suggested_quantity(available=Decimal("0.5"), point=Decimal(2), reorder_quantity=Decimal(0),
                              used=Decimal(1), fractional=False) == 2  # 1.5 + 0.33, whole units up
    assert suggested_quantity(available=Decimal("0.5"), point=Decimal(2), reorder_quantity=Decimal(0),
                              used=Decimal(0), fractional=True) == Decimal("1.5")


def test_the_reorder_page_is_for_managers_and_storekeepers(client, technician, dispatcher):
    for user in (technician.user, dispatcher):
        client.force_login(user)
        assert client.get(reverse("stock:reorder")).status_code == 403
