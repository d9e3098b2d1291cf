"""Each figure of the dashboard on the hand-made week (tests/reports/conftest.py), worked out by hand.

Times are local (Asia/Shanghai); the SLA calendar works Monday to Friday 09:00-18:00.
The range is Monday 03-03 to Sunday 03-09 and the service type "Heater repair", so
the orders counted are A, B, C, D, E and F.
"""

from datetime import time

import pytest
import time_machine

from reports import selectors
from reports.facts import facts_refresh
from reports.forms import Filters
from reports.models import WorkOrderFact
from tests.reports.conftest import Story, at
from tests.reports.helpers import dashboard, kpi, kpis
from sla.models import CalendarDay, WorkingHours

pytestmark = pytest.mark.django_db

H = 3600


@pytest.fixture
def page(manager_client, week):
    response = dashboard(manager_client, service_type=week.service_type.pk)
    assert response.status_code == 200
    return response.content.decode()


def test_volume_counts_the_orders_created_in_the_range_by_their_status_now(page):
    # A closed, B new (reopened), C closed, D new, E cancelled, F assigned.
    assert kpi(page, "volume-total") == "6"
    counts = {s: kpi(page, "status-count", status=s) for s in ("new", "assigned", "closed", "cancelled", "resolved")}
    assert counts == {"new": "2", "assigned": "1", "closed": "2", "cancelled": "1", "resolved": "0"}


def test_the_trend_per_day_has_every_day_of_the_range_and_per_week_one_monday(page):
    # Mon A; Tue C and D; Wed E and F; Thu none; Fri B; the weekend none.
    assert kpis(page, "daily-total") == ["1", "2", "2", "0", "1", "0", "0"]
    assert kpis(page, "weekly-total") == ["6"]
    assert 'data-day="2025-03-03"' in page  # the week starts on Monday 03-03


def test_first_response_in_business_and_clock_time(page):
    # A: Mon 17:00 -> 17:30 = 1,800 s, all of it working time.
    # B: Fri 17:30 -> Mon 09:15: clock 63 h 45 min = 229,500 s; business Fri 17:30-18:00 + Mon 09:00-09:15 = 2,700 s.
    # C: Tue 10:00 -> 10:20 = 1,200 s.
    assert kpi(page, "first_response-count") == "3"
    assert float(kpi(page, "first_response-clock-avg")) == 77_500  # (1,800 + 229,500 + 1,200) / 3
    # 90th percentile, interpolated: sorted 1,200 1,800 229,500; rank 0.9 × 2 = 1.8 -> 1,800 + 0.8 × 227,700
    assert float(kpi(page, "first_response-clock-p90")) == 183_960
    assert float(kpi(page, "first_response-business-avg")) == 1_900  # (1,800 + 2,700 + 1,200) / 3
    assert float(kpi(page, "first_response-business-p90")) == 2_520  # 1,800 + 0.8 × 900


def test_arrival_in_business_and_clock_time(page):
    # A: Mon 17:00 -> Tue 10:00: clock 17 h; business Mon 17-18 + Tue 9-10 = 2 h.
    # B: Fri 17:30 -> Mon 10:00: clock 64 h 30 min; business 0.5 h + 1 h = 1.5 h.
    # C: Tue 10:00 -> 11:00: 1 h either way.
    assert float(kpi(page, "arrival-clock-avg")) == (17 * H + 64.5 * H + 1 * H) / 3  # 99,000
    assert float(kpi(page, "arrival-clock-p90")) == 17 * H + 0.8 * (64.5 * H - 17 * H)  # 198,000
    assert float(kpi(page, "arrival-business-avg")) == (2 * H + 1.5 * H + 1 * H) / 3  # 5,400
    assert float(kpi(page, "arrival-business-p90")) == 1.5 * H + 0.8 * (2 * H - 1.5 * H)  # 6,840


