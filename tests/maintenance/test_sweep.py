"""The sweep creates each due visit's work order ahead of time, once, on a working day."""

import datetime as dt

import pytest
from django.utils import timezone

from contracts.models import Contract
from customers.models import Site
from maintenance.models import MaintenancePlan, PlanVisit
from maintenance.services import calendar_due_dates, meter_reading_add, plans_sweep
from sla.models import CalendarDay, SlaPolicy
from tests.factories import BusinessCalendarFactory, SlaPolicyFactory
from workorders.lifecycle import Status
from workorders.models import WorkOrder

from .conftest import TODAY, make_plan

pytestmark = pytest.mark.django_db


def test_a_monthly_plan_gets_its_visits_for_the_horizon_as_new_maintenance_orders(chiller, pm_type, technician):
    plan = make_plan(chiller, pm_type, preferred_technician=technician)

    assert plans_sweep(today=TODAY, horizon_days=92) == 4  # Sep 7, Oct 7, Nov 7, Dec 7

    visits = list(PlanVisit.objects.filter(plan=plan).select_related("work_order").order_by("due_on"))
    assert [v.due_on for v in visits] == [dt.date(2026, 9, 7), dt.date(2026, 10, 7), dt.date(2026, 11, 7),
                                          dt.date(2026, 12, 7)]
    order = visits[0].work_order
    assert order.channel == WorkOrder.Channel.MAINTENANCE and order.status == Status.NEW
    assert order.equipment == chiller and order.customer == chiller.customer and order.site == chiller.site
    assert order.service_type == pm_type and order.address == chiller.site.address
    assert "Clean condenser coils" in order.description and "Chiller quarterly service" in order.description
    assert order.first_response_due is None  # a planned visit keeps no SLA clock from its creation
    assert order.events.get().data["preferred_technician_id"] == technician.pk
    assert timezone.localtime(order.preferred_start).date() == visits[0].scheduled_on


def test_running_the_sweep_again_creates_nothing(chiller, pm_type):
    make_plan(chiller, pm_type)
    first = plans_sweep(today=TODAY, horizon_days=92)

    assert plans_sweep(today=TODAY, horizon_days=92) == 0
    assert plans_sweep(today=TODAY + dt.timedelta(days=3), horizon_days=92) == 0
    assert PlanVisit.objects.count() == first == WorkOrder.objects.count()


def test_a_longer_horizon_adds_only_the_visits_beyond_the_last_one(chiller, pm_type):
    make_plan(chiller, pm_type)
    plans_sweep(today=TODAY, horizon_days=31)

    assert plans_sweep(today=TODAY, horizon_days=92) == 2
    assert WorkOrder.objects.count() == 4


def test_holidays_and_weekends_of_the_business_calendar_move_the_visit_to_the_next_working_day(
        chiller, pm_type, settings):
    calendar = BusinessCalendarFactory(code="pm-office")
    for day in range(1, 8):
        CalendarDay.objects.create(calendar=calendar, date=dt.date(2026, 10, day), kind=CalendarDay.Kind.HOLIDAY)
    settings.MAINTENANCE_CALENDAR = "pm-office"
    make_plan(chiller, pm_type, unit=MaintenancePlan.Unit.WEEKS, every=4, starts_on=dt.date(2026, 9, 5))  # a Saturday

    plans_sweep(today=dt.date(2026, 9, 5), horizon_days=40)

    visits = {v.due_on: v.scheduled_on for v in PlanVisit.objects.all()}
    assert visits == {dt.date(2026, 9, 5): dt.date(2026, 9, 7),  # Saturday -> Monday
                      dt.date(2026, 10, 3): dt.date(2026, 10, 8)}  # National Day week -> the Thursday after


def test_without_a_setting_the_default_sla_policy_s_calendar_is_used(chiller, pm_type):
    SlaPolicy.objects.filter(is_default=True).delete()
    SlaPolicyFactory(is_default=True, calendar=BusinessCalendarFactory())  # Monday to Friday
    make_plan(chiller, pm_type, unit=MaintenancePlan.Unit.DAYS, every=7, starts_on=dt.date(2026, 9, 6))  # Sunday

    plans_sweep(today=dt.date(2026, 9, 6), horizon_days=0)

    assert PlanVisit.objects.get().scheduled_on == dt.date(2026, 9, 7)


def test_a_visit_is_never_created_in_the_past(chiller, pm_type):
    make_plan(chiller, pm_type, unit=MaintenancePlan.Unit.WEEKS, every=2, starts_on=dt.date(2026, 1, 5))

    plans_sweep(today=TODAY, horizon_days=14)

    assert sorted(PlanVisit.objects.values_list("due_on", flat=True)) == [dt.date(2026, 9, 14)]


def test_months_count_from_the_first_day_so_the_31st_stays_the_end_of_the_month():
    plan = MaintenancePlan(unit=MaintenancePlan.Unit.MONTHS, every=1, starts_on=dt.date(2026, 1, 31))

    days = calendar_due_dates(plan, after=None, today=dt.date(2026, 1, 1), until=dt.date(2026, 4, 30))

    assert days == [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 30)]


