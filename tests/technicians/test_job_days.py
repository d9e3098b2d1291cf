"""My jobs by day: overdue, today, tomorrow, later, in the company's time zone (Asia/Shanghai);
and the warning before departing for a job whose window is far off."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from workorders.lifecycle import Status
from workorders.models import WorkOrder

from .helpers import job_for

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 10 June 2026, 10:30 in Shanghai (02:30 UTC).
NOW = datetime(2026, 6, 10, 10, 30, tzinfo=SHANGHAI)


def local(day, hour, minute=0):
    return datetime(2026, 6, day, hour, minute, tzinfo=SHANGHAI)


def booked(technician, start, *, hours=1, status=Status.ACCEPTED, name):
    return job_for(technician, status=status, appointment_start=start,
                   appointment_end=start + timedelta(hours=hours), contact_name=name)


def sections(html: str) -> dict[str, str]:
    """The HTML of each day section of "my jobs", by its id."""
    return dict(re.findall(r'<section class="day[^"]*" id="(\w+)">(.*?)</section>', html, re.S))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_jobs_are_grouped_by_day_with_dates_where_not_today(client, technician, frozen):
    # Given jobs booked two days ago, earlier this morning (window over), this afternoon,
    # at half past midnight tonight (still today in UTC), the day after tomorrow; one under way since
    # yesterday and one without a time
    booked(technician, local(8, 9), name="Past Pan")
    booked(technician, local(10, 8), name="Missed Ma")
    booked(technician, local(10, 14), name="Afternoon An")
    booked(technician, local(11, 0, 30), name="Midnight Mo")
    booked(technician, local(12, 9), name="Friday Fu")
    booked(technician, local(9, 15), status=Status.IN_PROGRESS, name="Onsite Ou")
    job_for(technician, status=Status.ACCEPTED, appointment_start=None, appointment_end=None,
            contact_name="Untimed Tu")
    client.force_login(technician.user)

    # When the technician opens "my jobs"
    html = client.get(reverse("tech:jobs")).content.decode()
    days = sections(html)

    # Then the passed windows are overdue, each marked and dated
    assert set(days) == {"overdue", "today", "tomorrow", "later"}
    assert "Past Pan" in days["overdue"] and "Missed Ma" in days["overdue"]
    assert "06-08 Mon 09:00" in days["overdue"] and days["overdue"].count('class="badge overdue-badge"') == 2
    # ... today holds this afternoon's job (time only), the one under way and the one without a time
    for name in ("Afternoon An", "Onsite Ou", "Untimed Tu"):
        assert name in days["today"]
    assert ">14:00–15:00<" in days["today"]
    assert "Overdue" not in days["today"]
    # ... the one under way since yesterday shows yesterday's date
    assert "06-09 Tue 15:00" in days["today"]
    # ... 00:30 tonight is tomorrow in the company's time zone, and later days are dated
    assert "Midnight Mo" in days["tomorrow"] and "06-11 Thu 00:30" in days["tomorrow"]
    assert "Friday Fu" in days["later"] and "06-12 Fri 09:00" in days["later"]


def test_an_empty_day_says_so_and_no_overdue_section_without_overdue_jobs(client, technician, frozen):
    booked(technician, local(15, 9), name="Monday Meng")
    client.force_login(technician.user)

    days = sections(client.get(reverse("tech:jobs")).content.decode())

    assert "overdue" not in days
    assert "No jobs for today." in days["today"] and "No jobs for tomorrow." in days["tomorrow"]
    assert "Monday Meng" in days["later"]


def test_the_days_speak_chinese_to_a_chinese_phone(client, technician, frozen):
    booked(technician, local(8, 9), name="Past Pan")
    client.force_login(technician.user)

    html = client.get(reverse("tech:jobs"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()

    for words in ("逾期", "今天", "明天", "预约时间已过"):
        assert words in html


def _depart(client, job, **extra):
    return client.post(reverse("tech:status", args=[job.pk]), {"action": "depart", **extra}, follow=True)


@override_settings(FIELD_EARLY_DEPARTURE_MINUTES=120)
def test_departing_days_before_the_window_asks_first_and_changes_nothing(client, technician, frozen):
    # Given a job booked for the day after tomorrow
    job = booked(technician, local(12, 9), name="Friday Fu")
    client.force_login(technician.user)

    # Then its page warns how far off the window is before the depart button posts
    page = client.get(reverse("tech:job", args=[job.pk])).content.decode()
    assert "This job&#x27;s window starts in 1 day 22 hours" in page
    assert "Depart anyway" in page and 'name="early_ok" value="1"' in page

    # When a departure comes without the confirmation (an old page, a double tap)
    response = _depart(client, job)

    # Then nothing changes and the technician is told why
    job.refresh_from_db()
    assert job.status == Status.ACCEPTED
    assert "window starts in 1 day 22 hours" in response.content.decode()
    assert not job.events.filter(action="depart").exists()

    # When they confirm
    _depart(client, job, early_ok="1")

    # Then they are on the way
    job.refresh_from_db()
    assert job.status == Status.EN_ROUTE


@override_settings(FIELD_EARLY_DEPARTURE_MINUTES=120)
def test_departing_shortly_before_the_window_or_for_an_untimed_job_needs_no_confirmation(
        client, technician, frozen):
    soon = booked(technician, local(10, 12), name="Noon Niu")  # 90 minutes ahead
    untimed = job_for(technician, status=Status.ACCEPTED, appointment_start=None, appointment_end=None)
    client.force_login(technician.user)

    page = client.get(reverse("tech:job", args=[soon.pk])).content.decode()
    assert "Depart anyway" not in page

    _depart(client, soon)
    _depart(client, untimed)

    assert set(WorkOrder.objects.filter(pk__in=[soon.pk, untimed.pk]).values_list("status", flat=True)) == {
        Status.EN_ROUTE
    }


@override_settings(FIELD_EARLY_DEPARTURE_MINUTES=30)
def test_the_warning_counts_minutes_under_an_hour(client, technician, frozen):
    job = booked(technician, local(10, 11, 15), name="Soon Song")  # 45 minutes ahead
    client.force_login(technician.user)

    page = client.get(reverse("tech:job", args=[job.pk])).content.decode()

    assert "window starts in 45 minutes" in page


def test_a_job_not_yet_accepted_gets_the_lifecycle_answer_not_the_warning(client, technician, frozen):
    job = booked(technician, local(12, 9), status=Status.ASSIGNED, name="Friday Fu")
    client.force_login(technician.user)

    html = _depart(client, job).content.decode()

    job.refresh_from_db()
    assert job.status == Status.ASSIGNED
    assert "window starts in" not in html
