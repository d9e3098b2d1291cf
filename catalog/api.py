"""REST API for the catalog, read-only: service types (with the skills each needs) under
/api/v1/service-types/ and parts under /api/v1/parts/. Anyone with a role reads them (a
technician picks parts for a report); they change in the admin and by imports."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from core.api import MasterDataPagination, RoleRequired, master_data_schema
from core.filters import MasterDataFilter

from .custom_fields import field_options
from .models import CustomField, Part, ServiceType, ServiceTypeSkill
from .selectors import custom_fields_of


class ServiceTypeFilter(MasterDataFilter):
    class Meta:
        model = ServiceType
        fields = []


class PartFilter(MasterDataFilter):
    class Meta:
        model = Part
        fields = []


class RequiredSkillSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="skill.code")
    name = serializers.CharField(source="skill.name")

    class Meta:
        model = ServiceTypeSkill
        fields = ["code", "name", "min_level"]


class CustomFieldSerializer(serializers.Serializer):
    key = serializers.SlugField(help_text="The value's key in a work order's (or report's) `custom`.")
    label = serializers.CharField(help_text="In the request's language.")
    kind = serializers.ChoiceField(choices=CustomField.Kind.choices)
    required = serializers.BooleanField()
    stage = serializers.ChoiceField(choices=CustomField.Stage.choices,
                                    help_text="`intake`: sent with the work order; `completion`: the technician's.")
    options = serializers.ListField(child=serializers.DictField(), help_text="A choice's `{code, label}`s.")


class ServiceTypeSerializer(serializers.ModelSerializer):
    skills = RequiredSkillSerializer(many=True, source="required_skills",
                                     help_text="The skills a technician needs, each with the least level.")
    custom_fields = serializers.SerializerMethodField(help_text="The type's active custom fields, in order.")

    class Meta:
        model = ServiceType
        fields = ["id", "code", "name", "description", "default_duration_minutes", "callout_fee",
                  "requires_review", "active", "external_ref", "updated_at", "skills", "custom_fields"]

    @extend_schema_field(CustomFieldSerializer(many=True))
    def get_custom_fields(self, service_type) -> list:
        # From the copy kept with the service types (catalog.selectors): no query per row.
        return [
            {"key": f.key, "label": f.label, "kind": f.kind, "required": f.required, "stage": f.stage,
             "options": [{"code": code, "label": label} for code, label in field_options(f)]}
            for f in custom_fields_of(service_type.pk) if f.active
        ]


class PartSerializer(serializers.ModelSerializer):
    class Meta:
        model = Part
        fields = ["id", "part_number", "name", "unit", "unit_price", "active", "external_ref", "updated_at"]


class _ReadOnly(viewsets.ReadOnlyModelViewSet):
    permission_classes = [RoleRequired]
    pagination_class = MasterDataPagination
    filter_backends = [DjangoFilterBackend]
    lookup_value_regex = "[0-9]+"


@master_data_schema("service type", ServiceTypeSerializer, tags=["catalog"])
class ServiceTypeViewSet(_ReadOnly):
    queryset = ServiceType.objects.prefetch_related("required_skills__skill")
    serializer_class = ServiceTypeSerializer
    filterset_class = ServiceTypeFilter


@master_data_schema("part", PartSerializer, tags=["catalog"])
class PartViewSet(_ReadOnly):
    queryset = Part.objects.all()
    serializer_class = PartSerializer
    filterset_class = PartFilter
