"""Validation shared by forms, the API and services (images: core/images.py)."""

from decimal import Decimal, InvalidOperation

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _

from .errors import InvalidInput


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


def position_check(latitude, longitude) -> tuple[Decimal | None, Decimal | None]:
    """A latitude and longitude as decimals with six places, (None, None) when neither is given,
    or InvalidInput naming ``position`` when only one is given or either is out of range."""
    if latitude is None and longitude is None:
        return None, None
    try:
        lat, lng = Decimal(str(latitude)), Decimal(str(longitude))
    except (InvalidOperation, ValueError, TypeError):
        lat = lng = None
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        message = _("The position is not a valid latitude and longitude.")
        raise InvalidInput(message, fields={"position": [message]})
    return lat.quantize(Decimal("0.000001")), lng.quantize(Decimal("0.000001"))
