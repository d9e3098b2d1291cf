from django import forms
from django.contrib import admin
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationTabularInline

from core import roles as R
from core.admin import TranslatedAdmin
from core.import_admin import MasterDataImportAdmin

from . import flows
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


ROLE_FIELD = "roles_"  # + an action: the roles that may fire it on this type's orders


class ServiceTypeFlowForm(forms.ModelForm):
    """The service type with its flow: the optional steps (model fields) and, per transition of the
    lifecycle's table, the roles that may fire it (a subset of the table's; all ticked = the table's).
    A flow that would strand orders is refused by ``ServiceType.clean`` (``catalog.flows``)."""

    class Meta:
        model = ServiceType
        exclude = ["transition_roles"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.transition_roles or {}
        for action, _label, roles in flows.rules().actions:
            name = ROLE_FIELD + action
            if name in self.fields:
                self.fields[name].initial = sorted(set(stored.get(action, roles)) & set(roles))

    def clean(self):
        data = super().clean()
        narrowed = {}
        for action, _label, roles in flows.rules().actions:
            name = ROLE_FIELD + action
            if name in self.fields and name in data:
                chosen = set(data[name] or ())
                if chosen != set(roles):
                    narrowed[action] = sorted(chosen)
        # Checked with the rest of the flow by the model's clean (called next, by the form).
        self.instance.transition_roles = narrowed
        return data


def flow_form() -> type[forms.ModelForm]:
    """The form class with one field of roles per transition (the lifecycle registers them at start)."""
    fields = {
        ROLE_FIELD + action: forms.MultipleChoiceField(
            label=format_lazy("{}: {}", _("Who may"), label), required=False,
            choices=[(role, R.LABELS.get(role, role)) for role in sorted(roles)],
            widget=forms.CheckboxSelectMultiple,
        )
        for action, label, roles in flows.rules().actions
    }
    return type("ServiceTypeFlowAdminForm", (ServiceTypeFlowForm,), {"__module__": __name__, **fields})


@admin.register(ServiceType)
class ServiceTypeAdmin(MasterDataImportAdmin, TranslatedAdmin):
    resource_classes = [ServiceTypeResource]
    list_display = ["name", "code", "default_duration_minutes", "callout_fee", "requires_review", "requires_follow_up",
                    "active"]
    list_filter = ["active", "requires_review", "requires_follow_up"]
    search_fields = ["name_zh_hans", "name_en", "code", "=external_ref"]
    # The checklist (SOP) and the custom fields are edited on their service type's page.
    inlines = [ServiceTypeSkillInline, ChecklistItemInline, CustomFieldInline, ServiceTypePartInline]
    exclude = ["transition_roles"]  # edited as one field of roles per transition (ServiceTypeFlowForm)

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The flow: its steps, and the roles per transition (built once the lifecycle registered them).
        kwargs.setdefault("form", flow_form())
        return super().get_form(request, obj, change=change, **kwargs)


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
