"""Fifty technicians and dispatchers reaching for the last units at once, on PostgreSQL.

Each call runs in its own thread with its own connection (tests/concurrency.py); exactly as many
win as there were units, the others get a clear refusal, and the ledger sums to the levels.
"""

from decimal import Decimal

import pytest

from core.errors import Conflict
from inventory.models import StockMove
from inventory.services import stock_reserve, stock_use
from tests.concurrency import race

from .helpers import assert_ledger_balances, level, part, put, van, warehouse
from tests.factories import TechnicianFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_reservations_and_uses_of_the_last_units_give_exactly_that_many_winners():
    wh, pump = warehouse(), part(name="Drain pump")
    put(wh, pump, 7)

    calls = []
    for i in range(50):
        if i % 2:
            calls.append(lambda i=i: stock_reserve(location_id=wh.pk, part_id=pump.pk, quantity=1, work_order_id=i))
        else:
            calls.append(lambda i=i: stock_use(location_id=wh.pk, part_id=pump.pk, quantity=1, work_order_id=i))
    results = race(calls)

    won = [r for r in results if isinstance(r, StockMove)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 7 and len(lost) == 43, results
    assert {e.code for e in lost} == {"insufficient_stock"}
    assert all(e.message.startswith(f"Not enough {pump} at {wh}: 0 pcs available, 1 wanted") for e in lost)
    on_hand, reserved = level(wh, pump)
    used = sum(1 for r in won if r.kind == "use")
    assert (on_hand, reserved) == (7 - used, 7 - used)  # what is left is exactly what was reserved
    assert on_hand - reserved == 0
    assert_ledger_balances()


def test_two_technicians_using_the_last_unit_in_a_van_give_one_winner():
    tech_van, compressor = van(TechnicianFactory()), part(serialized=True)
    put(tech_van, compressor, 1, serials=["C-77"])

    results = race([
        lambda: stock_use(location_id=tech_van.pk, part_id=compressor.pk, quantity=1, work_order_id=1),
        lambda: stock_use(location_id=tech_van.pk, part_id=compressor.pk, quantity=1, work_order_id=2),
    ])

    assert sorted(type(r).__name__ for r in results) == ["Conflict", "StockMove"]
    winner = next(r for r in results if isinstance(r, StockMove))
    assert winner.serials == ["C-77"]
    assert level(tech_van, compressor) == (Decimal(0), Decimal(0))
    assert_ledger_balances()
