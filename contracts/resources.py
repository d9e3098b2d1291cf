"""Importing and exporting service contracts (django-import-export; the shared checks are
core/imports.py's).

Rows are matched on ``contract_number``, so importing the same file twice changes nothing. A row
names its customer by ``customer_code``, optionally one piece of their equipment by
``equipment_serial``, the covered service types by their codes (``repair,maintenance``; empty:
every type) and the SLA policy by its name (empty: the customer's tier decides).
"""

from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets
from import_export.instance_loaders import CachedInstanceLoader

from catalog.models import ServiceType
from core.imports import Column, DateWidget, LookupWidget, MasterDataResource, YesNoWidget, parse_date
from customers.models import Customer, Equipment
from sla.models import SlaPolicy

from .models import Contract


def _codes(text) -> list[str]:
    normalized = str(text or "")
    for mark in ("；", "，", "、", ";"):
        normalized = normalized.replace(mark, ",")
    return [code.strip() for code in normalized.split(",") if code.strip()]


class ServiceTypesWidget(widgets.ManyToManyWidget):
    """Service types by their codes, separated by commas (or ， ； 、); resolved once per file."""

    def __init__(self):
        super().__init__(ServiceType, separator=",", field="code")
        self.found = {}

    def clean(self, value, row=None, **kwargs):
        return [self.found[code] for code in _codes(value) if code in self.found]

    def render(self, value, obj=None, **kwargs):
        return ",".join(sorted(t.code for t in value.all())) if value is not None else ""


class ContractResource(MasterDataResource):
    columns = (
        Column("contract_number", _("contract number"), required=True),
        Column("customer_code", _("customer code"), required=True),
        Column("equipment_serial", _("serial number")),
        Column("starts_on", _("first day"), required=True),
        Column("ends_on", _("last day"), required=True),
        Column("service_types", _("covered service types")),
        Column("sla_policy", _("SLA policy")),
        Column("included_visits", _("included visits")),
        Column("covered_percent", _("covered share of the price (%)")),
        Column("active", _("active")),
        Column("notes", _("notes")),
    )
    key_columns = ("contract_number",)

    number = fields.Field(attribute="number", column_name="contract_number", widget=widgets.CharWidget())
    customer = fields.Field(attribute="customer", column_name="customer_code", widget=LookupWidget(Customer, "code"))
    equipment = fields.Field(
        attribute="equipment", column_name="equipment_serial", widget=LookupWidget(Equipment, "serial")
    )
    starts_on = fields.Field(attribute="starts_on", column_name="starts_on", widget=DateWidget())
    ends_on = fields.Field(attribute="ends_on", column_name="ends_on", widget=DateWidget())
    service_types = fields.Field(attribute="service_types", column_name="service_types", widget=ServiceTypesWidget())
    sla_policy = fields.Field(attribute="sla_policy", column_name="sla_policy", widget=LookupWidget(SlaPolicy, "name"))
    included_visits = fields.Field(
        attribute="included_visits", column_name="included_visits", widget=widgets.IntegerWidget()
    )
    covered_percent = fields.Field(
        attribute="covered_percent", column_name="covered_percent", widget=widgets.IntegerWidget(), default=100
    )
    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget(default=True))
    notes = fields.Field(attribute="notes", column_name="notes", widget=widgets.CharWidget())

    class Meta(MasterDataResource.Meta):
        model = Contract
        fields = ("number", "customer", "equipment", "starts_on", "ends_on", "service_types", "sla_policy",
                  "included_visits", "covered_percent", "active", "notes")
        import_id_fields = ("number",)
        instance_loader_class = CachedInstanceLoader
        # Many-to-many service types are saved row by row (the library's bulk mode skips them).
        use_bulk = False
        clean_model_instances = False

    def prepare(self, dataset, **kwargs):
        codes = {str(c) for c in dataset["customer_code"] if c not in (None, "")}
        self.fields["customer"].widget.found = {c.code: c for c in Customer.objects.filter(code__in=codes)}
        serials = {str(s) for s in dataset["equipment_serial"] if s not in (None, "")} if (
            "equipment_serial" in dataset.headers) else set()
        self.fields["equipment"].widget.found = {
            e.serial: e for e in Equipment.objects.filter(serial__in=serials).select_related("customer")
        }
        self.fields["service_types"].widget.found = {t.code: t for t in ServiceType.objects.all()}
        policies, self.ambiguous_policies = {}, set()
        for policy in SlaPolicy.objects.all():
            if policy.name in policies:
                self.ambiguous_policies.add(policy.name)
            policies[policy.name] = policy
        self.fields["sla_policy"].widget.found = policies

    def check_row(self, row, errors, line):
        code = str(row["customer_code"])
        customer = self.fields["customer"].widget.found.get(code)
        if customer is None:
            errors["customer_code"] = [_("No customer has the code %(code)s.") % {"code": code}]
        serial = row.get("equipment_serial")
        if serial not in (None, ""):
            piece = self.fields["equipment"].widget.found.get(str(serial))
            if piece is None:
                errors["equipment_serial"] = [_("No equipment has the serial number %(serial)s.") % {"serial": serial}]
            elif customer is not None and piece.customer_id != customer.pk:
                errors["equipment_serial"] = [_("This equipment belongs to another customer.")]
        unknown = [c for c in _codes(row.get("service_types")) if c not in self.fields["service_types"].widget.found]
        if unknown:
            errors["service_types"] = [_("Unknown service type codes: %(codes)s.") % {"codes": ", ".join(unknown)}]
        policy = row.get("sla_policy")
        if policy not in (None, ""):
            if str(policy) not in self.fields["sla_policy"].widget.found:
                errors["sla_policy"] = [_("No SLA policy is named %(name)s.") % {"name": policy}]
            elif str(policy) in self.ambiguous_policies:
                errors["sla_policy"] = [_("Several SLA policies are named %(name)s.") % {"name": policy}]
        days = {}
        for column in ("starts_on", "ends_on"):
            try:
                days[column] = parse_date(row.get(column))
            except ValueError as error:
                errors[column] = [str(error)]
        if days.get("starts_on") and days.get("ends_on") and days["ends_on"] < days["starts_on"]:
            errors["ends_on"] = [_("The last day cannot be before the first day.")]
        for column, low, high in (("included_visits", 0, 100000), ("covered_percent", 1, 100)):
            value = row.get(column)
            if value in (None, ""):
                continue
            try:
                number = int(str(value).strip())
            except ValueError:
                errors[column] = [_("Enter a whole number.")]
                continue
            if not low <= number <= high:
                errors[column] = [_("Between %(low)d and %(high)d.") % {"low": low, "high": high}]
