"""The completion report: each refusal, the replay, photos without EXIF, the second visit."""

import io
import json
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from PIL import Image

from completion.models import CompletionReport
from completion.services import completion_submit
from tests.factories import ChecklistItemFactory, EquipmentFactory, PartFactory
from tests.technicians.helpers import (
    completion_post,
    job_for,
    jpeg_bytes,
    photo_upload,
    signature_png,
)
from workorders.lifecycle import Status
from workorders.models import Attachment, WorkOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(technician):
    return job_for(technician)


@pytest.fixture
def tech_client(client, technician):
    client.force_login(technician.user)
    client.cookies["django_language"] = "en"
    return client


def _submit(tech_client, wo, **kwargs):
    return tech_client.post(reverse("tech:complete", args=[wo.pk]), completion_post(**kwargs))


def _nothing_happened(wo):
    wo.refresh_from_db()
    assert wo.status == Status.IN_PROGRESS
    assert not CompletionReport.objects.filter(work_order=wo).exists()
    assert not wo.events.filter(action="complete").exists()
    assert not Attachment.objects.filter(work_order=wo, kind=Attachment.Kind.SIGNATURE).exists()


# --- refusals ----------------------------------------------------------------


def test_a_photo_that_is_not_an_image_is_refused_by_its_content(tech_client, job):
    response = _submit(tech_client, job, photos=[photo_upload("pump.jpg", b"MZ\x90\x00 not really a photo")])

    assert response.status_code == 400
    assert "pump.jpg is not a JPEG, PNG or WebP image" in response.content.decode()
    _nothing_happened(job)


def test_a_photo_over_the_size_limit_is_refused(tech_client, job, settings):
    settings.PHOTO_MAX_BYTES = 20_000
    noisy = Image.effect_noise((800, 800), 80).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "JPEG", quality=95)
    big = buffer.getvalue()
    assert len(big) > 20_000

    response = _submit(tech_client, job, photos=[photo_upload("huge.jpg", big)])

    assert response.status_code == 400
    assert "huge.jpg is larger than" in response.content.decode()
    _nothing_happened(job)


@pytest.mark.parametrize("signature", ["", "data:image/png;base64,"], ids=["missing", "empty"])
def test_a_report_without_a_signature_is_refused(tech_client, job, signature):
    response = _submit(tech_client, job, signature=signature)

    assert response.status_code == 400
    assert "The customer&#x27;s signature is required." in response.content.decode()
    _nothing_happened(job)


def test_a_blank_signature_canvas_counts_as_no_signature(technician, job):
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput) as refusal:
        completion_submit(work_order_id=job.pk, actor=technician.user, submission_key=uuid.uuid4(),
                          work_done="Fixed.", labour_minutes=30, signer_name="Li", signature=signature_png(blank=True))
    assert "signature" in refusal.value.fields
    _nothing_happened(job)


def test_an_unanswered_mandatory_checklist_item_is_refused_by_name(tech_client, job):
    # Given a checklist with two mandatory items and an optional one
    power = ChecklistItemFactory(service_type=job.service_type, text="Power isolated", mandatory=True)
    ChecklistItemFactory(service_type=job.service_type, text="Drain flushed", mandatory=True)
    ChecklistItemFactory(service_type=job.service_type, text="Filter photo", mandatory=False)

    # When only the first mandatory item is answered (and "not applicable" is not an answer for it)
    response = _submit(tech_client, job, checklist={power.pk: "done"})

    # Then the report is refused, naming the missing item and only that one
    body = response.content.decode()
    assert response.status_code == 400
    assert "Drain flushed" in body.split("mandatory checklist items")[1].split("</p>")[0]
    assert "Power isolated" not in body.split("mandatory checklist items")[1].split("</p>")[0]
    _nothing_happened(job)

    response = _submit(tech_client, job, checklist={power.pk: "na"})
    assert response.status_code == 400
    _nothing_happened(job)


@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "0.001"])
def test_a_part_quantity_must_be_a_positive_amount(tech_client, job, quantity):
    PartFactory(part_number="FLT-1")

    response = _submit(tech_client, job, parts=[("FLT-1", quantity)])

    assert response.status_code == 400
    assert "FLT-1" in response.content.decode()
    _nothing_happened(job)


