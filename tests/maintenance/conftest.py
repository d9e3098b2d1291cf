import datetime as dt

import pytest

from maintenance.models import MaintenancePlan
from tests.factories import EquipmentFactory, ServiceTypeFactory

# A Monday; 2026-10-01 .. 10-07 are the National Day holidays in the calendars below.
TODAY = dt.date(2026, 9, 7)


@pytest.fixture
def chiller(db):
    return EquipmentFactory(brand="Carrier", model="30XA chiller")


@pytest.fixture
def pm_type(db):
    return ServiceTypeFactory(code="pm-chiller", name="Chiller maintenance")


def make_plan(equipment, service_type, **kw):
    values = {"name": "Chiller quarterly service", "unit": MaintenancePlan.Unit.MONTHS, "every": 1,
              "starts_on": TODAY, "checklist": "Check refrigerant pressure\nClean condenser coils"}
    values.update(kw)
    return MaintenancePlan.objects.create(equipment=equipment, service_type=service_type, **values)
