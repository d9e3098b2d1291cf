"""REST API for the catalog: service types (with the skills each needs) under
/api/v1/service-types/ and parts (with the stock on hand) under /api/v1/parts/ - list, create,
read and change (PATCH from a version: ``If-Match`` or the body's ``version``; a stale one is 412
with the current version). Anyone with a role reads them (a technician picks parts for a report);
managers and unrestricted API clients change them (``catalog/permissions.py``), as in the
admin; the others get 403.
"""

import re

from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers

from core.api import TextField
from core.filters import YesNoAnyFilter
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

from .custom_fields import field_options
from .flows import MAX_PHOTOS
from .models import CustomField, Part, ServiceType
from .selectors import custom_fields_of, parts_for_api, service_types_for_api
from .services import part_create, part_update, service_type_create, service_type_update

SKILL_CODE_PATTERN = "^[-a-zA-Z0-9_]+$"
ACTIVE = query_param("active", {"type": "boolean"}, "true: only active ones; false: only inactive ones.")


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1},
                                {"type": "string", "pattern": SKILL_CODE_PATTERN, "maxLength": 40}],
                      "description": "The skill's id or its code."})
class SkillRefField(serializers.Field):
    """A skill named by its id (a number) or its code (text)."""

    default_error_messages = {"invalid": _("Give a skill's id (a number) or its code (text).")}

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool) and 0 < data < 2**63:
            return data
        if isinstance(data, str) and 0 < len(data) <= 40 and data.strip() == data and "\x00" not in data:
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value


class CodeField(TextField):
    """A code: letters (a-z, A-Z), digits, - and _ (a slug)."""

    schema_pattern = SKILL_CODE_PATTERN
    default_error_messages = {"code": _("Use letters (a-z), digits, - and _ only.")}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in value):
            self.fail("code")
        return value


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


class RequiredSkillSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="skill_id", help_text="The skill's id.")
    code = serializers.CharField(source="skill.code")
    name = serializers.CharField(source="skill.name")
    min_level = serializers.IntegerField(help_text="The least level, 1 to 5.")


class CustomFieldSerializer(serializers.Serializer):
    key = serializers.SlugField(help_text="The value's key in a work order's (or report's) `custom`.")
    label = serializers.CharField(help_text="In the request's language.")
    kind = serializers.ChoiceField(choices=CustomField.Kind.choices)
    required = serializers.BooleanField()
    stage = serializers.ChoiceField(choices=CustomField.Stage.choices,
                                    help_text="`intake`: sent with the work order; `completion`: the technician's.")
    options = serializers.ListField(child=serializers.DictField(), help_text="A choice's `{code, label}`s.")


class ServiceTypeSerializer(SyncFields):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField(help_text="In the request's language (the other one where it has none).")
    name_zh_hans = serializers.CharField(allow_null=True)
    name_en = serializers.CharField(allow_null=True)
    description = serializers.CharField()
    description_zh_hans = serializers.CharField(allow_null=True)
    description_en = serializers.CharField(allow_null=True)
    default_duration_minutes = serializers.IntegerField()
    callout_fee = serializers.DecimalField(max_digits=10, decimal_places=2)
    requires_review = serializers.BooleanField(
        help_text="Flow: completion reports are reviewed by a manager before the order moves on.")
    requires_follow_up = serializers.BooleanField(
        help_text="Flow: resolved orders go to follow-up (survey, call-back) before closing; false: they close "
        "once resolved (and reviewed), with no survey.")
    requires_signature = serializers.BooleanField(help_text="Flow: the completion report needs the customer's "
                                                  "signature.")
    before_photos_min = serializers.IntegerField(help_text="Flow: photos taken on arrival, before the work (0: none).")
    after_photos_min = serializers.IntegerField(help_text="Flow: on-site photos the completion report needs.")
    requires_parts_approval = serializers.BooleanField(
        help_text="Flow: a completion report that records parts used waits for a manager's approval.")
    transition_roles = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Flow: who may fire each transition, where narrower than the lifecycle's table (action → roles); "
        "an action not named keeps the table's roles.")
    active = serializers.BooleanField()
    skills = RequiredSkillSerializer(many=True, source="required_skills",
                                     help_text="The skills a technician needs, each with the least level.")
    custom_fields = serializers.SerializerMethodField(help_text="The type's active custom fields, in order.")

    @extend_schema_field(CustomFieldSerializer(many=True))
    def get_custom_fields(self, service_type) -> list:
        # From the copy kept with the service types (catalog.selectors): no query per row.
        return [
            {"key": f.key, "label": f.label, "kind": f.kind, "required": f.required, "stage": f.stage,
             "options": [{"code": code, "label": label} for code, label in field_options(f)]}
            for f in custom_fields_of(service_type.pk) if f.active
        ]


