"""The service report PDF: produced with the work order's number and the signer's name, and
downloadable by staff who may see the order and by the customer's tracking link, by no one else."""

import io
import uuid

import pytest
from django.conf import settings
from django.urls import reverse
from pypdf import PdfReader

from completion.services import PhotoUpload, completion_submit
from tests.factories import ChecklistItemFactory, PartFactory
from tests.technicians.helpers import job_for, jpeg_bytes, photo_upload, signature_png
from workorders.models import Attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(technician):
    """A job completed with a checklist, a part, a photo and the customer's signature."""
    wo = job_for(technician)
    item = ChecklistItemFactory(service_type=wo.service_type, text="Leak test", mandatory=True)
    PartFactory(part_number="DP-100", name="排水泵 drain pump", unit_price=180)
    report, _ = completion_submit(
        work_order_id=wo.pk, actor=technician.user, submission_key=uuid.uuid4(), work_done="更换排水泵，测试无渗漏。",
        labour_minutes=60, signer_name="王芳", signature=signature_png(), checklist={item.pk: "done"},
        parts=[("DP-100", "1")], photos=[PhotoUpload(photo_upload("a.jpg", jpeg_bytes()))],
    )
    return wo, report


def _text(response) -> str:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_dispatcher_downloads_the_report_with_number_signer_and_contents(client, dispatcher, reported):
    wo, report = reported
    client.force_login(dispatcher)

    response = client.get(reverse("completion:report-pdf", args=[wo.pk]), {"download": "1"})

    text = _text(response)
    assert wo.number in text
    assert "王芳" in text
    assert settings.COMPANY_NAME in text
    assert "更换排水泵" in text and "DP-100" in text
    assert "¥350.00" in text  # 50 call-out + 120 labour (60 min) + 180 parts
    assert str(report.technician) in text
    assert response["Content-Disposition"].startswith("attachment;")
    assert wo.number in response["Content-Disposition"]


def test_the_pdf_carries_the_photo_and_the_signature_as_images(client, manager, reported):
    wo, _report = reported
    client.force_login(manager)
    content = client.get(reverse("completion:report-pdf", args=[wo.pk])).content
    images = [image for page in PdfReader(io.BytesIO(content)).pages for image in page.images]
    assert len(images) == 2


def test_the_customer_downloads_it_through_the_tracking_link(client, reported):
    wo, _report = reported
    text = _text(client.get(reverse("completion:track-report", args=[wo.public_token])))
    assert wo.number in text and "王芳" in text


def test_the_assigned_technician_may_download_their_own_report(client, technician, reported):
    wo, _report = reported
    client.force_login(technician.user)
    assert wo.number in _text(client.get(reverse("completion:report-pdf", args=[wo.pk])))


def test_no_one_else_gets_the_report(client, other_technician, partner_technician, reported):
    wo, _report = reported
    url = reverse("completion:report-pdf", args=[wo.pk])

    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(other_technician.user)
    assert client.get(url).status_code == 404
    client.force_login(partner_technician.user)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(reverse("completion:track-report", args=["not-the-token"])).status_code == 404


def test_no_report_yet_means_no_pdf(client, dispatcher, technician):
    wo = job_for(technician)
    client.force_login(dispatcher)
    assert client.get(reverse("completion:report-pdf", args=[wo.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("completion:track-report", args=[wo.public_token])).status_code == 404


def test_the_customer_gets_it_in_their_language(client, reported):
    wo, _report = reported
    wo.language = "en"
    wo.save(update_fields=["language"])
    text = _text(client.get(reverse("completion:track-report", args=[wo.public_token])))
    assert "Service report" in text and "Signed by 王芳" in text
    assert Attachment.objects.filter(work_order=wo, kind=Attachment.Kind.SIGNATURE).count() == 1


def test_the_tracking_page_and_the_staff_page_link_to_the_report(client, dispatcher, reported):
    wo, _ = reported
    track = client.get(reverse("intake:track", args=[wo.public_token]))
    assert reverse("completion:track-report", args=[wo.public_token]) in track.content.decode()
    client.force_login(dispatcher)
    detail = client.get(reverse("staff:detail", args=[wo.pk]))
    assert reverse("completion:report-pdf", args=[wo.pk]) in detail.content.decode()


def test_no_report_link_before_completion(client, technician):
    wo = job_for(technician)
    track = client.get(reverse("intake:track", args=[wo.public_token]))
    assert "report.pdf" not in track.content.decode()
