"""Importing and exporting the parts list, skills and service types (django-import-export), matched on
the part number and the codes."""

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets
from import_export.instance_loaders import CachedInstanceLoader

from core.imports import (
    Column,
    MasterDataResource,
    YesNoWidget,
    check_skills,
    check_translated,
    column_values,
    translated_columns,
)

from .flows import flow_problems
from .models import Part, ServiceType, ServiceTypeSkill, Skill

# Names (and service types' descriptions) in both languages: name_zh_hans and name_en columns; a
# file with one mixed "name" column ("空调维修 Air conditioner repair") is split (core/imports.py).
NAME_COLUMNS = translated_columns("name", _("name"), _("name (Chinese)"), _("name (English)"))


def check_code(row, errors, column):
    """A code is a slug: letters, digits, hyphens and underscores (it appears in URLs and files)."""
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", str(row.get(column) or "")):
        errors[column] = [_("Use letters, digits, hyphens and underscores only.")]


def check_money(row, errors, column):
    """An amount in yuan (``1,200.50``, ``¥35``): 0 or more, two decimals at most; stored back as text."""
    try:
        amount = Decimal(str(row[column]).replace(",", "").replace("¥", "").replace("￥", "").strip())
    except InvalidOperation:
        errors[column] = [_("Enter a number.")]
        return
    if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000") or amount != amount.quantize(Decimal("0.01")):
        errors[column] = [_("Enter a price of 0 or more with at most two decimals.")]
    else:
        row[column] = str(amount)


class PartResource(MasterDataResource):
    columns = (
        Column("part_number", _("part number"), required=True),
        *NAME_COLUMNS,
        Column("unit", _("unit")),
        Column("unit_price", _("unit price"), required=True),
        Column("unit_cost", _("unit cost")),
        Column("active", _("active")),
    )
    key_columns = ("part_number",)
    costs: dict = {}  # part number → unit cost on file, read by prepare()

    part_number = fields.Field(attribute="part_number", column_name="part_number", widget=widgets.CharWidget())
    name_zh_hans = fields.Field(attribute="name_zh_hans", column_name="name_zh_hans", widget=widgets.CharWidget())
    name_en = fields.Field(attribute="name_en", column_name="name_en", widget=widgets.CharWidget())
    unit = fields.Field(attribute="unit", column_name="unit", widget=widgets.CharWidget(), default="pcs")
    unit_price = fields.Field(attribute="unit_price", column_name="unit_price", widget=widgets.DecimalWidget())
    unit_cost = fields.Field(attribute="unit_cost", column_name="unit_cost", widget=widgets.DecimalWidget())
    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget(default=True))

    class Meta(MasterDataResource.Meta):
        model = Part
        fields = ("part_number", "name_zh_hans", "name_en", "unit", "unit_price", "unit_cost", "active")
        import_id_fields = ("part_number",)
        instance_loader_class = CachedInstanceLoader
        use_bulk = True
        batch_size = 1000
        clean_model_instances = False  # checked in check_row

    def check_row(self, row, errors, line):
        if row.get("unit") in (None, ""):
            row["unit"] = "pcs"
        check_translated(row, errors, "name", max_length=Part._meta.get_field("name").max_length)
        check_money(row, errors, "unit_price")
        if "unit_cost" in row:  # a file without the column leaves the costs on file as they are
            if row["unit_cost"] in (None, ""):  # and so does an empty cell (0 for a new part)
                row["unit_cost"] = str(self.costs.get(str(row.get("part_number") or "").strip(), "0"))
            check_money(row, errors, "unit_cost")

    def prepare(self, dataset, **kwargs):
        numbers = column_values(dataset, "part_number")
        self.costs = dict(Part.objects.filter(part_number__in=numbers).values_list("part_number", "unit_cost"))


class SkillResource(MasterDataResource):
    """Skills, matched on their code (``aircon``), named as technicians and service types cite them."""

    columns = (
        Column("code", _("code"), required=True),
        *NAME_COLUMNS,
    )
    key_columns = ("code",)

    code = fields.Field(attribute="code", column_name="code", widget=widgets.CharWidget())
    name_zh_hans = fields.Field(attribute="name_zh_hans", column_name="name_zh_hans", widget=widgets.CharWidget())
    name_en = fields.Field(attribute="name_en", column_name="name_en", widget=widgets.CharWidget())

    class Meta(MasterDataResource.Meta):
        model = Skill
        fields = ("code", "name_zh_hans", "name_en")
        import_id_fields = ("code",)
        instance_loader_class = CachedInstanceLoader
        clean_model_instances = False

    def check_row(self, row, errors, line):
        check_code(row, errors, "code")
        check_translated(row, errors, "name", max_length=Skill._meta.get_field("name").max_length)


class PhotoCountWidget(widgets.IntegerWidget):
    """How many photos a step asks for: a whole number from 0 (empty is 0)."""

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        if text == "":
            return 0
        try:
            number = int(float(text))  # a spreadsheet's 2.0
        except ValueError:
            number = -1
        if number < 0 or number != float(text):
            raise ValueError(gettext("Enter a whole number from 0."))
        return number


class TransitionRolesWidget(widgets.Widget):
    """Who may fire a transition where the type narrows the lifecycle's roles:
    ``close:manager,system;assign:dispatcher`` (empty: the lifecycle's roles for every transition)."""

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        roles = {}
        for part in filter(None, (p.strip() for p in text.split(";"))):
            action, colon, names = part.partition(":")
            if not colon or not action.strip():
                raise ValueError(gettext("Write each transition as action:role,role and separate them with ;."))
            roles[action.strip()] = sorted({n.strip() for n in names.split(",") if n.strip()})
        return roles

    def render(self, value, obj=None, **kwargs):
        return ";".join(f"{action}:{','.join(names)}" for action, names in sorted((value or {}).items()))


