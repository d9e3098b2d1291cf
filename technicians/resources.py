"""Importing and exporting technicians (with skills and levels) and partner companies.

- Partner companies are matched on their name.
- Technicians are matched on ``employee_number`` (``Technician.employee_number``). A new one gets
  a login (``username``, no password: an administrator sets one or the technician resets it)
  in the technician group, or the partner technician group when a partner company is named.
  ``skills`` lists skill codes with levels, ``hvac:3;electrical:2``: the technician's skills
  become exactly these. Working hours (shifts) are not imported.
"""


from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets
from import_export.instance_loaders import CachedInstanceLoader

from catalog.models import Skill
from core import roles as R
from core.imports import (
    Column, LookupWidget, MasterDataResource, PhoneWidget, YesNoWidget, check_coordinates, parse_skills,
)

from .models import PartnerCompany, Technician, TechnicianSkill


class PartnerCompanyResource(MasterDataResource):
    columns = (
        Column("name", _("name"), required=True),
        Column("contact_phone", _("contact phone")),
        Column("active", _("active")),
    )
    key_columns = ("name",)

    name = fields.Field(attribute="name", column_name="name", widget=widgets.CharWidget())
    contact_phone = fields.Field(attribute="contact_phone", column_name="contact_phone", widget=PhoneWidget(blank=True))
    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget(default=True))

    class Meta(MasterDataResource.Meta):
        model = PartnerCompany
        fields = ("name", "contact_phone", "active")
        import_id_fields = ("name",)
        instance_loader_class = CachedInstanceLoader
        clean_model_instances = False


class TechnicianResource(MasterDataResource):
    columns = (
        Column("employee_number", _("employee number"), required=True),
        Column("username", _("username"), required=True),
        Column("name", _("name"), required=True),
        Column("phone", _("mobile phone"), required=True),
        Column("partner_company", _("partner company")),
        Column("skills", _("skills")),
        Column("home_latitude", _("home base latitude")),
        Column("home_longitude", _("home base longitude")),
        Column("active", _("active")),
    )
    key_columns = ("employee_number",)

    employee_number = fields.Field(attribute="employee_number", column_name="employee_number", widget=widgets.CharWidget())
    username = fields.Field(attribute="user__username", column_name="username", readonly=True)
    name = fields.Field(attribute="user__first_name", column_name="name", readonly=True)
    phone = fields.Field(attribute="phone", column_name="phone", widget=PhoneWidget())
    partner_company = fields.Field(
        attribute="partner_company", column_name="partner_company", widget=LookupWidget(PartnerCompany, "name")
    )
    skills = fields.Field(column_name="skills", readonly=True)
    home_latitude = fields.Field(attribute="home_latitude", column_name="home_latitude", widget=widgets.DecimalWidget())
    home_longitude = fields.Field(
        attribute="home_longitude", column_name="home_longitude", widget=widgets.DecimalWidget()
    )
    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget(default=True))

    class Meta(MasterDataResource.Meta):
        model = Technician
        fields = ("employee_number", "username", "name", "phone", "partner_company", "skills",
                  "home_latitude", "home_longitude", "active")
        import_id_fields = ("employee_number",)
        instance_loader_class = CachedInstanceLoader
        clean_model_instances = False

    def dehydrate_skills(self, technician):
        if technician.pk is None:
            return ""
        return ";".join(f"{ts.skill.code}:{ts.level}" for ts in technician.skill_levels.select_related("skill"))

    def prepare(self, dataset, **kwargs):
        names = {str(n) for n in dataset["partner_company"] if n not in (None, "")} if "partner_company" in dataset.headers else set()
        self.fields["partner_company"].widget.found = {p.name: p for p in PartnerCompany.objects.filter(name__in=names)}
        self.skills = {s.code: s for s in Skill.objects.all()}
        usernames = [str(u) for u in dataset["username"] if u not in (None, "")]
        self.user_of = dict(
            get_user_model().objects.filter(username__in=usernames).values_list("username", "technician__employee_number")
        )
        self.username_line = {}

    def check_row(self, row, errors, line):
        partner = row.get("partner_company")
        if partner not in (None, "") and str(partner) not in self.fields["partner_company"].widget.found:
            errors["partner_company"] = [_("No partner company is named %(name)s.") % {"name": partner}]
        try:
            levels = parse_skills(row.get("skills"))
        except ValueError as error:
            errors["skills"] = [str(error)]
        else:
            unknown = sorted(code for code in levels if code not in self.skills)
            if unknown:
                errors["skills"] = [_("Unknown skill codes: %(codes)s.") % {"codes": ", ".join(unknown)}]
            row["_levels"] = levels
        username = str(row["username"])
        if username in self.username_line:
            errors["username"] = [_("The same username is already on line %(line)s of this file.")
                                  % {"line": self.username_line[username]}]
        self.username_line.setdefault(username, line)
        if username in self.user_of and self.user_of[username] != str(row["employee_number"]):
            errors["username"] = [_("This username is already taken by another user.")]
        check_coordinates(row, errors, "home_latitude", "home_longitude")

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if not super().skip_row(instance, original, row, import_validation_errors):
            return False
        # Name, login and skills are not fields of the technician row: compare them too.
        user = instance.user
        current = {ts.skill.code: ts.level for ts in instance.skill_levels.select_related("skill")}
        wanted = row.get("_levels", {}) if "skills" in row else current
        return user.first_name == str(row["name"]) and user.username == str(row["username"]) and current == wanted

    def before_save_instance(self, instance, row, **kwargs):
        user_model = get_user_model()
        if instance.user_id is None:
            user = user_model(username=str(row["username"]), first_name=str(row["name"]))
            user.set_unusable_password()
            user.save()
            role = R.PARTNER_TECHNICIAN if instance.partner_company_id else R.TECHNICIAN
            user.groups.add(Group.objects.get_or_create(name=role)[0])
            instance.user = user
        elif (instance.user.first_name, instance.user.username) != (str(row["name"]), str(row["username"])):
            instance.user.first_name, instance.user.username = str(row["name"]), str(row["username"])
            instance.user.save(update_fields=["first_name", "username"])

    def after_save_instance(self, instance, row, **kwargs):
        if "skills" not in row:
            return  # a file without the column leaves the skills as they are
        levels = row.get("_levels", {})
        instance.skill_levels.exclude(skill__code__in=list(levels)).delete()
        for code, level in levels.items():
            TechnicianSkill.objects.update_or_create(technician=instance, skill=self.skills[code], defaults={"level": level})
