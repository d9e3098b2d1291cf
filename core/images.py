"""Uploaded images: checked by their content, then stored as a fresh copy without metadata.

Every image that is stored (a customer's photos on the request form, a technician's on-site
photos, the customer's signature) goes through ``clean_image``:

1. ``check_image``: a JPEG, PNG or WebP by its content (not its name), at most
   ``PHOTO_MAX_BYTES`` bytes and ``IMAGE_MAX_PIXELS`` pixels. The pixels are read from the
   file's header before anything is decoded: a small file can declare an enormous picture
   (a 17 KB PNG of 144 megapixels needs ~430 MB to decode), so the size in bytes says nothing.
2. The EXIF position and capture time are read (a technician's photo keeps them as data on
   its record), the EXIF orientation is applied to the pixels, the picture is scaled down to
   ``max_side``, and a new file is written from the pixels alone: no EXIF (GPS, camera, owner),
   no XMP, no comments. Only the colour profile is kept, so colours look the same.
"""

import io
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InvalidInput

ALLOWED_IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Stored photos are at most this many pixels on their longer side (a phone page already
# resizes; this covers uploads that skipped it).
PHOTO_MAX_SIDE = 2000

_EXIF_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_EXIF_DATETIME_ORIGINAL = 36867
_EXIF_DATETIME = 306


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, fields={field: [message]})


@dataclass
class CheckedImage:
    file: object
    content_type: str
    width: int
    height: int
    size: int
    name: str


def _too_many_pixels(name: str, field: str) -> InvalidInput:
    megapixels = settings.IMAGE_MAX_PIXELS / 1_000_000
    return _invalid(
        field,
        _("%(name)s is too large a picture: at most %(mp)s megapixels.") % {"name": name, "mp": f"{megapixels:g}"},
    )


def check_image(upload, *, field: str = "photos") -> CheckedImage:
    """Accept a JPEG, PNG or WebP by its content (not its name), at most PHOTO_MAX_BYTES bytes and
    IMAGE_MAX_PIXELS pixels; otherwise InvalidInput naming ``field``."""
    name = (getattr(upload, "name", "") or "photo")[:200]
    size = getattr(upload, "size", None)
    limit = settings.PHOTO_MAX_BYTES
    if size is None or size > limit:
        raise _invalid(field, _("%(name)s is larger than %(mb)d MB.") % {"name": name, "mb": limit // (1024 * 1024)})
    if size == 0:
        raise _invalid(field, _("%(name)s is empty.") % {"name": name})
    try:
        upload.seek(0)
        # Opening reads the header only; the pixel count is checked before anything is decoded.
        with Image.open(upload) as image:
            fmt = image.format
            width, height = image.size
            if width * height > settings.IMAGE_MAX_PIXELS:
                raise _too_many_pixels(name, field)
            image.verify()
    except Image.DecompressionBombError:  # Pillow's own ceiling, should IMAGE_MAX_PIXELS be set above it
        raise _too_many_pixels(name, field) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        fmt = None
    if fmt not in ALLOWED_IMAGE_FORMATS:
        raise _invalid(field, _("%(name)s is not a JPEG, PNG or WebP image.") % {"name": name})
    upload.seek(0)
    return CheckedImage(upload, ALLOWED_IMAGE_FORMATS[fmt], width, height, size, name)


@dataclass
class CleanImage:
    """An image ready to store: re-encoded from its pixels, with what its EXIF said kept as data."""

    content: ContentFile
    content_type: str
    width: int
    height: int
    name: str
    latitude: Decimal | float | None = None
    longitude: Decimal | float | None = None
    taken_at: datetime | None = None

    @property
    def size(self) -> int:
        return self.content.size


def _ratio(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        num, den = value
        return float(num) / float(den)


def exif_position_time(exif) -> tuple:
    """(latitude, longitude, taken_at) from a photo's EXIF block, where it has them."""
    lat = lng = taken = None
    try:
        gps = exif.get_ifd(_EXIF_GPS_IFD)
        if gps and 2 in gps and 4 in gps:
            lat = sum(_ratio(v) / 60**i for i, v in enumerate(gps[2]))
            lng = sum(_ratio(v) / 60**i for i, v in enumerate(gps[4]))
            if str(gps.get(1, "N")).upper().startswith("S"):
                lat = -lat
            if str(gps.get(3, "E")).upper().startswith("W"):
                lng = -lng
    except Exception:  # a malformed GPS block is ignored, not fatal
        lat = lng = None
    try:
        raw = exif.get_ifd(_EXIF_IFD).get(_EXIF_DATETIME_ORIGINAL) or exif.get(_EXIF_DATETIME)
        if raw:
            taken = timezone.make_aware(datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S"))
    except Exception:
        taken = None
    return lat, lng, taken


def clean_image(upload, *, field: str = "photos", as_png: bool = False, max_side: int = PHOTO_MAX_SIDE) -> CleanImage:
    """Check an image (``check_image``), then make the copy to store: EXIF orientation applied,
    at most ``max_side`` pixels on its longer side, no metadata. PNG when ``as_png``, else its own format."""
    checked = check_image(upload, field=field)
    upload.seek(0)
    try:
        with Image.open(upload) as original:
            fmt = original.format
            lat, lng, taken = exif_position_time(original.getexif())
            icc_profile = original.info.get("icc_profile")
            scale = max_side / max(original.size)
            if fmt == "JPEG" and scale < 1:
                # Decode a large JPEG straight at a reduced scale (the decoder's own 1/2, 1/4, 1/8),
                # no smaller than the result: less memory and time than decoding every pixel.
                original.draft(None, (math.ceil(original.width * scale), math.ceil(original.height * scale)))
            image = ImageOps.exif_transpose(original)
            image.thumbnail((max_side, max_side))
            out_format = "PNG" if as_png else fmt
            if out_format == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            # A new image from the pixels alone: no EXIF, no XMP, no comments.
            clean = Image.new(image.mode, image.size)
            clean.paste(image)
            if image.mode == "P":
                clean.putpalette(image.getpalette())
                if "transparency" in image.info:
                    clean.info["transparency"] = image.info["transparency"]
            options = {"quality": 85, "optimize": True} if out_format == "JPEG" else {}
            if icc_profile and out_format in ("JPEG", "PNG", "WEBP"):
                options["icc_profile"] = icc_profile
            buffer = io.BytesIO()
            clean.save(buffer, out_format, **options)
    except Image.DecompressionBombError:
        raise _too_many_pixels(checked.name, field) from None
    except (OSError, ValueError, SyntaxError):
        raise _invalid(field, _("%(name)s could not be read as an image.") % {"name": checked.name}) from None
    return CleanImage(
        content=ContentFile(buffer.getvalue(), name="upload"),
        content_type=ALLOWED_IMAGE_FORMATS[out_format],
        width=clean.width,
        height=clean.height,
        name=checked.name,
        latitude=lat,
        longitude=lng,
        taken_at=taken,
    )
