"""Service contracts: what a customer (or one piece of their equipment) has paid for in advance.

A contract covers the orders of its customer - or only those for its piece of equipment -
whose service type it lists (none listed: every type), created between its first and last
day, up to its included visits (none: any number). A covered order is priced at
``covered_percent`` off (100: free) and runs on the contract's SLA policy when it names one.
Which contract covered an order is decided when the order is created and kept on it
(``WorkOrder.contract`` and its ``coverage_*`` fields), so later edits change no order.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Contract(models.Model):
    number = models.CharField(_("contract number"), max_length=40, unique=True,
                              help_text=_("As printed on the contract, e.g. C-2026-014."))
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="contracts", verbose_name=_("customer"),
        db_index=False,  # contract_customer_period serves lookups by customer
    )
    equipment = models.ForeignKey(
        "customers.Equipment", on_delete=models.PROTECT, null=True, blank=True, related_name="contracts",
        verbose_name=_("equipment"),
        help_text=_("Leave empty to cover every order of the customer; set to cover only this equipment."),
    )
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    service_types = models.ManyToManyField(
        "catalog.ServiceType", blank=True, related_name="+", verbose_name=_("covered service types"),
        help_text=_("Leave empty to cover every service type."),
    )
    sla_policy = models.ForeignKey(
        "sla.SlaPolicy", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("SLA policy"),
        help_text=_("Covered orders run on this policy instead of the one for the customer's tier."),
    )
    included_visits = models.PositiveIntegerField(
        _("included visits"), null=True, blank=True,
        help_text=_("Visits covered in the contract's period; leave empty for no limit."),
    )
    covered_percent = models.PositiveSmallIntegerField(
        _("covered share of the price (%)"), default=100,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("100: covered work costs the customer nothing; 20: it costs 20 percent less."),
    )
    active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("service contract")
        verbose_name_plural = _("service contracts")
        ordering = ["-ends_on", "number"]
        permissions = [("import_contract", _("Can import service contracts")),
                       ("export_contract", _("Can export service contracts"))]
        indexes = [
            # Coverage at intake (contracts.selectors.coverage_for): a customer's contracts running today.
            models.Index(fields=["customer", "ends_on"], name="contract_customer_period",
                         condition=Q(active=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="contract_ends_after_start"),
            models.CheckConstraint(condition=Q(covered_percent__gte=1, covered_percent__lte=100),
                                   name="contract_covered_percent_range"),
        ]

    def __str__(self):
        return self.number

    def clean(self):
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("The last day cannot be before the first day.")})
        if self.equipment_id and self.customer_id and self.equipment.customer_id != self.customer_id:
            raise ValidationError({"equipment": _("This equipment belongs to another customer.")})

    def runs_on(self, day) -> bool:
        return self.active and self.starts_on <= day <= self.ends_on
