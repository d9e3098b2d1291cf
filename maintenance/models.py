"""Preventive maintenance: plans that create their work orders ahead of time.

A plan names a piece of equipment or a contract (then the contract's equipment, or the customer's
site), a service type, and when it is due: every N days, weeks or months from its first day, or
each time the equipment's meter has run another N units since the last visit. The beat task
``maintenance_plan_sweep`` (services.plans_sweep) writes one ``PlanVisit`` per due date within the
horizon, each with its work order; the unique (plan, due date) makes a visit impossible to create
twice, however many sweeps run.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.choices import Priority


class MaintenancePlan(models.Model):
    class Unit(models.TextChoices):
        DAYS = "days", _("Every N days")
        WEEKS = "weeks", _("Every N weeks")
        MONTHS = "months", _("Every N months")
        METER = "meter", _("Every N meter units")

    name = models.CharField(_("name"), max_length=120)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="maintenance_plans", verbose_name=_("customer"),
        editable=False,  # the equipment's or the contract's customer (clean())
    )
    equipment = models.ForeignKey(
        "customers.Equipment", on_delete=models.CASCADE, null=True, blank=True, related_name="maintenance_plans",
        verbose_name=_("equipment"),
    )
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, null=True, blank=True, related_name="maintenance_plans",
        verbose_name=_("contract"),
        help_text=_("The visits are covered by this contract; give the equipment too, or the visit goes to the "
                    "customer's first site."),
    )
    service_type = models.ForeignKey(
        "catalog.ServiceType", on_delete=models.PROTECT, related_name="+", verbose_name=_("service type"),
    )
    unit = models.CharField(_("due"), max_length=8, choices=Unit.choices, default=Unit.MONTHS)
    every = models.PositiveIntegerField(_("every"), default=3, validators=[MinValueValidator(1)],
                                        help_text=_("How many days, weeks, months or meter units between visits."))
    starts_on = models.DateField(_("first visit"), default=timezone.localdate,
                                 help_text=_("Calendar plans count their visits from this day."))
    meter_start = models.PositiveIntegerField(
        _("meter at the start"), default=0, help_text=_("Meter plans: the reading the first interval counts from."),
    )
    checklist = models.TextField(_("checklist"), blank=True, help_text=_("One step per line; copied into each visit."))
    preferred_technician = models.ForeignKey(
        "technicians.Technician", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("preferred technician"),
    )
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("maintenance plan")
        verbose_name_plural = _("maintenance plans")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["id"], condition=Q(active=True), name="maint_plan_active")]
        constraints = [
            models.CheckConstraint(condition=Q(equipment__isnull=False) | Q(contract__isnull=False),
                                   name="maint_plan_equipment_or_contract"),
            models.CheckConstraint(condition=Q(every__gte=1), name="maint_plan_every_positive"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.equipment_id is None and self.contract_id is None:
            raise ValidationError(_("Choose the equipment or the contract the plan maintains."))
        if self.unit == self.Unit.METER and self.equipment_id is None:
            raise ValidationError({"equipment": _("A meter plan needs the equipment whose meter it reads.")})
        customers = {o.customer_id for o in (self.equipment, self.contract) if o is not None}
        if len(customers) > 1:
            raise ValidationError({"contract": _("The contract and the equipment belong to different customers.")})
        if customers:
            self.customer_id = customers.pop()

    def save(self, *args, **kwargs):
        if self.customer_id is None:
            owner = self.equipment or self.contract
            if owner is not None:
                self.customer_id = owner.customer_id
        super().save(*args, **kwargs)


class PlanVisit(models.Model):
    """One due visit of a plan and the work order created for it.

    ``due_on``: the day the plan's schedule gives (the key: one visit per plan and day);
    ``scheduled_on``: that day moved past holidays and days off of the business calendar.
    """

    plan = models.ForeignKey(MaintenancePlan, on_delete=models.CASCADE, related_name="visits",
                             verbose_name=_("plan"))
    due_on = models.DateField(_("due"))
    scheduled_on = models.DateField(_("scheduled"))
    meter_at = models.PositiveIntegerField(_("meter reading due"), null=True, blank=True)
    work_order = models.OneToOneField(
        "workorders.WorkOrder", on_delete=models.SET_NULL, null=True, blank=True, related_name="plan_visit",
        verbose_name=_("work order"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("planned visit")
        verbose_name_plural = _("planned visits")
        ordering = ["scheduled_on", "id"]
        indexes = [
            # The plan calendar and the compliance rate: visits by day.
            models.Index(fields=["scheduled_on"], name="maint_visit_scheduled"),
        ]
        constraints = [
            # Never the same visit twice: a second sweep's INSERT ... ON CONFLICT DO NOTHING writes nothing.
            models.UniqueConstraint(fields=["plan", "due_on"], name="maint_visit_once"),
        ]

    def __str__(self):
        return f"{self.plan} · {self.scheduled_on}"


class MeterReading(models.Model):
    """A reading of a piece of equipment's meter (hours run, cycles, copies...)."""

    equipment = models.ForeignKey("customers.Equipment", on_delete=models.CASCADE, related_name="meter_readings",
                                  verbose_name=_("equipment"))
    value = models.PositiveIntegerField(_("reading"))
    read_on = models.DateField(_("read on"), default=timezone.localdate)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("meter reading")
        verbose_name_plural = _("meter readings")
        ordering = ["equipment", "-read_on", "-id"]
        indexes = [models.Index(fields=["equipment", "-read_on", "-id"], name="maint_meter_latest")]

    def __str__(self):
        return f"{self.equipment} · {self.value}"
