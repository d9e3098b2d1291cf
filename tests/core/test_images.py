"""Uploaded images: a huge picture in a small file is refused, and what is stored carries no metadata.

A phone photo's EXIF says where it was taken (the customer's home), with what camera, when. A
customer's photos are stored without it; a technician's photos keep the position and time as
data on their record, and the file served has none of it. The picture is turned the right way
up first (EXIF orientation), since the orientation tag goes with the rest.
"""

import io
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from completion.models import CompletionReport, ReportPhoto
from tests.technicians.helpers import completion_post, job_for, jpeg_bytes
from tests.workorders.test_intake_public import assert_nothing_saved, form_data
from workorders.models import Attachment, WorkOrder

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fresh_rate_limits"),
    # Pillow warns on opening a picture this large, before our own limit refuses it (a line in the log).
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
]

PUBLIC_FORM = "/request/"


def huge_png() -> bytes:
    """144 megapixels of one colour: a file of a few kilobytes that would take ~430 MB to decode."""
    buffer = io.BytesIO()
    Image.new("1", (12_000, 12_000), 1).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def phone_photo(*, orientation=None, size=(60, 30)) -> bytes:
    """A JPEG as a phone saves it: left half red, right half blue, with GPS, camera and time in its EXIF."""
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 24.0), 3: "E", 4: (121.0, 28.0, 12.0)}
    exif.get_ifd(0x8769)[36867] = "2026:05:01 10:20:30"
    if orientation:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def served_image(client, attachment) -> Image.Image:
    response = client.get(reverse("intake:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    image.load()
    return image


# --- too many pixels ----------------------------------------------------------------------


def test_a_small_file_declaring_a_huge_picture_is_refused_on_the_public_form(client, service_type, settings):
    content = huge_png()
    assert len(content) < 100_000  # small in bytes: the byte limit alone lets it through

    response = client.post(PUBLIC_FORM, {**form_data(service_type),
                                         "photos": [SimpleUploadedFile("huge.png", content, "image/png")]})

    assert response.status_code == 400
    assert "huge.png is too large a picture: at most 40 megapixels." in response.content.decode()
    assert_nothing_saved()
    assert stored_files(settings) == []


def test_the_pixel_limit_is_a_setting_and_the_message_is_translated(client, service_type, settings):
    settings.IMAGE_MAX_PIXELS = 1_000  # a 60 x 30 photo has 1,800
    zh = type(client)(HTTP_ACCEPT_LANGUAGE="zh-hans")

    response = zh.post(PUBLIC_FORM, {**form_data(service_type),
                                     "photos": [SimpleUploadedFile("p.jpg", phone_photo(), "image/jpeg")]})

    assert response.status_code == 400
    assert "p.jpg 图片像素过多：最多 0.001 百万像素。" in response.content.decode()
    assert not WorkOrder.objects.exists()


def test_a_huge_picture_is_refused_on_the_completion_form_and_nothing_is_stored(client, technician, settings):
    job = job_for(technician)
    client.force_login(technician.user)
    client.cookies["django_language"] = "en"

    response = client.post(reverse("tech:complete", args=[job.pk]),
                           {**completion_post(), "photos": [SimpleUploadedFile("huge.png", huge_png(), "image/png")]})

    assert response.status_code == 400
    assert "huge.png is too large a picture" in response.content.decode()
    assert not CompletionReport.objects.exists()
    assert stored_files(settings) == []


# --- no metadata in what is stored --------------------------------------------------------


def test_a_customers_photo_is_stored_and_served_without_exif(client, service_type, dispatcher):
    # Given a phone photo with its position and camera in EXIF
    original = phone_photo()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)

    # When the customer sends it with the request
    response = client.post(PUBLIC_FORM, {**form_data(service_type),
                                         "photos": [SimpleUploadedFile("p.jpg", original, "image/jpeg")]})
    assert response.status_code == 302

    # Then staff download a JPEG with no EXIF at all: no position, no camera, no time
    attachment = Attachment.objects.get(kind=Attachment.Kind.CUSTOMER_PHOTO)
    client.force_login(dispatcher)
    image = served_image(client, attachment)
    assert image.format == "JPEG"
    assert not image.getexif()
    assert b"PhoneMaker" not in attachment.file.open("rb").read()
    assert (attachment.width, attachment.height, attachment.size) == (60, 30, attachment.file.size)


def test_a_sideways_phone_photo_is_stored_the_right_way_up(client, service_type, dispatcher):
    # Given a photo saved sideways with "rotate 90° clockwise to view" (EXIF orientation 6)
    content = phone_photo(orientation=6)

    client.post(PUBLIC_FORM, {**form_data(service_type), "photos": [SimpleUploadedFile("p.jpg", content, "image/jpeg")]})

    # Then the stored picture is upright: tall, red (the left of the sensor) now on top
    attachment = Attachment.objects.get()
    client.force_login(dispatcher)
    image = served_image(client, attachment).convert("RGB")
    assert image.size == (30, 60) and (attachment.width, attachment.height) == (30, 60)
    red, blue = image.getpixel((15, 5)), image.getpixel((15, 55))
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0]


def test_a_technicians_photo_keeps_position_and_time_as_data_and_the_file_has_none(client, technician, manager):
    job = job_for(technician)
    client.force_login(technician.user)

    response = client.post(reverse("tech:complete", args=[job.pk]), {
        **completion_post(key=uuid.uuid4()), "photos": [SimpleUploadedFile("site.jpg", jpeg_bytes(), "image/jpeg")],
    })
    assert response.status_code == 302

    photo = ReportPhoto.objects.select_related("attachment").get()
    assert (float(photo.latitude), float(photo.longitude)) == pytest.approx((31.24, 121.47), abs=0.001)
    assert photo.taken_at is not None
    assert timezone.localtime(photo.taken_at).strftime("%Y-%m-%d %H:%M") == "2026-05-01 10:20"
    client.force_login(manager)
    assert not served_image(client, photo.attachment).getexif()


# --- files stored before ------------------------------------------------------------------


def test_the_command_cleans_photos_stored_with_metadata_and_leaves_clean_ones(django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    from tests.factories import WorkOrderFactory

    # Given a photo stored as it came (before uploads were cleaned) and one stored clean
    wo = WorkOrderFactory()
    old = Attachment(work_order=wo, kind=Attachment.Kind.CUSTOMER_PHOTO, content_type="image/jpeg",
                     size=0, original_name="old.jpg")
    old.file.save("upload", ContentFile(phone_photo(orientation=6)), save=False)
    old.save()
    old_path = Path(old.file.path)
    clean = Attachment(work_order=wo, kind=Attachment.Kind.CUSTOMER_PHOTO, content_type="image/png", size=0)
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "PNG")
    clean.file.save("upload", ContentFile(buffer.getvalue()), save=False)
    clean.save()
    clean_name = clean.file.name

    # When the command runs (twice: the second run finds nothing to do)
    out, again = io.StringIO(), io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("attachments_strip_metadata", stdout=out)
    call_command("attachments_strip_metadata", stdout=again)

    # Then the old photo is upright, without EXIF, under a new name; the old file is gone
    old.refresh_from_db()
    with old.file.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
    assert not image.getexif() and image.size == (30, 60)
    assert (old.width, old.height, old.size) == (30, 60, old.file.size)
    assert not old_path.exists()
    clean.refresh_from_db()
    assert clean.file.name == clean_name
    assert "1 cleaned, 1 clean" in out.getvalue()
    assert "0 cleaned, 2 clean" in again.getvalue()
