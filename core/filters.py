"""Filters the API's lists share: moments with a real time zone's offset, yes/no/any."""

from datetime import UTC, datetime, timedelta

import django_filters
from django.core.exceptions import ValidationError
from django.forms import IntegerField, NullBooleanField, NullBooleanSelect
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField


# Real time zones are between UTC-12:00 and UTC+14:00; ISO 8601 allows offsets up to 23:59,
# PostgreSQL refuses those beyond 15:59 (a 500, before this check).
MAX_UTC_OFFSET = timedelta(hours=14)
# The date-time text the list filters accept, as the API's schemas state it (workorders/api/).
DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"([Zz]|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)?$"
)


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date and time, with an offset of a real time zone (at most 14 hours from
    UTC; none: the site's time zone), converted to UTC before it reaches the database.
    A moment beyond the years 1-9999 once in UTC (``0001-01-01T00:00+08:00``) is taken as
    the first or last moment of that range: no row lies outside it, so a filter selects
    the same rows either way."""

    default_error_messages = {
        "offset": _("Give a time zone offset between -14:00 and +14:00."),
    }

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        if abs(value.utcoffset()) > MAX_UTC_OFFSET:
            raise ValidationError(self.error_messages["offset"], code="offset")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            edge = datetime.min if value.year == 1 else datetime.max
            return edge.replace(tzinfo=UTC)


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class _YesNoAnySelect(NullBooleanSelect):
    """Django's yes/no/any select, which takes any value it does not know for "any"; this one
    hands such a value on to its field, which refuses it (``?unassigned=maybe`` is a 400, not
    every order)."""

    def value_from_datadict(self, data, files, name):
        raw = data.get(name)
        if raw in (None, "", "unknown"):
            return None
        return {"true": True, "false": False}.get(raw, raw)


class YesNoAnyField(NullBooleanField):
    """true, false, or (empty, ``unknown``) any; another value is refused."""

    widget = _YesNoAnySelect
    default_error_messages = {"invalid": _("Give true or false.")}

    def to_python(self, value):
        if isinstance(value, str):  # not one the select knows
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value


class YesNoAnyFilter(django_filters.BooleanFilter):
    field_class = YesNoAnyField


class IdFilter(django_filters.NumberFilter):
    """A row's id: a whole number (``NumberFilter`` takes any decimal, such as 0.5)."""

    field_class = IntegerField


EXTERNAL_REF_MAX = 100  # the longest external reference (each model's external_ref)
