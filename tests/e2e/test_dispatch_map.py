"""A request typed on the public form with only a Chinese address appears on the dispatch board's map
once geocoded, drawn as approximate; the dispatcher drags its pin to the exact place, and the site keeps
it. Then the technician's job page offers the map apps and a call button. Screenshots: map-desktop.png,
job-phone.png in <E2E_SCREENSHOTS_DIR or var/e2e-screenshots>/<test name>/."""

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from core import roles as R
from core.choices import Priority
from customers.models import Site
from customers.services import sites_geocode_pending
from tests.factories import ServiceTypeFactory, TechnicianFactory, UserFactory, WorkOrderFactory
from workorders.models import WorkOrder
from workorders.services import workorder_transition

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "map-pass-1357"


def test_a_public_request_is_placed_on_the_map_and_its_pin_moved_by_hand(people, screenshots, axe, site, settings):
    settings.DISPATCH_REFRESH_SECONDS = 1
    service_type = ServiceTypeFactory(name="Aircon")
    UserFactory(username="dispatcher", password=PASSWORD, roles=[R.DISPATCHER], is_staff=True)
    tech = TechnicianFactory(user__username="liwei", user__first_name="Li", user__last_name="Wei",
                             user__password=PASSWORD)

    # A customer asks on the public form with only a Chinese address.
    customer = people.open("customer", "phone", "zh-hans")
    customer.go("/request/")
    page = customer.page
    page.fill("#id_contact_name", "王芳")
    page.fill("#id_contact_phone", "138 1234 5678")
    page.fill("#id_address", "上海市浦东新区张江路100号")
    page.select_option("#id_service_type", str(service_type.pk))
    page.fill("#id_description", "空调漏水")
    with page.expect_navigation():
        page.click("form.intake-form button[type=submit]")
    order = WorkOrder.objects.get()

    desk = people.open("dispatcher", "desktop", "en", viewport={"width": 1366, "height": 1200})
    desk.go("/dispatch/")
    desk.log_in("dispatcher", PASSWORD)
    page = desk.page
    page.wait_for_selector(f"#queue-rows tr[data-work-order='{order.pk}']")
    assert page.locator(".order-pin").count() == 0  # not located yet
    sites_geocode_pending()  # the worker's task
    page.wait_for_selector(".order-pin.pin-approx", timeout=10_000)
    page.wait_for_timeout(800)  # the map fits itself to the new pin (animated)
    assert "approximate location" in page.inner_text(f"#queue-rows tr[data-work-order='{order.pk}']")
    findings = axe(page)
    screenshots.folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots.folder / "map-desktop.png"), full_page=True)

    # Another request comes in (no address located yet: no pin of its own).
    other = WorkOrderFactory(service_type=service_type, site__latitude=None, site__longitude=None,
                             site__address="somewhere", address="somewhere")
    page.wait_for_selector(f"#queue-rows tr[data-work-order='{other.pk}']")

    # The dispatcher drags the pin a little east and confirms; while the pin is in the hand, the
    # board refreshes with a change (the other order's priority) and must not take the pin away.
    # (On a slow machine the map may still be fitting itself to the pin: grab it once it stands
    # still, and drag again if the map moved under the mouse and took the drag as a pan.)
    page.on("dialog", lambda dialog: dialog.accept())
    for attempt in range(3):
        pin = _standing_still(page, page.locator(".order-pin"))
        x, y = pin["x"] + pin["width"] / 2, pin["y"] + pin["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 10, y, steps=3)
        priority, word = (Priority.URGENT, "Urgent") if attempt % 2 == 0 else (Priority.LOW, "Low")
        WorkOrder.objects.filter(pk=other.pk).update(priority=priority)
        _a_changed_board_arrives(page)
        # The queue refreshes meanwhile; only the map waits for the pin to be let go.
        assert word in page.inner_text(f"#queue-rows tr[data-work-order='{other.pk}']")
        page.mouse.move(x + 60, y + 20, steps=10)
        page.mouse.up()
        try:
            page.wait_for_selector(".order-pin:not(.pin-approx)", timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    page.wait_for_selector("#map-status:not(:empty)")
    assert "placed where you put the pin" in page.inner_text("#map-status")
    placed = Site.objects.get(pk=order.site_id)
    assert placed.location_precision == "manual"

    # The technician's phone: the map apps go to the pin, and a call button.
    dispatcher = UserFactory(username="d2", roles=[R.DISPATCHER])
    workorder_transition(work_order_id=order.pk, action="assign", actor=dispatcher, technician_id=tech.pk)
    phone = people.open("liwei", "phone", "en")
    phone.go(f"/tech/jobs/{order.pk}/")
    phone.log_in("liwei", PASSWORD)
    phone.page.wait_for_load_state("load")
    links = [a.get_attribute("href") for a in phone.page.locator(".nav-apps a").all()]
    assert len(links) == 4 and f"{placed.latitude},{placed.longitude}" in links[3]
    assert phone.page.locator("a[href='tel:+8613812345678']").count() == 1
    phone.page.screenshot(path=str(screenshots.folder / "job-phone.png"), full_page=True)
    findings += axe(phone.page)

    assert not desk.script_errors and not desk.csp_violations, desk.script_errors + desk.csp_violations
    assert not phone.script_errors and not phone.csp_violations
    assert findings == [], findings


def _a_changed_board_arrives(page):
    """Waits for the board's next poll that brings a change (it polls every second here)."""
    for _ in range(30):
        with page.expect_response(lambda response: "/dispatch/board.json" in response.url) as answer:
            pass
        if answer.value.ok and answer.value.json().get("changed"):
            return
    raise AssertionError("the board brought no change")


def _standing_still(page, locator):
    """The locator's box once two looks 200 ms apart agree (the map's animations have ended)."""
    last = None
    for _ in range(50):
        box = locator.bounding_box()
        if box is not None and box == last:
            return box
        last = box
        page.wait_for_timeout(200)
    return last
