"""The parts catalog in admin: found by number or name, filtered by active."""

from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.urls import reverse

from catalog.models import Part
from catalog.selectors import part_active_list
from tests.factories import PartFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_staff_find_parts_by_number_or_name_and_filter_the_retired(admin_client):
    PartFactory(part_number="DP-100", name="Drain pump")
    PartFactory(part_number="FM-22", name="Fan motor")
    PartFactory(part_number="OLD-1", name="Old drain hose", active=False)
    url = reverse("admin:catalog_part_changelist")

    by_number = admin_client.get(url, {"q": "FM-22"}).content.decode()
    assert "Fan motor" in by_number and "Drain pump" not in by_number

    by_name = admin_client.get(url, {"q": "drain"}).content.decode()
    assert "DP-100" in by_name and "OLD-1" in by_name

    retired = admin_client.get(url, {"active__exact": "0"}).content.decode()
    assert "OLD-1" in retired and "DP-100" not in retired


def test_technicians_pick_from_active_parts_only():
    PartFactory(part_number="B-2")
    PartFactory(part_number="A-1")
    PartFactory(part_number="Z-9", active=False)
    assert [p.part_number for p in part_active_list()] == ["A-1", "B-2"]


def test_a_part_number_is_unique():
    PartFactory(part_number="DP-100")
    with pytest.raises(IntegrityError):
        Part.objects.create(part_number="DP-100", name="Copy", unit_price=Decimal("1"))


def test_a_price_is_never_negative():
    with pytest.raises(IntegrityError):
        Part.objects.create(part_number="NEG-1", name="Refund", unit_price=Decimal("-1"))
