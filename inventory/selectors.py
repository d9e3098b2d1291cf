"""Reads of the parts catalog."""

from django.db.models import QuerySet

from catalog.models import Part


def part_active_list() -> QuerySet:
    """The parts a technician may pick, by part number."""
    return Part.objects.filter(active=True).order_by("part_number")
