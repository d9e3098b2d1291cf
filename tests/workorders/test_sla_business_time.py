"""SLA deadlines in business time: nights, weekends, Chinese holidays and make-up days, holds."""

import io
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from sla.calendar import Calendar
from sla.models import CalendarDay, SlaPolicy
from sla.services import calendar_load_official_days
from tests.factories import BusinessCalendarFactory, SlaPolicyFactory, TechnicianFactory, workorder_via_service
from workorders.services import workorder_transition
from workorders.sla import target_states

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SH)


@pytest.fixture
def office(db):
    """Mon-Fri 09:00-18:00 with Mainland China's 2025 holidays and make-up working days."""
    calendar = BusinessCalendarFactory(code="office")
    calendar_load_official_days(calendar=calendar, years=[2025])
    return calendar


# 2025: 1-8 Oct is the National Day / Mid-autumn holiday; Sunday 28 Sep and Saturday
# 11 Oct are make-up working days (调休).
CASES = [
    ("inside working hours", "2025-09-16 10:00", 120, "2025-09-16 12:00"),
    ("across the night", "2025-09-16 17:00", 120, "2025-09-17 10:00"),
    ("before opening", "2025-09-16 07:30", 60, "2025-09-16 10:00"),
    ("after closing", "2025-09-16 20:00", 60, "2025-09-17 10:00"),
    ("exactly to closing time, not the next morning", "2025-09-16 09:00", 540, "2025-09-16 18:00"),
    ("across a weekend", "2025-09-19 16:00", 180, "2025-09-22 10:00"),
    ("starting on a Saturday", "2025-09-20 11:00", 60, "2025-09-22 10:00"),
    ("on a make-up working Sunday", "2025-09-26 17:00", 120, "2025-09-28 10:00"),
    ("across the National Day holiday", "2025-09-30 17:00", 120, "2025-10-09 10:00"),
    ("starting inside the holiday", "2025-10-03 10:00", 30, "2025-10-09 09:30"),
    ("on a make-up working Saturday", "2025-10-10 17:00", 120, "2025-10-11 10:00"),
    ("three working days over the holiday", "2025-09-30 09:00", 3 * 540, "2025-10-10 18:00"),
]


@pytest.mark.parametrize("story,start,minutes,expected", CASES, ids=[c[0] for c in CASES])
def test_deadline_in_business_time(office, story, start, minutes, expected):
    calendar = Calendar.from_model(office)
    assert calendar.add(at(start), minutes * 60) == at(expected)
    # And back: the business time between the start and the deadline is the target.
    assert calendar.between(at(start), at(expected)) == minutes * 60


def test_a_24x7_calendar_runs_through_nights_weekends_and_holidays(db):
    calendar = Calendar.from_model(BusinessCalendarFactory(always_open=True))
    assert calendar.add(at("2025-10-04 23:30"), 3600) == at("2025-10-05 00:30")
    assert calendar.between(at("2025-10-01 00:00"), at("2025-10-02 00:00")) == 24 * 3600


def test_a_lunch_break_does_not_count(db):
    cal = BusinessCalendarFactory(hours=[(wd, time(9), time(12)) for wd in range(5)]
                                  + [(wd, time(13), time(18)) for wd in range(5)])
    assert Calendar.from_model(cal).add(at("2025-09-16 11:00"), 2 * 3600) == at("2025-09-16 14:00")


def test_a_holiday_entered_by_hand_counts_and_survives_reloading_the_official_days(office):
    CalendarDay.objects.create(calendar=office, date=at("2025-09-17 00:00").date(), kind=CalendarDay.Kind.HOLIDAY,
                               name="Company day")
    calendar_load_official_days(calendar=office, years=[2025])
    assert Calendar.from_model(office).add(at("2025-09-16 17:00"), 2 * 3600) == at("2025-09-18 10:00")


@pytest.fixture
def office_policy(office):
    SlaPolicy.objects.all().delete()
    return SlaPolicyFactory(is_default=True, calendar=office, first_response_minutes=120, arrival_minutes=240,
                            resolution_minutes=540)


def test_new_order_gets_its_three_deadlines_in_business_time(office_policy):
    with time_machine.travel(at("2025-09-30 16:00"), tick=False):
        wo = workorder_via_service()
    # Two hours left on Tuesday, then the holiday: the clock runs again on Thursday 9 October.
    assert wo.sla_policy == office_policy
    assert wo.first_response_due == at("2025-09-30 18:00")
    assert wo.arrival_due == at("2025-10-09 11:00")
    assert wo.resolution_due == at("2025-10-09 16:00")


