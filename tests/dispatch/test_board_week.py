"""The board beyond today: day, 3-day and week views, date navigation, and what each technician's
row shows over the range (shifts, bookings, travel, holidays, absence)."""

import datetime as dt

import pytest
import time_machine

from tests.factories import BusinessCalendarFactory, SiteFactory, TechnicianFactory, WorkOrderFactory
from technicians.models import Shift
from sla.models import CalendarDay

from .factories import ShiftFactory, at, booked
from .test_board import BOARD, DATA, MONDAY, _many_technicians, _queries, board, get, technician

pytestmark = pytest.mark.django_db
TUESDAY = MONDAY + dt.timedelta(days=1)
WEDNESDAY = MONDAY + dt.timedelta(days=2)


@pytest.fixture(autouse=True)
def monday_ten_am():
    with time_machine.travel(at(MONDAY, 10), tick=False):
        yield


def bar_whens(row):
    return [job["when"] for job in row["jobs"] if "bar" in job]


def test_tomorrows_bookings_show_in_the_day_view_of_tomorrow_and_in_the_week(client, dispatcher):
    tech = TechnicianFactory(user__first_name="Li")
    booked(tech, at(MONDAY, 9), at(MONDAY, 10))
    booked(tech, at(TUESDAY, 14), at(TUESDAY, 16))
    client.force_login(dispatcher)
    assert bar_whens(technician(board(client), tech)) == ["11-23 09:00–10:00"]  # today only, as before
    tomorrow = board(client, view="day", date=TUESDAY.isoformat())
    assert bar_whens(technician(tomorrow, tech)) == ["11-24 14:00–16:00"]
    assert tomorrow["range"] == {"view": "day", "date": "2026-11-24", "days": 1, "label": "2026-11-24 Tue"}
    answer = get(client, DATA, view="day", date=TUESDAY.isoformat()).json()
    assert answer["now"] is None and answer["now_iso"] == "2026-11-23T10:00:00+08:00"  # now is not on tomorrow's axis
    assert "1 job in these days" in technician(tomorrow, tech)["load"]
    [job] = [j for j in technician(tomorrow, tech)["jobs"] if "bar" in j]
    assert job["start"] == "2026-11-24T14:00:00+08:00" and job["end"] == "2026-11-24T16:00:00+08:00"
    assert job["movable"] and job["version"]
    # The week is Monday to Sunday whatever day of it is asked for.
    week = board(client, view="week", date=WEDNESDAY.isoformat())
    assert week["range"]["date"] == "2026-11-23" and week["range"]["days"] == 7
    assert bar_whens(technician(week, tech)) == ["11-23 09:00–10:00", "11-24 14:00–16:00"]
    assert [h["label"] for h in week["axis"]["hours"]][:2] == ["Mon 11-23", "Tue 11-24"]
    three = board(client, view="3day", date=TUESDAY.isoformat())
    assert three["range"]["label"] == "2026-11-24 – 2026-11-26"
    assert bar_whens(technician(three, tech)) == ["11-24 14:00–16:00"]


def test_shifts_absences_and_holidays_over_the_range(client, dispatcher):
    tech = TechnicianFactory()
    for weekday in range(5):
        ShiftFactory(technician=tech, weekday=weekday, start=dt.time(9), end=dt.time(17))
    Shift.objects.create(technician=tech, date=TUESDAY, available=False)  # a day of leave
    Shift.objects.create(technician=tech, date=WEDNESDAY, start=dt.time(9), end=dt.time(12), available=False)
    calendar = BusinessCalendarFactory()
    CalendarDay.objects.create(calendar=calendar, date=WEDNESDAY + dt.timedelta(days=1), kind="holiday",
                               name="Company day")
    client.force_login(dispatcher)
    data = board(client, view="week", date=MONDAY.isoformat())
    row = technician(data, tech)
    assert row["shifts"] == [
        ["2026-11-23T09:00:00+08:00", "2026-11-23T17:00:00+08:00"],
        # Tuesday off; Wednesday afternoon only
        ["2026-11-25T12:00:00+08:00", "2026-11-25T17:00:00+08:00"],
        ["2026-11-26T09:00:00+08:00", "2026-11-26T17:00:00+08:00"],
        ["2026-11-27T09:00:00+08:00", "2026-11-27T17:00:00+08:00"],
    ]
    assert row["absences"] == [
        ["2026-11-24T00:00:00+08:00", "2026-11-25T00:00:00+08:00"],
        ["2026-11-25T09:00:00+08:00", "2026-11-25T12:00:00+08:00"],
    ]
    assert not row["all_day"] and len(row["bands"]) == 4 and len(row["absent"]) == 2
    assert [(h["date"], h["name"]) for h in data["holidays"]] == [("2026-11-26", "Company day")]
    # A holiday outside the range is not sent.
    assert board(client, view="day", date=MONDAY.isoformat())["holidays"] == []


