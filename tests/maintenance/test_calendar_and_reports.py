"""Managers see the plan calendar and the compliance rate (done on time / due) in the reports."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from core import roles as R
from maintenance.models import PlanVisit
from maintenance.services import plans_sweep
from reports import selectors
from reports.forms import Filters
from sla.models import CalendarDay
from tests.factories import BusinessCalendarFactory, UserFactory
from workorders.lifecycle import Status
from workorders.models import WorkOrder

from .conftest import TODAY, make_plan

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def visits(chiller, pm_type, technician, settings):
    calendar = BusinessCalendarFactory(code="pm-office")  # Monday to Friday
    for day in range(1, 8):
        CalendarDay.objects.create(calendar=calendar, date=dt.date(2026, 10, day), kind=CalendarDay.Kind.HOLIDAY)
    settings.MAINTENANCE_CALENDAR = "pm-office"
    make_plan(chiller, pm_type, preferred_technician=technician, unit="weeks", every=1)
    plans_sweep(today=TODAY, horizon_days=28)  # Sep 7, 14, 21, 28, Oct 5 (-> Oct 8, after National Day)
    return list(PlanVisit.objects.select_related("work_order").order_by("due_on"))


def _resolve(visit, day):
    WorkOrder.objects.filter(pk=visit.work_order_id).update(status=Status.RESOLVED, resolved_at=_at(day, 15))


def test_the_compliance_rate_counts_the_visits_due_in_the_range_and_those_done_on_time(visits):
    _resolve(visits[0], visits[0].scheduled_on)  # on the day: on time
    _resolve(visits[1], visits[1].scheduled_on + dt.timedelta(days=2))  # late
    # visits[2] (Sep 21) is not done and its day has passed; visits[3] (Sep 28) is still ahead.
    now = _at(dt.date(2026, 9, 24), 12)

    m = selectors.summary(Filters(date_from=dt.date(2026, 9, 1), date_to=dt.date(2026, 9, 30)), now=now).maintenance

    assert (m["due"], m["on_time"], float(m["compliance"])) == (3, 1, 33.3)


def test_a_visit_the_customer_moved_to_a_later_day_is_on_time_when_done_on_that_day(visits):
    # The customer moved the Sep 7 visit to Sep 10 (self-service reschedule moves the order's
    # appointment and records the event); done on Sep 10 it is on time, while Sep 14's visit,
    # booked by a dispatcher for Sep 16 and done then, is late.
    moved = visits[0].work_order
    moved.preferred_start, moved.preferred_end = _at(dt.date(2026, 9, 10), 9), _at(dt.date(2026, 9, 10), 12)
    moved.save(update_fields=["preferred_start", "preferred_end"])
    moved.events.create(action="reschedule", from_status=moved.status, to_status=moved.status,
                        actor_role=R.CUSTOMER)
    booked = visits[1].work_order
    booked.preferred_start, booked.preferred_end = _at(dt.date(2026, 9, 16), 9), _at(dt.date(2026, 9, 16), 12)
    booked.save(update_fields=["preferred_start", "preferred_end"])
    _resolve(visits[0], dt.date(2026, 9, 10))
    _resolve(visits[1], dt.date(2026, 9, 16))
    now = _at(dt.date(2026, 9, 17), 12)

    m = selectors.summary(Filters(date_from=dt.date(2026, 9, 1), date_to=dt.date(2026, 9, 16)), now=now).maintenance

    assert (m["due"], m["on_time"]) == (2, 1)

    # Assigned with an appointment on a day still ahead, not done yet: not due, not late.
    WorkOrder.objects.filter(pk=moved.pk).update(status=Status.ASSIGNED, resolved_at=None,
                                                 appointment_start=_at(dt.date(2026, 9, 20), 9),
                                                 appointment_end=_at(dt.date(2026, 9, 20), 12))
    m = selectors.summary(Filters(date_from=dt.date(2026, 9, 1), date_to=dt.date(2026, 9, 16)), now=now).maintenance
    assert (m["due"], m["on_time"]) == (1, 0)


def test_the_filters_apply_to_the_visit_s_order(visits, pm_type, service_type):
    _resolve(visits[0], visits[0].scheduled_on)
    now = _at(dt.date(2026, 9, 24), 12)
    other = Filters(date_from=dt.date(2026, 9, 1), date_to=dt.date(2026, 9, 30), service_type_id=service_type.pk)

    assert selectors.summary(other, now=now).maintenance == {"due": 0, "on_time": 0, "compliance": None}


def test_the_dashboard_shows_the_maintenance_card_and_exports_the_table(visits, manager):
    _resolve(visits[0], visits[0].scheduled_on)
    client = _client(manager)
    query = {"from": "2026-09-01", "to": "2026-09-07"}

    html = client.get("/reports/", query).content.decode()
    assert re.search(r'data-kpi="maintenance-compliance" data-value="100.0"', html)
    csv = client.get("/reports/export/maintenance.csv", query).content.decode()
    assert "Maintenance compliance %" in csv and "100.0" in csv


def test_the_calendar_shows_the_visits_by_week_and_the_chosen_week_s_visits(visits, manager, technician):
    client = _client(manager)

    html = client.get("/staff/maintenance/", {"from": "2026-09-09", "week": "2026-10-05"}).content.decode()

    assert 'data-week="2026-09-07"' in html  # the week of the date chosen, from its Monday
    assert re.search(r'data-week="2026-10-05"[^>]*>\s*<th[^>]*><a[^>]*>2026-10-05</a></th>\s*'
                     r'<td class="num" data-total="1">', html)
    visit = visits[4]
    assert f'data-visit="{visit.pk}"' in html and visit.work_order.number in html
    assert "2026-10-08" in html and "due 2026-10-05" in html  # moved past the National Day holidays
    assert f"preferred: {technician}" in html


def test_the_calendar_is_for_managers_and_dispatchers(db):
    agent = UserFactory(username="a1", roles=[R.AGENT])
    dispatcher = UserFactory(username="d1", roles=[R.DISPATCHER])

    assert _client(agent).get("/staff/maintenance/").status_code == 403
    assert _client(dispatcher).get("/staff/maintenance/").status_code == 200
    assert Client().get("/staff/maintenance/").status_code == 302  # to the login page


def test_a_date_that_is_not_one_shows_this_week_with_a_message(manager):
    response = _client(manager).get("/staff/maintenance/", {"from": "next tuesday"})

    assert response.status_code == 200
    assert "That is not a date" in response.content.decode()
