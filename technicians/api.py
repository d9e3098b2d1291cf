"""REST API for technicians: /api/v1/technicians/ - list, create, read and change (PATCH from a
version: ``If-Match`` or the body's ``version``; a stale one is 412 with the current version),
each one with its skills (and levels) and availability (weekly working hours, dated windows and
absences, read-only here: they change on the pages, in the admin and by imports).

Visibility as on the pages (``selectors.technician_visible_to``): office roles see every
technician, a technician themselves, a partner technician their company's; another id answers
404. Dispatchers and managers (and API clients with ``technicians:write``: unrestricted, or
restricted to a partner company, which then creates and changes that company's technicians only)
create and change them (``technicians/permissions.py``); the others get 403.
"""

import re

from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from catalog.api import SkillRefField
from core.api import PhoneField, TextField
from core.filters import IdFilter, YesNoAnyFilter
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

from .models import Technician
from .selectors import technicians_for_api
from .services import technician_create, technician_update

# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


class SkillLevelSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="skill_id", help_text="The skill's id.")
    code = serializers.CharField(source="skill.code")
    name = serializers.CharField(source="skill.name")
    level = serializers.IntegerField(help_text="1 (trainee) to 5 (expert).")


class ShiftSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(allow_null=True, help_text="0 Monday to 6 Sunday: every week on this day.")
    date = serializers.DateField(allow_null=True, help_text="Only on this date.")
    start = serializers.TimeField(allow_null=True)
    end = serializers.TimeField(allow_null=True)
    available = serializers.BooleanField(help_text="False: an absence (without times: the whole day).")


class TechnicianSerializer(SyncFields):
    id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")
    name = serializers.CharField(help_text="The full name (or the username when there is none).")
    employee_number = serializers.CharField(allow_null=True)
    phone = serializers.CharField()
    partner_company = serializers.IntegerField(source="partner_company_id", allow_null=True,
                                               help_text="Partner company id; null for the company's own staff.")
    active = serializers.BooleanField()
    home_address = serializers.CharField(required=False, help_text="Where the technician starts the day (dispatch "
                                         "measures travel from it). Only for those who may change technicians, "
                                         "and in a technician's own profile.")
    skills = SkillLevelSerializer(many=True, source="skill_levels", help_text="Skills with their level, 1 to 5.")
    availability = ShiftSerializer(
        many=True, source="shifts",
        help_text="Weekly windows (`weekday`, 0 Monday) and dated ones (`date`: they replace that weekday's); "
        "`available` false is an absence (without times: the whole day). None at all: always available.",
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # A home address is private: colleagues (a partner's technicians see each other) do not read it.
        if not self.context.get("home_addresses") and instance.user_id != self.context.get("user_id"):
            data.pop("home_address", None)
        return data


# --------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------

USERNAME_PATTERN = "^[A-Za-z0-9@.+_-]+$"


class SkillInputSerializer(Body):
    skill = SkillRefField()
    level = serializers.IntegerField(min_value=1, max_value=5, required=False, default=1,
                                     help_text="1 (trainee) to 5 (expert); default 1.")


class UsernameField(TextField):
    """A login's username: letters (a-z, A-Z), digits and @.+-_ (the API's choice; a page may allow
    other letters)."""

    schema_pattern = USERNAME_PATTERN
    default_error_messages = {"username": _("Use letters (a-z), digits and @ . + - _ only.")}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not re.fullmatch(USERNAME_PATTERN.strip("^$"), value):
            self.fail("username")
        return value


_FIXED_LOGIN = gettext_lazy("Read-only here: a technician keeps the login it was created with.")
_FIXED_COMPANY = gettext_lazy("Read-only here: a technician stays with the company it was created for "
                              "(its login's role depends on it).")
_READ_ONLY = gettext_lazy("Read-only here: working hours and absences change on the pages, in the admin and by "
                          "imports.")


class TechnicianCreateSerializer(Body):
    """A technician's details; a change (PATCH) sends only those to change."""

    read_only_fields = {**{name: NEVER for name in ("id", "created_at", "updated_at", "name")},
                        "availability": _READ_ONLY}

    username = UsernameField(max_length=150, help_text="The login's username (letters, digits and @.+-_); "
                         "one another user has is a conflict (409). The login has no password until an "
                         "administrator sets one or the technician resets it.")
    first_name = TextField(max_length=150, required=False, allow_blank=True)
    last_name = TextField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    employee_number = TextField(max_length=40, required=False, allow_null=True, allow_blank=True,
                                help_text="The number in your staff records (blank or null: none); unique (409).")
    phone = PhoneField(max_length=20, required=False, allow_blank=True,
                       help_text="Mobile number (a valid number of `PHONE_REGION`, any common form); kept in E.164.")
    partner_company = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                               help_text="Id of the partner company the technician works for, or "
                                               "null: the company's own staff.")
    active = serializers.BooleanField(required=False, help_text="False: no new work is given to them.")
    home_address = TextField(max_length=255, required=False, allow_blank=True,
                             help_text="Where the technician starts the day; located after it is saved.")
    skills = SkillInputSerializer(many=True, required=False, max_length=50,
                                  help_text="The technician's skills, each a skill's id or code with a level: they "
                                  "become exactly these (a skill that does not exist or is named twice: 400).")
    external_ref = ref_field()




