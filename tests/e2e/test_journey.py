"""One work order's whole journey in a real browser, on a phone and at a desk, in Chinese and in English.

A customer asks for service on a phone; a dispatcher assigns the best technician at a desk; the
technician works the job on a phone and has the customer sign; the customer follows the link and
sees the work resolved, with the service report. The service type asks for a manager's review, so
the order stays "resolved" until a manager approves the report; that sends the survey, which the
customer answers from the link in the message; the manager then sees the order in the reports.

Along the way, on every page the customer and the technician see: the words are in the browser's
language (``support.untranslated``), axe-core finds no critical or serious problem, and at the end
no page has loaded anything from a host other than 127.0.0.1.

Background work: notifications are handed to Celery after commit, and Celery runs eagerly (in the
web request's thread), so the survey invitation is really rendered and delivered, by email to
Django's in-memory outbox, where the customer's "inbox" is read.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from catalog.models import Part, ServiceTypeSkill
from completion.models import CompletionReport
from completion.services import labour_rate
from core import roles as R
from technicians.models import TechnicianSkill
from tests.factories import (
    ChecklistItemFactory,
    ServiceTypeFactory,
    SkillFactory,
    TechnicianFactory,
    UserFactory,
    WorkOrderFactory,
)
from notifications.models import Notification
from workorders.lifecycle import Status
from workorders.models import Attachment, Survey, WorkOrder

from .support import csp_violations, foreign_requests, ink_bbox, jpeg_file, untranslated

pytestmark = pytest.mark.e2e

PASSWORD = "journey-pass-2468"
# Where the technician's phone says it is (central Shanghai).
PHONE_POSITION = {"latitude": 31.2304, "longitude": 121.4737}

# What the people in the story type, in each language. The company's master data (MASTER) carries
# both languages, as a company's does: its names are not left out of the language check, so a page
# that shows the other language's name (or a unit code such as "pcs" on a Chinese page) is found.
MASTER = {
    "service": {"zh-hans": "空调维修", "en": "Air conditioner repair"},
    "skill": {"zh-hans": "制冷维修", "en": "Refrigeration"},
    "part": {"zh-hans": "排水泵", "en": "Drain pump"},
    "checks": [{"zh-hans": "断电隔离", "en": "Power isolated"}, {"zh-hans": "检漏测试", "en": "Leak test"}],
}


def both(names: dict) -> dict:
    """The model fields of a translated name: ``{"zh_hans": ..., "en": ...}`` for field ``name``."""
    return {"zh_hans": names["zh-hans"], "en": names["en"]}


WORDS = {
    "zh-hans": {
        "customer": "王芳", "email": "wang.fang@example.com", "phone": "138 1234 5678",
        "address": "上海市浦东新区世纪大道100号 25楼", "description": "空调漏水，噪音很大。",
        "work_done": "更换排水泵，清洗过滤网。", "comment": "师傅很专业，准时到达。",
        "techs": ["李伟", "张强", "王磊"], "office": ["赵敏", "陈静"],
    },
    "en": {
        "customer": "Fang Wang", "email": "fang.wang@example.com", "phone": "138 1234 5678",
        "address": "100 Century Avenue, floor 25", "description": "The air conditioner leaks and is very loud.",
        "work_done": "Replaced the drain pump and cleaned the filter.", "comment": "Friendly and on time.",
        "techs": ["Wei Li", "Qiang Zhang", "Lei Wang"], "office": ["Min Zhao", "Jing Chen"],
    },
}


@pytest.fixture
def eager_delivery(settings):
    """Notifications go to Celery after commit, and Celery runs the task at once, in that thread."""
    from config.celery import app

    settings.OUTBOX_ENQUEUE_ON_COMMIT = True
    # Handed over at once in the committing request's thread, not by the batching thread: a task run
    # eagerly there would keep that thread's database connection open past the test.
    settings.OUTBOX_ENQUEUE_BATCH_MS = 0
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def company(language):
    """The company's master data: a service type with a checklist, a part, technicians, office staff."""
    words = WORDS[language]
    def named(field, names):
        return {f"{field}_{lang}": value for lang, value in both(names).items()}

    service = ServiceTypeFactory(code="ac-repair", **named("name", MASTER["service"]), callout_fee=Decimal("50.00"),
                                 requires_review=True)
    skill = SkillFactory(code="refrigeration", **named("name", MASTER["skill"]))
    ServiceTypeSkill.objects.create(service_type=service, skill=skill, min_level=2)
    checks = [ChecklistItemFactory(service_type=service, **named("text", MASTER["checks"][0]), mandatory=True),
              ChecklistItemFactory(service_type=service, **named("text", MASTER["checks"][1]), mandatory=False)]
    part = Part.objects.create(part_number="DP-100", **named("name", MASTER["part"]), unit="pcs",
                               unit_price=Decimal("180.00"))

    def technician(username, name, level):
        tech = TechnicianFactory(user=UserFactory(username=username, first_name=name, password=PASSWORD,
                                                  roles=[R.TECHNICIAN]))
        if level:
            TechnicianSkill.objects.create(technician=tech, skill=skill, level=level)
        return tech

    best = technician("tech-li", words["techs"][0], 2)  # the right skill, nothing else to do
    busy = technician("tech-zhang", words["techs"][1], 2)  # the right skill, two open jobs already
    unskilled = technician("tech-wang", words["techs"][2], 0)  # cannot do this work
    later = timezone.now() + timedelta(days=3)
    for hours in (0, 4):
        WorkOrderFactory(service_type=service, technician=busy, status=Status.ASSIGNED,
                         appointment_start=later + timedelta(hours=hours),
                         appointment_end=later + timedelta(hours=hours + 2))
    # Two requests already waiting, of normal priority, older than the customer's.
    waiting = [WorkOrderFactory(service_type=service, priority=WorkOrder.Priority.NORMAL) for _ in range(2)]
    return {
        "service": service, "checks": checks, "part": part, "best": best, "busy": busy,
        "unskilled": unskilled, "waiting": waiting,
        "dispatcher": UserFactory(username="dispatcher", first_name=words["office"][0], password=PASSWORD,
                                  roles=[R.DISPATCHER], is_staff=True),
        "manager": UserFactory(username="manager", first_name=words["office"][1], password=PASSWORD,
                               roles=[R.MANAGER], is_staff=True),
    }


