"""The dispatcher plans tomorrow on the week view: drags five queue orders onto technicians' rows,
moves one booking to another technician, and sees a drop the rules refuse snap back with its
reason. Then the technician's job list on a phone. Screenshots: week-view-desktop.png and
tech-jobs-phone.png in <E2E_SCREENSHOTS_DIR or var/e2e-screenshots>/<test name>/."""

import datetime as dt

import pytest
from django.utils import timezone

from core import roles as R
from technicians.models import Shift
from tests.dispatch.factories import ServiceTypeSkillFactory, skilled
from tests.factories import ServiceTypeFactory, SiteFactory, SkillFactory, TechnicianFactory, UserFactory, WorkOrderFactory
from workorders.lifecycle import Status
from workorders.models import WorkOrder

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "week-pass-2468"


def _local(day, hour, minute=0):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _point(page, axis_start, axis_end, when, tech_name):
    """Where on the Gantt's centre panel ``when`` on ``tech_name``'s row is (page coordinates)."""
    panel = page.locator(".vis-panel.vis-center").bounding_box()
    fraction = (when - axis_start).total_seconds() / (axis_end - axis_start).total_seconds()
    label = page.locator(".vis-labelset .vis-label", has_text=tech_name).bounding_box()
    return panel["x"] + panel["width"] * fraction, label["y"] + label["height"] / 2, panel


