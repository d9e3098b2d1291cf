"""The custom fields of a service type (``CustomField``): checking the values given for them,
and showing stored values to people.

``custom_values_clean`` is the one check the pages (staff intake, the technician's completion
form) and the API (create and PATCH of a work order) go through: a value that does not match its
field's kind, an unknown option or key, or a required field left empty is refused with the
field's label in the request's language, before anything is written.

Values are stored as JSON in the ``custom`` column of the work order (intake) or the completion
report (completion), by key: text and choice codes as strings, numbers as JSON numbers, dates as
``YYYY-MM-DD``, yes/no as true/false, photos as the id of the work order's attachment.
"""

import math
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils import formats
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from core.errors import InvalidInput

from .models import CustomField, parse_options
from .selectors import custom_fields_for

TEXT_MAX = 1000
NUMBER_MAX = Decimal("1e12")
YES = frozenset({"yes", "y", "true", "1", "on", "是", "有"})
NO = frozenset({"no", "n", "false", "0", "off", "否", "无"})
Kind = CustomField.Kind


def field_options(field: CustomField) -> list[tuple[str, str]]:
    """(code, label in the active language) of a choice field."""
    return parse_options(field.choices)


def _all_option_labels(field: CustomField) -> dict[str, str]:
    """Every label of every language (lower case) → its code: an option may be given by its label."""
    labels = {}
    for name in ("choices_zh_hans", "choices_en", "choices"):
        for code, label in parse_options(getattr(field, name, "") or ""):
            labels.setdefault(label.casefold(), code)
    return labels


def field_key(key: str) -> str:
    """The name under which an error about a custom field is reported (API ``fields``, pages)."""
    return f"custom.{key}"


def _is_upload(value) -> bool:
    return hasattr(value, "read") or hasattr(value, "file")


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")


