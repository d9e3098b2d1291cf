from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.import_admin import MasterDataImportAdmin

from .models import Contract
from .resources import ContractResource
from .selectors import UNCOUNTED_STATUSES


@admin.register(Contract)
class ContractAdmin(MasterDataImportAdmin):
    resource_classes = [ContractResource]
    list_display = ["number", "customer", "equipment", "starts_on", "ends_on", "visits", "covered_percent",
                    "sla_policy", "active"]
    list_filter = ["active", "ends_on", "sla_policy"]
    search_fields = ["number", "customer__name", "customer__phone", "customer__code", "equipment__serial"]
    list_select_related = ["customer", "equipment", "sla_policy"]
    autocomplete_fields = ["customer", "equipment"]
    filter_horizontal = ["service_types"]
    date_hierarchy = "ends_on"
    show_full_result_count = False

    def get_queryset(self, request):
        from django.db.models import Count, Q

        return super().get_queryset(request).annotate(
            visits_used=Count("work_orders", filter=~Q(work_orders__status__in=UNCOUNTED_STATUSES))
        )

    @admin.display(description=_("visits used"))
    def visits(self, obj):
        if obj.included_visits is None:
            return f"{obj.visits_used} / -"
        return f"{obj.visits_used} / {obj.included_visits}"