TechnicianPatchSerializer = patch_of(TechnicianCreateSerializer, "TechnicianPatchSerializer",
                                     {"username": _FIXED_LOGIN, "partner_company": _FIXED_COMPANY})


# --------------------------------------------------------------------------
# Lists and views
# --------------------------------------------------------------------------


class TechnicianFilter(SyncFilter):
    partner_company = IdFilter(field_name="partner_company_id", label=_("Partner company id"))
    active = YesNoAnyFilter(field_name="active", label=_("Active"))

    class Meta:
        model = Technician
        fields = []


PARTNER_COMPANY = query_param("partner_company", {"type": "integer"}, "Partner company id.")
ACTIVE = query_param("active", {"type": "boolean"}, "true: only active ones; false: only inactive ones.")


@extend_schema(tags=["technicians"])
@rows_schema(
    "technician", "technicians", TechnicianSerializer, TechnicianCreateSerializer, TechnicianPatchSerializer,
    create_text="For dispatchers, managers and unrestricted API clients (others: 403). The technician gets a "
    "login without a password, in the technician role (the partner technician role when `partner_company` is "
    "given). The username, the employee number and the external reference are each unique (409 when taken).",
    patch_text="For dispatchers, managers and unrestricted API clients: names, email, employee number, phone, "
    "home address, active flag, skills (they become exactly those sent) or reference. The username and the "
    "partner company are fixed; availability is read-only here.",
    extra_parameters=[PARTNER_COMPANY, ACTIVE],
    create_example={"username": "wang.fang", "first_name": "Fang", "last_name": "Wang",
                    "phone": "139 0000 1111", "skills": [{"skill": "hvac", "level": 3}],
                    "external_ref": "HR-T-2001"},
    patch_example={"skills": [{"skill": "hvac", "level": 4}, {"skill": "electrical", "level": 2}]},
    forbidden="The caller may read but not change technicians (agents, field roles, an API client restricted "
              "to a customer, or without technicians:write).",
    conflict="username, employee number, external reference",
)
class TechnicianViewSet(RowViewSet):
    queryset = Technician.objects.none()  # for introspection; get_queryset scopes by user
    serializer_class = TechnicianSerializer
    filterset_class = TechnicianFilter
    create_serializer, patch_serializer = TechnicianCreateSerializer, TechnicianPatchSerializer
    not_found = gettext_lazy("No such technician.")

    def visible(self):
        return technicians_for_api(self.request.user)

    def output_context(self):
        user = self.request.user
        return {"home_addresses": may(user, "technicians.read_home_addresses"), "user_id": user.pk}

    def written(self, row):
        return self.visible().get(pk=row.pk)

    def write_new(self, values):
        return technician_create(actor=self.request.user, values=values)

    def write_changes(self, pk, changes, versions):
        return technician_update(actor=self.request.user, technician_id=pk, changes=changes, if_match=versions)