def test_an_inactive_part_is_refused_and_not_offered(tech_client, job):
    PartFactory(part_number="OLD-9", name="Retired valve", active=False)
    PartFactory(part_number="NEW-1", name="Current valve")

    form = tech_client.get(reverse("tech:complete", args=[job.pk])).content.decode()
    assert "NEW-1" in form and "OLD-9" not in form

    response = _submit(tech_client, job, parts=[("OLD-9", "1")])
    assert response.status_code == 400
    assert "OLD-9 Retired valve is no longer in use" in response.content.decode()
    _nothing_happened(job)


def test_an_unknown_part_is_refused(tech_client, job):
    response = _submit(tech_client, job, parts=[("NOPE-1", "1")])
    assert response.status_code == 400
    _nothing_happened(job)


def test_a_refused_form_keeps_what_was_typed(tech_client, job):
    response = _submit(tech_client, job, signature="", work_done="Cleaned the coil")
    body = response.content.decode()
    assert "Cleaned the coil" in body and "王芳" in body


def test_a_job_not_in_progress_cannot_be_completed(tech_client, technician):
    wo = job_for(technician, status=Status.EN_ROUTE)
    assert tech_client.get(reverse("tech:complete", args=[wo.pk])).status_code == 302
    response = _submit(tech_client, wo)
    assert response.status_code == 409
    assert not CompletionReport.objects.exists()


def test_another_technicians_job_cannot_be_completed(tech_client, other_technician):
    wo = job_for(other_technician)
    response = _submit(tech_client, wo)
    assert response.status_code == 404
    _nothing_happened(wo)


# --- replay ------------------------------------------------------------------


def test_a_double_tap_gives_one_report_and_one_transition(tech_client, job):
    key = uuid.uuid4()
    first = _submit(tech_client, job, key=key)
    second = _submit(tech_client, job, key=key)

    assert first.status_code == second.status_code == 302
    assert CompletionReport.objects.filter(work_order=job).count() == 1
    assert job.events.filter(action="complete").count() == 1
    assert Attachment.objects.filter(work_order=job, kind=Attachment.Kind.SIGNATURE).count() == 1


def test_a_replay_after_the_job_moved_on_returns_the_first_report(technician, job):
    key = uuid.uuid4()
    args = dict(work_order_id=job.pk, actor=technician.user, submission_key=key, work_done="Fixed.",
                labour_minutes=30, signer_name="Li", signature=signature_png())
    report, created = completion_submit(**args)
    again, created_again = completion_submit(**args)
    assert (created, created_again) == (True, False)
    assert again.pk == report.pk


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submissions_give_one_report(technician):
    # Given one job and the same form submitted twice at the same moment (double tap on a slow network)
    wo = job_for(technician)
    key = uuid.uuid4()
    results, errors = [], []
    barrier = threading.Barrier(2)

    def submit():
        try:
            barrier.wait()
            results.append(completion_submit(
                work_order_id=wo.pk, actor=technician.user, submission_key=key, work_done="Fixed.",
                labour_minutes=30, signer_name="Li", signature=signature_png()))
        except Exception as exc:  # collected and shown below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then both get the same report, only one of them made it, and there is one transition
    assert not errors, errors
    assert sorted(created for _report, created in results) == [False, True]
    assert len({report.pk for report, _created in results}) == 1
    assert CompletionReport.objects.count() == 1
    assert wo.events.filter(action="complete").count() == 1


# --- photos, charges, second visit --------------------------------------------


def test_onsite_photos_are_stored_without_exif_but_keep_position_and_time(tech_client, job):
    # Given a camera photo with GPS position, capture time and camera make in its EXIF
    response = _submit(tech_client, job, photos=[photo_upload("site.jpg", jpeg_bytes(size=(3000, 2000)))])
    assert response.status_code == 302

    photo = CompletionReport.objects.get(work_order=job).photos.select_related("attachment").get()
    with photo.attachment.file.open("rb") as handle:
        stored = handle.read()
    with Image.open(io.BytesIO(stored)) as image:
        # Then the stored file carries no EXIF at all and is no larger than 2000 px
        assert not image.getexif()
        assert b"PhoneMaker" not in stored
        assert max(image.size) == 2000
    # ... while the position and time are kept as data
    assert (photo.latitude, photo.longitude) == (Decimal("31.240000"), Decimal("121.470000"))
    assert photo.taken_at.strftime("%Y-%m-%d") == "2026-05-01"
    assert photo.attachment.kind == Attachment.Kind.ONSITE_PHOTO


