"""REST API for the catalog, read-only: service types (with the skills each needs) under
/api/v1/service-types/ and parts under /api/v1/parts/. Anyone with a role reads them (a
technician picks parts for a report); they change in the admin and by imports."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, viewsets

from core.api import MasterDataPagination, RoleRequired, master_data_schema
from core.filters import MasterDataFilter

from .models import Part, ServiceType, ServiceTypeSkill


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


class ServiceTypeSerializer(serializers.ModelSerializer):
    skills = RequiredSkillSerializer(many=True, source="required_skills",
                                     help_text="The skills a technician needs, each with the least level.")

    class Meta:
        model = ServiceType
        fields = ["id", "code", "name", "description", "default_duration_minutes", "callout_fee",
                  "requires_review", "active", "external_ref", "updated_at", "skills"]


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
