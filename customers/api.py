"""REST API for customers, their sites and their equipment: /api/v1/customers/, /api/v1/sites/,
/api/v1/equipment/ - list, create, read and change (PATCH from a version: ``If-Match`` or the
body's ``version``; a stale one is 412 with the current version).

Thin, as the work orders' (workorders/api/): parse, call a selector or a service, render.
Who sees what is ``selectors.customer_scope``; who may change what, ``services``. A row the caller
may not see answers 404, as one that does not exist.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from core.api import PhoneField, TextField
from core.filters import IdFilter
from core.permissions import may
from core.rows import (
    NEVER,
    Body,
    RowViewSet,
    SyncFields,
    SyncFilter,
    patch_of,
    query_param,
    ref_field,
    rows_schema,
)

from .models import Customer, Equipment, Site
from .selectors import (
    CUSTOMER_INTERNAL_FIELDS,
    customers_visible_to,
    equipment_visible_to,
    sites_visible_to,
)
from .services import (
    customer_create,
    customer_update,
    equipment_create,
    equipment_update,
    site_create,
    site_update,
)

# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]  # the work orders' choice set (one enum)


_INTERNAL = " Internal: left out for technicians, partner technicians and clients restricted to a partner company."


class CustomerSerializer(SyncFields):
    """A customer; with ``context["internals"]`` false, without ``CUSTOMER_INTERNAL_FIELDS``."""

    id = serializers.IntegerField()
    code = serializers.CharField(allow_null=True, required=False,
                                 help_text="The customer's number in your company's records." + _INTERNAL)
    name = serializers.CharField()
    phone = serializers.CharField(help_text="Mobile number in E.164 form, e.g. +8613812345678.")
    email = serializers.EmailField(allow_blank=True)
    tier = serializers.ChoiceField(choices=Customer.Tier.choices, required=False,
                                   help_text="Service tier (it chooses the SLA)." + _INTERNAL)
    language = serializers.ChoiceField(choices=LANGUAGE_CODES)
    notes = serializers.CharField(allow_blank=True, required=False, help_text="The office's notes." + _INTERNAL)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("internals", True):
            for name in CUSTOMER_INTERNAL_FIELDS:
                data.pop(name, None)
        return data


class SiteSerializer(SyncFields):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id", help_text="Customer id.")
    label = serializers.CharField(allow_blank=True)
    address = serializers.CharField()
    city = serializers.CharField(allow_blank=True)
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    location_precision = serializers.ChoiceField(
        choices=Site.Precision.choices,
        help_text="How exact the point is: `pending` until it is located (after a new address or point).",
    )


class EquipmentSerializer(SyncFields):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id", help_text="Customer id.")
    site = serializers.IntegerField(source="site_id", allow_null=True, help_text="Site id (the customer's), or null.")
    serial = serializers.CharField()
    brand = serializers.CharField(allow_blank=True)
    model = serializers.CharField()
    install_date = serializers.DateField(allow_null=True)
    warranty_end = serializers.DateField(allow_null=True)
    active = serializers.BooleanField(help_text="False: retired; no new work order can name it.")


# --------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------

_FIXED = gettext_lazy("Read-only here: a row stays with the customer it was created for.")


class CustomerCreateSerializer(Body):
    """A customer's details; a change (PATCH) sends only those to change."""

    read_only_fields = {name: NEVER for name in ("id", "created_at", "updated_at")}

    name = TextField(max_length=120)
    phone = PhoneField(max_length=40, help_text="Mobile number (a valid number of `PHONE_REGION`, any common "
                       "form); kept in E.164. One another customer has is a conflict (409).")
    code = TextField(max_length=40, required=False, allow_null=True, allow_blank=True,
                     help_text="The customer's number in your company's records (blank or null: none); unique.")
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    tier = serializers.ChoiceField(choices=Customer.Tier.choices, required=False)
    language = serializers.ChoiceField(choices=LANGUAGE_CODES, required=False,
                                       help_text="The language of the messages the customer gets.")
    notes = TextField(max_length=4000, required=False, allow_blank=True)
    external_ref = ref_field()


class SiteCreateSerializer(Body):
    """A site of a customer."""

    read_only_fields = {name: NEVER for name in ("id", "created_at", "updated_at", "location_precision")}

    customer = serializers.IntegerField(min_value=1, help_text="Id of a customer you may change.")
    label = TextField(max_length=80, required=False, allow_blank=True, help_text="A name for it, e.g. `Head office`.")
    address = TextField(max_length=255)
    city = TextField(max_length=80, required=False, allow_blank=True)
    latitude = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90,
                                      help_text="Give both `latitude` and `longitude`, or neither (then the "
                                      "address is located).")
    longitude = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180,
                                       help_text="See `latitude`.")
    external_ref = ref_field()


class EquipmentCreateSerializer(Body):
    """A piece of a customer's equipment."""

    read_only_fields = {name: NEVER for name in ("id", "created_at", "updated_at")}

    customer = serializers.IntegerField(min_value=1, help_text="Id of a customer you may change.")
    site = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                    help_text="Id of one of the customer's sites, or null.")
    serial = TextField(max_length=64, help_text="Unique: one other equipment has is a conflict (409).")
    brand = TextField(max_length=64, required=False, allow_blank=True)
    model = TextField(max_length=64)
    install_date = serializers.DateField(required=False, allow_null=True)
    warranty_end = serializers.DateField(required=False, allow_null=True,
                                         help_text="Not before `install_date`.")
    active = serializers.BooleanField(required=False, help_text="False: retired; no new work order can name it.")
    external_ref = ref_field()


