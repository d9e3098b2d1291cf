"""Each technician page stays under 150 KB on the wire, counting the stylesheets and scripts it loads
(photos excluded), with a realistic day: many jobs, a long history, a large parts catalog."""

import re
from datetime import timedelta

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from knowledge.models import Audience
from knowledge.services import article_create
from tests.factories import ChecklistItemFactory, EquipmentFactory, PartFactory, WorkOrderFactory
from workorders.lifecycle import Status
from workorders.models import WorkOrderEvent

from .helpers import job_for

pytestmark = pytest.mark.django_db

BUDGET = 150 * 1024
ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"')


def _transferred(client, url) -> tuple[int, list[str]]:
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assets = ASSET.findall(html)
    total = len(response.content)
    for asset in assets:
        path = finders.find(asset.removeprefix("/static/"))
        assert path, f"{asset} is referenced but not found"
        with open(path, "rb") as handle:
            total += len(handle.read())
    return total, assets


@pytest.fixture
def busy_day(technician):
    """30 open jobs, one with 60 events, 15 earlier visits and 20 checklist items; 500 parts in the catalog;
    8 knowledge-base articles with long titles and summaries for the job's service type."""
    equipment = EquipmentFactory()
    jobs = [
        job_for(technician, status=Status.ACCEPTED, appointment_start=timezone.now() + timedelta(hours=i),
                appointment_end=timezone.now() + timedelta(hours=i, minutes=50))
        for i in range(30)
    ]
    wo = job_for(technician, customer=equipment.customer, site=equipment.site, equipment=equipment,
                 description="水管漏水，" * 80)
    WorkOrderEvent.objects.bulk_create(
        WorkOrderEvent(work_order=wo, action="hold", from_status="in_progress", to_status="on_hold",
                       actor=technician.user, note="等待配件 " * 10, latitude=31.2, longitude=121.4)
        for _ in range(60)
    )
    for _ in range(15):
        WorkOrderFactory(customer=equipment.customer, site=equipment.site, equipment=equipment,
                         created_at=timezone.now() - timedelta(days=40))
    for i in range(20):
        ChecklistItemFactory(service_type=wo.service_type, text=f"检查项目 {i} 压力与密封", mandatory=i % 2 == 0)
    PartFactory.create_batch(500, name="铜管接头 Copper fitting 1/2 inch")
    for i in range(8):
        article_create(actor=None, title=f"{i} 号故障：压缩机不启动的检查步骤 " * 8, summary="先断电，检查电容与接线。" * 25,
                       body="x", audience=Audience.TECHNICIAN, service_types=[wo.service_type], published=True)
    return jobs, wo


@pytest.mark.parametrize("page", ["tech:jobs", "tech:job", "tech:complete"])
def test_technician_pages_stay_under_150_kb(client, technician, busy_day, page):
    _jobs, wo = busy_day
    client.force_login(technician.user)
    url = reverse(page) if page == "tech:jobs" else reverse(page, args=[wo.pk])

    size, assets = _transferred(client, url)

    assert any(a.endswith("tech.js") for a in assets) and any(a.endswith(".css") for a in assets)
    assert size < BUDGET, f"{url}: {size} bytes"