def test_travel_between_consecutive_bookings_of_a_day(client, dispatcher, settings):
    settings.DISPATCH_TRAVEL_BUFFER_MINUTES = 60
    # 7.8 km straight, no detour, at 30 km/h: about 16 minutes (10:00 and 11:00 are not rush hours).
    settings.DISPATCH_ROAD_FACTOR, settings.DISPATCH_SPEED_KMH, settings.DISPATCH_RUSH_HOURS = 1.0, 30.0, ((7, 9),)
    tech = TechnicianFactory()
    here, there = SiteFactory(latitude=31.23, longitude=121.47), SiteFactory(latitude=31.30, longitude=121.47)
    booked(tech, at(TUESDAY, 9), at(TUESDAY, 10), site=here)
    booked(tech, at(TUESDAY, 10, 30), at(TUESDAY, 11), site=there)   # 30 minutes later: tight
    booked(tech, at(TUESDAY, 14), at(TUESDAY, 15), site=here)        # 3 hours later
    booked(tech, at(WEDNESDAY, 9), at(WEDNESDAY, 10), site=here)     # the next day: no travel drawn
    client.force_login(dispatcher)
    row = technician(board(client, view="3day", date=TUESDAY.isoformat()), tech)
    assert [(t["start"][11:16], t["end"][11:16], t["tight"], t["label"]) for t in row["travel"]] == [
        ("10:00", "10:30", True, "drive about 16 min (7.8 km)"),
        ("11:00", "14:00", False, "drive about 16 min (7.8 km)"),
    ]


def test_the_address_carries_the_view_and_the_date_and_the_navigation_keeps_the_filters(client, dispatcher):
    client.force_login(dispatcher)
    html = get(client, BOARD, view="3day", date="2026-11-24", area="Suzhou").content.decode()
    assert 'href="?view=3day&amp;date=2026-11-21&amp;area=Suzhou"' in html or "date=2026-11-21" in html
    assert "date=2026-11-27" in html  # next: three days on
    assert 'id="board-date" name="date" value="2026-11-24"' in html
    assert 'data-query="view=3day&amp;date=2026-11-24&amp;area=Suzhou"' in html
    assert 'aria-current="page" data-view="3day"' in html
    # Nonsense falls back to today's day view, not an error.
    assert get(client, BOARD, view="month", date="yesterday").status_code == 200
    assert board(client, view="month", date="2026-13-40")["range"]["date"] == "2026-11-23"


def test_switching_from_a_week_opened_on_a_wednesday_to_the_day_view_shows_that_wednesday(client, dispatcher):
    client.force_login(dispatcher)
    html = get(client, BOARD, view="week", date="2026-11-25").content.decode()
    assert 'href="?view=day&amp;date=2026-11-25" data-view="day"' in html
    assert 'href="?view=3day&amp;date=2026-11-25" data-view="3day"' in html
    # The previous and next weeks still step from the week's Monday.
    assert "view=week&amp;date=2026-11-16" in html and "view=week&amp;date=2026-11-30" in html


def test_the_week_costs_the_same_few_queries_as_the_day(client, dispatcher):
    client.force_login(dispatcher)
    WorkOrderFactory()
    _many_technicians(20)
    get(client, BOARD)
    day = _queries(client, DATA + "?view=day")
    week = _queries(client, DATA + "?view=week")
    _many_technicians(100)
    get(client, BOARD)
    assert _queries(client, DATA + "?view=week") == week
    assert week == day and week <= 16
