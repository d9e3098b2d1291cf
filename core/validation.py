"""Validation shared by forms, the API and services."""

from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from .errors import InvalidInput

ALLOWED_IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def normalize_phone(raw: str, *, field: str = "phone") -> str:
    """A mobile number in E.164 form (+8613812345678), or InvalidInput naming ``field``."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInput(_("A mobile phone number is required."), fields={field: [_("This field is required.")]})
    if any(char.isalpha() for char in text):
        # phonenumbers would read letters as keypad digits ("138-CALL-NOW"): a typo or a trick, never a number.
        message = _("Enter the phone number in digits; letters are not allowed.")
        raise InvalidInput(message, fields={field: [message]})
    try:
        number = phonenumbers.parse(text, settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        message = _("Enter a valid mobile phone number, for example 138 1234 5678.")
        raise InvalidInput(message, fields={field: [message]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass
class CheckedImage:
    file: object
    content_type: str
    width: int
    height: int
    size: int
    name: str


def check_image(upload, *, field: str = "photos") -> CheckedImage:
    """Accept a JPEG, PNG or WebP by its content (not its name), at most PHOTO_MAX_BYTES."""
    name = getattr(upload, "name", "") or "photo"
    size = getattr(upload, "size", None)
    limit = settings.PHOTO_MAX_BYTES
    if size is None or size > limit:
        message = _("%(name)s is larger than %(mb)d MB.") % {"name": name, "mb": limit // (1024 * 1024)}
        raise InvalidInput(message, fields={field: [message]})
    if size == 0:
        message = _("%(name)s is empty.") % {"name": name}
        raise InvalidInput(message, fields={field: [message]})
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            fmt = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        fmt = None
    if fmt not in ALLOWED_IMAGE_FORMATS:
        message = _("%(name)s is not a JPEG, PNG or WebP image.") % {"name": name}
        raise InvalidInput(message, fields={field: [message]})
    upload.seek(0)
    return CheckedImage(upload, ALLOWED_IMAGE_FORMATS[fmt], width, height, size, name[:200])
