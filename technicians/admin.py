from django.contrib import admin

from core.admin import PhoneFieldsAdmin
from core.import_admin import MasterDataImportAdmin

from .models import PartnerCompany, PartnerScope, Shift, Technician, TechnicianSkill
from .resources import PartnerCompanyResource, TechnicianResource
from .services import technician_home_changed, technicians_geocode_pending_after_commit


class TechnicianSkillInline(admin.TabularInline):
    model = TechnicianSkill
    extra = 1


class ShiftInline(admin.TabularInline):
    """Weekly windows (weekday) and one-off dates; no rows at all = always available."""

    model = Shift
    extra = 1
    fields = ["weekday", "date", "start", "end", "available"]


class PartnerScopeInline(admin.TabularInline):
    """What the partner may be given; no rows = any work."""

    model = PartnerScope
    extra = 1
    autocomplete_fields = ["service_type"]


@admin.register(Technician)
class TechnicianAdmin(PhoneFieldsAdmin, MasterDataImportAdmin):
    resource_classes = [TechnicianResource]
    phone_fields = ("phone",)
    list_display = ["__str__", "employee_number", "phone", "partner_company", "active", "last_seen_at",
                    "location_consent"]
    list_filter = ["active", "partner_company", "skills"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "phone", "employee_number",
                     "=external_ref"]
    list_select_related = ["user", "partner_company"]
    autocomplete_fields = ["user"]
    readonly_fields = ["home_precision"]
    inlines = [TechnicianSkillInline, ShiftInline]

    def save_model(self, request, obj, form, change):
        # A new or edited home base is located after commit (technicians/services.py).
        if change:
            technician_home_changed(
                technician=obj, address_changed="home_address" in form.changed_data,
                point_changed=bool({"home_latitude", "home_longitude"} & set(form.changed_data)),
            )
        super().save_model(request, obj, form, change)
        if not change or obj.home_precision == obj.Precision.PENDING:
            technicians_geocode_pending_after_commit()


@admin.register(PartnerCompany)
class PartnerCompanyAdmin(PhoneFieldsAdmin, MasterDataImportAdmin):
    resource_classes = [PartnerCompanyResource]
    phone_fields = ("contact_phone",)
    list_display = ["name", "contact_phone", "active"]
    list_filter = ["active"]
    search_fields = ["name", "contact_phone"]
    inlines = [PartnerScopeInline]
