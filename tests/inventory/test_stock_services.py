"""Stock changes one at a time: each kind of change, each refusal, serial-numbered parts.

Every refusal leaves stock and ledger as they were; after every test the ledger sums to the levels.
"""

from decimal import Decimal

import pytest

from core.errors import Conflict, Forbidden, InvalidInput
from inventory.models import SerialUnit, StockMove
from inventory.services import (
    stock_adjust,
    stock_release,
    stock_reserve,
    stock_return,
    stock_transfer,
    stock_use,
)
from tests.factories import TechnicianFactory, UserFactory

from .helpers import assert_ledger_balances, level, moves, part, put, stock_manager, van, warehouse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _ledger_balances_after_each_test():
    yield
    assert_ledger_balances()


def test_a_receipt_a_transfer_and_an_adjustment_each_write_the_ledger_and_the_levels():
    wh, filter_ = warehouse(), part(part_number="FLT-1")
    tech_van = van(TechnicianFactory())
    manager = stock_manager()

    put(wh, filter_, 10)
    stock_transfer(source_id=wh.pk, destination_id=tech_van.pk, part_id=filter_.pk, quantity=3, actor=manager)
    stock_adjust(location_id=wh.pk, part_id=filter_.pk, quantity="-2", reason="Crushed in the racks", actor=manager)

    assert level(wh, filter_) == (5, 0)
    assert level(tech_van, filter_) == (3, 0)
    assert moves(location=wh) == [("receipt", 10, 0), ("transfer_out", -3, 0), ("adjustment", -2, 0)]
    transfer_in = StockMove.objects.get(location=tech_van)
    assert (transfer_in.kind, transfer_in.counterpart_id, transfer_in.actor) == ("transfer_in", wh.pk, manager)
    assert StockMove.objects.get(kind="adjustment").reason == "Crushed in the racks"


def test_a_transfer_of_more_than_is_available_is_refused_and_changes_nothing():
    wh, pump = warehouse(), part(name="Drain pump")
    tech_van = van(TechnicianFactory())
    put(wh, pump, 2)
    stock_reserve(location_id=wh.pk, part_id=pump.pk, quantity=1, work_order_id=77)

    with pytest.raises(Conflict) as caught:
        stock_transfer(source_id=wh.pk, destination_id=tech_van.pk, part_id=pump.pk, quantity=2, actor=stock_manager())

    assert caught.value.code == "insufficient_stock"
    assert "1 pcs available, 2 wanted" in caught.value.message
    assert level(wh, pump) == (2, 1) and level(tech_van, pump) == (0, 0)
    assert StockMove.objects.count() == 2


def test_a_transfer_to_a_deactivated_van_is_refused():
    wh, pump = warehouse(), part()
    tech_van = van(TechnicianFactory(), active=False)
    put(wh, pump, 2)

    with pytest.raises(Conflict) as caught:
        stock_transfer(source_id=wh.pk, destination_id=tech_van.pk, part_id=pump.pk, quantity=1, actor=stock_manager())

    assert caught.value.code == "location_inactive" and "deactivated" in caught.value.message
    assert level(wh, pump) == (2, 0) and level(tech_van, pump) == (0, 0)


@pytest.mark.parametrize("quantity, message", [
    ("-1", "must be more than zero"),
    ("0", "must be more than zero"),
    ("1.5", "counted in whole pcs"),
    ("abc", "as a number"),
    ("NaN", "as a number"),
    ("1e9", "too large"),
])
def test_a_bad_quantity_is_refused_with_its_reason(quantity, message):
    wh, pump = warehouse(), part()
    with pytest.raises(InvalidInput) as caught:
        put(wh, pump, quantity)
    assert message in caught.value.message
    assert StockMove.objects.count() == 0


def test_parts_sold_by_weight_take_fractions_and_no_more_than_three_decimals():
    wh, refrigerant = warehouse(), part(unit="kg")
    put(wh, refrigerant, "2.5")
    stock_use(location_id=wh.pk, part_id=refrigerant.pk, quantity="0.75", work_order_id=5)
    assert level(wh, refrigerant) == (Decimal("1.75"), 0)
    with pytest.raises(InvalidInput):
        put(wh, refrigerant, "0.0005")