def test_resolution_in_business_time_leaves_out_nights_weekends_and_time_on_hold(page):
    # A: Mon 17:00 -> Wed 12:00: clock 43 h; business Mon 1 h + Tue 9 h + Wed 3 h = 13 h.
    # B: Fri 17:30 -> Mon 16:00: clock 70 h 30 min; business 0.5 h + Mon 09-16 7 h, minus the hold
    #    11:00-14:00 (3 h) = 4.5 h.
    # C: Tue 10:00 -> 12:00: 2 h either way.
    assert float(kpi(page, "resolution-clock-avg")) == (43 * H + 70.5 * H + 2 * H) / 3  # 138,600
    assert float(kpi(page, "resolution-clock-p90")) == 43 * H + 0.8 * (70.5 * H - 43 * H)  # 234,000
    assert float(kpi(page, "resolution-business-avg")) == (13 * H + 4.5 * H + 2 * H) / 3  # 23,400
    assert float(kpi(page, "resolution-business-p90")) == 4.5 * H + 0.8 * (13 * H - 4.5 * H)  # 40,680


def test_sla_compliance_per_target_counts_late_and_overdue_open_orders_as_missed(page):
    # Targets: 60, 240 and 480 business minutes.
    # First response: A 30, B 45, C 20 min -> met; D and F still waiting long past their deadline
    # -> missed; E was cancelled first -> not counted.  3 / 5.
    assert (kpi(page, "sla-first_response-met"), kpi(page, "sla-first_response-missed")) == ("3", "2")
    assert kpi(page, "sla-first_response") == "60.0"
    # Arrival: A 120, B 90, C 60 min -> met; D, F missed.  3 / 5.
    assert (kpi(page, "sla-arrival-met"), kpi(page, "sla-arrival-missed")) == ("3", "2")
    # Resolution: A 13 h > 8 h -> missed (met late); B 4.5 h and C 2 h met; D, F missed.  2 / 5.
    assert (kpi(page, "sla-resolution-met"), kpi(page, "sla-resolution-missed")) == ("2", "3")
    assert kpi(page, "sla-resolution") == "40.0"


def test_an_order_still_inside_its_deadline_is_not_counted_yet(week):
    # On Wednesday 03-05 at 10:00, F (created 09:30, target 60 min) still has half an hour.
    filters = Filters(date_from=at(3, 5, 0).date(), date_to=at(3, 5, 0).date(), service_type_id=week.service_type.pk)
    with time_machine.travel(at(3, 5, 10), tick=False):
        sla = {r["target"]: r for r in selectors.summary(filters).sla}
    assert (sla["first_response"]["met"], sla["first_response"]["missed"]) == (0, 0)
    assert sla["first_response"]["compliance"] is None


def test_first_time_fix_leaves_out_a_second_visit_and_a_reopen(page):
    # Resolved: A, B, C. B was reopened 2 days after it was resolved; C asked for a second visit.
    assert kpi(page, "resolved-count") == "3"
    assert kpi(page, "ftf-count") == "1"
    assert kpi(page, "ftf-rate") == "33.3"
    assert kpi(page, "second-visits") == "1"
    assert kpi(page, "reopened") == "1"


def test_a_reopen_after_the_14_day_window_still_counts_as_fixed_the_first_time(week):
    s = Story(week.service_type, week.manager)
    wo = s.create(at(3, 3, 9))
    s.assign(wo, at(3, 3, 9, 5), week.t1, at(3, 3, 10), at(3, 3, 11))
    s.visit(wo, week.t1, accept=at(3, 3, 9, 10), arrive=at(3, 3, 10))
    s.step(wo, at(3, 3, 11), "complete", week.t1.user, note="Done.")
    s.step(wo, at(3, 3, 12), "close")
    s.step(wo, at(3, 17, 11, 1), "reopen", note="Broke again after two weeks.")  # 14 days and 1 minute later
    facts_refresh(work_order_ids=[wo.pk])

    fact = WorkOrderFact.objects.get(pk=wo.pk)
    assert (fact.reopened, fact.first_time_fix) == (False, True)


def test_satisfaction_average_and_nps_come_from_the_survey_answers(page):
    # A 5 (recommend 10), B 2 (3), C 4 (9): average 11 / 3; promoters A and C, detractor B.
    assert kpi(page, "satisfaction-avg") == "3.67"
    assert kpi(page, "satisfaction-count") == "3"
    assert (kpi(page, "promoters"), kpi(page, "detractors")) == ("2", "1")
    assert kpi(page, "nps") == "33.3"  # (2 - 1) / 3


