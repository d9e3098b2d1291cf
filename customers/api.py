"""REST API for customers, their sites and their equipment: /api/v1/customers/, /api/v1/sites/,
/api/v1/equipment/ - list, create, read and change (PATCH from a version: ``If-Match`` or the
body's ``version``; a stale one is 412 with the current version).

Thin, as the work orders' (workorders/api.py): parse, call a selector or a service, render.
Who sees what is ``selectors.customer_scope``; who may change what, ``services``. A row the caller
may not see answers 404, as one that does not exist.
"""

import django_filters
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from core.api import (
    EMPTY,
    TEXT_PATTERN,
    ErrorSerializer,
    KeysetPagination,
    PhoneField,
    RoleRequired,
    StrictSerializer,
    TextField,
    etag_header,
    if_match,
    if_match_header,
    precondition_errors,
)
from core.errors import NotFound
from core.filters import DATETIME_PATTERN, EXTERNAL_REF_MAX, IdFilter, UtcDateTimeFilter
from core.pagination import API_SORTS
from core.versions import etag_of

from .models import Customer, Equipment, Site
from .selectors import (
    CUSTOMER_INTERNAL_FIELDS,
    customer_internals_visible,
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


@extend_schema_field(OpenApiTypes.STR)
class VersionField(serializers.Field):
    """The row's version: its ``ETag`` without the quotes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The row's version (its `ETag` without the quotes): send it as `If-Match` "
                          "(or as `version` in the body) with a change.")
        super().__init__(source="updated_at", read_only=True, **kwargs)

    def to_representation(self, value):
        return etag_of(value).strip('"')


class _SyncFields(serializers.Serializer):
    external_ref = serializers.CharField(allow_null=True, help_text="The row's reference in your system, or null; "
                                         "unique among rows of its kind.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text="Its last change: what `updated_after` and `sort=updated_at` "
                                           "read.")
    version = VersionField()


_INTERNAL = " Internal: left out for technicians, partner technicians and clients restricted to a partner company."


class CustomerSerializer(_SyncFields):
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


class SiteSerializer(_SyncFields):
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


class EquipmentSerializer(_SyncFields):
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

_REF_HELP = "Your reference for it (blank or null: none); one another row of its kind has is a conflict (409)."
_VERSION_HELP = ("The version the change was made from (`version` as read), instead of an `If-Match` header; "
                 "the header wins when both are sent.")
_NEVER = gettext_lazy("Read-only: set by the server.")
_FIXED = gettext_lazy("Read-only here: a row stays with the customer it was created for.")


def _wrong_type(field, value) -> str | None:
    """Why ``value`` is not of the JSON type the schema gives ``field``, or None."""
    if value is None:
        return None
    if isinstance(field, serializers.CharField) and not isinstance(value, str):
        return _("Not a string.")
    if isinstance(field, (serializers.IntegerField, serializers.FloatField)) and (
            isinstance(value, bool) or not isinstance(value, (int, float))):
        return _("Not a number.")
    return None


class _Body(StrictSerializer):
    """A request body: strict (``StrictSerializer``), and each value of its schema's JSON type:
    DRF would take a number as text, and text or true as a number."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            wrong = {}
            for name, field in self.fields.items():
                if name in data and (reason := _wrong_type(field, data[name])):
                    wrong[name] = [reason]
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def _ref_field():
    return TextField(max_length=EXTERNAL_REF_MAX, required=False, allow_null=True, allow_blank=True,
                     help_text=_REF_HELP)


def _patch_of(create_class, name: str, extra_read_only: dict):
    """The PATCH body of ``create_class``: the same fields, each optional, less those fixed at
    creation (``extra_read_only``), plus ``version``."""
    fields = {}
    for field_name, field in create_class().fields.items():
        if field_name in extra_read_only:
            continue
        kwargs = dict(field._kwargs)
        kwargs["required"] = False
        fields[field_name] = type(field)(*field._args, **kwargs)
    fields["version"] = TextField(max_length=40, required=False, help_text=_VERSION_HELP)
    read_only = {**create_class.read_only_fields, **extra_read_only}
    return type(name, (_Body,), {**fields, "read_only_fields": read_only, "__doc__": create_class.__doc__})


class CustomerCreateSerializer(_Body):
    """A customer's details; a change (PATCH) sends only those to change."""

    read_only_fields = {name: _NEVER for name in ("id", "created_at", "updated_at")}

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
    external_ref = _ref_field()


class SiteCreateSerializer(_Body):
    """A site of a customer."""

    read_only_fields = {name: _NEVER for name in ("id", "created_at", "updated_at", "location_precision")}

    customer = serializers.IntegerField(min_value=1, help_text="Id of a customer you may change.")
    label = TextField(max_length=80, required=False, allow_blank=True, help_text="A name for it, e.g. `Head office`.")
    address = TextField(max_length=255)
    city = TextField(max_length=80, required=False, allow_blank=True)
    latitude = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90,
                                      help_text="Give both `latitude` and `longitude`, or neither (then the "
                                      "address is located).")
    longitude = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180,
                                       help_text="See `latitude`.")
    external_ref = _ref_field()


