"""Importing and exporting holidays and make-up working days (django-import-export), matched on
the calendar's code and the date: a year the official package does not know yet, or a
company's own days off, typed into a spreadsheet and loaded in one go."""

from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets

from core.imports import ChoiceWidget, Column, DateWidget, LookupWidget, MasterDataResource, parse_date

from .models import BusinessCalendar, CalendarDay

KIND_ALIASES = {"休": CalendarDay.Kind.HOLIDAY, "假": CalendarDay.Kind.HOLIDAY, "节假日": CalendarDay.Kind.HOLIDAY,
                "班": CalendarDay.Kind.WORKDAY, "补班": CalendarDay.Kind.WORKDAY, "调休上班": CalendarDay.Kind.WORKDAY}


class CalendarDayResource(MasterDataResource):
    columns = (
        Column("calendar_code", _("calendar code"), required=True),
        Column("date", _("date"), required=True),
        Column("kind", _("kind"), required=True),
        Column("name", _("name")),
        Column("start", _("from")),
        Column("end", _("until")),
    )
    key_columns = ("calendar_code", "date")

    calendar = fields.Field(
        attribute="calendar", column_name="calendar_code", widget=LookupWidget(BusinessCalendar, "code")
    )
    date = fields.Field(attribute="date", column_name="date", widget=DateWidget())
    kind = fields.Field(
        attribute="kind", column_name="kind", widget=ChoiceWidget(CalendarDay.Kind.choices, KIND_ALIASES)
    )
    name = fields.Field(attribute="name", column_name="name", widget=widgets.CharWidget())
    start = fields.Field(attribute="start", column_name="start", widget=widgets.TimeWidget("%H:%M"))
    end = fields.Field(attribute="end", column_name="end", widget=widgets.TimeWidget("%H:%M"))

    class Meta(MasterDataResource.Meta):
        model = CalendarDay
        fields = ("calendar", "date", "kind", "name", "start", "end")
        import_id_fields = ("calendar", "date")
        clean_model_instances = True  # a working day's hours: the model's constraint, as a message

    def prepare(self, dataset, **kwargs):
        codes = {str(c) for c in dataset["calendar_code"] if c not in (None, "")}
        self.fields["calendar"].widget.found = {
            c.code: c for c in BusinessCalendar.objects.filter(code__in=codes)
        }

    def check_row(self, row, errors, line):
        calendar = self.fields["calendar"].widget.found.get(str(row["calendar_code"]))
        if calendar is None:
            errors["calendar_code"] = [_("No business calendar has the code %(code)s.") % {"code": row["calendar_code"]}]
        elif calendar.always_open:
            errors["calendar_code"] = [_("This calendar is open 24×7: it has no holidays.")]
        try:
            row["date"] = parse_date(row.get("date"))  # here, not in the key lookup: a clear error per cell
        except ValueError as exc:
            errors["date"] = [str(exc)]
        for column in ("start", "end"):
            value = row.get(column)
            if value not in (None, "") and hasattr(value, "strftime"):
                row[column] = value.strftime("%H:%M")  # an XLSX time cell

    def before_save_instance(self, instance, row, **kwargs):
        instance.source = CalendarDay.Source.MANUAL
        if instance.kind == CalendarDay.Kind.HOLIDAY:
            instance.start = instance.end = None
