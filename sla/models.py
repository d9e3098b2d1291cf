"""Service levels in business time: business calendars (working hours, holidays, make-up
working days), SLA policies and the escalation matrices they use.

Nothing here knows a work order: the clock on an order, its target states and the
escalation sweep are ``workorders/sla.py``. The tables keep the names they had in
``workorders`` (issue 13, S4a: the move changed the migration state only).
"""

import datetime

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.choices import Priority, Weekday


class BusinessCalendar(models.Model):
    """When the SLA clock runs: working hours per weekday, holidays and make-up working days."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    always_open = models.BooleanField(
        _("open 24×7"), default=False, help_text=_("The clock always runs; working hours and days are ignored.")
    )
    time_zone = models.CharField(_("time zone"), max_length=40, default="Asia/Shanghai")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "workorders_businesscalendar"
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self):
        return self.name


class WorkingHours(models.Model):
    Weekday = Weekday  # also reachable as <Model>.Weekday

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"), help_text=_("00:00 means midnight at the end of the day."))

    class Meta:
        db_table = "workorders_workinghours"
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["calendar", "weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="working_hours_weekday"),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")) | Q(end=datetime.time(0, 0)), name="working_hours_end_after_start"
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class CalendarDay(models.Model):
    """A day that differs from the usual week: a public holiday, or a make-up working day (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (no work)")
        WORKDAY = "workday", _("Working day")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by hand")
        CN_OFFICIAL = "cn", _("Mainland China official schedule")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=80, blank=True)
    start = models.TimeField(_("from"), null=True, blank=True, help_text=_("Working days only; empty: Monday's hours."))
    end = models.TimeField(_("until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.MANUAL)

    class Meta:
        db_table = "workorders_calendarday"
        verbose_name = _("holiday or working day")
        verbose_name_plural = _("holidays and working days")
        ordering = ["calendar", "date"]
        permissions = [
            ("import_calendarday", _("Can import holidays and working days")),
            ("export_calendarday", _("Can export holidays and working days")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendar_day_once"),
            models.CheckConstraint(
                condition=(Q(start__isnull=True) & Q(end__isnull=True))
                | (
                    Q(start__isnull=False) & Q(end__isnull=False)
                    & (Q(end__gt=F("start")) | Q(end=datetime.time(0, 0)))
                ),
                name="calendar_day_hours",
            ),
        ]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()


class SlaTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    ARRIVAL = "arrival", _("Arrival")
    RESOLUTION = "resolution", _("Resolution")


class EscalationMatrix(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)

    class Meta:
        db_table = "workorders_escalationmatrix"
        verbose_name = _("escalation matrix")
        verbose_name_plural = _("escalation matrices")
        ordering = ["name"]

    def __str__(self):
        return self.name


class EscalationLevel(models.Model):
    """One step of a matrix: at a share of a target's time, whom to tell and what to do."""

    matrix = models.ForeignKey(EscalationMatrix, on_delete=models.CASCADE, related_name="levels")
    name = models.CharField(_("name"), max_length=80, help_text=_("For example: warn the dispatcher."))
    target = models.CharField(
        _("target"), max_length=16, choices=SlaTarget.choices, blank=True, help_text=_("Empty: every target.")
    )
    # xgettext:no-python-format
    percent = models.PositiveSmallIntegerField(_("at % of the target"), help_text=_("75, 100, 150 ..."))
    notify_roles = models.CharField(
        _("notify roles"), max_length=120, blank=True,
        help_text=_("Comma-separated role names, e.g. dispatcher,manager (their users' email)."),
    )
    extra_recipients = models.TextField(
        _("other recipients"), blank=True,
        help_text=_("One per line: an email address, a mobile number (+86...) or a webhook URL."),
    )
    notify_webhook = models.BooleanField(_("post to the group robot"), default=False)
    raise_priority = models.BooleanField(_("raise the priority"), default=False)

    class Meta:
        db_table = "workorders_escalationlevel"
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation levels")
        ordering = ["matrix", "percent", "target"]
        constraints = [
            models.UniqueConstraint(fields=["matrix", "target", "percent"], name="escalation_level_once"),
            models.CheckConstraint(condition=Q(percent__gte=1, percent__lte=1000), name="escalation_level_percent"),
        ]

    def __str__(self):
        return f"{self.percent}% {self.name}"

    @property
    def role_names(self) -> list[str]:
        return [r.strip() for r in self.notify_roles.split(",") if r.strip()]


class SlaPolicy(models.Model):
    """Targets for the work orders it matches (priority, customer tier, service type; empty = any)."""

    name = models.CharField(_("name"), max_length=80)
    active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default policy"), default=False, help_text=_("Used for work orders that no other policy matches.")
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, null=True, blank=True
    )
    customer_tier = models.CharField(_("customer tier"), max_length=16, blank=True)
    service_type = models.ForeignKey(
        "catalog.ServiceType", on_delete=models.CASCADE, null=True, blank=True, related_name="sla_policies",
        verbose_name=_("service type"),
    )
    no_sla = models.BooleanField(_("no SLA"), default=False, help_text=_("Matching work orders have no deadlines."))
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, null=True, blank=True, related_name="policies",
        verbose_name=_("calendar"),
    )
    first_response_minutes = models.PositiveIntegerField(_("first response (business minutes)"), null=True, blank=True)
    arrival_minutes = models.PositiveIntegerField(_("arrival (business minutes)"), null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution (business minutes)"), null=True, blank=True)
    at_risk_percent = models.PositiveSmallIntegerField(
        # xgettext:no-python-format
        _("at risk from (% of the target)"), default=75
    )
    escalation_matrix = models.ForeignKey(
        EscalationMatrix, on_delete=models.PROTECT, null=True, blank=True, related_name="policies",
        verbose_name=_("escalation matrix"),
    )

    class Meta:
        db_table = "workorders_slapolicy"
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="sla_policy_one_default"),
            models.CheckConstraint(condition=Q(no_sla=True) | Q(calendar__isnull=False), name="sla_policy_calendar"),
            models.CheckConstraint(
                condition=Q(at_risk_percent__gte=1, at_risk_percent__lte=99), name="sla_policy_at_risk_percent"
            ),
        ]

    def __str__(self):
        return self.name

    def target_minutes(self, target: str) -> int | None:
        if self.no_sla:
            return None
        return getattr(self, f"{target}_minutes")