def test_the_dispatcher_plans_tomorrow_on_the_week_view(people, screenshots, axe, site):
    today = timezone.localdate()
    tomorrow = today + dt.timedelta(days=1)
    gas = SkillFactory(code="gas", name="Gas")
    aircon = ServiceTypeFactory(name="Aircon", default_duration_minutes=60)
    boiler = ServiceTypeFactory(name="Boiler", default_duration_minutes=60)
    ServiceTypeSkillFactory(service_type=boiler, skill=gas, min_level=2)
    li = TechnicianFactory(user__first_name="Li", user__last_name="Wei", user__username="liwei",
                           user__password=PASSWORD, home_latitude=31.23, home_longitude=121.47)
    zhang = TechnicianFactory(user__first_name="Zhang", user__last_name="Min", home_latitude=31.2,
                              home_longitude=121.4)
    novice = TechnicianFactory(user__first_name="Novice", user__last_name="Wu")
    for tech in (li, zhang, novice):
        skilled(tech, gas, 3) if tech is not novice else None
        for weekday in range(7):
            Shift.objects.create(technician=tech, weekday=weekday, start=dt.time(8), end=dt.time(18))
    Shift.objects.create(technician=novice, date=tomorrow, start=dt.time(14), end=dt.time(18), available=False)
    orders = [WorkOrderFactory(service_type=aircon, priority=3,
                               site=SiteFactory(city="Shanghai", latitude=31.2 + i / 50, longitude=121.45))
              for i in range(5)]
    gas_job = WorkOrderFactory(service_type=boiler, priority=4, site=SiteFactory(city="Shanghai"))
    UserFactory(username="dispatcher", password=PASSWORD, roles=[R.DISPATCHER], is_staff=True)

    # Tall enough that the queue and the Gantt are both on screen: a drag does not scroll.
    desk = people.open("dispatcher", "desktop", "en", viewport={"width": 1366, "height": 1700})
    page = desk.page
    desk.go(f"/dispatch/?view=week&date={tomorrow.isoformat()}")
    desk.log_in("dispatcher", PASSWORD)
    page.wait_for_selector(".vis-labelset .vis-label >> text=Novice Wu")
    page.wait_for_selector(f"#queue-rows tr[data-work-order='{orders[0].pk}']")
    monday = tomorrow - dt.timedelta(days=tomorrow.weekday())
    assert page.locator("#range-label").inner_text().startswith(monday.isoformat())
    axis_start, axis_end = _local(monday, 0), _local(monday + dt.timedelta(days=7), 0)
    findings = axe(page)

    def drag_from_queue(order, tech_name, hour):
        x, y, panel = _point(page, axis_start, axis_end, _local(tomorrow, hour, 5), tech_name)
        page.locator(f"#queue-rows tr[data-work-order='{order.pk}']").drag_to(
            page.locator(".vis-panel.vis-center"), target_position={"x": x - panel["x"], "y": y - panel["y"]})
        page.wait_for_selector("#board-gantt[data-last-drop='ok'], #board-gantt[data-last-drop='refused']")
        outcome = page.get_attribute("#board-gantt", "data-last-drop")
        page.evaluate("document.getElementById('board-gantt').removeAttribute('data-last-drop')")
        return outcome

    # Five orders onto Li's and Zhang's rows for tomorrow
    plan = [(orders[0], "Li Wei", 9), (orders[1], "Li Wei", 11), (orders[2], "Li Wei", 13),
            (orders[3], "Zhang Min", 9), (orders[4], "Zhang Min", 11)]
    for order, name, hour in plan:
        assert drag_from_queue(order, name, hour) == "ok", page.inner_text("#gantt-status")
        page.wait_for_selector(f"#queue-rows tr[data-work-order='{order.pk}']", state="detached")
        page.wait_for_selector(f".vis-item.wo-{order.pk}")
    for order, name, hour in plan:
        order.refresh_from_db()
        assert order.status == Status.ASSIGNED and str(order.technician) == name
        assert timezone.localtime(order.appointment_start) == _local(tomorrow, hour)

    # Move Li's 13:00 booking to Zhang at 15:00
    page.wait_for_timeout(600)
    item = page.locator(f".vis-item.wo-{orders[2].pk}").bounding_box()
    x, y, _panel = _point(page, axis_start, axis_end, _local(tomorrow, 15), "Zhang Min")
    grab_x, grab_y = item["x"] + item["width"] / 2, item["y"] + item["height"] / 2
    page.mouse.move(grab_x, grab_y)
    page.mouse.down()
    # Start the drag straight down (no change of time while the drag is being recognised), then across.
    page.mouse.move(grab_x, grab_y + 12, steps=6)
    page.mouse.move(x + item["width"] / 2, y, steps=20)
    page.mouse.up()
    page.wait_for_selector("#board-gantt[data-last-drop='ok']")
    orders[2].refresh_from_db()
    assert str(orders[2].technician) == "Zhang Min"
    # In the week view an hour is some 6 pixels wide and the booking trails the mouse by a few of them:
    # it lands later that day on Zhang's row, and where the Gantt draws it is the time that was saved.
    moved_to = timezone.localtime(orders[2].appointment_start)
    assert moved_to.date() == tomorrow and dt.time(13, 15) <= moved_to.time() <= dt.time(16)
    page.wait_for_timeout(300)
    drawn = page.locator(f".vis-item.wo-{orders[2].pk}").bounding_box()
    drawn_x, _y, _panel = _point(page, axis_start, axis_end, moved_to, "Zhang Min")
    assert abs(drawn["x"] - drawn_x) <= 3, (drawn, drawn_x)
    assert orders[2].appointment_end - orders[2].appointment_start == dt.timedelta(hours=1)
    page.evaluate("document.getElementById('board-gantt').removeAttribute('data-last-drop')")

    # The boiler job needs Gas: dropped on Novice's row it is refused, snaps back, and says why
    assert drag_from_queue(gas_job, "Novice Wu", 9) == "refused"
    assert "Novice Wu lacks the skill Gas." in page.inner_text("#gantt-status")
    page.wait_for_timeout(500)
    assert page.locator(f".vis-item.wo-{gas_job.pk}").count() == 0
    assert page.locator(f"#queue-rows tr[data-work-order='{gas_job.pk}']").count() == 1
    gas_job.refresh_from_db()
    assert gas_job.status == Status.NEW and gas_job.technician_id is None

    screenshots.folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots.folder / "week-view-desktop.png"), full_page=True)
    findings += axe(page)

    # Tomorrow alone, from the view switch: the bookings and the travel between them, wide
    with page.expect_navigation():
        page.click("a[data-view='day']")
    page.wait_for_selector(f".vis-item.wo-{orders[0].pk}")
    assert page.locator(".vis-item.g-travel").count() >= 2
    page.screenshot(path=str(screenshots.folder / "day-view-desktop.png"), full_page=True)

    # Li's job list on a phone
    phone = people.open("liwei", "phone", "en")
    phone.go("/tech/")
    phone.log_in("liwei", PASSWORD)
    phone.page.wait_for_load_state("load")
    phone.page.screenshot(path=str(screenshots.folder / "tech-jobs-phone.png"), full_page=True)
    assert orders[0].number in phone.page.inner_text("body")

    assert not desk.script_errors and not desk.csp_violations, desk.script_errors + desk.csp_violations
    assert not phone.script_errors and not phone.csp_violations
    assert findings == [], findings
    assert WorkOrder.objects.filter(status=Status.ASSIGNED).count() == 5