class ServiceTypeResource(MasterDataResource):
    """Service types, matched on their code, with the skills and levels they need
    (``aircon:2;electrical:1``: a file with the column replaces the list, one without keeps it)."""

    columns = (
        Column("code", _("code"), required=True),
        *NAME_COLUMNS,
        *translated_columns("description", _("description"), _("description (Chinese)"), _("description (English)")),
        Column("default_duration_minutes", _("default duration (minutes)")),
        Column("callout_fee", _("call-out fee")),
        Column("requires_review", _("needs a manager's review")),
        # The rest of the type's flow (catalog/flows.py): checked as a whole on import, as in admin.
        Column("requires_follow_up", _("call-back before closing")),
        Column("requires_signature", _("customer signature required")),
        Column("before_photos_min", _("photos before the work")),
        Column("after_photos_min", _("photos after the work")),
        Column("requires_parts_approval", _("parts approval")),
        Column("transition_roles", _("roles per transition")),
        Column("skills", _("skills")),
        Column("active", _("active")),
    )
    key_columns = ("code",)

    code = fields.Field(attribute="code", column_name="code", widget=widgets.CharWidget())
    name_zh_hans = fields.Field(attribute="name_zh_hans", column_name="name_zh_hans", widget=widgets.CharWidget())
    name_en = fields.Field(attribute="name_en", column_name="name_en", widget=widgets.CharWidget())
    description_zh_hans = fields.Field(attribute="description_zh_hans", column_name="description_zh_hans",
                                       widget=widgets.CharWidget())
    description_en = fields.Field(attribute="description_en", column_name="description_en", widget=widgets.CharWidget())
    default_duration_minutes = fields.Field(
        attribute="default_duration_minutes", column_name="default_duration_minutes", widget=widgets.IntegerWidget(),
        default=60,
    )
    callout_fee = fields.Field(attribute="callout_fee", column_name="callout_fee", widget=widgets.DecimalWidget(),
                               default=Decimal("0"))
    requires_review = fields.Field(attribute="requires_review", column_name="requires_review",
                                   widget=YesNoWidget(default=False))
    requires_follow_up = fields.Field(attribute="requires_follow_up", column_name="requires_follow_up",
                                      widget=YesNoWidget(default=True))
    requires_signature = fields.Field(attribute="requires_signature", column_name="requires_signature",
                                      widget=YesNoWidget(default=True))
    before_photos_min = fields.Field(attribute="before_photos_min", column_name="before_photos_min",
                                     widget=PhotoCountWidget(), default=0)
    after_photos_min = fields.Field(attribute="after_photos_min", column_name="after_photos_min",
                                    widget=PhotoCountWidget(), default=0)
    requires_parts_approval = fields.Field(attribute="requires_parts_approval", column_name="requires_parts_approval",
                                           widget=YesNoWidget(default=False))
    transition_roles = fields.Field(attribute="transition_roles", column_name="transition_roles",
                                    widget=TransitionRolesWidget(), default=dict)
    skills = fields.Field(column_name="skills", readonly=True)
    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget(default=True))

    class Meta(MasterDataResource.Meta):
        model = ServiceType
        fields = ("code", "name_zh_hans", "name_en", "description_zh_hans", "description_en", "default_duration_minutes",
                  "callout_fee", "requires_review", "requires_follow_up", "requires_signature", "before_photos_min",
                  "after_photos_min", "requires_parts_approval", "transition_roles", "skills", "active")
        import_id_fields = ("code",)
        instance_loader_class = CachedInstanceLoader
        clean_model_instances = False

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        super().validate_instance(instance, import_validation_errors, validate_unique)
        # A flow that would strand orders is refused here as in admin and the API, row by row,
        # with the same sentences (catalog/flows.py); the file's other rows are not written either.
        problems = flow_problems(instance)
        if problems:
            raise ValidationError({"transition_roles": problems})

    def dehydrate_skills(self, service_type):
        if service_type.pk is None:
            return ""
        return ";".join(f"{r.skill.code}:{r.min_level}" for r in service_type.required_skills.select_related("skill"))

    def prepare(self, dataset, **kwargs):
        self.skills = {s.code: s for s in Skill.objects.all()}

    def check_row(self, row, errors, line):
        check_code(row, errors, "code")
        check_translated(row, errors, "name", max_length=ServiceType._meta.get_field("name").max_length)
        check_translated(row, errors, "description", required=False)
        minutes = row.get("default_duration_minutes")
        if minutes not in (None, ""):
            try:
                number = int(str(minutes).strip())
            except ValueError:
                number = 0
            if not 1 <= number <= 24 * 60:
                errors["default_duration_minutes"] = [_("Enter whole minutes from 1 to 1440.")]
        if row.get("callout_fee") not in (None, ""):
            check_money(row, errors, "callout_fee")
        check_skills(row, errors, self.skills)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if not super().skip_row(instance, original, row, import_validation_errors):
            return False
        if "skills" not in row or instance.pk is None:
            return True
        current = {r.skill.code: r.min_level for r in instance.required_skills.select_related("skill")}
        return current == row.get("_levels", {})

    def after_save_instance(self, instance, row, **kwargs):
        if "skills" not in row:
            return  # a file without the column leaves the required skills as they are
        levels = row.get("_levels", {})
        instance.required_skills.exclude(skill__code__in=list(levels)).delete()
        for code, level in levels.items():
            ServiceTypeSkill.objects.update_or_create(
                service_type=instance, skill=self.skills[code], defaults={"min_level": level}
            )
