from django.contrib import admin
from django.db.models import Count, Max
from django.utils.translation import gettext_lazy as _

from .models import MaintenancePlan, MeterReading, PlanVisit


class PlanVisitInline(admin.TabularInline):
    model = PlanVisit
    extra = 0
    fields = ["due_on", "scheduled_on", "meter_at", "work_order"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-due_on"]
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False  # the sweep creates visits (maintenance/services.py)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("work_order")


@admin.register(MaintenancePlan)
class MaintenancePlanAdmin(admin.ModelAdmin):
    list_display = ["name", "customer", "equipment", "contract", "service_type", "schedule", "preferred_technician",
                    "visits_count", "last_due", "active"]
    list_filter = ["active", "unit", "service_type"]
    search_fields = ["name", "customer__name", "customer__phone", "equipment__serial", "contract__number"]
    list_select_related = ["customer", "equipment", "contract", "service_type", "preferred_technician__user"]
    autocomplete_fields = ["equipment", "contract", "service_type", "preferred_technician"]
    readonly_fields = ["customer"]
    fields = ["name", "customer", "equipment", "contract", "service_type", ("unit", "every"), "starts_on",
              "meter_start", "checklist", "preferred_technician", "priority", "active"]
    inlines = [PlanVisitInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_visits=Count("visits"), last_visit=Max("visits__due_on"))

    @admin.display(description=_("schedule"))
    def schedule(self, obj):
        return f"{obj.every} · {obj.get_unit_display()}"

    @admin.display(description=_("visits"), ordering="n_visits")
    def visits_count(self, obj):
        return obj.n_visits

    @admin.display(description=_("last visit due"), ordering="last_visit")
    def last_due(self, obj):
        return obj.last_visit


@admin.register(MeterReading)
class MeterReadingAdmin(admin.ModelAdmin):
    list_display = ["equipment", "value", "read_on", "created_at"]
    search_fields = ["equipment__serial", "equipment__customer__name"]
    list_select_related = ["equipment"]
    autocomplete_fields = ["equipment"]
    date_hierarchy = "read_on"