def test_with_no_calendar_at_all_the_due_day_is_kept(chiller, pm_type):
    SlaPolicy.objects.filter(is_default=True).delete()
    make_plan(chiller, pm_type, unit=MaintenancePlan.Unit.DAYS, every=7, starts_on=dt.date(2026, 9, 6))  # Sunday

    plans_sweep(today=dt.date(2026, 9, 6), horizon_days=0)

    assert PlanVisit.objects.get().scheduled_on == dt.date(2026, 9, 6)


def test_inactive_plans_create_nothing(chiller, pm_type):
    make_plan(chiller, pm_type, active=False)

    assert plans_sweep(today=TODAY, horizon_days=92) == 0


def test_a_contract_plan_is_covered_by_its_contract_and_stops_at_its_last_day(chiller, pm_type):
    contract = Contract.objects.create(number="C-2026-001", customer=chiller.customer, equipment=chiller,
                                       starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 10, 31),
                                       covered_percent=100)
    plan = MaintenancePlan.objects.create(name="Contract visits", contract=contract, service_type=pm_type,
                                          unit=MaintenancePlan.Unit.MONTHS, every=1, starts_on=TODAY)
    assert plan.customer_id == chiller.customer_id

    assert plans_sweep(today=TODAY, horizon_days=92) == 2  # Sep 7, Oct 7; Nov 7 is after the contract

    order = WorkOrder.objects.order_by("id").first()
    assert order.contract == contract and order.coverage == "contract" and order.coverage_percent == 100
    # No equipment on the plan: the visit goes to the customer's site.
    assert order.site == Site.objects.get(customer=chiller.customer)


def test_a_meter_plan_creates_a_visit_when_the_meter_passes_the_next_threshold(chiller, pm_type):
    plan = make_plan(chiller, pm_type, unit=MaintenancePlan.Unit.METER, every=500, meter_start=1000)
    meter_reading_add(equipment_id=chiller.pk, value=1400, read_on=TODAY)
    assert plans_sweep(today=TODAY) == 0

    meter_reading_add(equipment_id=chiller.pk, value=1620, read_on=TODAY)
    assert plans_sweep(today=TODAY) == 1
    assert plans_sweep(today=TODAY + dt.timedelta(days=1)) == 0  # the same threshold is not visited twice

    meter_reading_add(equipment_id=chiller.pk, value=2100, read_on=TODAY + dt.timedelta(days=2))
    assert plans_sweep(today=TODAY + dt.timedelta(days=2)) == 1
    assert list(plan.visits.order_by("meter_at").values_list("meter_at", flat=True)) == [1500, 2000]


@pytest.mark.parametrize("ends_on, active", [(TODAY - dt.timedelta(days=1), True), (TODAY + dt.timedelta(days=90), False)])
def test_a_meter_plan_of_an_ended_or_inactive_contract_creates_nothing(chiller, pm_type, ends_on, active):
    contract = Contract.objects.create(number="C-2026-002", customer=chiller.customer, equipment=chiller,
                                       starts_on=dt.date(2026, 1, 1), ends_on=ends_on, active=active,
                                       covered_percent=100)
    plan = make_plan(chiller, pm_type, unit=MaintenancePlan.Unit.METER, every=500, meter_start=1000, contract=contract)
    meter_reading_add(equipment_id=chiller.pk, value=1620, read_on=TODAY)

    assert plans_sweep(today=TODAY) == 0
    assert not plan.visits.exists() and not WorkOrder.objects.exists()

    contract.ends_on, contract.active = TODAY + dt.timedelta(days=90), True
    contract.save()
    assert plans_sweep(today=TODAY) == 1  # the same plan under a running contract is visited


def test_a_negative_meter_reading_is_refused(chiller):
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        meter_reading_add(equipment_id=chiller.pk, value=-5)


def test_the_task_runs_the_sweep(chiller, pm_type, settings):
    from maintenance.tasks import maintenance_plan_sweep

    make_plan(chiller, pm_type, starts_on=dt.date.today())
    settings.MAINTENANCE_HORIZON_DAYS = 0

    assert maintenance_plan_sweep.apply().get() == 1
    assert "maintenance-plan-sweep" in settings.CELERY_BEAT_SCHEDULE


def test_an_integration_listening_for_new_orders_is_told_of_each_planned_one(chiller, pm_type, manager):
    from notifications import webhooks
    from notifications.models import Notification, WebhookEndpoint

    WebhookEndpoint.objects.create(name="ERP", url="https://erp.example.com/hooks", secret=webhooks.secret_new(),
                                   events=[webhooks.Event.WORK_ORDER_CREATED], created_by=manager)
    make_plan(chiller, pm_type)

    plans_sweep(today=TODAY, horizon_days=31)

    rows = Notification.objects.filter(channel=Notification.Channel.ENDPOINT).order_by("subject_id")
    assert [r.subject_id for r in rows] == list(WorkOrder.objects.order_by("id").values_list("id", flat=True))
    assert rows[0].payload["data"]["channel"] == "maint" and rows[0].payload["key"] == "work_order_id"

