"""What the business offers and uses: service types and the skills they need, skills,
checklist items, spare parts.

The tables keep the names of the apps these models came from (issue 13, S2a).
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Skill(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        db_table = "technicians_skill"
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["name"]
        permissions = [("import_skill", _("Can import skills")), ("export_skill", _("Can export skills"))]

    def __str__(self):
        return self.name


class ServiceType(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    description = models.TextField(_("description"), blank=True)
    default_duration_minutes = models.PositiveIntegerField(_("default duration (minutes)"), default=60)
    callout_fee = models.DecimalField(_("call-out fee"), max_digits=10, decimal_places=2, default=0)
    requires_review = models.BooleanField(
        _("needs a manager's review"), default=False,
        help_text=_("Completion reports are reviewed by a manager before the order moves on (follow-up or closing)."),
    )
    # The flow (docs/architecture.md, "The lifecycle": a flow per service type): the optional steps
    # of this type's orders and who may fire each transition. ``workorders.lifecycle`` derives the
    # type's transitions from its table and these; ``catalog.flows`` refuses a flow that strands orders.
    requires_follow_up = models.BooleanField(
        _("call-back before closing"), default=True,
        help_text=_("Resolved orders go to follow-up (the satisfaction survey, a manager's call-back on a low "
                    "answer) before they close. Off: they close once resolved (and reviewed), with no survey."),
    )
    requires_signature = models.BooleanField(
        _("customer signature required"), default=True, help_text=_("The completion report needs the customer's signature."),
    )
    before_photos_min = models.PositiveSmallIntegerField(
        _("photos before the work"), default=0,
        help_text=_("How many photos the technician takes on arrival, before starting (0: none required)."),
    )
    after_photos_min = models.PositiveSmallIntegerField(
        _("photos after the work"), default=0,
        help_text=_("How many on-site photos the completion report needs (0: none required)."),
    )
    requires_parts_approval = models.BooleanField(
        _("parts approval"), default=False,
        help_text=_("A completion report that records parts used waits for a manager's approval before the "
                    "order moves on (follow-up or closing)."),
    )
    transition_roles = models.JSONField(
        _("roles per transition"), default=dict, blank=True,
        help_text=_("Who may fire each transition, where narrower than the lifecycle's table: action → roles."),
    )
    active = models.BooleanField(_("active"), default=True)
    skills = models.ManyToManyField(Skill, through="ServiceTypeSkill", related_name="service_types", blank=True)
    # For integrations (the API): their reference for this row, and its last change (lists sync by it).
    external_ref = models.CharField(
        _("external reference"), max_length=100, null=True, blank=True, unique=True,
        help_text=_("This row's reference in another system (CRM, ERP); unique when set."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        db_table = "workorders_servicetype"
        verbose_name = _("service type")
        verbose_name_plural = _("service types")
        ordering = ["name"]
        permissions = [
            ("import_servicetype", _("Can import service types")), ("export_servicetype", _("Can export service types")),
        ]
        constraints = [models.CheckConstraint(condition=Q(callout_fee__gte=0), name="service_type_fee_not_negative")]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        from .flows import flow_problems  # (catalog.flows imports this module)

        problems = flow_problems(self)
        if problems:
            raise ValidationError(problems)


class ServiceTypeSkill(models.Model):
    service_type = models.ForeignKey(ServiceType, on_delete=models.CASCADE, related_name="required_skills")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="+")
    min_level = models.PositiveSmallIntegerField(_("minimum level"), default=1)

    class Meta:
        db_table = "workorders_servicetypeskill"
        verbose_name = _("required skill")
        verbose_name_plural = _("required skills")
        constraints = [
            models.UniqueConstraint(fields=["service_type", "skill"], name="service_type_skill_once"),
            models.CheckConstraint(condition=Q(min_level__gte=1, min_level__lte=5), name="service_type_skill_level"),
        ]

    def __str__(self):
        return f"{self.skill} ≥ L{self.min_level}"


class ChecklistItem(models.Model):
    """One step of a service type's checklist (SOP), answered in every completion report."""

    service_type = models.ForeignKey(
        ServiceType, on_delete=models.CASCADE, related_name="checklist_items", verbose_name=_("service type"),
    )
    text = models.CharField(_("item"), max_length=200)
    mandatory = models.BooleanField(_("mandatory"), default=False, help_text=_("A report cannot be sent without it."))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        db_table = "workorders_checklistitem"
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["service_type", "position", "id"]

    def __str__(self):
        return self.text


def parse_options(text: str) -> list[tuple[str, str]]:
    """A choice's options from its text: one per line, ``code = label`` (or a line alone, both)."""
    options = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        code, sep, label = line.partition("=")
        code, label = code.strip(), label.strip()
        options.append((code, label or code) if sep else (line, line))
    return options