def _wait_for(found, *, seconds=10.0):
    """What ``found()`` returns once it is something, polling; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (result := found()) is None:
        assert time.monotonic() < deadline, f"nothing after {seconds} s"
        time.sleep(0.05)
    return result


def _button(page, action):
    """The technician's status button for one action (accept, depart, arrive...)."""
    return page.locator(f"form:has(input[name=action][value={action}]) button[type=submit]")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_request_goes_from_the_customers_phone_to_a_signed_report_a_survey_and_the_reports(
    language, company, people, screenshots, axe, eager_delivery, site, tmp_path
):
    words = WORDS[language]
    service, best = company["service"], company["best"]
    # Everything shown as entered (names, addresses...), whatever the page's language; not the master
    # data, which has a name in each language and must be shown in the page's.
    data = [words[k] for k in ("customer", "email", "address", "description", "work_done", "comment")]
    data += words["techs"] + words["office"] + ["DP-100"]
    findings: list[str] = []

    def look(person, step, *, checked=True):
        """A screenshot of this step; on the customer's and technician's pages, the language and axe-core."""
        screenshots.take(person, step)
        if checked:
            findings.extend(f"[{step}] untranslated: {p}" for p in untranslated(person.page, language=language,
                                                                                 data=data))
            findings.extend(f"[{step}] axe {v['impact']} {v['id']}: {v['help']} {v['nodes']}"
                            for v in axe(person.page))

    def say(text):
        with translation.override(language):
            return _(text)

    tomorrow = timezone.localtime() + timedelta(days=1)
    day = tomorrow.strftime("%Y-%m-%d")

    # 1. The customer, on a phone, asks for service with a photo of the problem ------------------
    customer = people.open("customer", "phone", language)
    page = customer.page
    customer.go("/request/")
    look(customer, "request-form")
    page.fill("#id_contact_name", words["customer"])
    page.fill("#id_contact_phone", words["phone"])
    page.fill("#id_contact_email", words["email"])
    page.fill("#id_address", words["address"])
    page.select_option("#id_service_type", str(service.pk))
    page.fill("#id_description", words["description"])
    page.select_option("#id_priority", str(WorkOrder.Priority.URGENT))
    page.fill("#id_preferred_start", f"{day}T09:00")
    page.fill("#id_preferred_end", f"{day}T12:00")
    page.set_input_files("#id_photos", str(jpeg_file(tmp_path / "leak.jpg")))
    look(customer, "request-filled")
    with page.expect_navigation():
        page.click("form.intake-form button[type=submit]")

    assert "/request/done/" in page.url
    order = WorkOrder.objects.get(contact_name=words["customer"])
    track_url = f"{site.url}/track/{order.public_token}/"
    assert page.inner_text(".wo-number").strip() == order.number
    assert page.get_attribute(".track-link a", "href") == track_url
    assert (order.status, order.priority, order.language) == (Status.NEW, WorkOrder.Priority.URGENT, language)
    assert order.attachments.filter(kind=Attachment.Kind.CUSTOMER_PHOTO).count() == 1
    look(customer, "request-done")

    # 2. The dispatcher, at a desk, assigns the best technician with an appointment window -------
    dispatcher = people.open("dispatcher", "desktop", language)
    desk = dispatcher.page
    dispatcher.go("/dispatch/")
    dispatcher.log_in("dispatcher", PASSWORD)
    assert desk.url.endswith("/dispatch/")
    rows = desk.locator("#queue-rows tr[data-work-order]")
    rows.first.wait_for()
    # the urgent request is at the top, above the two that waited longer
    assert rows.count() == 3
    assert rows.first.get_attribute("data-work-order") == str(order.pk)
    assert order.number in rows.first.inner_text()
    look(dispatcher, "dispatch-board", checked=False)

    with desk.expect_navigation():
        rows.first.locator("a.button").click()
    assert desk.url.endswith(f"/dispatch/work-orders/{order.pk}/candidates/")
    desk.fill("#id_start", f"{day}T10:00")
    desk.fill("#id_end", f"{day}T12:00")
    with desk.expect_navigation():
        desk.click("form.filters button[type=submit]")
    candidates = desk.locator("table.candidates tbody tr")
    ranked = [candidates.nth(i).get_attribute("data-technician") for i in range(candidates.count())]
    scores = [float(candidates.nth(i).locator("td strong").first.inner_text()) for i in range(candidates.count())]
    assert ranked == [str(best.pk), str(company["busy"].pk)]  # the one with no other work comes first
    assert scores == sorted(scores) and scores[0] < scores[1]
    excluded = desk.locator(f"table.excluded tr[data-technician='{company['unskilled'].pk}'] li[data-reason]")
    assert excluded.first.get_attribute("data-reason") == "missing_skill"
    look(dispatcher, "candidates", checked=False)

    with desk.expect_navigation():
        candidates.first.locator("button[type=submit]").click()
    assert desk.url.endswith("/dispatch/")
    assert order.number in desk.inner_text(".messages .msg-success")
    order.refresh_from_db()
    start = timezone.localtime(order.appointment_start)
    assert (order.status, order.technician_id) == (Status.ASSIGNED, best.pk)
    assert (start.strftime("%Y-%m-%d %H:%M"), timezone.localtime(order.appointment_end).strftime("%H:%M")) == (
        f"{day} 10:00", "12:00")
    look(dispatcher, "assigned", checked=False)
    dispatcher.leave()

    # 3. The technician, on a phone, works the job and the customer signs --------------------------
    tech = people.open("technician", "phone", language, geolocation=PHONE_POSITION, permissions=["geolocation"])
    phone = tech.page
    tech.go("/tech/")
    look(tech, "technician-login")
    tech.log_in("tech-li", PASSWORD)
    job = phone.locator(f"a.job[href$='/tech/jobs/{order.pk}/']")
    assert job.is_visible()
    assert order.number in job.inner_text() and words["address"] in job.inner_text()
    look(tech, "my-jobs")

    with phone.expect_navigation():
        job.click()
    look(tech, "job")
    for action, state in (("accept", Status.ACCEPTED), ("depart", Status.EN_ROUTE), ("arrive", Status.IN_PROGRESS)):
        if action == "depart":
            # The job is booked for tomorrow: the depart button first says how far off the window is.
            phone.locator("details.early summary").click()
            assert phone.locator(".early-warning").is_visible()
            look(tech, "job-depart-early-warning")
        with phone.expect_navigation():
            _button(phone, action).click()
        assert phone.locator(f"h1 .badge.status-{state}").is_visible(), action
        look(tech, f"job-{action}")
    order.refresh_from_db()
    assert order.status == Status.IN_PROGRESS
    depart = order.events.get(action="depart")
    assert (float(depart.latitude), float(depart.longitude)) == pytest.approx(
        (PHONE_POSITION["latitude"], PHONE_POSITION["longitude"]), abs=1e-4)

    with phone.expect_navigation():
        phone.click(f"a[href$='/tech/jobs/{order.pk}/complete/']")
    phone.fill("#id_work_done", words["work_done"])
    mandatory, optional = company["checks"]
    phone.check(f"input[name=check_{mandatory.pk}][value=done]")
    phone.check(f"input[name=check_{optional.pk}][value=done]")
    phone.locator("input[name=part]").first.fill("DP-100")
    phone.locator("input[name=qty]").first.fill("1")
    phone.fill("#id_labour_minutes", "45")
    phone.set_input_files("#id_photos", str(jpeg_file(tmp_path / "fixed.jpg", color=(90, 160, 90))))
    phone.locator(".photo-status").filter(has_text="KB").wait_for()  # resized on the phone, ready to send
    # the customer signs on the canvas (drawn here with the mouse)
    canvas = phone.locator("canvas.sign")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    phone.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
    phone.mouse.down()
    for fx, fy in ((0.25, 0.2), (0.45, 0.8), (0.65, 0.25), (0.9, 0.6)):
        phone.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=6)
    phone.mouse.up()
    assert phone.input_value("input[name=signature]").startswith("data:image/png;base64,")
    phone.fill("#id_signer_name", words["customer"])
    # the charges the customer is shown before signing: call-out + 45 min of labour + the part
    expected_total = Decimal("50.00") + (labour_rate() * Decimal(45) / Decimal(60)).quantize(Decimal("0.01")) \
        + Decimal("180.00")
    assert phone.inner_text("[data-out=total]").strip() == f"¥{expected_total:.2f}"
    look(tech, "completion-report")
    with phone.expect_navigation():
        phone.click("form#complete button[type=submit].primary")

    assert phone.locator("#report").is_visible()
    report = CompletionReport.objects.get(work_order=order)
    assert report.total_amount == expected_total
    assert [(p.part_number, p.quantity) for p in report.parts.all()] == [("DP-100", Decimal("1.00"))]
    assert {a.item_text: a.answer for a in report.answers.all()} == {c[language]: "done" for c in MASTER["checks"]}
    assert report.photos.count() == 1
    assert report.signer_name == words["customer"]
    with report.signature.file.open("rb") as handle:
        assert ink_bbox(handle.read()) is not None  # the strokes drawn on the canvas are in the saved PNG
    order.refresh_from_db()
    assert order.status == Status.RESOLVED  # the service type asks for a manager's review first
    look(tech, "report-sent")

    # 4. The customer follows the link: resolved, with the service report ------------------------
    customer.go(track_url)
    badge = page.locator(".badge.status-resolved")
    with translation.override(language):
        assert badge.inner_text().strip() == str(Status.RESOLVED.label)
    report_link = page.locator(f"a[href='/track/{order.public_token}/report.pdf']")
    assert report_link.is_visible()
    pdf = customer.context.request.get(f"{site.url}/track/{order.public_token}/report.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    assert say("The work was completed.") in page.inner_text(".timeline")
    look(customer, "tracking-resolved")

    # ... a manager approves the report, and the survey goes out
    manager = people.open("manager", "desktop", language)
    office = manager.page
    manager.go("/staff/reviews/")
    manager.log_in("manager", PASSWORD)
    with office.expect_navigation():
        office.click(f"a:text-is('{order.number}')")
    look(manager, "review", checked=False)
    with office.expect_navigation():
        office.click("button[name=decision][value=approve]")
    order.refresh_from_db()
    assert order.status == Status.FOLLOW_UP

    # the invitation is delivered in the background, right after the approval commits
    _wait_for(lambda: Notification.objects.filter(subject_id=order.pk, template="survey_invite", channel="email",
                                                  status=Notification.State.SENT).first())
    survey_letter = next(m for m in mail.outbox if m.to == [words["email"]] and "/survey/" in m.body)
    link = re.search(rf"{re.escape(site.url)}/survey/[\w-]+/", survey_letter.body).group(0)

    # ... the customer opens the link from the message and answers
    customer.go(link)
    assert order.number in page.inner_text("h1 + p")
    look(customer, "survey")
    page.check("input[name=satisfaction][value='5']")
    page.check("input[name=solved][value=yes]")
    page.check("input[name=recommend][value='9']")
    page.fill("textarea[name=comment]", words["comment"])
    with page.expect_navigation():
        page.click("form button[type=submit].primary")
    assert page.inner_text("h1").strip() == say("Thank you for your answer")
    look(customer, "survey-thanks")
    survey = Survey.objects.get(work_order=order)
    assert (survey.status, survey.satisfaction, survey.solved, survey.recommend) == ("answered", 5, True, 9)
    order.refresh_from_db()
    assert order.status == Status.CLOSED

    # 5. The manager opens the reports and finds the order counted, with its satisfaction score -----
    with office.expect_navigation():
        office.click("header nav a[href='/reports/']")
    assert office.url.endswith("/reports/")
    # narrowed to this service and this technician: the one order of the story
    filters = office.locator("form:has(select[name=technician])")
    filters.locator("select[name=service_type]").select_option(str(service.pk))
    filters.locator("select[name=technician]").select_option(str(best.pk))
    with office.expect_navigation():
        filters.locator("button[type=submit]").click()
    assert f"technician={best.pk}" in office.url and f"service_type={service.pk}" in office.url
    look(manager, "reports", checked=False)

    def kpi(name, **match):
        extra = "".join(f"[data-{key}='{value}']" for key, value in match.items())
        return office.get_attribute(f"[data-kpi='{name}']{extra}", "data-value")

    assert kpi("volume-total") == "1"
    assert kpi("status-count", status=Status.CLOSED) == "1"
    assert kpi("resolved-count") == "1"
    assert kpi("satisfaction-count") == "1"
    assert kpi("satisfaction-avg") == "5.00"
    # and follows the link to costs and margin, the filters kept: the job's charge and what it cost
    with office.expect_navigation():
        office.click("a[data-link='costs']")
    assert "/reports/costs/" in office.url and f"technician={best.pk}" in office.url
    look(manager, "costs", checked=False)
    report = CompletionReport.objects.get(work_order=order)
    assert kpi("jobs") == "1"
    assert Decimal(kpi("revenue")) == report.total_amount
    assert Decimal(kpi("margin")) == report.total_amount - report.parts_cost - report.labour_cost - report.travel_cost
    manager.leave()

    # Every page of the customer and the technician, in their language, without serious barriers
    assert not findings, "\n".join(findings)
    # and no page loaded anything from outside 127.0.0.1, and no page script failed
    assert foreign_requests(people.all) == []
    assert csp_violations(people.all) == [], "the pages keep the site's Content-Security-Policy"
    assert [e for p in people.all for e in p.script_errors] == []
