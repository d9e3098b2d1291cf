"""Equipment taken out of service: no new work order may name it; orders that already do keep it."""

import pytest

from core.errors import InvalidInput
from tests.factories import EquipmentFactory, ServiceTypeFactory, SiteFactory
from workorders.models import WorkOrder
from workorders.services import workorder_create

pytestmark = pytest.mark.django_db


def test_a_new_order_for_retired_equipment_is_refused_naming_the_field():
    site = SiteFactory()
    piece = EquipmentFactory(customer=site.customer, site=site, active=False)

    with pytest.raises(InvalidInput) as refused:
        workorder_create(
            channel=WorkOrder.Channel.WEB, contact_name="Wang Fang", contact_phone=site.customer.phone,
            address=site.address, service_type=ServiceTypeFactory(), description="Drips water.",
            customer=site.customer, site=site, equipment=piece,
        )

    assert "equipment" in refused.value.fields
    assert "out of service" in str(refused.value.fields["equipment"][0])
    assert not WorkOrder.objects.exists()
