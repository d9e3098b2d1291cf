"""Choices shared by several apps' models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Priority(models.IntegerChoices):
    """How urgent a work order is; SLA policies match on it too (higher is more urgent)."""

    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class CustomerTier(models.TextChoices):
    """A customer's service tier; SLA policies match on it too."""

    STANDARD = "standard", _("Standard")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")
    VIP = "vip", _("VIP")


class Weekday(models.IntegerChoices):
    """Days as ``date.weekday()`` numbers them (Monday is 0)."""

    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class LocationPrecision(models.TextChoices):
    """How exact a point is (a site's, a technician's home base). Geocoding writes the first
    five; a dispatcher's pin writes ``manual``; coordinates typed in (import, admin, API) are
    ``exact``."""

    PENDING = "pending", _("not located yet")
    UNKNOWN = "unknown", _("location unknown")
    PROVINCE = "province", _("province centre")
    CITY = "city", _("city centre")
    DISTRICT = "district", _("district centre")
    STREET = "street", _("street")
    EXACT = "exact", _("exact")
    MANUAL = "manual", _("placed by hand")


# Precisions whose point is only near the address (drawn differently on the dispatch board).
APPROXIMATE = frozenset({LocationPrecision.PROVINCE, LocationPrecision.CITY, LocationPrecision.DISTRICT})
# Precisions that geocoding never overwrites.
KEPT = frozenset({LocationPrecision.EXACT, LocationPrecision.MANUAL})
