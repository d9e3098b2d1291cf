from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.choices import LocationPrecision, Weekday


class PartnerCompany(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("partner company")
        verbose_name_plural = _("partner companies")
        ordering = ["name"]
        permissions = [
            ("import_partnercompany", _("Can import partner companies")),
            ("export_partnercompany", _("Can export partner companies")),
        ]

    def __str__(self):
        return self.name


class Technician(models.Model):
    Precision = LocationPrecision

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="technician", verbose_name=_("user")
    )
    # The number in the company's staff records: imports match rows on it (technicians/resources.py).
    employee_number = models.CharField(_("employee number"), max_length=40, unique=True, null=True, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    partner_company = models.ForeignKey(
        PartnerCompany,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="technicians",
        verbose_name=_("partner company"),
        help_text=_("Empty for our own staff."),
    )
    # Where the technician starts the day. The address is geocoded after commit
    # (technicians.services.technicians_locate) into the point below, which dispatch uses; a point
    # typed in (import, admin, API) is kept as "exact" and never overwritten by the geocoder.
    home_address = models.CharField(_("home base address"), max_length=255, blank=True, default="", db_default="")
    home_precision = models.CharField(
        _("home base precision"), max_length=10, choices=LocationPrecision.choices,
        default=LocationPrecision.PENDING, db_default=LocationPrecision.PENDING,
    )
    home_latitude = models.DecimalField(_("home base latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    home_longitude = models.DecimalField(
        _("home base longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    last_latitude = models.DecimalField(_("last latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    last_longitude = models.DecimalField(_("last longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    # Whether the technician lets their phone send its position while a job is en route or on site
    # (asked once, on the job page): None not asked yet, True yes, False no.
    location_consent = models.BooleanField(
        _("shares location while on a job"), null=True, blank=True,
        help_text=_("Asked once on the phone; positions are taken only while a job is en route or on site."),
    )
    active = models.BooleanField(_("active"), default=True)
    # What an hour of this technician's time costs the company (wage and overhead, or the partner
    # company's rate); empty: settings.LABOUR_COST_PER_HOUR. Labour and travel cost in the reports.
    hourly_cost = models.DecimalField(
        _("cost per hour"), max_digits=10, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("What an hour of work or travel costs us; empty for the company's standard cost."),
    )
    skills = models.ManyToManyField("catalog.Skill", through="TechnicianSkill", related_name="technicians", blank=True)
    # For integrations (the API): their reference for this row, and its last change (lists sync by it).
    external_ref = models.CharField(
        _("external reference"), max_length=100, null=True, blank=True, unique=True,
        help_text=_("This row's reference in another system (CRM, ERP); unique when set."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("technician")
        verbose_name_plural = _("technicians")
        ordering = ["user__username"]
        permissions = [("import_technician", _("Can import technicians")), ("export_technician", _("Can export technicians"))]
        indexes = [
            # The geocoding sweep (technicians.services.technicians_geocode_pending).
            models.Index(fields=["id"], condition=Q(home_precision="pending"), name="technician_home_pending"),
        ]

    def __str__(self):
        return self.user.get_full_name() or self.user.username

    @property
    def name(self) -> str:
        return str(self)


class TechnicianSkill(models.Model):
    technician = models.ForeignKey(Technician, on_delete=models.CASCADE, related_name="skill_levels")
    skill = models.ForeignKey("catalog.Skill", on_delete=models.PROTECT, related_name="technician_levels")
    level = models.PositiveSmallIntegerField(_("level"), default=1, help_text=_("1 (trainee) to 5 (expert)"))

    class Meta:
        verbose_name = _("technician skill")
        verbose_name_plural = _("technician skills")
        constraints = [
            models.UniqueConstraint(fields=["technician", "skill"], name="technician_skill_once"),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=5), name="technician_skill_level_1_5"),
        ]

    def __str__(self):
        return f"{self.skill} L{self.level}"


class Shift(models.Model):
    """When a technician works: a weekly window (weekday) or a window on one date.

    For a given day, the technician works in the windows of that date's rows
    if there are any (an override: an extra day, a short day), else in the
    windows of that weekday's rows. Rows with ``available`` unticked are
    absences (leave, a doctor's visit): they are taken out of that day's
    windows, and without times they take out the whole day.

    A technician with no rows at all has no schedule and is treated as always
    available (small teams that do not keep rotas).
    """

    Weekday = Weekday  # also reachable as <Model>.Weekday

    technician = models.ForeignKey(
        Technician, on_delete=models.CASCADE, related_name="shifts", verbose_name=_("technician")
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), choices=Weekday.choices, null=True, blank=True, help_text=_("Every week on this day.")
    )
    date = models.DateField(_("date"), null=True, blank=True, help_text=_("Only on this date."))
    start = models.TimeField(_("from"), null=True, blank=True)
    end = models.TimeField(_("until"), null=True, blank=True)
    available = models.BooleanField(
        _("working"), default=True, help_text=_("Untick for an absence on this date (leave, training).")
    )

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["technician", "date", "weekday", "start"]
        indexes = [
            # The dispatch board and the eligibility check read one day's rows per technician.
            models.Index(fields=["technician", "date"], name="shift_technician_date"),
            models.Index(fields=["technician", "weekday"], name="shift_technician_weekday"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(weekday__isnull=False) & Q(date__isnull=True))
                | (Q(weekday__isnull=True) & Q(date__isnull=False)),
                name="shift_weekday_or_date",
            ),
            models.CheckConstraint(
                condition=Q(weekday__isnull=True) | Q(weekday__gte=0, weekday__lte=6), name="shift_weekday_0_6"
            ),
            # A working window has both times; an absence may have none (the whole day).
            models.CheckConstraint(
                condition=(Q(start__isnull=False) & Q(end__isnull=False) & Q(end__gt=models.F("start")))
                | (Q(available=False) & Q(start__isnull=True) & Q(end__isnull=True)),
                name="shift_window_order",
            ),
            # Absences are for one date; the weekly pattern only says when someone works.
            models.CheckConstraint(condition=Q(available=True) | Q(date__isnull=False), name="shift_absence_on_date"),
        ]

    def __str__(self):
        when = self.date.isoformat() if self.date else self.get_weekday_display()
        if self.start is None:
            return f"{when}: {_('absent')}"
        times = f"{self.start:%H:%M}–{self.end:%H:%M}"
        return f"{when} {times}" if self.available else f"{when} {times}: {_('absent')}"


class PartnerScope(models.Model):
    """Work a partner company may be given: a service type, an area (city), or both.

    A work order is in a partner's scope when one row matches it (an empty
    field matches anything). A partner company with no rows may be given any
    work, as before scopes existed.
    """

    partner_company = models.ForeignKey(
        PartnerCompany, on_delete=models.CASCADE, related_name="scopes", verbose_name=_("partner company")
    )
    service_type = models.ForeignKey(
        "catalog.ServiceType",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("service type"),
        help_text=_("Empty: any service type."),
    )
    city = models.CharField(_("area (city)"), max_length=80, blank=True, help_text=_("Empty: any area."))

    class Meta:
        verbose_name = _("partner scope")
        verbose_name_plural = _("partner scopes")
        ordering = ["partner_company", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(service_type__isnull=False) | ~Q(city=""), name="partner_scope_not_empty"
            ),
        ]

    def __str__(self):
        return f"{self.service_type or _('any service')} @ {self.city or _('any area')}"