class EquipmentCreateSerializer(_Body):
    """A piece of a customer's equipment."""

    read_only_fields = {name: _NEVER for name in ("id", "created_at", "updated_at")}

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
    external_ref = _ref_field()


CustomerPatchSerializer = _patch_of(CustomerCreateSerializer, "CustomerPatchSerializer", {})
SitePatchSerializer = _patch_of(SiteCreateSerializer, "SitePatchSerializer", {"customer": _FIXED})
EquipmentPatchSerializer = _patch_of(EquipmentCreateSerializer, "EquipmentPatchSerializer", {"customer": _FIXED})


# --------------------------------------------------------------------------
# Lists: filters, sorts, pages
# --------------------------------------------------------------------------


class SyncFilter(django_filters.FilterSet):
    """What an integration syncing these rows filters on."""

    updated_after = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte", label=_("Updated from"))
    updated_before = UtcDateTimeFilter(field_name="updated_at", lookup_expr="lt", label=_("Updated before"))
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte", label=_("Created from"))
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt", label=_("Created before"))
    external_ref = django_filters.CharFilter(field_name="external_ref", label=_("External reference"),
                                             max_length=EXTERNAL_REF_MAX)


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


SYNC_SORTS = {name: fields for name, fields in API_SORTS.items() if name.lstrip("-") in ("id", "updated_at",
                                                                                        "created_at")}


class SyncPagination(KeysetPagination):
    sorts = SYNC_SORTS


def _query_param(name: str, schema: dict, description: str) -> OpenApiParameter:
    return OpenApiParameter(name=name, location=OpenApiParameter.QUERY, required=False,
                            type={"oneOf": [schema, EMPTY]}, description=description)


_MOMENT = {"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}
_OFFSET = " ISO 8601, with an offset of at most 14:00 either way (none: the site's time zone)."
SYNC_PARAMETERS = [
    _query_param("updated_after", _MOMENT, "Changed at or after this moment." + _OFFSET),
    _query_param("updated_before", _MOMENT, "Changed before this moment." + _OFFSET),
    _query_param("created_after", _MOMENT, "Created at or after this moment." + _OFFSET),
    _query_param("created_before", _MOMENT, "Created before this moment." + _OFFSET),
    _query_param("external_ref", {"type": "string", "pattern": TEXT_PATTERN, "maxLength": EXTERNAL_REF_MAX},
                 "The row with this reference in your system (none: an empty page)."),
]
CUSTOMER_PARAM = _query_param("customer", {"type": "integer"}, "Customer id.")
SITE_PARAM = _query_param("site", {"type": "integer"}, "Site id.")


# --------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------


def _errors(noun: str, *codes) -> dict:
    descriptions = {
        400: "Bad input; `fields` names each field with its messages. Nothing was written.",
        401: "Not authenticated.",
        403: "The caller may read but not change these (field roles, a restricted API client).",
        404: f"No such {noun}, or not one the caller may see.",
        409: "A unique value (`fields` names it: phone number, customer code, serial number, external reference) "
             "is another row's (`taken`). Nothing was written.",
        413: "The body is larger than the server takes (`DATA_UPLOAD_MAX_MEMORY_SIZE`).",
        415: "The body is not JSON (`Content-Type: application/json`).",
    }
    answers = {code: OpenApiResponse(ErrorSerializer, description=descriptions[code])
               for code in codes if code in descriptions}
    if 412 in codes:
        answers.update(precondition_errors(noun, alternative=" (or `version` in the body)"))
    return answers


def _id_path(noun: str) -> OpenApiParameter:
    return OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=f"The {noun}'s id.")


