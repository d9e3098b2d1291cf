"""Importing and exporting technicians (with skills and levels) and partner companies.

- Partner companies are matched on their name.
- Technicians are matched on ``employee_number`` (``Technician.employee_number``). A new one gets
  a login (``username``, no password: an administrator sets one or the technician resets it)
  in the technician group, or the partner technician group when a partner company is named.
  ``skills`` lists skill codes with levels, ``hvac:3;electrical:2``: the technician's skills
  become exactly these. ``working_hours`` is the weekly pattern, ``mon-fri 09:00-18:00;sat
  09:00-12:00``: it replaces the technician's weekly shifts (shifts on a date, and absences, are
  kept); a file without the column, or an empty cell, leaves them as they are.
- ``home_address`` is where the technician starts the day: geocoded after the import's commit
  (technicians/services.py) into the home point dispatch uses. ``home_latitude`` and
  ``home_longitude``, when given, are that point (kept as exact); empty cells keep the point a
  technician has, unless the address changed (then it is geocoded again).
"""

import re
from datetime import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets
from import_export.instance_loaders import CachedInstanceLoader

from catalog.models import Skill
from core import roles as R
from core.geocoding import in_bounds
from core.imports import (
    Column, LookupWidget, MasterDataResource, PhoneWidget, YesNoWidget, check_coordinates, check_skills,
    column_values,
)

from .models import PartnerCompany, Shift, Technician, TechnicianSkill
from .services import technician_home_changed, technicians_geocode_pending_after_commit


DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_ALIASES = {
    **{name: n for n, name in enumerate(DAY_NAMES)},
    **{name: n for n, name in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])},
    **{f"周{c}": n for n, c in enumerate("一二三四五六日")}, "周天": 6, "星期日": 6, "星期天": 6,
    **{f"星期{c}": n for n, c in enumerate("一二三四五六")},
}
TIME_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def parse_working_hours(text) -> dict[int, list[tuple[time, time]]]:
    """A technician's week, ``mon-fri 09:00-18:00;sat 09:00-12:00`` (Chinese too: ``周一至周五
    09:00-12:00,13:00-18:00；周六 09:00-12:00``), as {weekday: [(start, end)]}; ValueError with a
    sentence. Days not named are days off."""
    week: dict[int, list[tuple[time, time]]] = {}
    normalized = str(text or "")
    for mark, plain in (("；", ";"), ("，", ","), ("、", ","), ("：", ":"), ("至", "-"), ("到", "-"), ("–", "-"),
                        ("—", "-"), ("～", "-"), ("~", "-")):
        normalized = normalized.replace(mark, plain)
    example = _("Write working hours as days and times, for example mon-fri 09:00-18:00;sat 09:00-12:00.")
    for part in filter(None, (p.strip() for p in normalized.split(";"))):
        days_text, _space, times_text = part.partition(" ")
        days = set()
        for item in filter(None, days_text.lower().split(",")):
            first, _dash, last = item.partition("-")
            if first not in DAY_ALIASES or (last and last not in DAY_ALIASES):
                raise ValueError(example)
            start, end = DAY_ALIASES[first], DAY_ALIASES[last or first]
            days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)])
        spans = []
        for item in filter(None, (t.strip() for t in times_text.split(","))):
            match = TIME_SPAN.match(item)
            if not match:
                raise ValueError(example)
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
                raise ValueError(example)
            start, end = time(h1, m1), time(h2, m2)
            if end <= start:
                raise ValueError(_("A working window ends after it starts (%(window)s).") % {"window": item})
            spans.append((start, end))
        if not days or not spans:
            raise ValueError(example)
        for day in days:
            week.setdefault(day, []).extend(spans)
    for day, spans in week.items():
        spans.sort()
        if any(b[0] < a[1] for a, b in zip(spans, spans[1:])):
            raise ValueError(_("Working windows on one day overlap (%(day)s).") % {"day": DAY_NAMES[day]})
    return week


