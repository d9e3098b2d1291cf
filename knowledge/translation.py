"""Knowledge-base categories in both languages (django-modeltranslation; see catalog/translation.py)."""

from modeltranslation.translator import TranslationOptions, register

from .models import Category


@register(Category)
class CategoryTranslation(TranslationOptions):
    fields = ("name",)
    fallback_undefined = ""  # an empty value (an import's empty cell) falls back like a missing one
