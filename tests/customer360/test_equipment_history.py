"""Equipment history (/staff/equipment/<id>/), the job page's last visits and repeat-failure flag,
and the reports' repeat-visit rate."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from completion.models import ReportPhoto
from reports import selectors as report_selectors
from core import roles as R
from reports.facts import facts_rebuild, facts_sweep
from reports.forms import Filters
from reports.models import WorkOrderFact
from tests.customer360.helpers import open_order, part, visit
from tests.factories import EquipmentFactory, ServiceTypeFactory, TechnicianFactory
from workorders.history import repeat_failure_of
from workorders.lifecycle import Status
from workorders.models import WorkOrder
from workorders.services import workorder_create, workorder_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def fridge():
    return EquipmentFactory(serial="FR-100200", brand="Haier", model="BCD-470")


def test_the_equipment_page_lists_every_visit_with_work_parts_photos_and_technician(client, agent, fridge):
    li = TechnicianFactory(user__first_name="Li", user__last_name="Wei")
    zhang = TechnicianFactory(user__first_name="Zhang", user__last_name="Min")
    compressor = part("Compressor relay", 45)
    first = visit(li, fridge, days_ago=200, work_done="Cleaned the condenser.")
    second = visit(zhang, fridge, days_ago=20, work_done="Replaced the compressor relay.",
                   parts=[(compressor, 1)], photos=1)
    third = open_order(fridge, days_ago=5, description="Not cooling again")
    elsewhere = open_order(EquipmentFactory(), description="Another fridge")
    client.force_login(agent)

    html = client.get(reverse("c360:equipment", args=[fridge.pk])).content.decode()

    # Newest first, every visit, with what was done, by whom, with which parts and photos
    assert html.index(third.number) < html.index(second.number) < html.index(first.number)
    assert elsewhere.number not in html
    assert "Cleaned the condenser." in html and "Li Wei" in html
    assert "Replaced the compressor relay." in html and "Zhang Min" in html and "Compressor relay" in html
    photo = ReportPhoto.objects.get(report__work_order=second)
    assert reverse("intake:attachment", args=[photo.attachment_id]) in html
    # The new order five days after a completed one is a repeat failure; the others are not
    flagged = [chunk.split('"', 1)[0] for chunk in html.split('data-work-order="')[1:] if "Repeat failure" in chunk
               .split("</article>", 1)[0]]
    assert flagged == [str(third.pk)]
    assert reverse("c360:customer", args=[fridge.customer_id]) in html


def test_the_equipment_page_costs_the_same_queries_for_two_visits_or_ten(client, agent, fridge):
    tech = TechnicianFactory()
    kind = ServiceTypeFactory()
    relay = part("Relay")
    url = reverse("c360:equipment", args=[fridge.pk])
    for i in range(2):
        visit(tech, fridge, days_ago=300 - i * 40, parts=[(relay, 1)], photos=1, service_type=kind)
    client.force_login(agent)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(2, 10):
        visit(tech, fridge, days_ago=300 - i * 25, parts=[(relay, 1)], photos=1, service_type=kind)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_rule_counts_from_the_completion_and_follows_the_setting(settings, fridge):
    tech = TechnicianFactory()
    visit(tech, fridge, days_ago=40, resolved_days_ago=29)
    new = open_order(fridge)
    assert repeat_failure_of(new) is not None  # resolved 29 days ago: within 30
    settings.REPEAT_FAILURE_DAYS = 20
    assert repeat_failure_of(new) is None
    # Without equipment there is nothing to repeat
    assert repeat_failure_of(WorkOrder(equipment=None, created_at=timezone.now())) is None


def test_the_job_page_shows_the_last_three_visits_and_flags_a_repeat_failure(client, fridge):
    tech = TechnicianFactory(user__first_name="Wu", user__last_name="Gang")
    gasket = part("Door gasket", 30)
    old = [visit(tech, fridge, days_ago=days, work_done=f"Visit {days} days ago", parts=[(gasket, 1)])
           for days in (300, 200, 100, 12)]
    job = open_order(fridge, technician=tech, status=Status.ACCEPTED)
    client.force_login(tech.user)

    html = client.get(reverse("tech:job", args=[job.pk])).content.decode()

    assert "Repeat failure" in html and old[-1].number in html
    assert all(o.number in html for o in old[1:]) and old[0].number not in html  # the last three only
    assert "Door gasket" in html and "Wu Gang" in html


def test_no_flag_when_the_last_completion_is_older_than_the_window(client, fridge):
    tech = TechnicianFactory()
    visit(tech, fridge, days_ago=45)
    job = open_order(fridge, technician=tech, status=Status.ACCEPTED)
    client.force_login(tech.user)
    html = client.get(reverse("tech:job", args=[job.pk])).content.decode()
    assert "Repeat failure" not in html


def test_the_reports_count_the_repeat_visit_rate_by_service_type_technician_and_model(fridge):
    repair, install = ServiceTypeFactory(name="Repair"), ServiceTypeFactory(name="Install")
    li = TechnicianFactory(user__first_name="Li", user__last_name="Wei")
    washer = EquipmentFactory(model="XQG100")
    visit(li, fridge, days_ago=25, service_type=repair)           # first: not a repeat
    visit(li, fridge, days_ago=10, service_type=repair)           # 15 days after it: a repeat
    visit(li, washer, days_ago=60, service_type=install)          # washer: one visit, no repeat
    visit(li, washer, days_ago=5, service_type=repair)            # 55 days after: not a repeat
    facts_rebuild()
    today = timezone.localdate()

    figures = report_selectors.repeat_visits(Filters(date_from=today - timedelta(days=90), date_to=today))

    by_type = {r["label"]: (r["visits"], r["repeats"], r["rate"]) for r in figures["service_type"]}
    assert by_type == {"Repair": (3, 1, 33.3), "Install": (1, 0, 0.0)}
    assert {r["label"]: (r["visits"], r["repeats"]) for r in figures["technician"]} == {"Li Wei": (4, 1)}
    assert {r["label"]: (r["visits"], r["repeats"]) for r in figures["model"]} == {"BCD-470": (2, 1),
                                                                                  "XQG100": (2, 0)}


def test_the_dashboard_shows_the_repeat_visit_tables(client, manager, fridge):
    tech = TechnicianFactory()
    visit(tech, fridge, days_ago=8)
    visit(tech, fridge, days_ago=3)
    facts_rebuild()
    client.force_login(manager)
    html = client.get("/reports/").content.decode()
    assert 'data-kpi="repeats-model" data-value="1"' in html and "BCD-470" in html


def _repeats_by_model(days=90):
    today = timezone.localdate()
    figures = report_selectors.repeat_visits(Filters(date_from=today - timedelta(days=days), date_to=today))
    return {r["label"]: (r["visits"], r["repeats"]) for r in figures["model"]}


def test_a_reopened_completion_no_longer_makes_the_next_order_a_repeat(fridge, manager,
                                                                      django_capture_on_commit_callbacks):
    tech = TechnicianFactory()
    first = visit(tech, fridge, days_ago=12)
    visit(tech, fridge, days_ago=5)  # 7 days after the first was resolved: a repeat
    facts_rebuild()
    assert _repeats_by_model() == {"BCD-470": (2, 1)}

    # The first job was not done after all: reopened, it is no longer a completion.
    WorkOrder.objects.filter(pk=first.pk).update(status=Status.FOLLOW_UP)
    with django_capture_on_commit_callbacks(execute=True):
        workorder_transition(work_order_id=first.pk, action="reopen", actor=manager, note="Still leaking")

    assert _repeats_by_model() == {"BCD-470": (2, 0)}


def test_a_new_order_on_recently_repaired_equipment_counts_as_a_repeat_at_once(fridge, agent):
    visit(TechnicianFactory(), fridge, days_ago=9)
    facts_rebuild()
    new, _created = workorder_create(
        channel="phone", contact_name="王芳", contact_phone=fridge.customer.phone, address=fridge.site.address,
        service_type=ServiceTypeFactory(), description="冰箱又不制冷了。", customer=fridge.customer,
        site=fridge.site, equipment=fridge, created_by=agent, actor_role=R.AGENT,
    )
    # Its summary row came with the order, before anyone worked out whether it is a repeat ...
    assert WorkOrderFact.objects.get(pk=new.pk).repeat_failure is None
    assert _repeats_by_model() == {"BCD-470": (2, 1)}
    # ... which the next refresh stores.
    facts_sweep()
    assert WorkOrderFact.objects.get(pk=new.pk).repeat_failure is True
    assert _repeats_by_model() == {"BCD-470": (2, 1)}
