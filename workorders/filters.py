"""Work-order filters, shared by the staff queue page and the API list."""

import django_filters
from django.utils.translation import gettext_lazy as _

from technicians.models import Technician

from .lifecycle import Status
from .models import ServiceType, WorkOrder, parse_number


class WorkOrderFilter(django_filters.FilterSet):
    # distinct=False: these filter columns of the work order itself (no joins that
    # could repeat rows); a SELECT DISTINCT would defeat the keyset index scan.
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, label=_("Status"), distinct=False)
    priority = django_filters.MultipleChoiceFilter(
        choices=WorkOrder.Priority.choices, label=_("Priority"), distinct=False
    )
    service_type = django_filters.ModelChoiceFilter(queryset=ServiceType.objects.all(), label=_("Service type"))
    technician = django_filters.ModelChoiceFilter(
        queryset=Technician.objects.select_related("user"), label=_("Technician")
    )
    unassigned = django_filters.BooleanFilter(field_name="technician", lookup_expr="isnull", label=_("Unassigned"))
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer id"))
    phone = django_filters.CharFilter(field_name="customer__phone", label=_("Customer phone"))
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label=_("Created from"))
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label=_("Created before"))
    due_after = django_filters.IsoDateTimeFilter(field_name="appointment_end", lookup_expr="gte", label=_("Due from"))
    due_before = django_filters.IsoDateTimeFilter(field_name="appointment_end", lookup_expr="lt", label=_("Due before"))
    number = django_filters.CharFilter(method="filter_number", label=_("Number"))

    class Meta:
        model = WorkOrder
        fields = []

    def filter_number(self, queryset, name, value):
        pk = parse_number(value)
        return queryset.filter(pk=pk) if pk is not None else queryset.none()