def test_backlog_by_age_is_the_open_orders_now_whatever_the_range(page):
    # Open on 03-20 12:00: B (new, created 03-07 17:30, 12.8 days), D (new, 03-04 12:00, 16 days),
    # F (assigned, 03-05 09:30, 15.1 days) and next Monday's order (new, 03-10 09:00, 10.1 days),
    # which was created after the range but is open all the same.
    assert kpi(page, "backlog-total") == "4"
    assert kpi(page, "backlog-open", status="new") == "3"
    assert kpi(page, "backlog-open", status="assigned") == "1"
    row = page.split('data-status="total" class="total"')[1].split("</tr>")[0]
    cells = [c.split("<")[0] for c in row.split('<td class="num">')[1:]]
    # buckets: <1 d, 1-3 d, 3-7 d, 7-14 d, 14-30 d, >30 d
    assert cells == ["0", "0", "0", "2", "2", "0"]


def test_leaderboard_per_technician(page, week):
    # T1 resolved A and B (B's reopen took it off T1 but T1 still did the job), has F assigned:
    #   2 completed, 1 fixed the first time (A) -> 50.0 %, satisfaction (5 + 2) / 2.
    #   Booked: A Tue 09:30-11:30 (2 h) + F Fri 14:00-15:30 (1.5 h) = 3.5 h (B's window went with the reopen).
    #   Shifts 03-03..03-09: Mon 9 + Tue 9 + Wed 9 - 2 (away 13-15) + Thu 0 (away) + Fri 9 + Sat 4 = 38 h.
    #   Utilisation 3.5 / 38 = 9.2 %.
    # T2 (partner, no shifts) resolved C with a second visit: 1 completed, 0.0 %, satisfaction 4,
    #   booked 1.5 h, no shift hours -> no utilisation.
    rows = page.split('data-table="leaderboard"')[1].split("</table>")[0].split("<tr data-technician=")[1:]
    assert [r.split('"')[1] for r in rows] == [str(week.t1.pk), str(week.t2.pk)]
    t1, t2 = rows
    assert [kpi(t1, k) for k in ("tech-completed", "tech-ftf-rate", "tech-satisfaction", "tech-booked-hours",
                                 "tech-shift-hours", "tech-utilisation")] == ["2", "50.0", "3.50", "3.50", "38.00", "9.2"]
    assert [kpi(t2, k) for k in ("tech-completed", "tech-ftf-rate", "tech-satisfaction", "tech-booked-hours",
                                 "tech-shift-hours", "tech-utilisation")] == ["1", "0.0", "4.00", "1.50", "", ""]


def test_business_time_follows_the_calendars_holidays_and_make_up_working_days(week):
    # The calendar gets a holiday on Thursday 2025-05-01 and a make-up working day on Sunday
    # 2025-04-27 (10:00-16:00). An order created Wednesday 04-30 at 17:00 and resolved Friday
    # 05-02 at 10:00 has Wed 17-18 (1 h) + Fri 09-10 (1 h) = 2 h of business time; one created
    # Saturday 04-26 at 12:00 and answered Sunday 04-27 at 11:00 has 1 h (Sunday 10:00-11:00).
    CalendarDay.objects.create(calendar=week.calendar, date=at(5, 1, 0).date(), kind=CalendarDay.Kind.HOLIDAY)
    CalendarDay.objects.create(calendar=week.calendar, date=at(4, 27, 0).date(), kind=CalendarDay.Kind.WORKDAY,
                               start=time(10), end=time(16))
    assert WorkingHours.objects.filter(calendar=week.calendar).count() == 5
    s = Story(week.service_type, week.manager)
    for weekday in (5, 6):  # T1 works weekends too here, so that the assignments are on shift
        week.t1.shifts.create(weekday=weekday, start=time(8), end=time(20))

    holiday = s.create(at(4, 30, 17))
    s.assign(holiday, at(4, 30, 17, 1), week.t1, at(5, 2, 9), at(5, 2, 10))
    s.visit(holiday, week.t1, accept=at(4, 30, 17, 30), arrive=at(5, 2, 9, 30))
    s.step(holiday, at(5, 2, 10), "complete", week.t1.user, note="Done.")
    weekend = s.create(at(4, 26, 12))
    s.assign(weekend, at(4, 26, 12, 5), week.t1, at(4, 27, 10, 30), at(4, 27, 11, 30))
    s.step(weekend, at(4, 27, 11), "accept", week.t1.user)
    facts_refresh(work_order_ids=[holiday.pk, weekend.pk])

    holiday_fact = WorkOrderFact.objects.get(pk=holiday.pk)
    assert holiday_fact.resolution_business_s == 2 * H
    assert holiday_fact.resolution_clock_s == 41 * H  # Wed 17:00 -> Fri 10:00
    assert holiday_fact.first_response_business_s == 30 * 60
    assert holiday_fact.arrival_business_s == 1 * H + 30 * 60  # Wed 17-18 + Fri 09:00-09:30
    weekend_fact = WorkOrderFact.objects.get(pk=weekend.pk)
    assert weekend_fact.first_response_business_s == 1 * H
    # 60 business minutes from Saturday noon end on the make-up Sunday at 11:00: met, just.
    assert weekend_fact.first_response_met is True
    assert weekend_fact.first_response_due == at(4, 27, 11)


