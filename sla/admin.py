"""Admin for business calendars (with their working hours and days), escalation matrices
(with their levels) and SLA policies, at /admin/sla/."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.choices import CustomerTier

from .models import BusinessCalendar, CalendarDay, EscalationLevel, EscalationMatrix, SlaPolicy, WorkingHours


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
    list_display = ["name", "code", "always_open", "time_zone"]
    search_fields = ["name", "code"]
    inlines = [WorkingHoursInline, CalendarDayInline]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Holidays and make-up working days; the official ones come from `manage.py sla_load_holidays`."""

    list_display = ["date", "calendar", "kind", "name", "source"]
    list_filter = ["calendar", "kind", "source"]
    date_hierarchy = "date"


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
