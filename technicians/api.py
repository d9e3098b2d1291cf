"""REST API for technicians, read-only: /api/v1/technicians/ with each one's skills (and levels)
and availability (weekly working hours, dated windows and absences). Visibility as on the
pages: office roles see every technician, a technician themselves, a partner technician their
company's; another id answers 404."""

from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, viewsets

from core.api import EMPTY, MasterDataPagination, RoleRequired, master_data_schema
from core.filters import IdFilter, MasterDataFilter

from .models import Shift, Technician, TechnicianSkill
from .selectors import technician_visible_to


class TechnicianFilter(MasterDataFilter):
    partner_company = IdFilter(field_name="partner_company_id", label=_("Partner company id"))

    class Meta:
        model = Technician
        fields = []


class SkillLevelSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="skill.code")
    name = serializers.CharField(source="skill.name")

    class Meta:
        model = TechnicianSkill
        fields = ["code", "name", "level"]


class ShiftSerializer(serializers.ModelSerializer):
    class Meta:
        model = Shift
        fields = ["weekday", "date", "start", "end", "available"]


class TechnicianSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    name = serializers.CharField()
    skills = SkillLevelSerializer(many=True, source="skill_levels", help_text="Skills with their level, 1 to 5.")
    availability = ShiftSerializer(
        many=True, source="shifts",
        help_text="Weekly windows (`weekday`, 0 Monday) and dated ones (`date`: they replace that weekday's); "
        "`available` false is an absence (without times: the whole day). None at all: always available.",
    )

    class Meta:
        model = Technician
        fields = ["id", "username", "name", "employee_number", "phone", "partner_company", "active",
                  "external_ref", "updated_at", "skills", "availability"]


PARTNER_COMPANY = OpenApiParameter(
    name="partner_company", location=OpenApiParameter.QUERY, required=False,
    type={"oneOf": [{"type": "integer"}, EMPTY]}, description="Partner company id.",
)


@master_data_schema("technician", TechnicianSerializer, tags=["technicians"], extra_parameters=[PARTNER_COMPANY])
class TechnicianViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Technician.objects.none()  # for introspection; get_queryset scopes by user
    serializer_class = TechnicianSerializer
    permission_classes = [RoleRequired]
    pagination_class = MasterDataPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = TechnicianFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return technician_visible_to(self.request.user).select_related("user").prefetch_related(
            "skill_levels__skill", "shifts"
        )
