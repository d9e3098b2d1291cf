from django.contrib import admin

from core.import_admin import MasterDataImportAdmin

from .models import ChecklistItem, Part, ServiceType, ServiceTypePart, ServiceTypeSkill, Skill
from .resources import PartResource, ServiceTypeResource, SkillResource


class ServiceTypeSkillInline(admin.TabularInline):
    model = ServiceTypeSkill
    extra = 1


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 1
    fields = ["position", "text", "mandatory", "active"]


class ServiceTypePartInline(admin.TabularInline):
    model = ServiceTypePart
    extra = 1


@admin.register(ServiceType)
class ServiceTypeAdmin(MasterDataImportAdmin):
    resource_classes = [ServiceTypeResource]
    list_display = ["name", "code", "default_duration_minutes", "callout_fee", "requires_review", "active"]
    list_filter = ["active", "requires_review"]
    search_fields = ["name", "code", "=external_ref"]
    # The checklist (SOP) is edited on its service type's page.
    inlines = [ServiceTypeSkillInline, ChecklistItemInline, ServiceTypePartInline]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = ["text", "service_type", "mandatory", "position", "active"]
    list_filter = ["service_type", "mandatory", "active"]
    list_editable = ["mandatory", "position", "active"]
    search_fields = ["text"]


@admin.register(Skill)
class SkillAdmin(MasterDataImportAdmin):
    resource_classes = [SkillResource]
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(Part)
class PartAdmin(MasterDataImportAdmin):
    resource_classes = [PartResource]
    list_display = ["part_number", "name", "unit", "unit_price", "unit_cost", "serialized", "active"]
    list_filter = ["active", "unit", "serialized"]
    search_fields = ["part_number", "name", "=external_ref"]
    list_editable = ["unit_price", "active"]
    ordering = ["part_number"]
