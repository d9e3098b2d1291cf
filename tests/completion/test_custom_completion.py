"""An inspection (issue 22): the technician's phone does not complete it without a before-photo, an
answer to the safety question and all five checklist items; the report keeps the answers, the PDF
shows them and the managers' work-order export has a column for each."""

import csv
import datetime as dt
import io
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from reports.facts import facts_refresh

from catalog.models import ChecklistItem, CustomField
from completion.models import CompletionReport, ReportPhoto
from completion.services import completion_submit
from core.errors import InvalidInput
from tests.factories import ServiceTypeFactory
from tests.technicians.helpers import completion_post, job_for, photo_upload, signature_png
from workorders.lifecycle import Status
from workorders.models import Attachment

pytestmark = pytest.mark.django_db

CHECKS = ["Inspect the distribution box", "Test the residual-current device", "Check the earthing",
          "Check the gas pipes and valves", "Test the smoke alarms"]


@pytest.fixture
def inspection(db):
    st = ServiceTypeFactory(code="inspection", name="Safety inspection")
    for position, text in enumerate(CHECKS):
        ChecklistItem.objects.create(service_type=st, text=text, text_en=text, mandatory=True, position=position)
    CustomField.objects.create(service_type=st, key="building_type", label="Building type",
                               label_en="Building type", kind="choice", stage="intake",
                               choices="home = Home\nshop = Shop", choices_en="home = Home\nshop = Shop")
    CustomField.objects.create(service_type=st, key="before_photo", label="Photo before the inspection",
                               label_en="Photo before the inspection", kind="photo", stage="completion",
                               required=True, position=1)
    CustomField.objects.create(service_type=st, key="hazard_found", label="Safety hazard found",
                               label_en="Safety hazard found", kind="yesno", stage="completion", required=True,
                               position=2)
    return st


@pytest.fixture
def job(technician, inspection):
    return job_for(technician, service_type=inspection, custom={"building_type": "shop"})


def _all_checked(st):
    return {item.pk: "done" for item in ChecklistItem.objects.filter(service_type=st)}


def _submit(technician, job, **kwargs):
    arguments = {"work_order_id": job.pk, "actor": technician.user, "submission_key": uuid.uuid4(),
                 "work_done": "Inspected the whole shop.", "labour_minutes": 60, "signer_name": "王芳",
                 "signature": signature_png(), "checklist": _all_checked(job.service_type),
                 "custom": {"before_photo": photo_upload("before.jpg"), "hazard_found": "no"}}
    arguments.update(kwargs)
    return completion_submit(**arguments)


def _nothing_saved(job):
    job.refresh_from_db()
    assert job.status == Status.IN_PROGRESS
    assert not CompletionReport.objects.exists()
    assert not Attachment.objects.filter(work_order=job).exists()


def test_the_inspection_is_not_completed_without_its_before_photo(technician, job):
    with pytest.raises(InvalidInput) as refused:
        _submit(technician, job, custom={"hazard_found": "no"})
    assert refused.value.fields == {"custom.before_photo": ["Photo before the inspection is required."]}
    _nothing_saved(job)


def test_the_inspection_is_not_completed_until_every_checklist_item_is_answered(technician, job):
    checklist = _all_checked(job.service_type)
    unanswered = list(checklist)[-1]
    checklist[unanswered] = "na"  # "not applicable" does not count for a required item
    with pytest.raises(InvalidInput) as refused:
        _submit(technician, job, checklist=checklist)
    assert "Test the smoke alarms" in refused.value.message
    assert f"check_{unanswered}" in refused.value.fields
    _nothing_saved(job)


def test_a_yes_no_answer_that_is_neither_is_refused_with_the_fields_name(technician, job):
    with pytest.raises(InvalidInput) as refused:
        _submit(technician, job, custom={"before_photo": photo_upload(), "hazard_found": "perhaps"})
    assert refused.value.fields == {"custom.hazard_found": ["Safety hazard found: answer yes or no."]}
    _nothing_saved(job)


