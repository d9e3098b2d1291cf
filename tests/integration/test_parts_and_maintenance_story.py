"""Issue 19's story end to end: a job that needs a compressor goes to the technician whose van
carries one (the candidates page says who does), the compressor is reserved at assignment and used
at completion, the van's stock page and the costs report show it; and next quarter's maintenance
visits for a site's chillers are already on the dispatch board."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from completion.services import completion_submit
from maintenance.models import MaintenancePlan, PlanVisit
from maintenance.services import plans_sweep
from reports.facts import facts_rebuild
from tests.dispatch.factories import at
from tests.factories import EquipmentFactory, ServiceTypeFactory, SiteFactory, TechnicianFactory, WorkOrderFactory
from tests.inventory.helpers import level, needs, part, put, van
from tests.reports.helpers import kpi
from tests.technicians.helpers import signature_png
from workorders.lifecycle import Status
from workorders.models import WorkOrder
from workorders.services import workorder_transition

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 11, 23)


def test_the_compressor_follows_the_job_and_the_chillers_visits_are_planned(client, dispatcher, manager):
    with time_machine.travel(at(MONDAY, 10), tick=False):
        aircon = ServiceTypeFactory(code="aircon-repair")
        compressor = part(part_number="CMP-1", name="Compressor", unit_price=Decimal("900"),
                          unit_cost=Decimal("600"))
        needs(aircon, compressor, 1)
        site = SiteFactory(latitude=31.23, longitude=121.47)
        li = TechnicianFactory(user__first_name="Li", home_latitude=31.25, home_longitude=121.49)
        wang = TechnicianFactory(user__first_name="Wang", home_latitude=31.24, home_longitude=121.48)
        li_van, _wang_van = van(li), van(wang)
        put(li_van, compressor, 1)
        job = WorkOrderFactory(site=site, service_type=aircon)

        # The dispatcher sees who carries it, and Li (farther away) comes first.
        client.force_login(dispatcher)
        page = client.get(reverse("dispatch:candidates", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Carries all" in page and "Lacks CMP-1" in page
        assert page.index(f'data-technician="{li.pk}"') < page.index(f'data-technician="{wang.pk}"')

        workorder_transition(work_order_id=job.pk, action="assign", actor=dispatcher, technician_id=li.pk)
        assert level(li_van, compressor) == (1, 1)  # reserved in Li's van

        WorkOrder.objects.filter(pk=job.pk).update(status=Status.IN_PROGRESS)
        completion_submit(work_order_id=job.pk, actor=li.user, submission_key=uuid.uuid4(),
                          work_done="Replaced the compressor.", labour_minutes=60, signer_name="王芳",
                          signature=signature_png(), parts=[("CMP-1", "1")])
        assert level(li_van, compressor) == (0, 0)

        client.force_login(manager)
        stock = client.get(f"/staff/stock/{li_van.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'data-part="CMP-1"' in stock
        facts_rebuild()
        costs = client.get("/reports/costs/", {"from": MONDAY.isoformat(), "to": MONDAY.isoformat()},
                           HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert Decimal(kpi(costs, "parts-cost")) == Decimal("600")

        # Three chillers on one site, serviced every quarter from next month.
        pm = ServiceTypeFactory(code="pm-chiller")
        chillers = [EquipmentFactory(customer=site.customer, site=site, model="Chiller") for _ in range(3)]
        for chiller in chillers:
            MaintenancePlan.objects.create(name="Chiller quarterly service", equipment=chiller, service_type=pm,
                                           unit=MaintenancePlan.Unit.MONTHS, every=3,
                                           starts_on=dt.date(2026, 12, 7))
        assert plans_sweep(horizon_days=92) == 3
        visits = list(PlanVisit.objects.select_related("work_order").order_by("id"))
        assert {v.scheduled_on for v in visits} == {dt.date(2026, 12, 7)}

        client.force_login(dispatcher)
        board = client.get("/dispatch/board.json", {"date": "2026-12-07"}, HTTP_ACCEPT_LANGUAGE="en").json()["board"]
        waiting = {row["id"] for row in board["queue"]["rows"]}
        assert {v.work_order_id for v in visits} <= waiting