class PartSerializer(SyncFields):
    """A part; ``stock_on_hand`` only with ``context["stock"]``."""

    id = serializers.IntegerField()
    part_number = serializers.CharField()
    name = serializers.CharField(help_text="In the request's language (the other one where it has none).")
    name_zh_hans = serializers.CharField(allow_null=True)
    name_en = serializers.CharField(allow_null=True)
    unit = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    active = serializers.BooleanField(help_text="Only active parts can be used in reports.")
    serialized = serializers.BooleanField(help_text="Each unit has a serial number and is tracked one by one.")
    stock_on_hand = serializers.DecimalField(
        max_digits=14, decimal_places=3, required=False,
        help_text="On hand across every stock location (warehouses, vans, partners' stores). For office roles "
        "and unrestricted API clients; absent for the others.")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("stock") or not hasattr(instance, "stock_on_hand"):
            data.pop("stock_on_hand", None)
        return data


# --------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------

_STOCK = gettext_lazy("Read-only: stock changes through the stock ledger (receipts, transfers, adjustments).")
_LOCALIZED = gettext_lazy("Read-only: write name_zh_hans and name_en (description_zh_hans, description_en).")


MONEY_PATTERN = "^[0-9]{1,8}([.][0-9]{1,2})?$"


@extend_schema_field({"type": "string", "format": "decimal", "pattern": MONEY_PATTERN})
class MoneyField(serializers.DecimalField):
    """An amount of money as text: up to 8 digits, optionally a point and 1 or 2 more (``12.50``)."""

    default_error_messages = {"money": _("Write an amount such as 12.50 (not negative, at most two decimals).")}

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(MONEY_PATTERN.strip("^$"), data):
            self.fail("money")
        return super().to_internal_value(data)


def _money(help_text: str, **kwargs):
    return MoneyField(max_digits=10, decimal_places=2, min_value=0, help_text=help_text, **kwargs)


class PartCreateSerializer(Body):
    """A part's details; a change (PATCH) sends only those to change. Give the name in at least one
    language."""

    read_only_fields = {**{name: NEVER for name in ("id", "created_at", "updated_at")},
                        "name": _LOCALIZED, "stock_on_hand": _STOCK}

    part_number = TextField(max_length=40, help_text="Unique: one another part has is a conflict (409).")
    name_zh_hans = TextField(max_length=120, required=False, allow_blank=True, allow_null=True)
    name_en = TextField(max_length=120, required=False, allow_blank=True, allow_null=True)
    unit = TextField(max_length=16, required=False, help_text="For example pcs, m, kg, L (default pcs).")
    unit_price = _money("The price a customer pays for one unit, e.g. `12.50`.")
    unit_cost = _money("What one unit costs the company (not shown: the reports' margin).", required=False)
    active = serializers.BooleanField(required=False)
    serialized = serializers.BooleanField(required=False)
    external_ref = ref_field()


class RequiredSkillInputSerializer(Body):
    skill = SkillRefField()
    min_level = serializers.IntegerField(min_value=1, max_value=5, required=False, default=1,
                                         help_text="The least level, 1 to 5; default 1.")


class ServiceTypeCreateSerializer(Body):
    """A service type's details; a change (PATCH) sends only those to change. Give the name in at
    least one language."""

    read_only_fields = {**{name: NEVER for name in ("id", "created_at", "updated_at")},
                        "name": _LOCALIZED, "description": _LOCALIZED}

    code = CodeField(max_length=40, help_text="Letters, digits, - and _; unique (409).")
    name_zh_hans = TextField(max_length=80, required=False, allow_blank=True, allow_null=True)
    name_en = TextField(max_length=80, required=False, allow_blank=True, allow_null=True)
    description_zh_hans = TextField(max_length=4000, required=False, allow_blank=True, allow_null=True)
    description_en = TextField(max_length=4000, required=False, allow_blank=True, allow_null=True)
    default_duration_minutes = serializers.IntegerField(min_value=1, max_value=10080, required=False,
                                                        help_text="How long a visit takes, in minutes.")
    callout_fee = _money("The call-out fee, e.g. `80.00`.", required=False)
    requires_review = serializers.BooleanField(required=False)
    # The flow (docs/architecture.md, "The lifecycle"): refused with 400 when it would strand orders.
    requires_follow_up = serializers.BooleanField(required=False)
    requires_signature = serializers.BooleanField(required=False)
    before_photos_min = serializers.IntegerField(min_value=0, max_value=MAX_PHOTOS, required=False)
    after_photos_min = serializers.IntegerField(min_value=0, max_value=MAX_PHOTOS, required=False)
    requires_parts_approval = serializers.BooleanField(required=False)
    transition_roles = serializers.DictField(  # each value a list of role names (checked by catalog.flows)
        required=False,
        help_text="Action → the roles that may fire it (a subset of the lifecycle table's); {} for the table's.")
    active = serializers.BooleanField(required=False, help_text="False: customers can no longer ask for it.")
    skills = RequiredSkillInputSerializer(many=True, required=False, max_length=50,
                                          help_text="The skills a technician needs, each a skill's id or code with "
                                          "the least level: they become exactly these.")
    external_ref = ref_field()