def format_working_hours(week: dict[int, list[tuple[time, time]]]) -> str:
    """The inverse of ``parse_working_hours``: consecutive days with the same windows as a range."""
    parts, day = [], 0
    while day < 7:
        spans = sorted(week.get(day, []))
        last = day
        while last + 1 < 7 and sorted(week.get(last + 1, [])) == spans:
            last += 1
        if spans:
            days = DAY_NAMES[day] if last == day else f"{DAY_NAMES[day]}-{DAY_NAMES[last]}"
            times = ",".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in spans)
            parts.append(f"{days} {times}")
        day = last + 1
    return ";".join(parts)


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
        Column("working_hours", _("working hours")),
        Column("home_address", _("home base address")),
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
    working_hours = fields.Field(column_name="working_hours", readonly=True)
    home_address = fields.Field(attribute="home_address", column_name="home_address", widget=widgets.CharWidget())
    home_latitude = fields.Field(attribute="home_latitude", column_name="home_latitude", widget=widgets.DecimalWidget())
    home_longitude = fields.Field(
        attribute="home_longitude", column_name="home_longitude", widget=widgets.DecimalWidget()
    )
    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget(default=True))

    class Meta(MasterDataResource.Meta):
        model = Technician
        fields = ("employee_number", "username", "name", "phone", "partner_company", "skills", "working_hours",
                  "home_address", "home_latitude", "home_longitude", "active")
        import_id_fields = ("employee_number",)
        instance_loader_class = CachedInstanceLoader
        clean_model_instances = False

    def dehydrate_skills(self, technician):
        if technician.pk is None:
            return ""
        return ";".join(f"{ts.skill.code}:{ts.level}" for ts in technician.skill_levels.select_related("skill"))

    def dehydrate_working_hours(self, technician):
        if technician.pk is None:
            return ""
        return format_working_hours(self._weekly(technician))

    @staticmethod
    def _weekly(technician) -> dict[int, list[tuple[time, time]]]:
        week: dict[int, list[tuple[time, time]]] = {}
        for weekday, start, end in technician.shifts.filter(date__isnull=True, available=True).values_list(
                "weekday", "start", "end"):
            week.setdefault(weekday, []).append((start, end))
        return {day: sorted(spans) for day, spans in week.items()}

    def prepare(self, dataset, **kwargs):
        # The keys as before_import_row will read them (an XLSX number cell 1001.0 is "1001").
        names = column_values(dataset, "partner_company")
        self.fields["partner_company"].widget.found = {p.name: p for p in PartnerCompany.objects.filter(name__in=names)}
        self.skills = {s.code: s for s in Skill.objects.all()}
        usernames = column_values(dataset, "username")
        self.user_of = dict(
            get_user_model().objects.filter(username__in=usernames).values_list("username", "technician__employee_number")
        )
        self.username_line = {}
        numbers = column_values(dataset, "employee_number")
        self.places = {  # technician id -> (home address, latitude, longitude) before the import
            pk: (address, lat, lng) for pk, address, lat, lng in Technician.objects.filter(
                employee_number__in=numbers).values_list("pk", "home_address", "home_latitude", "home_longitude")
        }

    def check_row(self, row, errors, line):
        partner = row.get("partner_company")
        if partner not in (None, "") and str(partner) not in self.fields["partner_company"].widget.found:
            errors["partner_company"] = [_("No partner company is named %(name)s.") % {"name": partner}]
        check_skills(row, errors, self.skills)
        if row.get("working_hours") not in (None, ""):
            try:
                row["_week"] = parse_working_hours(row["working_hours"])
            except ValueError as error:
                errors["working_hours"] = [str(error)]
        username = str(row["username"])
        if username in self.username_line:
            errors["username"] = [_("The same username is already on line %(line)s of this file.")
                                  % {"line": self.username_line[username]}]
        self.username_line.setdefault(username, line)
        if username in self.user_of and self.user_of[username] != str(row["employee_number"]):
            errors["username"] = [_("This username is already taken by another user.")]
        if row.get("home_address") not in (None, ""):
            row["home_address"] = " ".join(str(row["home_address"]).split())
        lat, lng = row.get("home_latitude"), row.get("home_longitude")
        if lat not in (None, "") and lng not in (None, ""):
            # Latitude and longitude given the wrong way round (the region says which is which).
            try:
                a, b = float(lat), float(lng)
            except (TypeError, ValueError):
                pass  # check_coordinates says what is wrong
            else:
                if not in_bounds(a, b) and in_bounds(b, a):
                    row["home_latitude"], row["home_longitude"] = lng, lat
        check_coordinates(row, errors, "home_latitude", "home_longitude")

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        # Empty coordinate cells mean "not given": a technician keeps the home point they have
        # (geocoded from the address, or typed in), so importing the same file again changes nothing.
        if (field.attribute in ("home_latitude", "home_longitude") and instance.pk
                and row.get(field.column_name) in (None, "")):
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if not super().skip_row(instance, original, row, import_validation_errors):
            return False
        # Name, login and skills are not fields of the technician row: compare them too.
        user = instance.user
        current = {ts.skill.code: ts.level for ts in instance.skill_levels.select_related("skill")}
        wanted = row.get("_levels", {}) if "skills" in row else current
        if "_week" in row and self._weekly(instance) != {d: sorted(s) for d, s in row["_week"].items()}:
            return False
        return user.first_name == str(row["name"]) and user.username == str(row["username"]) and current == wanted

    def before_save_instance(self, instance, row, **kwargs):
        before = self.places.get(instance.pk)
        if before is not None:
            address, lat, lng = before
            technician_home_changed(
                technician=instance, address_changed=instance.home_address != address,
                point_changed=(instance.home_latitude, instance.home_longitude) != (lat, lng),
            )
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

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if not kwargs.get("dry_run"):
            technicians_geocode_pending_after_commit()

    def after_save_instance(self, instance, row, **kwargs):
        if "_week" in row:
            instance.shifts.filter(date__isnull=True).delete()
            Shift.objects.bulk_create(
                Shift(technician=instance, weekday=day, start=start, end=end)
                for day, spans in sorted(row["_week"].items()) for start, end in spans
            )
        if "skills" not in row:
            return  # a file without the column leaves the skills as they are
        levels = row.get("_levels", {})
        instance.skill_levels.exclude(skill__code__in=list(levels)).delete()
        for code, level in levels.items():
            TechnicianSkill.objects.update_or_create(technician=instance, skill=self.skills[code], defaults={"level": level})
