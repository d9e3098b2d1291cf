"""Notes written for the office never reach a customer's page.

Hold and rejection reasons, cancellation reasons, a dispatcher's note, a technician's checklist
notes and reason for a second visit: staff read them on the work order's page; the customer's
tracking page, the service report behind the tracking link and the survey say what happened in
fixed, translated sentences instead.
"""

import io
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from completion.models import CompletionReport
from completion.services import completion_submit
from tests.factories import ChecklistItemFactory, TechnicianFactory
from tests.technicians.helpers import signature_png
from tests.workorders.test_tracking import request_from
from workorders.models import Survey
from workorders.services import workorder_transition

pytestmark = pytest.mark.django_db

# Each note is one distinctive word, so that a page carrying any part of it is caught.
NOTES = {
    "reject": "ZQXREJECTNOTE",
    "assign": "ZQXDISPATCHNOTE",
    "hold": "ZQXHOLDNOTE",
    "checklist": "ZQXCHECKNOTE",
    "second_visit": "ZQXSECONDVISITNOTE",
    "cancel": "ZQXCANCELNOTE",
}


@pytest.fixture
def customer():
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def worked_order(service_type, dispatcher):
    """A request that went through a rejection, a hold and a completion asking for a second visit."""
    wo = request_from(service_type, name="Wang Fang", phone="+8613812345678",
                      description="Air conditioner drips water.", address="88 Century Avenue")
    first, second = TechnicianFactory(), TechnicianFactory()
    start = timezone.now() + timedelta(days=1)

    def fire(action, actor, **kw):
        workorder_transition(work_order_id=wo.pk, action=action, actor=actor, **kw)

    fire("assign", dispatcher, technician_id=first.pk)
    fire("reject", first.user, note=f"Too far away {NOTES['reject']}")
    fire("assign", dispatcher, technician_id=second.pk, appointment_start=start,
         appointment_end=start + timedelta(hours=2), note=f"Call before {NOTES['assign']}")
    fire("accept", second.user)
    fire("depart", second.user)
    fire("arrive", second.user)
    fire("hold", second.user, note=f"Customer's dog is loose {NOTES['hold']}")
    fire("resume", second.user)
    item = ChecklistItemFactory(service_type=service_type, text="Leak test", mandatory=True)
    report, _created = completion_submit(
        work_order_id=wo.pk, actor=second.user, submission_key=uuid.uuid4(), work_done="Replaced the drain pump.",
        labour_minutes=60, signer_name="Wang Fang", signature=signature_png(),
        checklist={item.pk: ("problem", f"Old pipes {NOTES['checklist']}")},
        needs_second_visit=True, second_visit_reason=f"Order a compressor {NOTES['second_visit']}",
    )
    wo.refresh_from_db()
    return wo, report


def _pdf_text(response) -> str:
    assert response.status_code == 200, response
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _leaks(text: str, notes=NOTES) -> list[str]:
    return [name for name, note in notes.items() if note in text]


def test_staff_read_every_note_on_the_work_orders_page(client, manager, worked_order):
    wo, report = worked_order
    client.force_login(manager)

    html = client.get(f"/staff/work-orders/{wo.pk}/").content.decode()
    pdf = _pdf_text(client.get(f"/staff/work-orders/{wo.pk}/report.pdf"))

    assert not set(NOTES) - {"checklist", "second_visit", "cancel"} - set(_leaks(html))
    assert {"checklist", "second_visit"} <= set(_leaks(pdf))


def test_the_tracking_page_tells_the_story_without_any_note(customer, worked_order):
    wo, _report = worked_order

    html = customer.get(f"/track/{wo.public_token}/").content.decode()

    assert "The work was paused." in html and "We are arranging a technician for you." in html
    assert _leaks(html) == []


def test_the_customers_service_report_has_no_notes_for_the_office(customer, worked_order):
    wo, _report = worked_order

    text = _pdf_text(customer.get(f"/track/{wo.public_token}/report.pdf"))

    assert "Replaced the drain pump." in text  # the report itself, which the customer signed
    assert "second visit is needed" in text
    assert _leaks(text) == []


def test_the_second_visits_tracking_page_shows_the_customers_words_not_the_technicians_reason(customer, worked_order):
    wo, report = worked_order
    follow_up = CompletionReport.objects.get(pk=report.pk).follow_up_work_order
    assert NOTES["second_visit"] in follow_up.description  # staff see why the second visit exists

    html = customer.get(f"/track/{follow_up.public_token}/").content.decode()

    assert "Air conditioner drips water." in html
    assert f"A second visit to finish the work of request {wo.number}." in html
    assert _leaks(html) == []


def test_the_survey_page_shows_no_note(customer, worked_order):
    wo, _report = worked_order
    # (The service type asks for no review: the survey went out when the work was completed.)
    survey = Survey.objects.get(work_order=wo)

    html = customer.get(f"/survey/{survey.token}/").content.decode()

    assert "How did we do?" in html
    assert _leaks(html) == []


def test_a_cancellation_reason_stays_with_the_office(customer, client, agent, service_type):
    wo = request_from(service_type, name="Li Lei", phone="+8613900001111", description="Fridge is warm.",
                      address="1 Hidden Lane")
    workorder_transition(work_order_id=wo.pk, action="cancel", actor=agent, note=f"Duplicate {NOTES['cancel']}")
    client.force_login(agent)

    staff_html = client.get(f"/staff/work-orders/{wo.pk}/").content.decode()
    customer_html = customer.get(f"/track/{wo.public_token}/").content.decode()

    assert NOTES["cancel"] in staff_html
    assert "Your request was cancelled." in customer_html
    assert NOTES["cancel"] not in customer_html
