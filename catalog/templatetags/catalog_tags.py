from django import template

from catalog.units import unit_label as _unit_label

register = template.Library()


@register.filter
def unit_label(code):
    """``{{ part.unit|unit_label }}``: the unit in the page's language (catalog/units.py)."""
    return _unit_label(code)
