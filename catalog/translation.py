"""The master data of the catalog in both languages (django-modeltranslation): each field named
here gets a column per language (``name_zh_hans``, ``name_en``); reading ``name`` gives the active
language's value, or the other language's where that one is empty (settings MODELTRANSLATION_*)."""

from modeltranslation.translator import TranslationOptions, register

from .models import ChecklistItem, CustomField, Part, ServiceType, Skill


@register(Skill)
class SkillTranslation(TranslationOptions):
    fields = ("name",)
    fallback_undefined = ""  # an empty value (an import's empty cell) falls back like a missing one


@register(ServiceType)
class ServiceTypeTranslation(TranslationOptions):
    fields = ("name", "description")
    fallback_undefined = ""


@register(ChecklistItem)
class ChecklistItemTranslation(TranslationOptions):
    fields = ("text",)
    fallback_undefined = ""


@register(Part)
class PartTranslation(TranslationOptions):
    fields = ("name",)
    fallback_undefined = ""  # an empty value (an import's empty cell) falls back like a missing one


@register(CustomField)
class CustomFieldTranslation(TranslationOptions):
    fields = ("label", "choices")
    fallback_undefined = ""
