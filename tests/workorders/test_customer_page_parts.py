"""The customer's tracking page reads no other app's tables: apps above workorders add their
parts to it through ``selectors.register_customer_page_part`` (completion does, from its
AppConfig.ready())."""

import pytest
from django.test import Client

from tests.workorders.test_tracking import request_from
from workorders import selectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(service_type):
    return request_from(service_type, name="Wang Fang", phone="+8613812345678",
                        description="Air conditioner drips water.", address="88 Century Avenue")


@pytest.fixture
def no_parts(monkeypatch):
    monkeypatch.setattr(selectors, "_CUSTOMER_PAGE_PARTS", [])


def _page(order) -> str:
    response = Client(headers={"accept-language": "en"}).get(f"/track/{order.public_token}/")
    assert response.status_code == 200
    return response.content.decode()


def test_without_parts_the_page_shows_the_orders_own_description_and_no_report(no_parts, order):
    html = _page(order)

    assert "Air conditioner drips water." in html
    assert "report.pdf" not in html
    assert "A second visit" not in html


def test_a_registered_parts_values_reach_the_page(no_parts, order):
    calls = []

    def part(*, work_order):
        calls.append(work_order.pk)
        return {"description": "In the customer's words.", "follows": "WO-2026-000001", "has_report": True}

    selectors.register_customer_page_part(part)
    selectors.register_customer_page_part(part)  # twice: still one part

    html = _page(order)

    assert calls == [order.pk]
    assert "In the customer&#x27;s words." in html and "Air conditioner drips water." not in html
    assert "A second visit to finish the work of request WO-2026-000001." in html
    assert f"/track/{order.public_token}/report.pdf" in html


def test_a_later_part_wins_and_values_it_does_not_give_keep_the_earlier_ones(no_parts, order):
    selectors.register_customer_page_part(lambda *, work_order: {"has_report": True, "follows": "WO-2026-000007"})
    selectors.register_customer_page_part(lambda *, work_order: {"has_report": False})

    html = _page(order)

    assert "report.pdf" not in html
    assert "A second visit to finish the work of request WO-2026-000007." in html
    assert "Air conditioner drips water." in html