def test_the_position_and_time_the_page_recorded_win_over_a_resized_photos_missing_exif(tech_client, job):
    meta = json.dumps([{"lat": 30.5, "lng": 114.3, "time": 1767225600000}])  # 2026-01-01T00:00Z
    response = _submit(tech_client, job, photos=[photo_upload("small.jpg", jpeg_bytes(gps=False))],
                       photo_meta=meta)
    assert response.status_code == 302
    photo = CompletionReport.objects.get(work_order=job).photos.get()
    assert (photo.latitude, photo.longitude) == (Decimal("30.500000"), Decimal("114.300000"))
    assert photo.taken_at.year == 2026


def test_the_charges_shown_before_signing_are_the_charges_recorded(tech_client, job, settings):
    # Given a call-out fee of 50, labour at 150 per hour and two parts
    settings.LABOUR_RATE_PER_HOUR = "150.00"
    PartFactory(part_number="A-1", unit_price=Decimal("12.50"))
    PartFactory(part_number="B-2", unit_price=Decimal("3.20"), unit="m")

    form = tech_client.get(reverse("tech:complete", args=[job.pk])).content.decode()
    assert 'data-callout="50.00"' in form and 'data-rate="150.00"' in form
    assert "¥150.00" in form

    _submit(tech_client, job, labour_minutes="40", parts=[("A-1", "2"), ("B-2", "1.5")])

    report = CompletionReport.objects.get(work_order=job)
    assert report.labour_amount == Decimal("100.00")
    assert report.parts_amount == Decimal("29.80")
    assert report.total_amount == Decimal("179.80")


def test_needs_a_second_visit_creates_a_linked_work_order_and_keeps_the_first_ones_history(tech_client, technician):
    # Given a job on a customer's equipment
    equipment = EquipmentFactory()
    wo = job_for(technician, customer=equipment.customer, site=equipment.site, equipment=equipment)
    first_events = list(wo.events.values_list("id", flat=True))

    # When the report says a second visit is needed
    response = _submit(tech_client, wo, needs_second_visit="on", second_visit_reason="Compressor must be ordered")
    assert response.status_code == 302

    # Then the first order is resolved with its history intact, and a new linked order waits for dispatch
    wo.refresh_from_db()
    assert wo.resolved_at is not None
    report = CompletionReport.objects.get(work_order=wo)
    second = report.follow_up_work_order
    assert second.status == Status.NEW
    assert (second.customer, second.site, second.equipment) == (wo.customer, wo.site, wo.equipment)
    assert wo.number in second.description and "Compressor must be ordered" in second.description
    assert second.follow_up_of_report.work_order == wo
    assert set(first_events) <= set(wo.events.values_list("id", flat=True))
    assert wo.events.filter(action="complete").count() == 1
    assert WorkOrder.objects.count() == 2


def test_a_second_visit_needs_a_reason(tech_client, job):
    response = _submit(tech_client, job, needs_second_visit="on", second_visit_reason="")
    assert response.status_code == 400
    _nothing_happened(job)
    assert WorkOrder.objects.count() == 1


def test_the_completion_form_is_translated(client, technician, job):
    client.force_login(technician.user)
    client.cookies["django_language"] = "en"
    english = client.get(reverse("tech:complete", args=[job.pk])).content.decode()
    assert 'lang="en"' in english and "Completion report" in english
    client.cookies["django_language"] = "zh-hans"
    chinese = client.get(reverse("tech:complete", args=[job.pk])).content.decode()
    assert 'lang="zh-hans"' in chinese


def test_a_job_held_for_a_second_visit_opens_the_report_with_second_visit_ticked(tech_client, technician):
    wo = job_for(technician)
    before = tech_client.get(reverse("tech:complete", args=[wo.pk])).content.decode()
    assert 'name="needs_second_visit" value="on">' in before
    tech_client.post(reverse("tech:status", args=[wo.pk]), {"action": "hold", "reason": "second_visit"})
    tech_client.post(reverse("tech:status", args=[wo.pk]), {"action": "resume"})

    form = tech_client.get(reverse("tech:complete", args=[wo.pk])).content.decode()

    assert 'name="needs_second_visit" value="on" checked' in form


def test_a_completion_costs_the_same_queries_with_one_photo_or_three(client, technician):
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (1, 1, 3):  # the first fills this process's caches
        job = job_for(technician)
        client.force_login(technician.user)
        photos = [photo_upload(f"site{i}.jpg", jpeg_bytes(size=(640, 480))) for i in range(n)]
        with CaptureQueriesContext(connection) as queries:
            response = client.post(reverse("tech:complete", args=[job.pk]), completion_post(photos=photos))
        assert response.status_code == 302
        assert CompletionReport.objects.get(work_order=job).photos.count() == n
        counts.append(len(queries))
    assert counts[1] == counts[2]