class CustomField(models.Model):
    """An extra question a service type asks: at intake (kept on the work order) or at completion
    (kept on the completion report). Values are checked by ``catalog.custom_fields`` and stored
    in the ``custom`` JSON column of the order or the report, under ``key``."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", pgettext_lazy("kind of value", "Number")
        CHOICE = "choice", _("Choice")
        DATE = "date", _("Date")
        PHOTO = "photo", _("Photo")
        YESNO = "yesno", _("Yes / no")

    class Stage(models.TextChoices):
        INTAKE = "intake", _("Intake")
        COMPLETION = "completion", _("Completion")

    service_type = models.ForeignKey(
        ServiceType, on_delete=models.CASCADE, related_name="custom_fields", verbose_name=_("service type"),
    )
    key = models.SlugField(
        _("key"), max_length=40, db_index=False,  # custom_field_key_once serves lookups by key
        help_text=_("The value's name in the API, the stored data and the export; unique per service type."),
    )
    label = models.CharField(_("label"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.TextField(
        _("options"), blank=True,
        help_text=_("For a choice: one option per line, as code = label (for example ok = Normal); the codes "
                    "are the same in both languages."),
    )
    required = models.BooleanField(_("required"), default=False)
    stage = models.CharField(_("asked at"), max_length=10, choices=Stage.choices, default=Stage.INTAKE)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["service_type", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["service_type", "key"], name="custom_field_key_once"),
            models.CheckConstraint(condition=Q(kind__in=["text", "number", "choice", "date", "photo", "yesno"]),
                                   name="custom_field_kind_known"),
            models.CheckConstraint(condition=Q(stage__in=["intake", "completion"]), name="custom_field_stage_known"),
            # A photo is taken on site: intake has the customer's own photos instead.
            models.CheckConstraint(condition=~Q(kind="photo", stage="intake"), name="custom_field_photo_at_completion"),
        ]

    def __str__(self):
        return self.label

    def clean(self):
        if self.kind == self.Kind.PHOTO and self.stage == self.Stage.INTAKE:
            raise ValidationError({"stage": _("A photo is asked at completion (the technician takes it on site).")})
        if self.kind == self.Kind.CHOICE:
            columns = [name for name in ("choices_zh_hans", "choices_en") if getattr(self, name, None)] or ["choices"]
            codes = []
            for name in columns:
                options = parse_options(getattr(self, name, "") or "")
                if not options:
                    raise ValidationError({name: _("A choice needs at least one option.")})
                codes.append([code for code, _label in options])
            if any(c != codes[0] for c in codes[1:]):
                raise ValidationError({columns[-1]: _("The options' codes must be the same in both languages, "
                                                      "in the same order.")})


# Units of length, weight, volume and area: a part sold in one of them takes fractional quantities
# (1.5 m of pipe, 0.8 kg of refrigerant); any other unit (pcs, set, box, 个, 套 ...) counts whole units.
FRACTIONAL_UNITS = frozenset({
    "m", "cm", "mm", "km", "kg", "g", "t", "l", "ml", "m2", "m²", "m3", "m³",
    "米", "厘米", "毫米", "千克", "公斤", "克", "吨", "升", "毫升", "平方米", "立方米",
})


class Part(models.Model):
    """A spare part in the catalog, as a technician picks it for a completion report.

    Reports copy the number, name, unit and price at the time of use, so a later
    price change or a retired part leaves old reports as they were.
    """

    part_number = models.CharField(_("part number"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    unit = models.CharField(_("unit"), max_length=16, default="pcs", help_text=_("For example pcs, m, kg, L."))
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    # What a unit costs the company (purchase price): the parts cost and margin in the reports.
    unit_cost = models.DecimalField(
        _("unit cost"), max_digits=10, decimal_places=2, default=0, db_default=0,
        help_text=_("What one unit costs us to buy; reports show parts cost and margin from it."),
    )
    active = models.BooleanField(_("active"), default=True, help_text=_("Only active parts can be used in reports."))
    serialized = models.BooleanField(
        _("serial-numbered"), default=False, help_text=_("Each unit has a serial number and is tracked one by one."),
    )
    # For integrations (the API): their reference for this row, and its last change (lists sync by it).
    external_ref = models.CharField(
        _("external reference"), max_length=100, null=True, blank=True, unique=True,
        help_text=_("This row's reference in another system (CRM, ERP); unique when set."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        db_table = "inventory_part"
        verbose_name = _("part")
        verbose_name_plural = _("parts")
        permissions = [("import_part", _("Can import parts")), ("export_part", _("Can export parts"))]
        ordering = ["part_number"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="part_price_not_negative"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="part_cost_not_negative"),
        ]

    def __str__(self):
        return f"{self.part_number} {self.name}"

    @property
    def fractional(self) -> bool:
        """Whether quantities may have decimals: by the unit (sold by length, weight, volume or area);
        a serial-numbered part is always counted in whole units."""
        return not self.serialized and (self.unit or "").strip().lower() in FRACTIONAL_UNITS


class ServiceTypePart(models.Model):
    """A part a service type probably needs: reserved when such an order is assigned."""

    service_type = models.ForeignKey(ServiceType, on_delete=models.CASCADE, related_name="parts_needed",
                                     verbose_name=_("service type"))
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="+", verbose_name=_("part"))
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=3, default=1)

    class Meta:
        verbose_name = _("part usually needed")
        verbose_name_plural = _("parts usually needed")
        ordering = ["service_type", "part"]
        constraints = [
            models.UniqueConstraint(fields=["service_type", "part"], name="service_type_part_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="service_type_part_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.part} × {self.quantity}"
