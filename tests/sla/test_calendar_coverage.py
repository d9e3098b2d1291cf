"""The calendar warns: while a business calendar in use has no holidays for a year the coming
60 days reach, managers see a banner on every page, the SLA sweep logs a warning once a day,
the admin shows which years are loaded, and a year's days can be entered or imported there."""

import datetime
import logging

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from sla.models import CalendarDay, SlaPolicy
from sla.selectors import REFDATA, calendar_gaps
from tests.factories import BusinessCalendarFactory, SlaPolicyFactory

pytestmark = pytest.mark.django_db

DECEMBER = datetime.datetime(2026, 12, 6, 10, 0, tzinfo=datetime.UTC)
DAYS = "/admin/sla/calendarday/"


@pytest.fixture
def office():
    """The only calendar in use: office hours with the 2026 holidays and none for 2027."""
    SlaPolicy.objects.all().delete()
    calendar = BusinessCalendarFactory(code="hq", name="Head office")
    CalendarDay.objects.create(calendar=calendar, date=datetime.date(2026, 10, 1), kind="holiday", name="National Day")
    SlaPolicyFactory(calendar=calendar, is_default=True)
    SlaPolicyFactory(calendar=BusinessCalendarFactory(code="always", always_open=True), priority=4)
    return calendar


def banner(page: str) -> bool:
    return "has no holidays for" in page


@time_machine.travel(DECEMBER, tick=False)
def test_a_manager_is_warned_in_december_until_next_years_holidays_are_imported(client, manager, office):
    client.force_login(manager)
    page = client.get("/staff/work-orders/").content.decode()
    assert banner(page) and "Head office" in page and "2027" in page

    content = ("calendar_code,date,kind,name,start,end\n"
               "hq,2027-01-01,holiday,元旦,,\n"
               "hq,2027/2/6,休,春节,,\n"
               "hq,2027年2月14日,workday,春节调休上班,09:00,18:00\n")
    preview = client.post(DAYS + "import/", {"import_file": SimpleUploadedFile("days.csv", content.encode()),
                                             "format": "0"})
    assert "3 to create" in preview.content.decode()
    form = preview.context["confirm_form"]
    data = {name: form.initial[name] for name in ("import_file_name", "original_file_name", "format")}
    client.post(DAYS + "process_import/", {**data, "resource": ""})

    makeup = CalendarDay.objects.get(calendar=office, date=datetime.date(2027, 2, 14))
    assert (makeup.kind, makeup.start, makeup.source) == ("workday", datetime.time(9), "manual")
    assert CalendarDay.objects.filter(calendar=office, date__year=2027, kind="holiday").count() == 2
    assert not banner(client.get("/staff/work-orders/").content.decode())


@time_machine.travel(DECEMBER, tick=False)
def test_a_bad_day_file_writes_nothing_and_says_which_line(client, manager, office):
    client.force_login(manager)
    content = ("calendar_code,date,kind\n"
               "hq,2027-01-01,holiday\n"
               "nowhere,2027-01-02,holiday\n"
               "hq,2027-13-40,holiday\n"
               "hq,2027-01-03,sometimes\n"
               "always,2027-01-04,holiday\n")
    preview = client.post(DAYS + "import/", {"import_file": SimpleUploadedFile("days.csv", content.encode()),
                                             "format": "0"})
    bad = {(row.number + 1, column) for row in preview.context["result"].invalid_rows
           for column in row.field_specific_errors}
    assert bad == {(3, "calendar_code"), (4, "date"), (5, "kind"), (6, "calendar_code")}
    assert "confirm_form" not in preview.context or preview.context["confirm_form"] is None
    assert not CalendarDay.objects.filter(date__year=2027).exists()


@time_machine.travel(DECEMBER, tick=False)
def test_only_managers_see_the_banner(client, dispatcher, office):
    client.force_login(dispatcher)
    assert not banner(client.get("/staff/work-orders/").content.decode())


@time_machine.travel(datetime.datetime(2026, 9, 1, 10, 0, tzinfo=datetime.UTC), tick=False)
def test_no_warning_while_the_coming_days_stay_in_a_covered_year(office):
    assert calendar_gaps() == []


@time_machine.travel(DECEMBER, tick=False)
def test_calendars_nobody_uses_or_that_never_close_are_not_reported(office):
    BusinessCalendarFactory(code="unused", name="Unused")  # no policy clocks on it
    assert calendar_gaps() == [("Head office", [2027])]
    SlaPolicy.objects.filter(calendar=office).update(active=False)
    REFDATA.bump()  # update() sends no signal
    assert calendar_gaps() == []


@time_machine.travel(DECEMBER, tick=False)
def test_the_sweep_logs_the_gap_once_a_day(office, caplog):
    from django.core.cache import cache

    from workorders.tasks import sla_escalation_sweep

    cache.delete_many(["sla:calendar-gaps-warned:2026-12-06", "sla:calendar-gaps-warned:2026-12-07"])
    with caplog.at_level(logging.WARNING, logger="sla.services"):
        sla_escalation_sweep()
        sla_escalation_sweep()
    warnings = [r for r in caplog.records if "no holidays for 2027" in r.getMessage()]
    assert len(warnings) == 1 and "Head office" in warnings[0].getMessage()

    caplog.clear()
    with time_machine.travel(DECEMBER + datetime.timedelta(days=1), tick=False), \
            caplog.at_level(logging.WARNING, logger="sla.services"):
        sla_escalation_sweep()
    assert any("no holidays for 2027" in r.getMessage() for r in caplog.records)


@time_machine.travel(DECEMBER, tick=False)
def test_the_calendar_list_shows_the_years_loaded_and_warns(client, manager, office):
    CalendarDay.objects.create(calendar=office, date=datetime.date(2025, 1, 1), kind="holiday")
    CalendarDay.objects.create(calendar=office, date=datetime.date(2023, 1, 1), kind="holiday")
    client.force_login(manager)
    page = client.get("/admin/sla/businesscalendar/").content.decode()
    assert "2023, 2025–2026" in page
    assert "“Head office” has no holidays for 2027" in page


@time_machine.travel(DECEMBER, tick=False)
def test_an_agent_may_not_import_or_change_holidays(client, agent, office):
    client.force_login(agent)
    assert client.get(DAYS + "import/").status_code == 403
    assert client.get(DAYS + "add/").status_code == 403