def test_a_complete_report_keeps_the_answers_and_the_photo_as_one_of_its_photos(technician, job):
    report, created = _submit(technician, job)

    assert created
    job.refresh_from_db()
    assert job.status in (Status.RESOLVED, Status.FOLLOW_UP)
    photo = ReportPhoto.objects.get(report=report)
    assert report.custom == {"before_photo": photo.attachment_id, "hazard_found": False}
    assert CompletionReport.objects.filter(custom__contains={"hazard_found": False}).get() == report


# --- the technician's phone -----------------------------------------------------------------------


@pytest.fixture
def phone(technician):
    client = Client(headers={"accept-language": "en"})
    client.force_login(technician.user)
    return client


def test_the_phone_asks_for_each_required_answer(phone, job):
    page = phone.get(reverse("tech:complete", args=[job.pk])).content.decode()

    photo_input = page.split('name="custom_before_photo"')[1].split(">")[0]
    assert 'type="file"' in page.split('name="custom_before_photo"')[0].rsplit("<input", 1)[1]
    assert "required" in photo_input and 'capture="environment"' in photo_input
    assert "Photo before the inspection" in page and "Safety hazard found" in page
    for item in ChecklistItem.objects.filter(service_type=job.service_type):
        radio = page.split(f'name="check_{item.pk}"')[1].split(">")[0]
        assert "required" in radio


def test_the_phone_refuses_to_finish_without_the_photo_and_says_which(phone, job):
    data = completion_post(checklist=_all_checked(job.service_type), custom_hazard_found="no")
    response = phone.post(reverse("tech:complete", args=[job.pk]), data)

    assert response.status_code == 400
    assert "Photo before the inspection is required." in response.content.decode()
    _nothing_saved(job)


def test_the_phone_finishes_with_the_photo_and_the_answers(phone, job):
    data = completion_post(checklist=_all_checked(job.service_type), custom_hazard_found="yes",
                           custom_before_photo=photo_upload("before.jpg"))
    response = phone.post(reverse("tech:complete", args=[job.pk]), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    report = CompletionReport.objects.get()
    assert report.custom["hazard_found"] is True
    assert Attachment.objects.filter(pk=report.custom["before_photo"], work_order=job).exists()


# --- the PDF and the export -------------------------------------------------------------------------


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_service_report_shows_the_custom_values(client, manager, technician, job):
    _submit(technician, job, custom={"before_photo": photo_upload(), "hazard_found": "yes"})
    client.force_login(manager)

    text = _pdf_text(client.get(reverse("completion:report-pdf", args=[job.pk])).content)

    assert "Service details" in text
    assert "Building type" in text and "Shop" in text
    assert "Safety hazard found" in text and "Yes" in text
    assert "Photo before the inspection" in text  # the photo's caption


def test_the_work_order_export_has_a_column_per_custom_field(client, manager, technician, job):
    _submit(technician, job, custom={"before_photo": photo_upload(), "hazard_found": "yes"})
    facts_refresh(work_order_ids=[job.pk])  # the reports' rows, as after commit
    client.force_login(manager)
    today = timezone.localdate(job.created_at).isoformat()

    response = client.get(reverse("reports:export", args=["work-orders", "csv"]),
                          {"from": today, "to": today, "service_type": job.service_type_id})

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    head, row = rows[0], rows[1]
    assert head[:3] == ["Work order", "Created", "Status"]
    assert head[-3:] == ["Building type", "Photo before the inspection", "Safety hazard found"]
    job.refresh_from_db()
    assert row[0] == job.number and row[2] == job.get_status_display()
    assert row[-3:] == ["Shop", "Photo attached", "Yes"]


def test_the_job_page_shows_what_intake_asked(phone, job):
    page = phone.get(reverse("tech:job", args=[job.pk])).content.decode()
    assert "<dt>Building type</dt><dd>Shop</dd>" in page


def test_the_work_orders_export_is_refused_for_more_than_92_days(client, manager):
    client.force_login(manager)
    today = timezone.localdate()
    url = reverse("reports:export", args=["work-orders", "csv"])
    long = client.get(url, {"from": (today - dt.timedelta(days=92)).isoformat(), "to": today.isoformat()},
                      HTTP_ACCEPT_LANGUAGE="en")
    assert long.status_code == 400 and "at most 92 days" in long.content.decode()
    short = client.get(url, {"from": (today - dt.timedelta(days=91)).isoformat(), "to": today.isoformat()})
    assert short.status_code == 200
