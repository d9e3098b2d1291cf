"""Stock test data: locations, parts, and stock put there through the services."""

from decimal import Decimal

from catalog.models import ServiceTypePart
from inventory.models import StockLevel, StockLocation, StockMove
from inventory.selectors import stock_ledger_balances
from inventory.services import stock_receive
from tests.factories import PartFactory, UserFactory


def stock_manager():
    return UserFactory(username="stock-manager", roles=["manager"], is_staff=True)


def warehouse(code="wh-1", **kw):
    return StockLocation.objects.create(code=code, name=kw.pop("name", f"Warehouse {code}"), kind="warehouse", **kw)


def van(technician, **kw):
    return StockLocation.objects.create(code=f"van-{technician.pk}", name=f"Van of {technician}", kind="van",
                                        technician=technician, **kw)


def part(**kw):
    return PartFactory(**kw)


def put(location, part, quantity, *, serials=None):
    """Stock received at ``location`` (through the service, as a manager)."""
    stock_receive(location_id=location.pk, part_id=part.pk, quantity=quantity, actor=stock_manager(),
                  serials=serials)


def level(location, part) -> tuple[Decimal, Decimal]:
    """(on hand, reserved) of a part at a location; (0, 0) where nothing ever moved."""
    row = StockLevel.objects.filter(location=location, part=part).first()
    return (row.on_hand, row.reserved) if row else (Decimal(0), Decimal(0))


def needs(service_type, part, quantity=1):
    ServiceTypePart.objects.create(service_type=service_type, part=part, quantity=quantity)


def assert_ledger_balances():
    assert stock_ledger_balances() == []


def moves(**filters):
    return list(StockMove.objects.filter(**filters).order_by("id").values_list("kind", "quantity", "reserved_delta"))