def test_hold_pauses_the_clock_and_resume_moves_the_deadlines_by_the_business_time_on_hold(office_policy):
    tech = TechnicianFactory()
    with time_machine.travel(at("2025-09-16 16:00"), tick=False) as clock:
        wo = workorder_via_service()
        assert (wo.arrival_due, wo.resolution_due) == (at("2025-09-17 11:00"), at("2025-09-17 16:00"))
        workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system", technician_id=tech.pk)
        clock.move_to(at("2025-09-16 16:30"))
        workorder_transition(work_order_id=wo.pk, action="accept", actor=tech.user)
        clock.move_to(at("2025-09-16 17:00"))
        wo = workorder_transition(work_order_id=wo.pk, action="hold", actor=tech.user, note="Waiting for a part")

        # While on hold there is no deadline to miss, and nothing can escalate.
        assert wo.sla_paused_at == at("2025-09-16 17:00")
        assert wo.sla_pause_reason == "Waiting for a part"
        assert (wo.arrival_due, wo.resolution_due, wo.next_escalation_at) == (None, None, None)
        clock.move_to(at("2025-09-17 09:30"))
        paused = {s.target: s for s in target_states(wo)}
        assert paused["arrival"].state == "paused" and paused["arrival"].seconds == 3 * 3600

        # Resumed at 10:00 on Wednesday: one business hour on Tuesday and one on
        # Wednesday were on hold, so each deadline moves two business hours later.
        clock.move_to(at("2025-09-17 10:00"))
        wo = workorder_transition(work_order_id=wo.pk, action="resume", actor=tech.user)
    assert wo.sla_paused_seconds == 2 * 3600
    assert wo.sla_pause_reason == "Waiting for a part"
    assert wo.arrival_due == at("2025-09-17 13:00")
    assert wo.resolution_due == at("2025-09-17 18:00")
    # The first response was met before the hold; its deadline does not move.
    assert wo.first_response_due == at("2025-09-16 18:00")
    assert wo.first_response_met_at == at("2025-09-16 16:30")


def test_each_target_shows_on_track_at_risk_breached_or_met(office_policy):
    tech = TechnicianFactory()
    with time_machine.travel(at("2025-09-16 09:00"), tick=False) as clock:
        wo = workorder_via_service()
        clock.move_to(at("2025-09-16 09:30"))
        states = {s.target: s for s in target_states(wo)}
        assert states["first_response"].state == "on_track"
        assert states["first_response"].seconds == 90 * 60
        assert "1 h 30 min" in states["first_response"].duration_text

        clock.move_to(at("2025-09-16 10:45"))  # 105 of 120 minutes used: past 75%
        assert target_states(wo)[0].state == "at_risk"

        clock.move_to(at("2025-09-16 11:20"))
        breached = target_states(wo)[0]
        assert breached.state == "breached" and breached.seconds == -20 * 60
        assert "20 min" in breached.duration_text

        workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system", technician_id=tech.pk)
        wo = workorder_transition(work_order_id=wo.pk, action="accept", actor=tech.user)
        late = target_states(wo)[0]
        assert late.state == "met_late" and late.met_at == at("2025-09-16 11:20")
        assert [s.state for s in target_states(wo)[1:]] == ["on_track", "on_track"]


def test_policy_matching_most_specific_first_then_default_and_no_sla(db, service_type):
    SlaPolicy.objects.all().delete()
    default = SlaPolicyFactory(is_default=True)
    urgent = SlaPolicyFactory(priority=4)
    vip_urgent = SlaPolicyFactory(priority=4, customer_tier="vip")
    installs = SlaPolicyFactory(service_type=service_type, no_sla=True, calendar=None)
    from tests.factories import CustomerFactory

    assert workorder_via_service(priority=2).sla_policy == default
    assert workorder_via_service(priority=4).sla_policy == urgent
    assert workorder_via_service(priority=4, customer=CustomerFactory(tier="vip")).sla_policy == vip_urgent
    no_sla = workorder_via_service(priority=4, service_type=service_type)
    assert no_sla.sla_policy == installs
    assert (no_sla.first_response_due, no_sla.next_escalation_at) == (None, None)
    assert target_states(no_sla) == []


def test_the_management_command_loads_the_official_days_into_a_calendar(db):
    from django.core.management import call_command

    calendar = BusinessCalendarFactory(code="branch")
    call_command("sla_load_holidays", calendar=["branch"], year=[2025], stdout=io.StringIO())
    national_day = CalendarDay.objects.get(calendar=calendar, date=at("2025-10-01 00:00").date())
    makeup = CalendarDay.objects.get(calendar=calendar, date=at("2025-10-11 00:00").date())
    assert (national_day.kind, makeup.kind) == ("holiday", "workday")
    assert "国庆节" in national_day.name
