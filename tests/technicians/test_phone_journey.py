"""The whole phone journey through the technician's pages, and the audit trail it leaves."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from completion.models import CompletionReport
from tests.factories import ChecklistItemFactory, EquipmentFactory, PartFactory, WorkOrderFactory
from workorders.lifecycle import Status
from workorders.models import Attachment
from workorders.services import workorder_transition

from .helpers import completion_post, photo_upload

pytestmark = pytest.mark.django_db


def _tap(client, wo, action, **fields):
    return client.post(reverse("tech:status", args=[wo.pk]), {"action": action, **fields})


def test_a_technician_takes_a_job_from_assignment_to_a_signed_report(client, dispatcher, technician, service_type):
    # Given a dispatcher has assigned a job for this afternoon, with a checklist and a part in the catalog
    equipment = EquipmentFactory()
    wo = WorkOrderFactory(service_type=service_type, customer=equipment.customer, equipment=equipment,
                          site=equipment.site, address=equipment.site.address)
    start = timezone.now() + timedelta(hours=2)
    workorder_transition(work_order_id=wo.pk, action="assign", actor=dispatcher, technician_id=technician.pk,
                         appointment_start=start, appointment_end=start + timedelta(hours=2))
    safety = ChecklistItemFactory(service_type=service_type, text="Power isolated", mandatory=True)
    leak = ChecklistItemFactory(service_type=service_type, text="Leak test", mandatory=False)
    pump = PartFactory(part_number="DP-100", name="Drain pump", unit_price=Decimal("180.00"))
    client.force_login(technician.user)

    # When the technician opens "my jobs", the job is there with its customer and address
    page = client.get(reverse("tech:jobs"))
    assert page.status_code == 200
    assert wo.number in page.content.decode()
    assert wo.address in page.content.decode()

    # ... and taps through the day, the phone giving a position on the way and on arrival
    assert _tap(client, wo, "accept").status_code == 302
    assert _tap(client, wo, "depart", latitude="31.230400", longitude="121.473700").status_code == 302
    assert _tap(client, wo, "arrive", latitude="31.240100", longitude="121.490100").status_code == 302
    assert _tap(client, wo, "hold", reason="waiting_parts", note="pump on order").status_code == 302
    wo.refresh_from_db()
    assert wo.status == Status.ON_HOLD
    assert _tap(client, wo, "resume", latitude="31.240150", longitude="121.490150").status_code == 302
    wo.refresh_from_db()
    assert wo.status == Status.IN_PROGRESS

    form = client.get(reverse("tech:complete", args=[wo.pk]))
    assert form.status_code == 200
    assert "DP-100" in form.content.decode()

    data = completion_post(checklist={safety.pk: "done", leak.pk: "na"}, parts=[("DP-100", "1")],
                           photos=[photo_upload("leak.jpg")], labour_minutes="45")
    done = client.post(reverse("tech:complete", args=[wo.pk]), data)

    # Then the order is resolved, with one report carrying everything the customer signed for
    assert done.status_code == 302 and done.url == reverse("tech:job", args=[wo.pk])
    wo.refresh_from_db()
    assert wo.resolved_at is not None
    # (with no manager's review asked for, it moves straight on to follow-up: the survey)
    assert wo.status in (Status.RESOLVED, Status.FOLLOW_UP)
    report = CompletionReport.objects.get(work_order=wo)
    assert report.signer_name == "王芳"
    assert report.callout_fee == Decimal("50.00")
    assert report.labour_amount == Decimal("90.00")  # 45 min at 120.00 per hour
    assert report.parts_amount == Decimal("180.00")
    assert report.total_amount == Decimal("320.00")
    assert [(p.part_number, p.quantity) for p in report.parts.all()] == [("DP-100", Decimal("1.00"))]
    assert {a.item_text: a.answer for a in report.answers.all()} == {"Power isolated": "done", "Leak test": "na"}
    assert report.signature.kind == Attachment.Kind.SIGNATURE
    with report.signature.file.open("rb") as handle, Image.open(handle) as image:
        assert image.format == "PNG"
    assert report.photos.count() == 1
    assert pump.usages.count() == 1

    # ... and the events tell the story, with the positions the phone gave
    events = [e for e in wo.events.order_by("id") if e.action != "follow_up"]
    assert [e.action for e in events] == ["create", "assign", "accept", "depart", "arrive", "hold", "resume",
                                          "complete"]
    assert all(e.actor == technician.user for e in events[2:])
    positions = {e.action: (e.latitude, e.longitude) for e in events}
    assert positions["accept"] == (None, None)
    assert positions["depart"] == (Decimal("31.230400"), Decimal("121.473700"))
    assert positions["arrive"] == (Decimal("31.240100"), Decimal("121.490100"))
    assert positions["complete"] == (Decimal("31.240100"), Decimal("121.490100"))
    hold = events[5]
    assert hold.data["reason"] == "waiting_parts"
    assert "pump on order" in hold.note
    technician.refresh_from_db()
    assert technician.last_latitude == Decimal("31.240100")

    # ... and the job page shows the report and who signed it
    job = client.get(reverse("tech:job", args=[wo.pk])).content.decode()
    assert "王芳" in job
    assert reverse("completion:report-pdf", args=[wo.pk]) in job


def test_reject_needs_a_reason_and_gives_the_job_back(client, technician):
    # Given a job just assigned to the technician
    wo = WorkOrderFactory(technician=technician, status=Status.ASSIGNED)
    client.force_login(technician.user)

    # When they reject without saying why, nothing changes
    client.post(reverse("tech:status", args=[wo.pk]), {"action": "reject", "note": ""})
    wo.refresh_from_db()
    assert wo.status == Status.ASSIGNED

    # When they give a reason, the job goes back to the queue and leaves their list
    response = client.post(reverse("tech:status", args=[wo.pk]), {"action": "reject", "note": "Van broke down"})
    assert response.status_code == 302 and response.url == reverse("tech:jobs")
    wo.refresh_from_db()
    assert wo.status == Status.NEW and wo.technician is None
    assert wo.events.order_by("-id").first().note == "Van broke down"
    assert wo.number not in client.get(reverse("tech:jobs")).content.decode()


def test_hold_needs_one_of_the_reasons(client, technician):
    wo = WorkOrderFactory(technician=technician, status=Status.IN_PROGRESS)
    client.force_login(technician.user)

    client.post(reverse("tech:status", args=[wo.pk]), {"action": "hold"})
    wo.refresh_from_db()
    assert wo.status == Status.IN_PROGRESS

    client.post(reverse("tech:status", args=[wo.pk]), {"action": "hold", "reason": "customer_absent"})
    wo.refresh_from_db()
    assert wo.status == Status.ON_HOLD
    assert wo.events.order_by("-id").first().data == {"reason": "customer_absent"}


def test_a_tap_that_the_state_does_not_allow_changes_nothing_and_says_why(client, technician):
    # Given a job already on the way, when "accept" arrives again (a second phone, an old page)
    wo = WorkOrderFactory(technician=technician, status=Status.EN_ROUTE)
    client.force_login(technician.user)
    client.cookies["django_language"] = "en"

    response = client.post(reverse("tech:status", args=[wo.pk]), {"action": "accept"}, follow=True)

    # Then the page says it cannot be done and the order stays where it was
    assert "Cannot accept" in response.content.decode()
    wo.refresh_from_db()
    assert wo.status == Status.EN_ROUTE
    assert wo.events.count() == 1
