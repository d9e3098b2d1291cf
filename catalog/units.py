"""Units of measure as people read them: a part's unit is stored as a short code (``pcs``, ``kg``)
and shown in the page's language (个, 千克). A code not listed here is shown as typed."""

from django.utils.translation import pgettext_lazy

UNIT_LABELS = {
    "pcs": pgettext_lazy("unit", "pcs"),
    "pc": pgettext_lazy("unit", "pcs"),
    "set": pgettext_lazy("unit", "set"),
    "kg": pgettext_lazy("unit", "kg"),
    "g": pgettext_lazy("unit", "g"),
    "m": pgettext_lazy("unit", "m"),
    "l": pgettext_lazy("unit", "L"),
    "box": pgettext_lazy("unit", "box"),
    "roll": pgettext_lazy("unit", "roll"),
    "h": pgettext_lazy("unit", "h"),
}


def unit_label(code) -> str:
    text = str(code or "")
    label = UNIT_LABELS.get(text.strip().lower())
    return str(label) if label is not None else text


__all__ = ["UNIT_LABELS", "unit_label"]
