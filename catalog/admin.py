from django import forms
from django.contrib import admin
from django.db import models
from modeltranslation.admin import TranslationTabularInline

from core.admin import TranslatedAdmin
from core.import_admin import MasterDataImportAdmin

from .models import ChecklistItem, CustomField, Part, ServiceType, ServiceTypePart, ServiceTypeSkill, Skill
from .resources import PartResource, ServiceTypeResource, SkillResource


class ServiceTypeSkillInline(admin.TabularInline):
    model = ServiceTypeSkill
    extra = 1


class ChecklistItemInline(TranslationTabularInline):
    model = ChecklistItem
    extra = 1
    fields = ["position", "text_zh_hans", "text_en", "mandatory", "active"]


class CustomFieldInline(TranslationTabularInline):
    model = CustomField
    extra = 0
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 28})}}
    fields = ["position", "key", "label_zh_hans", "label_en", "kind", "choices_zh_hans", "choices_en", "required",
              "stage", "active"]


class ServiceTypePartInline(admin.TabularInline):
    model = ServiceTypePart
    extra = 1


@admin.register(ServiceType)
class ServiceTypeAdmin(MasterDataImportAdmin, TranslatedAdmin):
    resource_classes = [ServiceTypeResource]
    list_display = ["name", "code", "default_duration_minutes", "callout_fee", "requires_review", "active"]
    list_filter = ["active", "requires_review"]
    search_fields = ["name_zh_hans", "name_en", "code", "=external_ref"]
    # The checklist (SOP) and the custom fields are edited on their service type's page.
    inlines = [ServiceTypeSkillInline, ChecklistItemInline, CustomFieldInline, ServiceTypePartInline]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(TranslatedAdmin):
    list_display = ["text", "service_type", "mandatory", "position", "active"]
    list_filter = ["service_type", "mandatory", "active"]
    list_editable = ["mandatory", "position", "active"]
    search_fields = ["text_zh_hans", "text_en"]


@admin.register(Skill)
class SkillAdmin(MasterDataImportAdmin, TranslatedAdmin):
    resource_classes = [SkillResource]
    list_display = ["name", "code"]
    search_fields = ["name_zh_hans", "name_en", "code"]


@admin.register(Part)
class PartAdmin(MasterDataImportAdmin, TranslatedAdmin):
    resource_classes = [PartResource]
    list_display = ["part_number", "name", "unit", "unit_price", "unit_cost", "serialized", "active"]
    list_filter = ["active", "unit", "serialized"]
    search_fields = ["part_number", "name_zh_hans", "name_en", "=external_ref"]
    list_editable = ["unit_price", "active"]
    ordering = ["part_number"]
