"""An agent takes a call from a repeat caller, opens the customer page from intake and sees the last
visit's technician and parts, the sites on the map and every order; then the equipment's history with
the repeat failure, the customer search, and the technician's job page with the repeat-failure flag.
Chinese and English, phone and desktop. Screenshots in
<E2E_SCREENSHOTS_DIR or var/e2e-screenshots>/<test name>/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import roles as R
from customers.models import Customer
from tests.customer360.helpers import open_order, part, visit
from tests.factories import CustomerFactory, EquipmentFactory, ServiceTypeFactory, SiteFactory, TechnicianFactory, UserFactory
from workorders.lifecycle import Status
from workorders.models import Survey

from .support import foreign_requests, untranslated

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "c360-pass-1357"


def test_an_agent_sees_a_repeat_callers_whole_history(people, screenshots, axe, site):
    today = timezone.localdate()
    customer = CustomerFactory(name="周华", phone="+8613912345678", code="C-20931", tier=Customer.Tier.GOLD,
                               email="zhou@example.com")
    home = SiteFactory(customer=customer, label="家", address="淮海中路8号", latitude=31.215, longitude=121.46)
    shop = SiteFactory(customer=customer, label="店铺", address="南京东路12号", latitude=31.24, longitude=121.485)
    aircon = EquipmentFactory(customer=customer, site=home, brand="海尔", model="KFR-35GW", serial="AC-77001",
                              warranty_end=today + timedelta(days=200))
    EquipmentFactory(customer=customer, site=shop, brand="美的", model="L1PB26", serial="BO-55002",
                     warranty_end=today - timedelta(days=30))
    repair = ServiceTypeFactory(name="空调维修")
    li = TechnicianFactory(user__first_name="伟", user__last_name="李", user__username="liwei",
                           user__password=PASSWORD)
    pump = part("排水泵", 80)
    visit(li, aircon, days_ago=90, work_done="清洗过滤网。", service_type=repair)
    last = visit(li, aircon, days_ago=12, work_done="更换排水泵。", parts=[(pump, 1)], service_type=repair)
    Survey.objects.create(work_order=last, status=Survey.State.ANSWERED, expires_at=timezone.now(),
                          answered_at=timezone.now() - timedelta(days=11), satisfaction=2, solved=False,
                          comment="还在滴水", needs_callback=True)
    job = open_order(aircon, technician=li, status=Status.ACCEPTED, service_type=repair, description="又漏水了")
    UserFactory(username="agent", password=PASSWORD, roles=[R.AGENT], is_staff=True)
    data = [customer.name, customer.phone, customer.code, customer.email, "淮海中路8号", "南京东路12号", "家", "店铺",
            "海尔", "美的", "KFR-35GW", "L1PB26", "AC-77001", "BO-55002", pump.name, pump.part_number, "李伟", "伟 李",
            "清洗过滤网。", "更换排水泵。", "还在滴水", "又漏水了", repair.name, "Leaflet", "13912345678",
            "agent", "manager", "liwei", pump.unit, "The air conditioner drips water."]
    findings = []

    # The agent looks the caller up on the intake page and follows the link to the customer page
    desk = people.open("agent", "desktop", "zh-hans")
    page = desk.page
    desk.go("/staff/work-orders/new/?phone=13912345678")
    desk.log_in("agent", PASSWORD)
    page.wait_for_selector("#caller-360")
    desk.go(page.get_attribute("#caller-360", "href"))
    page.wait_for_selector("#c360-map[data-points='2']")  # both sites drawn on the map
    last_visit = page.inner_text("#last-visit")
    assert last.number in last_visit and "排水泵" in last_visit
    orders = page.inner_text(".c360-orders")
    assert orders.index(job.number) < orders.index(last.number)  # the open order first
    assert "还在滴水" in page.inner_text("main")
    screenshots.take(desk, "customer-360")
    findings += [f"customer page: {p}" for p in axe(page)]
    findings += [f"customer page: {p}" for p in untranslated(page, language="zh-hans", data=data)]

    # The air conditioner's history: every visit, the new order flagged as a repeat failure
    page.click(f"a[href='/staff/equipment/{aircon.pk}/']")
    page.wait_for_selector(".c360-visit")
    assert page.locator(".c360-visit").count() == 3
    assert page.locator(f".c360-visit[data-work-order='{job.pk}'] .repeat-failure").count() == 1
    screenshots.take(desk, "equipment-history")
    findings += [f"equipment page: {p}" for p in axe(page)]
    findings += [f"equipment page: {p}" for p in untranslated(page, language="zh-hans", data=data)]

    # The customer search finds them by a number typed with dashes
    desk.go("/staff/customers/?q=139-1234-5678")
    assert page.locator(f"a[href='/staff/customers/{customer.pk}/']").count() == 1
    screenshots.take(desk, "customer-search")
    findings += [f"search page: {p}" for p in axe(page)]

    # An English-speaking manager on a phone reads the same customer page
    phone_manager = people.open("manager", "phone", "en")
    UserFactory(username="manager", password=PASSWORD, roles=[R.MANAGER])
    phone_manager.go(f"/staff/customers/{customer.pk}/")
    phone_manager.log_in("manager", PASSWORD)
    phone_manager.page.wait_for_selector("#c360-map[data-points='2']")
    assert "Last visit" in phone_manager.page.inner_text("main")
    screenshots.take(phone_manager, "customer-360-en")
    findings += [f"customer page (en): {p}" for p in untranslated(phone_manager.page, language="en", data=data)]

    # The technician on the job sees the last visits and the repeat-failure flag on their phone
    tech = people.open("technician", "phone", "zh-hans")
    tech.go(f"/tech/jobs/{job.pk}/")
    tech.log_in("liwei", PASSWORD)
    tech.page.wait_for_selector(".repeat-failure")
    assert last.number in tech.page.inner_text("main")
    screenshots.take(tech, "job-repeat-failure")
    findings += [f"job page: {p}" for p in untranslated(tech.page, language="zh-hans", data=data)]

    people_all = [desk, phone_manager, tech]
    assert not foreign_requests(people_all), foreign_requests(people_all)
    for person in people_all:
        assert not person.script_errors and not person.csp_violations, person.script_errors + person.csp_violations
    assert not findings, "\n".join(findings)