PartPatchSerializer = patch_of(PartCreateSerializer, "PartPatchSerializer", {})
ServiceTypePatchSerializer = patch_of(ServiceTypeCreateSerializer, "ServiceTypePatchSerializer", {})


# --------------------------------------------------------------------------
# Lists and views
# --------------------------------------------------------------------------


class CatalogFilter(SyncFilter):
    active = YesNoAnyFilter(field_name="active", label=_("Active"))


class ServiceTypeFilter(CatalogFilter):
    class Meta:
        model = ServiceType
        fields = []


class PartFilter(CatalogFilter):
    class Meta:
        model = Part
        fields = []


_FORBIDDEN = "The caller may read but not change the catalog (only managers and unrestricted API clients may)."


@extend_schema(tags=["catalog"])
@rows_schema(
    "service type", "service types", ServiceTypeSerializer, ServiceTypeCreateSerializer, ServiceTypePatchSerializer,
    create_text="For managers and unrestricted API clients (others: 403). The code and the external reference "
    "are each unique (409 when taken).",
    patch_text="For managers and unrestricted API clients: code, names, descriptions, duration, call-out fee, "
    "the flow (review, follow-up, signature, photos, parts approval, roles per transition; 400 naming `flow` "
    "when it would strand orders), active flag, required skills (they become exactly those sent) or reference.",
    extra_parameters=[ACTIVE],
    create_example={"code": "boiler-service", "name_zh_hans": "锅炉保养", "name_en": "Boiler service",
                    "default_duration_minutes": 90, "callout_fee": "80.00",
                    "skills": [{"skill": "gas", "min_level": 3}], "external_ref": "ERP-ST-12"},
    patch_example={"callout_fee": "95.00"},
    forbidden=_FORBIDDEN, conflict="code, external reference",
)
class ServiceTypeViewSet(RowViewSet):
    queryset = ServiceType.objects.none()
    serializer_class = ServiceTypeSerializer
    filterset_class = ServiceTypeFilter
    create_serializer, patch_serializer = ServiceTypeCreateSerializer, ServiceTypePatchSerializer
    not_found = gettext_lazy("No such service type.")

    def visible(self):
        return service_types_for_api()

    def written(self, row):
        return self.visible().get(pk=row.pk)

    def write_new(self, values):
        return service_type_create(actor=self.request.user, values=values)

    def write_changes(self, pk, changes, versions):
        return service_type_update(actor=self.request.user, service_type_id=pk, changes=changes, if_match=versions)


@extend_schema(tags=["catalog"])
@rows_schema(
    "part", "parts", PartSerializer, PartCreateSerializer, PartPatchSerializer,
    create_text="For managers and unrestricted API clients (others: 403). The part number and the external "
    "reference are each unique (409 when taken).",
    patch_text="For managers and unrestricted API clients: part number, names, unit, prices, flags or reference "
    "(reports keep what they copied when the part was used). The stock on hand changes through the stock ledger.",
    extra_parameters=[ACTIVE],
    create_example={"part_number": "FLT-200", "name_zh_hans": "空调滤网", "name_en": "Air filter", "unit": "pcs",
                    "unit_price": "45.00", "unit_cost": "18.00", "external_ref": "ERP-P-200"},
    patch_example={"unit_price": "49.00"},
    forbidden=_FORBIDDEN, conflict="part number, external reference",
)
class PartViewSet(RowViewSet):
    queryset = Part.objects.none()
    serializer_class = PartSerializer
    filterset_class = PartFilter
    create_serializer, patch_serializer = PartCreateSerializer, PartPatchSerializer
    not_found = gettext_lazy("No such part.")

    def stock(self) -> bool:
        return may(self.request.user, "catalog.read_stock_totals")

    def visible(self):
        return parts_for_api(with_stock=self.stock())

    def output_context(self):
        return {"stock": self.stock()}

    def written(self, row):
        return self.visible().get(pk=row.pk)

    def write_new(self, values):
        return part_create(actor=self.request.user, values=values)

    def write_changes(self, pk, changes, versions):
        return part_update(actor=self.request.user, part_id=pk, changes=changes, if_match=versions)
