"""Test data for the technicians' pages and completion reports: photos, signatures, form posts."""

import base64
import io
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from tests.factories import WorkOrderFactory
from workorders.lifecycle import Status


def jpeg_bytes(size=(1200, 900), *, gps=True, color="steelblue") -> bytes:
    """A JPEG as a phone camera makes it: with camera make, GPS position and capture time in EXIF."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "PhoneModel X"
    if gps:
        exif[0x8825] = {1: "N", 2: (31.0, 14.0, 24.0), 3: "E", 4: (121.0, 28.0, 12.0)}
        exif.get_ifd(0x8769)[36867] = "2026:05:01 10:20:30"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def photo_upload(name="site.jpg", content=None, content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes() if content is None else content, content_type=content_type)


def signature_png(*, blank=False) -> bytes:
    """What the signature canvas produces: a transparent PNG with a stroke on it."""
    image = Image.new("RGBA", (340, 170), (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(image).line([(20, 120), (90, 40), (160, 130), (300, 50)], fill=(17, 17, 17, 255), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def signature_data_url(*, blank=False) -> str:
    return "data:image/png;base64," + base64.b64encode(signature_png(blank=blank)).decode()


def job_for(technician, *, status=Status.IN_PROGRESS, **kwargs):
    """A work order assigned to ``technician`` and already in ``status``."""
    return WorkOrderFactory(technician=technician, status=status, **kwargs)


def completion_post(*, key=None, checklist=None, parts=None, **overrides) -> dict:
    """The fields the completion form posts when everything is filled in."""
    data = {
        "submission_key": str(key or uuid.uuid4()),
        "work_done": "Replaced the drain pump and cleaned the filter.",
        "labour_minutes": "90",
        "signer_name": "王芳",
        "signature": signature_data_url(),
        "latitude": "31.240100",
        "longitude": "121.490100",
        "photo_meta": "[]",
    }
    for item_id, answer in (checklist or {}).items():
        data[f"check_{item_id}"] = answer
    if parts:
        data["part"] = [number for number, _qty in parts]
        data["qty"] = [str(qty) for _number, qty in parts]
    data.update(overrides)
    return data
