"""Knowledge-base categories in both languages (django-modeltranslation; see catalog/translation.py)."""

from modeltranslation.translator import TranslationOptions, register

from .models import Category


@register(Category)
class CategoryTranslation(TranslationOptions):
    fields = ("name",)