def _clean_one(field: CustomField, value, photo_ids):
    """The value as stored, or raises ValueError with the message (without the label)."""
    kind = field.kind
    if kind == Kind.TEXT:
        if not isinstance(value, str):
            raise ValueError(_("enter text."))
        value = value.strip()
        if len(value) > TEXT_MAX:
            raise ValueError(_("keep it under %(n)d characters.") % {"n": TEXT_MAX})
        if "\x00" in value:
            raise ValueError(_("null characters are not allowed."))
        return value
    if kind == Kind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise ValueError(_("enter a number."))
        text = str(value).strip()
        # A comma only as a thousands separator (1,500): "1,5" (a decimal comma) is refused, not read as 15.
        if "," in text and not _THOUSANDS.match(text):
            raise ValueError(_("enter a number."))
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise ValueError(_("enter a number.")) from None
        if not number.is_finite() or abs(number) >= NUMBER_MAX:
            raise ValueError(_("enter a number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == Kind.CHOICE:
        if not isinstance(value, str):
            raise ValueError(_("choose one of the options."))
        value = value.strip()
        codes = [code for code, _label in field_options(field)]
        if value in codes:
            return value
        code = _all_option_labels(field).get(value.casefold())
        if code is None or code not in codes:
            raise ValueError(_("“%(value)s” is not one of the options (%(options)s).")
                             % {"value": value[:60], "options": ", ".join(codes)})
        return code
    if kind == Kind.DATE:
        if isinstance(value, date):
            return value.isoformat()
        parsed = None
        if isinstance(value, str):
            try:
                parsed = parse_date(value.strip().replace("/", "-"))
            except ValueError:
                parsed = None
        if parsed is None:
            raise ValueError(_("enter a date as YYYY-MM-DD."))
        return parsed.isoformat()
    if kind == Kind.YESNO:
        if isinstance(value, bool):
            return value
        text = str(value).strip().casefold() if isinstance(value, (str, int)) else ""
        if text in YES:
            return True
        if text in NO:
            return False
        raise ValueError(_("answer yes or no."))
    if kind == Kind.PHOTO:
        if _is_upload(value):
            return value  # stored by the caller, which puts the attachment's id in its place
        if isinstance(value, bool) or not isinstance(value, int) or value not in photo_ids:
            raise ValueError(_("attach a photo (the id of one of this work order's photos)."))
        return value
    raise ValueError(_("this field cannot be filled in."))


def custom_values_clean(*, fields, values, existing: dict | None = None, photo_ids=frozenset()) -> dict:
    """The values to store for ``fields`` (the active custom fields of one service type and stage).

    ``values``: key → value as given (text from a page, JSON from the API). ``existing``: what the
    order already holds (a PATCH): ``values`` change only the keys they name, and ``null`` or an
    empty value removes an optional one. ``photo_ids``: the attachments a photo field may name.
    Keys of inactive fields already stored are kept as they are.

    Raises ``InvalidInput`` naming each bad field by its label (and ``custom.<key>`` in
    ``fields``): not a mapping, an unknown key, a value of the wrong kind, an unknown option, a
    required field left empty. Nothing is written here; callers check before they write.
    """
    if values is None:
        values = {}
    if not isinstance(values, dict):
        message = _("Custom fields are given as an object of key: value.")
        raise InvalidInput(message, fields={"custom": [message]})
    by_key = {f.key: f for f in fields}
    errors: dict[str, list[str]] = {}
    unknown = [key for key in values if key not in by_key]
    for key in unknown:
        errors[field_key(str(key))] = [_("%(key)s: no such field for this service type.") % {"key": str(key)[:40]}]
    result = dict(existing or {})
    for key, field in by_key.items():
        given = key in values
        value = values[key] if given else result.get(key)
        if given and _empty(value):
            result.pop(key, None)
            value = None
        if value is None:
            if field.required:
                errors[field_key(key)] = [_("%(field)s is required.") % {"field": field.label}]
            continue
        if not given:
            continue  # stored before, left as it is
        try:
            cleaned = _clean_one(field, value, photo_ids)
        except ValueError as exc:
            errors[field_key(key)] = [_("%(field)s: %(problem)s") % {"field": field.label, "problem": exc}]
            continue
        if isinstance(cleaned, str) and not cleaned:
            result.pop(key, None)
            if field.required:
                errors[field_key(key)] = [_("%(field)s is required.") % {"field": field.label}]
            continue
        result[key] = cleaned
    if errors:
        messages = [message for found in errors.values() for message in found]
        raise InvalidInput(" ".join(messages), fields=errors)
    return result


def intake_values_clean(*, service_type_id: int, values, existing: dict | None = None) -> dict:
    """``custom_values_clean`` for the intake fields of a service type (the work order's ``custom``)."""
    fields = custom_fields_for(service_type_id, CustomField.Stage.INTAKE)
    if not fields and not values:
        return dict(existing or {})
    return custom_values_clean(fields=fields, values=values, existing=existing)


def custom_value_text(field: CustomField | None, value) -> str:
    """A stored value as a person reads it, in the active language."""
    if value is None:
        return ""
    kind = field.kind if field is not None else None
    if kind == Kind.YESNO or isinstance(value, bool):
        return _("Yes") if value else _("No")
    if kind == Kind.CHOICE:
        return dict(field_options(field)).get(value, str(value))
    if kind == Kind.DATE:
        parsed = parse_date(str(value))
        return formats.date_format(parsed, "SHORT_DATE_FORMAT") if parsed else str(value)
    if kind == Kind.PHOTO:
        return _("Photo attached")
    if isinstance(value, float) and math.isfinite(value):
        return formats.number_format(value)
    return str(value)


def custom_value_export(field: CustomField | None, value):
    """A stored value as a spreadsheet cell: numbers stay numbers, dates ``YYYY-MM-DD``, yes/no and
    options in words, a photo as "Photo attached"; nothing: empty."""
    if value is None:
        return None
    kind = field.kind if field is not None else None
    if kind == Kind.NUMBER and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if kind == Kind.DATE:
        return str(value)
    return custom_value_text(field, value)


def custom_values_shown(fields, values) -> list[tuple[str, str]]:
    """(label, text) of the stored ``values``, in the order of ``fields`` (every field of the type,
    active or not); values of keys no field has any more are shown by their key."""
    values = values or {}
    shown, seen = [], set()
    for field in fields:
        if field.key in values:
            shown.append((field.label, custom_value_text(field, values[field.key])))
            seen.add(field.key)
    for key, value in values.items():
        if key not in seen:
            shown.append((key, custom_value_text(None, value)))
    return shown
