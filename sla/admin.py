"""Admin for business calendars (with their working hours and days), escalation matrices
(with their levels) and SLA policies, at /admin/sla/."""

from django import forms
from django.contrib import admin, messages
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.choices import CustomerTier
from core.import_admin import MasterDataImportAdmin

from .models import BusinessCalendar, CalendarDay, EscalationLevel, EscalationMatrix, SlaPolicy, WorkingHours
from .resources import CalendarDayResource
from .selectors import calendar_gaps
from .services import calendar_load_official_days


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 1
    ordering = ["-date"]
    fields = ["date", "kind", "name", "start", "end", "source"]
    readonly_fields = ["source"]


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "always_open", "time_zone", "holiday_years"]
    search_fields = ["name", "code"]
    inlines = [WorkingHoursInline, CalendarDayInline]
    actions = ["load_official_holidays"]

    def changelist_view(self, request, extra_context=None):
        # Which years each listed calendar has holidays for (one query for the page), and the
        # years a calendar in use is missing for the coming days (the managers' banner).
        years = {}
        rows = (CalendarDay.objects.filter(kind=CalendarDay.Kind.HOLIDAY).annotate(year=ExtractYear("date"))
                .values_list("calendar_id", "year").distinct())
        for calendar_id, year in rows:
            years.setdefault(calendar_id, set()).add(year)
        self._holiday_years = years
        if request.method == "GET":
            for name, missing in calendar_gaps():
                self.message_user(request, _("“%(calendar)s” has no holidays for %(years)s, which the coming days "
                                             "reach: SLA clocks count those holidays as working days.")
                                  % {"calendar": name, "years": ", ".join(map(str, missing))}, messages.WARNING)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("holidays loaded for"))
    def holiday_years(self, obj):
        if obj.always_open:
            return "—"
        years = sorted(getattr(self, "_holiday_years", {}).get(obj.pk, ()))
        if not years:
            return _("no year")
        # Runs of consecutive years read as ranges: 2004–2026.
        runs, start = [], years[0]
        for previous, year in zip(years, years[1:] + [None]):
            if year != previous + 1:
                runs.append(f"{start}–{previous}" if previous != start else str(start))
                start = year
        return ", ".join(runs)

    @admin.action(description=_("Load the official holidays (Mainland China) into the selected calendars"),
                  permissions=["change"])
    def load_official_holidays(self, request, queryset):
        try:
            import chinese_calendar  # noqa: F401
        except ImportError:
            self.message_user(request, _("The chinese-calendar package is not installed."), messages.ERROR)
            return
        known = sorted({day.year for day in chinese_calendar.holidays})
        for calendar in queryset.filter(always_open=False):
            holidays, workdays = calendar_load_official_days(calendar=calendar)
            self.message_user(request, _("%(calendar)s: %(holidays)s holidays and %(workdays)s make-up working days "
                                         "loaded (the installed schedule covers up to %(last)s).")
                              % {"calendar": calendar, "holidays": holidays, "workdays": workdays,
                                 "last": known[-1] if known else "—"})
        next_year = timezone.localdate().year + 1
        if known and known[-1] < next_year:
            self.message_user(request, _("The installed official schedule has no %(year)s yet: enter or import that "
                                         "year's holidays under “Holidays and working days”.") % {"year": next_year},
                              messages.WARNING)


@admin.register(CalendarDay)
class CalendarDayAdmin(MasterDataImportAdmin):
    """Holidays and make-up working days; the official ones come from `manage.py sla_load_holidays`
    (or the calendar list's action), others by hand or from a CSV/XLSX file."""

    resource_classes = [CalendarDayResource]
    list_display = ["date", "calendar", "kind", "name", "source"]
    list_filter = ["calendar", "kind", "source"]
    list_select_related = ["calendar"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        obj.source = CalendarDay.Source.MANUAL  # changed by hand: a reload of the official days keeps it
        super().save_model(request, obj, form, change)


class EscalationLevelInline(admin.TabularInline):
    model = EscalationLevel
    extra = 1
    fields = ["percent", "target", "name", "notify_roles", "extra_recipients", "notify_webhook", "raise_priority"]


@admin.register(EscalationMatrix)
class EscalationMatrixAdmin(admin.ModelAdmin):
    list_display = ["name"]
    inlines = [EscalationLevelInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name", "active", "is_default", "priority", "customer_tier", "service_type", "no_sla", "calendar",
        "first_response_minutes", "arrival_minutes", "resolution_minutes", "escalation_matrix",
    ]
    list_filter = ["active", "is_default", "no_sla", "priority", "customer_tier"]
    list_select_related = ["service_type", "calendar", "escalation_matrix"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "customer_tier":
            return forms.ChoiceField(
                label=db_field.verbose_name, required=False,
                choices=[("", _("any"))] + list(CustomerTier.choices),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)
