"""Formatting for the dashboard: durations, and raw numbers for data-value attributes."""

from decimal import Decimal

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def raw(value) -> str:
    """A number as plain text (no locale, no thousands separators); empty for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return repr(round(value, 3))
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


@register.filter
def duration(seconds) -> str:
    """Seconds as "2 d 3 h", "1 h 05 min" or "35 min" ("—" for none), as the SLA pages write them."""
    if seconds is None:
        return "—"
    minutes = int(round(float(seconds) / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": mins}
    return _("%(m)d min") % {"m": mins}


@register.filter
def dash(value, suffix=""):
    """The value (with a suffix such as %), or "—" when there is nothing to measure."""
    if value is None or value == "":
        return "—"
    return f"{raw(value)}{suffix}"


@register.filter
def get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