CustomerPatchSerializer = patch_of(CustomerCreateSerializer, "CustomerPatchSerializer", {})
SitePatchSerializer = patch_of(SiteCreateSerializer, "SitePatchSerializer", {"customer": _FIXED})
EquipmentPatchSerializer = patch_of(EquipmentCreateSerializer, "EquipmentPatchSerializer", {"customer": _FIXED})


# --------------------------------------------------------------------------
# Lists: filters, sorts, pages
# --------------------------------------------------------------------------


class CustomerFilter(SyncFilter):
    class Meta:
        model = Customer
        fields = []


class SiteFilter(SyncFilter):
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))

    class Meta:
        model = Site
        fields = []


class EquipmentFilter(SyncFilter):
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))
    site = IdFilter(field_name="site_id", label=_("Site id"))

    class Meta:
        model = Equipment
        fields = []


CUSTOMER_PARAM = query_param("customer", {"type": "integer"}, "Customer id.")
SITE_PARAM = query_param("site", {"type": "integer"}, "Site id.")


# --------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------


@extend_schema(tags=["customers"])
@rows_schema(
    "customer", "customers", CustomerSerializer, CustomerCreateSerializer, CustomerPatchSerializer,
    create_text="For agents, dispatchers, managers and unrestricted API clients. The phone number, the "
    "customer code and the external reference are each unique (409 when taken).",
    patch_text="For agents, dispatchers, managers and API clients (a client restricted to a customer: that "
    "one, and not its `phone`, `email`, `tier`, `code` or `notes`: 403 `office_owned` naming them).",
    create_example={"name": "Li Wei", "phone": "138 1234 5678", "email": "li.wei@example.com",
                    "external_ref": "ERP-C-10042"},
    patch_example={"tier": "gold", "external_ref": "ERP-C-10042"},
    conflict="phone number, customer code, external reference",
)
class CustomerViewSet(RowViewSet):
    queryset = Customer.objects.none()  # for introspection; get_queryset scopes by user
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    create_serializer, patch_serializer = CustomerCreateSerializer, CustomerPatchSerializer
    not_found = gettext_lazy("No such customer.")

    def visible(self):
        return customers_visible_to(self.request.user)

    def output_context(self):
        return {"internals": may(self.request.user, "customers.read_internals")}

    def write_new(self, values):
        return customer_create(actor=self.request.user, values=values)

    def write_changes(self, pk, changes, versions):
        return customer_update(actor=self.request.user, customer_id=pk, changes=changes, if_match=versions)


@extend_schema(tags=["customers"])
@rows_schema(
    "site", "sites", SiteSerializer, SiteCreateSerializer, SitePatchSerializer,
    create_text="A site of a customer the caller may change (else 403; a customer it cannot see: 400). Located "
    "after it is saved: given coordinates are checked against the service region, otherwise the address is "
    "geocoded (`location_precision` says how exact the point is).",
    patch_text="Its label, address, city, coordinates or reference; a new address or point is located again.",
    extra_parameters=[CUSTOMER_PARAM],
    create_example={"customer": 42, "label": "Head office", "address": "100 Century Avenue, Pudong, Shanghai",
                    "external_ref": "ERP-S-7"},
    patch_example={"address": "88 Century Avenue, Pudong, Shanghai"},
)
class SiteViewSet(RowViewSet):
    queryset = Site.objects.none()
    serializer_class = SiteSerializer
    filterset_class = SiteFilter
    create_serializer, patch_serializer = SiteCreateSerializer, SitePatchSerializer
    not_found = gettext_lazy("No such site.")

    def visible(self):
        return sites_visible_to(self.request.user)

    def write_new(self, values):
        return site_create(actor=self.request.user, values=values)

    def write_changes(self, pk, changes, versions):
        return site_update(actor=self.request.user, site_id=pk, changes=changes, if_match=versions)


@extend_schema(tags=["customers"])
@rows_schema(
    "equipment", "equipment", EquipmentSerializer, EquipmentCreateSerializer, EquipmentPatchSerializer,
    create_text="Equipment of a customer the caller may change (else 403; a customer it cannot see: 400), at "
    "one of the customer's sites or none. The serial number is unique (409 when taken).",
    patch_text="Its site (the customer's), serial number, brand, model, dates or reference.",
    extra_parameters=[CUSTOMER_PARAM, SITE_PARAM],
    create_example={"customer": 42, "site": 7, "serial": "GREE-2026-000123", "brand": "Gree",
                    "model": "KFR-35GW", "install_date": "2026-03-01", "warranty_end": "2029-02-28"},
    patch_example={"warranty_end": "2030-02-28"},
    conflict="serial number, external reference",
)
class EquipmentViewSet(RowViewSet):
    queryset = Equipment.objects.none()
    serializer_class = EquipmentSerializer
    filterset_class = EquipmentFilter
    create_serializer, patch_serializer = EquipmentCreateSerializer, EquipmentPatchSerializer
    not_found = gettext_lazy("No such equipment.")

    def visible(self):
        return equipment_visible_to(self.request.user)

    def write_new(self, values):
        return equipment_create(actor=self.request.user, values=values)

    def write_changes(self, pk, changes, versions):
        return equipment_update(actor=self.request.user, equipment_id=pk, changes=changes, if_match=versions)
