from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Part(models.Model):
    """A spare part in the catalog, as a technician picks it for a completion report.

    Reports copy the number, name, unit and price at the time of use, so a later
    price change or a retired part leaves old reports as they were.
    """

    part_number = models.CharField(_("part number"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    unit = models.CharField(_("unit"), max_length=16, default="pcs", help_text=_("For example pcs, m, kg, L."))
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    active = models.BooleanField(_("active"), default=True, help_text=_("Only active parts can be used in reports."))

    class Meta:
        verbose_name = _("part")
        verbose_name_plural = _("parts")
        ordering = ["part_number"]
        constraints = [models.CheckConstraint(condition=Q(unit_price__gte=0), name="part_price_not_negative")]

    def __str__(self):
        return f"{self.part_number} {self.name}"