def test_an_adjustment_needs_a_reason_and_a_manager():
    wh, pump = warehouse(), part()
    put(wh, pump, 3)
    with pytest.raises(InvalidInput) as caught:
        stock_adjust(location_id=wh.pk, part_id=pump.pk, quantity=-1, reason=" ", actor=stock_manager())
    assert "reason" in caught.value.message
    dispatcher = UserFactory(roles=["dispatcher"])
    with pytest.raises(Forbidden):
        stock_adjust(location_id=wh.pk, part_id=pump.pk, quantity=-1, reason="lost", actor=dispatcher)
    assert level(wh, pump) == (3, 0)


def test_stock_never_goes_below_zero_unless_the_location_allows_it():
    strict, lenient, pump = warehouse("strict"), warehouse("lenient", allow_negative=True), part()
    with pytest.raises(Conflict):
        stock_use(location_id=strict.pk, part_id=pump.pk, quantity=1, work_order_id=1)
    stock_use(location_id=lenient.pk, part_id=pump.pk, quantity=2, work_order_id=1)
    assert level(strict, pump) == (0, 0)
    assert level(lenient, pump) == (-2, 0)
    put(lenient, pump, 5)  # the late receipt
    assert level(lenient, pump) == (3, 0)


def test_a_use_takes_from_the_orders_reservation_first_then_from_what_is_free():
    wh, pump = warehouse(), part()
    put(wh, pump, 4)
    stock_reserve(location_id=wh.pk, part_id=pump.pk, quantity=1, work_order_id=9)
    stock_reserve(location_id=wh.pk, part_id=pump.pk, quantity=2, work_order_id=10)

    stock_use(location_id=wh.pk, part_id=pump.pk, quantity=2, work_order_id=9)  # 1 reserved + 1 free

    assert level(wh, pump) == (2, 2)  # order 10's two are still held
    with pytest.raises(Conflict):
        stock_use(location_id=wh.pk, part_id=pump.pk, quantity=1, work_order_id=9)  # nothing free any more
    assert stock_release(work_order_ids=[10]) == 1
    assert level(wh, pump) == (2, 0)
    assert stock_release(work_order_ids=[10]) == 0  # released once only


def test_a_return_from_a_job_puts_the_part_back():
    wh, pump = warehouse(), part()
    put(wh, pump, 1)
    stock_use(location_id=wh.pk, part_id=pump.pk, quantity=1, work_order_id=3)
    stock_return(location_id=wh.pk, part_id=pump.pk, quantity=1, work_order_id=3, actor=stock_manager(),
                 reason="Not needed after all")
    assert level(wh, pump) == (1, 0)
    assert moves(location=wh, work_order_id=3) == [("use", -1, 0), ("return", 1, 0)]


# --- serial-numbered parts ------------------------------------------------------------------


def test_serial_numbered_parts_are_received_moved_and_used_one_by_one():
    wh, compressor = warehouse(), part(serialized=True)
    tech_van = van(TechnicianFactory())
    manager = stock_manager()
    put(wh, compressor, 3, serials=["C-1", "C-2", "C-3"])

    stock_transfer(source_id=wh.pk, destination_id=tech_van.pk, part_id=compressor.pk, quantity=1,
                   actor=manager, serials="C-2")
    stock_use(location_id=wh.pk, part_id=compressor.pk, quantity=1, work_order_id=42)  # the oldest: C-1

    units = {u.serial: (u.location_id, u.status, u.work_order_id) for u in SerialUnit.objects.all()}
    assert units == {"C-1": (None, "used", 42), "C-2": (tech_van.pk, "in_stock", None),
                     "C-3": (wh.pk, "in_stock", None)}
    assert StockMove.objects.get(kind="use").serials == ["C-1"]
    assert level(wh, compressor) == (1, 0) and level(tech_van, compressor) == (1, 0)


def test_serial_numbers_must_match_the_quantity_be_new_and_be_where_they_are_sent_from():
    wh, compressor = warehouse(), part(serialized=True)
    tech_van = van(TechnicianFactory())
    with pytest.raises(InvalidInput, match="one serial number per unit"):
        put(wh, compressor, 2, serials=["C-1"])
    put(wh, compressor, 1, serials=["C-1"])
    with pytest.raises(InvalidInput, match="already known"):
        put(wh, compressor, 1, serials=["C-1"])
    with pytest.raises(Conflict, match="Not all of these serial numbers"):
        stock_transfer(source_id=wh.pk, destination_id=tech_van.pk, part_id=compressor.pk, quantity=1,
                       actor=stock_manager(), serials=["C-9"])
    with pytest.raises(InvalidInput, match="has no serial numbers"):
        put(wh, part(), 1, serials=["X"])
    assert level(wh, compressor) == (1, 0) and SerialUnit.objects.count() == 1