def test_the_page_counts_a_technician_s_share_when_filtered(manager_client, week):
    response = dashboard(manager_client, technician=week.t2.pk)
    html = response.content.decode()
    assert kpi(html, "volume-total") == "1"  # C
    assert kpi(html, "satisfaction-avg") == "4.00"
    assert kpi(html, "ftf-rate") == "0.0"


def test_partner_and_own_staff_filters(manager_client, week):
    partner = dashboard(manager_client, partner=week.t2.partner_company_id).content.decode()
    own = dashboard(manager_client, partner="own").content.decode()
    assert kpi(partner, "volume-total") == "1"  # C
    assert kpi(own, "volume-total") == "3"  # A, B, F (D, E and the installation have no technician)


def test_without_filters_every_service_type_counts(manager_client, week):
    html = dashboard(manager_client).content.decode()
    # The six heater orders and Thursday's installation (open, past its first-response deadline).
    assert kpi(html, "volume-total") == "7"
    assert kpi(html, "sla-first_response-missed") == "3"


def test_the_dashboard_reads_the_figures_in_a_fixed_number_of_queries(manager_client, week,
                                                                      django_assert_max_num_queries):
    # The figures (one of them the repeat-visit tables); the rest are the session, the user and
    # the filter choices, and (once a day per process) whether a business calendar in use lacks a
    # coming year's holidays.
    with django_assert_max_num_queries(14):
        assert dashboard(manager_client).status_code == 200


@pytest.mark.parametrize("walk_from", [1, 10**9], ids=["index-walk", "sort"])
def test_both_ways_to_the_90th_percentile_give_percentile_cont_s_figures(week, monkeypatch, walk_from):
    # Large cohorts walk an index to the percentile's rank, small ones sort (selectors._p90s).
    monkeypatch.setattr(selectors, "WALK_FROM", walk_from)
    filters = Filters(date_from=at(3, 3, 0).date(), date_to=at(3, 9, 0).date(), service_type_id=week.service_type.pk)
    times = {t["target"]: t for t in selectors.summary(filters).times}
    assert times["first_response"]["clock_p90"] == 183_960
    assert times["resolution"]["business_p90"] == pytest.approx(40_680)
    # T1's two first responses, A (1,800 s clock and business) and B (229,500 s clock, 2,700 s business):
    # rank 0.9 × (2 − 1) = 0.9 between them.
    t1 = {t["target"]: t for t in selectors.summary(
        Filters(date_from=filters.date_from, date_to=filters.date_to, technician_id=week.t1.pk)).times}
    assert t1["first_response"]["clock_p90"] == pytest.approx(1_800 + 0.9 * 227_700)
    assert t1["first_response"]["business_p90"] == pytest.approx(1_800 + 0.9 * 900)
    # T2's one first response (C, 1,200 s) is its own percentile.
    t2 = {t["target"]: t for t in selectors.summary(
        Filters(date_from=filters.date_from, date_to=filters.date_to, technician_id=week.t2.pk)).times}
    assert t2["first_response"]["clock_p90"] == 1_200
