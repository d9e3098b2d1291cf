"""A customer on a phone, from the tracking link: moves the visit to another offered window, adds a
note, cancels a second request, then signs in with an SMS code to see all their requests. Chinese,
phone size. Screenshots in <E2E_SCREENSHOTS_DIR or var/e2e-screenshots>/<test name>/."""

import datetime as dt

import pytest
from django.utils import timezone

from notifications.models import Notification
from technicians.models import Shift
from tests.factories import CustomerFactory, TechnicianFactory, WorkOrderFactory
from workorders.lifecycle import Status

from .support import foreign_requests, untranslated

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "+8613912340000"


def _at(days, hour):
    return timezone.make_aware(dt.datetime.combine(timezone.localdate() + dt.timedelta(days=days), dt.time(hour)))


def test_a_customer_moves_the_visit_adds_a_note_cancels_and_lists_requests(people, screenshots, axe, site, settings):
    settings.SELF_SERVICE_CUTOFF_HOURS = 24
    customer = CustomerFactory(name="周华", phone=PHONE)
    technician = TechnicianFactory(user__first_name="伟")
    for weekday in range(7):
        Shift.objects.create(technician=technician, weekday=weekday, start=dt.time(9), end=dt.time(17))
    visit = WorkOrderFactory(customer=customer, status=Status.ACCEPTED, technician=technician,
                             appointment_start=_at(3, 10), appointment_end=_at(3, 12), description="空调漏水")
    second = WorkOrderFactory(customer=customer, status=Status.NEW, description="热水器不热")
    data = [customer.name, PHONE, "13912340000", "伟", "空调漏水", "热水器不热", visit.service_type.name,
            second.service_type.name, visit.number, second.number, "The air conditioner drips water."]
    findings = []

    phone = people.open("customer", "phone", "zh-hans")
    page = phone.page
    phone.go(f"/track/{visit.public_token}/")
    page.wait_for_selector("#reschedule-link")
    screenshots.take(phone, "tracking-actions")
    findings += [f"tracking: {p}" for p in axe(page)]

    # Another window, offered from the technician's working hours
    page.click("#reschedule-link")
    page.wait_for_selector("input[name='window']")
    screenshots.take(phone, "reschedule-windows")
    findings += [f"reschedule: {p}" for p in axe(page)]
    findings += [f"reschedule: {p}" for p in untranslated(page, language="zh-hans", data=data)]
    page.locator("input[name='window']").nth(2).check()
    page.click("button[type='submit']")
    page.wait_for_selector(".messages")
    assert "您的上门时间已改为" in page.inner_text(".messages")
    visit.refresh_from_db()
    assert visit.appointment_start != _at(3, 10)
    assert visit.events.filter(action="reschedule", actor_role="customer").count() == 1
    screenshots.take(phone, "rescheduled")

    # A note for the technician
    page.click("#note-link")
    page.fill("textarea[name='note']", "门禁密码 1234")
    page.click("button[type='submit']")
    page.wait_for_selector(".messages")
    assert visit.events.filter(action="note", actor_role="customer").count() == 1
    screenshots.take(phone, "note-added")

    # The second request is no longer needed
    phone.go(f"/track/{second.public_token}/cancel/")
    page.fill("textarea[name='reason']", "已经自己修好了")
    screenshots.take(phone, "cancel-form")
    page.click("button[type='submit']")
    page.wait_for_selector(".messages")
    second.refresh_from_db()
    assert second.status == Status.CANCELLED

    # All their requests, after a code by SMS
    page.click("a[href='/my-requests/']")
    page.fill("input[name='phone']", "139 1234 0000")
    page.click("#phone-form button")
    page.wait_for_selector("#code-form")
    code = Notification.objects.get(template="selfservice_code", recipient=PHONE).payload["code"]
    page.fill("input[name='code']", code)
    screenshots.take(phone, "code-entered")
    page.click("#code-form button")
    page.wait_for_selector("#my-requests")
    listed = page.inner_text("#my-requests")
    assert visit.number in listed and second.number in listed
    screenshots.take(phone, "my-requests")
    findings += [f"my requests: {p}" for p in axe(page)]
    findings += [f"my requests: {p}" for p in untranslated(page, language="zh-hans", data=data)]

    assert not foreign_requests([phone]), foreign_requests([phone])
    assert not phone.script_errors and not phone.csp_violations, phone.script_errors + phone.csp_violations
    assert not findings, "\n".join(findings)
