from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PartnerCompany(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("partner company")
        verbose_name_plural = _("partner companies")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Skill(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Technician(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="technician", verbose_name=_("user")
    )
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
    home_latitude = models.DecimalField(_("home base latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    home_longitude = models.DecimalField(
        _("home base longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    last_latitude = models.DecimalField(_("last latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    last_longitude = models.DecimalField(_("last longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    skills = models.ManyToManyField(Skill, through="TechnicianSkill", related_name="technicians", blank=True)

    class Meta:
        verbose_name = _("technician")
        verbose_name_plural = _("technicians")
        ordering = ["user__username"]

    def __str__(self):
        return self.user.get_full_name() or self.user.username

    @property
    def name(self) -> str:
        return str(self)


class TechnicianSkill(models.Model):
    technician = models.ForeignKey(Technician, on_delete=models.CASCADE, related_name="skill_levels")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="technician_levels")
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
