"""Costs and gross margin: what each completed job charged and cost, per service type, technician
and customer, and the stock at cost per location (issue 19 item 4).

Worked out by hand (LABOUR_RATE_PER_HOUR 120, LABOUR_COST_PER_HOUR 80, call-out fee 50,
part P-1 sold at 100 and bought at 60):

    X  own technician T1 (standard cost 80/h): drives 09:00-09:30, 90 min labour, 2 × P-1
       charged 50 + 180 + 200 = 430; cost parts 120 + labour 120 + travel 40 = 280; margin 150
    Y  partner technician T2 (own cost 100/h): drives 10:00-10:45, 60 min labour, no parts
       charged 50 + 120 = 170; cost labour 100 + travel 75 = 175; margin -5
    Z  assigned, not done: not counted
"""

import csv
import io
import uuid
from decimal import Decimal

import pytest
import time_machine

from completion.models import CompletionReport
from completion.services import completion_submit
from core import roles as R
from inventory.models import StockLocation
from inventory.services import stock_receive
from reports.facts import facts_rebuild
from tests.factories import PartFactory, PartnerTechnicianFactory, ServiceTypeFactory, TechnicianFactory, UserFactory
from tests.reports.conftest import NOW, Story, at
from tests.reports.helpers import kpi
from tests.technicians.helpers import signature_png

RANGE = {"from": "2025-03-03", "to": "2025-03-09"}


@pytest.fixture
def jobs(db, settings_tz):
    settings_tz.LABOUR_RATE_PER_HOUR = "120.00"
    settings_tz.LABOUR_COST_PER_HOUR = "80.00"
    manager = UserFactory(username="boss", roles=[R.MANAGER], is_staff=True)
    heater = ServiceTypeFactory(code="heater-repair", name="Heater repair", callout_fee=50)
    part = PartFactory(part_number="P-1", unit_price=Decimal("100"), unit_cost=Decimal("60"))
    t1 = TechnicianFactory(user__username="t1", user__first_name="Li", user__last_name="Wei")
    t2 = PartnerTechnicianFactory(user__username="t2", user__first_name="Zhang", user__last_name="Min",
                                  hourly_cost=Decimal("100"))
    s = Story(heater, manager)

    def done(wo, tech, *, depart, arrive, minutes, parts=()):
        s.assign(wo, depart, tech, arrive, arrive.replace(hour=arrive.hour + 2))
        s.visit(wo, tech, accept=depart, depart=depart, arrive=arrive)
        with time_machine.travel(arrive.replace(hour=arrive.hour + 1), tick=False):
            report, _created = completion_submit(
                work_order_id=wo.pk, actor=tech.user, submission_key=uuid.uuid4(), work_done="Done.",
                labour_minutes=minutes, signer_name="王芳", signature=signature_png(), parts=list(parts),
            )
        return report

    x, y, z = s.create(at(3, 4, 8)), s.create(at(3, 5, 8)), s.create(at(3, 6, 8))
    rx = done(x, t1, depart=at(3, 4, 9), arrive=at(3, 4, 9, 30), minutes=90, parts=[("P-1", "2")])
    ry = done(y, t2, depart=at(3, 5, 10), arrive=at(3, 5, 10, 45), minutes=60)
    s.assign(z, at(3, 6, 9), t1, at(3, 7, 9), at(3, 7, 11))

    warehouse = StockLocation.objects.create(code="central", name="Central store", kind="warehouse")
    partner_store = StockLocation.objects.create(code="partner-store", name="Partner store", kind="partner_store",
                                                 partner_company=t2.partner_company)
    stock_receive(location_id=warehouse.pk, part_id=part.pk, quantity="10", actor=manager)
    stock_receive(location_id=partner_store.pk, part_id=part.pk, quantity="1", actor=manager)
    facts_rebuild()  # nothing commits inside the test, so the after-commit refresh never runs
    return type("Jobs", (), {"manager": manager, "t1": t1, "t2": t2, "x": x, "y": y, "rx": rx, "ry": ry,
                             "part": part, "heater": heater})


def _page(client, jobs, **query):
    client.force_login(jobs.manager)
    with time_machine.travel(NOW, tick=False):
        return client.get("/reports/costs/", {**RANGE, **query})


def test_a_report_keeps_what_the_job_cost_when_it_was_submitted(jobs):
    rx = CompletionReport.objects.get(pk=jobs.rx.pk)
    assert (rx.total_amount, rx.parts_cost, rx.labour_cost, rx.travel_minutes, rx.travel_cost) == (
        Decimal("430.00"), Decimal("120.00"), Decimal("120.00"), 30, Decimal("40.00"))
    assert rx.parts.get().unit_cost == Decimal("60.00")
    ry = CompletionReport.objects.get(pk=jobs.ry.pk)
    assert (ry.total_amount, ry.labour_cost, ry.travel_minutes, ry.travel_cost) == (
        Decimal("170.00"), Decimal("100.00"), 45, Decimal("75.00"))
    # A later change of the part's cost or the technician's leaves the submitted report as it was.
    jobs.part.unit_cost = Decimal("90")
    jobs.part.save()
    rx.refresh_from_db()
    assert rx.parts_cost == Decimal("120.00")