def _schema(noun: str, plural: str, serializer, create, patch, *, create_text: str, patch_text: str,
            extra_parameters=(), create_example=None, patch_example=None):
    """The list, create, read and change operations of one kind of row, described."""
    if_match_param = if_match_header(noun, required=False,
                                     alternative=" Without it, the body's `version` names the version; without "
                                     "either the answer is 428.")
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {plural}",
            description=f"The {plural} the caller may see, in keyset pages (follow `next`; no total count). To "
            "sync, list with `sort=updated_at&updated_after=<the last run's latest updated_at>`: every change "
            "made through the API, the pages, the admin or an import sets `updated_at`. A parameter given empty "
            "is ignored.",
            parameters=[*SYNC_PARAMETERS, *extra_parameters],
            responses={200: serializer(many=True), **_errors(noun, 400, 401, 403)},
        ),
        create=extend_schema(
            summary=f"Create a {noun}",
            description=create_text,
            request=create,
            parameters=[etag_header(noun, 201)],
            responses={201: serializer, **_errors(noun, 400, 401, 403, 409, 413, 415)},
            examples=[OpenApiExample(f"A new {noun}", request_only=True, value=create_example)]
            if create_example else None,
        ),
        retrieve=extend_schema(
            summary=f"Read one {noun}",
            description="The `ETag` header (and the body's `version`) is its version, for a change.",
            parameters=[_id_path(noun), etag_header(noun, 200)],
            responses={200: serializer, **_errors(noun, 401, 403, 404)},
        ),
        partial_update=extend_schema(
            summary=f"Change a {noun}",
            description=patch_text + " Send only the fields to change, with `If-Match` set to the `ETag` you read "
            "(or the body's `version` set to the `version` you read): if the row changed since, nothing is written "
            "and the answer is 412 with the current version. Any other field is refused (400). Sending the values "
            "it has writes nothing and keeps its version.",
            request=patch,
            parameters=[_id_path(noun), if_match_param, etag_header(noun, 200, 412)],
            responses={200: serializer, **_errors(noun, 400, 401, 403, 404, 409, 412, 413, 415)},
            examples=[
                *([OpenApiExample("A change", request_only=True, value=patch_example)] if patch_example else []),
                OpenApiExample("Stale version", response_only=True, status_codes=["412"], value={
                    "error": "stale", "version": "62c1d5f0a2b41",
                    "detail": f"The {noun} was changed since you read it; read it again and re-apply your change.",
                }),
            ],
        ),
    )


class _RowViewSet(viewsets.GenericViewSet):
    """List, create, read, change (PATCH) of rows the caller may see."""

    permission_classes = [RoleRequired]
    pagination_class = SyncPagination
    filter_backends = [DjangoFilterBackend]
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    not_found = ""
    create_serializer = patch_serializer = None

    def visible(self):
        raise NotImplementedError

    def get_queryset(self):
        return self.visible()

    def output_context(self) -> dict:
        return {}

    def _answer(self, row, *, status=200):
        data = self.serializer_class(row, context=self.output_context()).data
        return Response(data, status=status, headers={"ETag": etag_of(row.updated_at)})

    def _one(self, pk):
        pk = int(pk)
        row = self.get_queryset().filter(pk=pk).first() if 0 < pk < 2**63 else None
        if row is None:
            raise NotFound(str(self.not_found))
        return row

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        rows = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.serializer_class(rows, many=True, context=self.output_context()).data)

    def retrieve(self, request, pk=None):
        return self._answer(self._one(pk))

    def create(self, request):
        body = self.create_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(self.write_new(dict(body.validated_data)), status=201)

    def partial_update(self, request, pk=None):
        if not 0 < int(pk) < 2**63:
            raise NotFound(str(self.not_found))
        body = self.patch_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        versions = if_match(request, changes.pop("version", None))
        return self._answer(self.write_changes(int(pk), changes, versions))


@extend_schema(tags=["customers"])
@_schema(
    "customer", "customers", CustomerSerializer, CustomerCreateSerializer, CustomerPatchSerializer,
    create_text="For agents, dispatchers, managers and unrestricted API clients. The phone number, the "
    "customer code and the external reference are each unique (409 when taken).",
    patch_text="For agents, dispatchers, managers and API clients (a client restricted to a customer: that "
    "one, and not its `phone`, `email`, `tier`, `code` or `notes`: 403 `office_owned` naming them).",
    create_example={"name": "Li Wei", "phone": "138 1234 5678", "email": "li.wei@example.com",
                    "external_ref": "ERP-C-10042"},
    patch_example={"tier": "gold", "external_ref": "ERP-C-10042"},
)
class CustomerViewSet(_RowViewSet):
    queryset = Customer.objects.none()  # for introspection; get_queryset scopes by user
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    create_serializer, patch_serializer = CustomerCreateSerializer, CustomerPatchSerializer
    not_found = gettext_lazy("No such customer.")

    def visible(self):
        return customers_visible_to(self.request.user)

    def output_context(self):
        return {"internals": customer_internals_visible(self.request.user)}

    def write_new(self, values):
        return customer_create(actor=self.request.user, values=values)

    def write_changes(self, pk, changes, versions):
        return customer_update(actor=self.request.user, customer_id=pk, changes=changes, if_match=versions)


@extend_schema(tags=["customers"])
@_schema(
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
class SiteViewSet(_RowViewSet):
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
@_schema(
    "equipment", "equipment", EquipmentSerializer, EquipmentCreateSerializer, EquipmentPatchSerializer,
    create_text="Equipment of a customer the caller may change (else 403; a customer it cannot see: 400), at "
    "one of the customer's sites or none. The serial number is unique (409 when taken).",
    patch_text="Its site (the customer's), serial number, brand, model, dates or reference.",
    extra_parameters=[CUSTOMER_PARAM, SITE_PARAM],
    create_example={"customer": 42, "site": 7, "serial": "GREE-2026-000123", "brand": "Gree",
                    "model": "KFR-35GW", "install_date": "2026-03-01", "warranty_end": "2029-02-28"},
    patch_example={"warranty_end": "2030-02-28"},
)
class EquipmentViewSet(_RowViewSet):
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