def test_the_costs_page_shows_revenue_costs_and_margin_of_the_completed_jobs(client, jobs):
    response = _page(client, jobs)
    assert response.status_code == 200
    html = response.content.decode()
    assert kpi(html, "jobs") == "2"
    assert Decimal(kpi(html, "revenue")) == Decimal("600")
    assert Decimal(kpi(html, "parts-cost")) == Decimal("120")
    assert Decimal(kpi(html, "labour-cost")) == Decimal("220")
    assert Decimal(kpi(html, "travel-cost")) == Decimal("115")
    assert Decimal(kpi(html, "margin")) == Decimal("145")
    assert Decimal(kpi(html, "margin-rate")) == Decimal("24.2")
    assert Decimal(kpi(html, "stock-value")) == Decimal("660")  # 10 + 1 units at 60


def test_margin_per_technician_shows_the_partner_job_losing_money(client, jobs):
    client.force_login(jobs.manager)
    with time_machine.travel(NOW, tick=False):
        response = client.get("/reports/export/costs-technician.csv", RANGE)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"Li Wei", "Zhang Min"}
    assert [float(v) for v in by_name["Li Wei"][1:]] == [1, 430, 120, 120, 40, 280, 150, 34.9]
    assert [float(v) for v in by_name["Zhang Min"][1:]] == [1, 170, 0, 100, 75, 175, -5, -2.9]


def test_the_filters_narrow_the_jobs_and_the_stock(client, jobs):
    html = _page(client, jobs, partner=str(jobs.t2.partner_company_id)).content.decode()
    assert kpi(html, "jobs") == "1"
    assert Decimal(kpi(html, "margin")) == Decimal("-5")
    assert Decimal(kpi(html, "stock-value")) == Decimal("60")  # the partner's store only
    html = _page(client, jobs, partner="own").content.decode()
    assert kpi(html, "jobs") == "1"
    assert Decimal(kpi(html, "stock-value")) == Decimal("600")


def test_customer_and_service_type_exports_add_up_to_the_totals(client, jobs):
    client.force_login(jobs.manager)
    with time_machine.travel(NOW, tick=False):
        customers = client.get("/reports/export/costs-customer.csv", RANGE).content.decode("utf-8-sig")
        types = client.get("/reports/export/costs-service-type.csv", RANGE).content.decode("utf-8-sig")
        stock = client.get("/reports/export/stock-value.csv", RANGE).content.decode("utf-8-sig")
    customer_rows = list(csv.reader(io.StringIO(customers)))[1:]
    assert len(customer_rows) == 2 and sum(float(r[2]) for r in customer_rows) == 600
    type_rows = list(csv.reader(io.StringIO(types)))[1:]
    assert [(r[0], float(r[7])) for r in type_rows] == [("Heater repair", 145.0)]
    stock_rows = list(csv.reader(io.StringIO(stock)))[1:]
    assert [(r[0], float(r[4])) for r in stock_rows] == [("Central store", 600.0), ("Partner store", 60.0)]


def test_only_managers_see_costs(client, jobs):
    client.force_login(jobs.t1.user)
    assert client.get("/reports/costs/", RANGE).status_code == 403
    client.logout()
    assert client.get("/reports/costs/", RANGE).status_code == 302


def test_a_bad_filter_is_a_message_not_an_error(client, jobs):
    response = _page(client, jobs, to="2025-02-30")
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.content.decode()


def test_the_costs_page_in_chinese(client, jobs):
    client.force_login(jobs.manager)
    with time_machine.travel(NOW, tick=False):
        html = client.get("/reports/costs/", RANGE, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "毛利" in html and "Gross margin" not in html


def test_a_reopened_job_s_second_report_counts_only_the_second_drive(jobs):
    s = Story(jobs.heater, jobs.manager)
    x = jobs.x  # first visit: drove 09:00-09:30, reported at 10:30 on 03-04, then sent for follow-up
    s.step(x, at(3, 4, 13), "reopen", note="Still noisy.")
    s.assign(x, at(3, 4, 13, 5), jobs.t1, at(3, 4, 15), at(3, 4, 16))
    s.visit(x, jobs.t1, accept=at(3, 4, 14), depart=at(3, 4, 14, 40), arrive=at(3, 4, 15))
    with time_machine.travel(at(3, 4, 15, 30), tick=False):
        second, _created = completion_submit(
            work_order_id=x.pk, actor=jobs.t1.user, submission_key=uuid.uuid4(), work_done="Tightened.",
            labour_minutes=30, signer_name="王芳", signature=signature_png(),
        )
    assert (second.travel_minutes, second.travel_cost) == (20, Decimal("26.67"))  # 20 min at 80/h
